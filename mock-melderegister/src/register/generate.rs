//! The synthetic register: a deterministic generator (same seed, same residents) of fictitious people across
//! Niedersachsen — names with umlauts, ß and diacritics, double and noble names, former names, Ordens- and
//! Künstlernamen, partial birth dates, main and secondary addresses, moves, deceased persons and
//! Auskunftssperren — plus fixed persons for the BMeldDAV Anlage's worked examples and the 1,000 cap.

use super::gemeinden::GEMEINDEN;
use super::model::{Einwohner, TeilDatum, Wohnung, Wohnungsstatus};

/// SplitMix64: small, fast, reproducible across platforms.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6b6f_6e66_6f72_6d21)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// Family names with a weight (rough frequency; Müller and Schmidt common enough to pass the 1,000 cap).
const NACHNAMEN: &[(&str, u32)] = &[
    ("Müller", 120),
    ("Schmidt", 100),
    ("Schneider", 60),
    ("Fischer", 55),
    ("Meyer", 50),
    ("Weber", 45),
    ("Wagner", 40),
    ("Becker", 40),
    ("Schulz", 38),
    ("Hoffmann", 36),
    ("Schäfer", 30),
    ("Koch", 28),
    ("Bauer", 28),
    ("Richter", 26),
    ("Klein", 26),
    ("Wolf", 24),
    ("Schröder", 24),
    ("Neumann", 22),
    ("Schwarz", 22),
    ("Zimmermann", 20),
    ("Braun", 20),
    ("Krüger", 20),
    ("Hofmann", 18),
    ("Hartmann", 18),
    ("Lange", 18),
    ("Schmitt", 16),
    ("Werner", 16),
    ("Krause", 16),
    ("Meier", 16),
    ("Lehmann", 15),
    ("Schulze", 15),
    ("Maier", 12),
    ("Köhler", 12),
    ("Herrmann", 12),
    ("König", 12),
    ("Walter", 11),
    ("Mayer", 11),
    ("Kaiser", 10),
    ("Fuchs", 10),
    ("Peters", 10),
    ("Scholz", 10),
    ("Möller", 10),
    ("Weiß", 10),
    ("Jung", 9),
    ("Hahn", 9),
    ("Vogel", 9),
    ("Friedrich", 9),
    ("Günther", 8),
    ("Frank", 8),
    ("Berger", 8),
    ("Winkler", 8),
    ("Roth", 8),
    ("Lorenz", 7),
    ("Baumann", 7),
    ("Janßen", 7),
    ("Jürgens", 6),
    ("Ahrens", 6),
    ("Oltmanns", 5),
    ("Böhm", 6),
    ("Groß", 6),
    ("Jäger", 6),
    ("Brandt", 6),
    ("Kühn", 5),
    ("Thiele", 5),
    ("Sœrensen", 2),
    ("Dvořák", 2),
    ("Nowak", 4),
    ("Kowalczyk", 3),
    ("Yılmaz", 4),
    ("Öztürk", 3),
    ("Çelik", 2),
    ("Østergaard", 1),
    ("Ibáñez", 1),
    ("Đorđević", 1),
    ("Nguyễn", 2),
    ("O'Neill", 1),
    ("Łukaszewicz", 1),
    ("Van der Berg", 2),
    ("de la Cruz", 1),
];

const NOBLE: &[&str] = &[
    "von Alten",
    "Graf von Bothmer",
    "von der Schulenburg",
    "Freiherr von Hammerstein",
    "von Münchhausen",
];

const VORNAMEN_M: &[&str] = &[
    "Peter",
    "Hans",
    "Klaus",
    "Jürgen",
    "Thomas",
    "Michael",
    "Andreas",
    "Stefan",
    "Frank",
    "Jörg",
    "Björn",
    "Günter",
    "Uwe",
    "Dieter",
    "Karl-Heinz",
    "Hans-Georg",
    "Lukas",
    "Jonas",
    "Leon",
    "Finn",
    "Noah",
    "Elias",
    "Ben",
    "Paul",
    "Felix",
    "Maximilian",
    "Mehmet",
    "José",
    "Søren",
    "Ole",
    "Hauke",
    "Enno",
    "Friedrich",
    "Wilhelm",
    "Heinrich",
    "Arthur",
    "Georg",
];
const VORNAMEN_W: &[&str] = &[
    "Maria",
    "Anna",
    "Ursula",
    "Monika",
    "Petra",
    "Sabine",
    "Andrea",
    "Claudia",
    "Susanne",
    "Birgit",
    "Jasmin",
    "Barbara",
    "Carina",
    "Anne-Marie",
    "Marie-Luise",
    "Zoë",
    "Renée",
    "Emma",
    "Mia",
    "Hannah",
    "Lea",
    "Lena",
    "Sophie",
    "Leonie",
    "Ayşe",
    "Małgorzata",
    "Frauke",
    "Gesche",
    "Imke",
    "Wiebke",
    "Käthe",
    "Jördis",
    "Greta",
];

const STRASSEN: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Lange Straße",
    "Kirchweg",
    "Schulstraße",
    "Gartenweg",
    "Marktplatz",
    "Am Markt",
    "Bergstraße",
    "Lindenallee",
    "Mühlenweg",
    "Birkenweg",
    "Dorfstraße",
    "Schillerstraße",
    "Goethestraße",
    "Friedhofsweg",
    "Am Anger",
    "Eichenweg",
    "Rosenstraße",
    "Wiesenweg",
    "Kastanienallee",
    "Heideweg",
    "Neuer Weg",
    "Schloßplatz",
    "Wallstraße",
    "Rathausplatz",
    "Ringstraße",
    "Lerchenfeld",
    "Fischergasse",
    "Brückstraße",
];

const AUSLAND_ORTE: &[&str] = &["Danzig", "Breslau", "İzmir", "Kraków", "Aleppo", "Porto"];
const STAATEN: &[(&str, u32)] = &[
    ("000", 900),
    ("163", 30),
    ("152", 20),
    ("475", 15),
    ("125", 10),
];

fn weighted<'a>(rng: &mut Rng, v: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = v.iter().map(|x| x.1).sum();
    let mut r = rng.below(total as u64) as u32;
    for (s, w) in v {
        if r < *w {
            return s;
        }
        r -= w;
    }
    v[0].0
}

fn gemeinde(rng: &mut Rng) -> &'static (&'static str, &'static str, &'static str, u32) {
    let total: u32 = GEMEINDEN.iter().map(|g| g.3).sum();
    let mut r = rng.below(total as u64) as u32;
    for g in GEMEINDEN {
        if r < g.3 {
            return g;
        }
        r -= g.3;
    }
    &GEMEINDEN[0]
}

fn wohnung(rng: &mut Rng, status: Wohnungsstatus, aktuell: bool) -> Wohnung {
    let g = gemeinde(rng);
    Wohnung {
        ags: g.0.into(),
        plz: g.2.into(),
        ort: g.1.into(),
        strasse: rng.pick(STRASSEN).to_string(),
        hausnummer: Some(1 + rng.below(120) as u32),
        zusatz: rng
            .chance(80)
            .then(|| ["a", "b", "c"][rng.below(3) as usize].to_string()),
        teilnummer: None,
        status,
        einzug: Some(TeilDatum::new(
            1990 + rng.below(35) as u16,
            1 + rng.below(12) as u8,
            1,
        )),
        auszug: None,
        aktuell,
    }
}

fn vornamen(rng: &mut Rng, weiblich: bool) -> String {
    let list = if weiblich { VORNAMEN_W } else { VORNAMEN_M };
    let n = 1 + (rng.chance(350) as usize) + (rng.chance(80) as usize);
    let mut v: Vec<&str> = Vec::with_capacity(n);
    while v.len() < n {
        let x = *rng.pick(list);
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v.join(" ")
}

fn nachname(rng: &mut Rng) -> String {
    if rng.chance(10) {
        return rng.pick(NOBLE).to_string();
    }
    let a = weighted(rng, NACHNAMEN);
    if rng.chance(30) {
        let b = weighted(rng, NACHNAMEN);
        if a != b {
            return format!("{a}-{b}");
        }
    }
    a.to_string()
}

/// One generated resident.
pub fn einwohner(rng: &mut Rng, nr: u64) -> Einwohner {
    let g = rng.below(1000);
    let geschlecht = match g {
        0..=494 => "w",
        495..=989 => "m",
        990..=994 => "d",
        _ => "x",
    };
    let weiblich = geschlecht == "w" || (geschlecht != "m" && rng.chance(500));
    let jahr = 1925 + rng.below(100) as u16;
    let (monat, tag) = (1 + rng.below(12) as u8, 1 + rng.below(28) as u8);
    let geburtsdatum = match rng.below(1000) {
        0..=2 => TeilDatum::new(0, 0, 0),
        3..=12 => TeilDatum::new(jahr, 0, 0),
        13..=42 => TeilDatum::new(jahr, monat, 0),
        _ => TeilDatum::new(jahr, monat, tag),
    };
    let mut familienname = nachname(rng);
    let mut fruehere_namen = Vec::new();
    if jahr < 2000 && rng.chance(if weiblich { 450 } else { 60 }) {
        fruehere_namen.push(std::mem::replace(&mut familienname, nachname(rng)));
    }
    let mut wohnungen = vec![wohnung(rng, Wohnungsstatus::Haupt, true)];
    if rng.chance(200) {
        let mut alt = wohnung(rng, Wohnungsstatus::Haupt, false);
        alt.auszug = wohnungen[0].einzug;
        wohnungen.push(alt);
    }
    if rng.chance(50) {
        wohnungen.push(wohnung(rng, Wohnungsstatus::Neben, true));
    }
    let sterbedatum = (jahr < 1990 && rng.chance(60)).then(|| {
        TeilDatum::new(
            2000 + rng.below(25) as u16,
            1 + rng.below(12) as u8,
            1 + rng.below(28) as u8,
        )
    });
    let verzogen = sterbedatum.is_none() && rng.chance(20);
    if sterbedatum.is_some() || verzogen {
        for w in &mut wohnungen {
            w.aktuell = false;
        }
    }
    let geburtsort = if rng.chance(100) {
        rng.pick(AUSLAND_ORTE).to_string()
    } else {
        gemeinde(rng).1.to_string()
    };
    let kuenstlername = rng.chance(2).then(|| {
        format!(
            "{} {}",
            rng.pick(&["Lady", "MC", "Der große"]),
            rng.pick(VORNAMEN_M)
        )
    });
    let ordensname = rng
        .chance(1)
        .then(|| format!("Schwester {}", rng.pick(VORNAMEN_W)));
    Einwohner {
        ordnungsmerkmal: format!("OM{nr:010}"),
        familienname,
        fruehere_namen,
        vornamen: vornamen(rng, weiblich),
        fruehere_vornamen: Vec::new(),
        doktorgrad: rng.chance(20).then(|| "Dr.".to_string()),
        ordensname,
        kuenstlername,
        geschlecht: geschlecht.into(),
        geburtsdatum,
        fruehere_geburtsdaten: Vec::new(),
        geburtsort,
        staatsangehoerigkeit: weighted(rng, STAATEN).to_string(),
        wohnungen,
        sterbeort: sterbedatum.map(|_| gemeinde(rng).1.to_string()),
        sterbedatum,
        auskunftssperre: rng.chance(10),
    }
}

/// `n` generated residents for `seed`.
pub fn generate(seed: u64, n: usize) -> Vec<Einwohner> {
    let mut rng = Rng::new(seed);
    (0..n as u64).map(|i| einwohner(&mut rng, i)).collect()
}
