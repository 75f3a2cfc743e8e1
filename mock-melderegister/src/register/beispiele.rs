//! Fixed fictitious residents: the persons of the BMeldDAV Anlage's worked examples (so every example can be
//! tried against `konform up`), a person with an Auskunftssperre, and a cluster of 1,001 namesakes in one
//! street so that a Personensuche can exceed the 1,000 cap (reason 12). All live in Hannover (03241001).

use super::model::{Einwohner, TeilDatum, Wohnung, Wohnungsstatus};

pub const AGS: &str = "03241001";
pub const PLZ: &str = "30159";
/// The street of the cap cluster.
pub const CLUSTER_STRASSE: &str = "Am Wohnpark";
pub const CLUSTER_GROESSE: usize = 1001;

fn wohnung(strasse: &str, nr: Option<u32>, zusatz: Option<&str>) -> Wohnung {
    Wohnung {
        ags: AGS.into(),
        plz: PLZ.into(),
        ort: "Hannover".into(),
        strasse: strasse.into(),
        hausnummer: nr,
        zusatz: zusatz.map(str::to_string),
        teilnummer: None,
        status: Wohnungsstatus::Haupt,
        einzug: Some(TeilDatum::new(2010, 4, 1)),
        auszug: None,
        aktuell: true,
    }
}

fn person(om: &str, nachname: &str, vornamen: &str, geburt: TeilDatum, w: Wohnung) -> Einwohner {
    Einwohner {
        ordnungsmerkmal: om.into(),
        familienname: nachname.into(),
        fruehere_namen: Vec::new(),
        vornamen: vornamen.into(),
        fruehere_vornamen: Vec::new(),
        doktorgrad: None,
        ordensname: None,
        kuenstlername: None,
        geschlecht: "m".into(),
        geburtsdatum: geburt,
        fruehere_geburtsdaten: Vec::new(),
        geburtsort: "Hannover".into(),
        staatsangehoerigkeit: "000".into(),
        wohnungen: vec![w],
        sterbedatum: None,
        sterbeort: None,
        auskunftssperre: false,
    }
}

/// The Anlage's example persons (Ordnungsmerkmale `ANLAGE-…`).
pub fn anlage() -> Vec<Einwohner> {
    let d = TeilDatum::new;
    let mut v = vec![
        person(
            "ANLAGE-01",
            "Sœrensen",
            "Jens",
            d(1970, 5, 12),
            wohnung("Lange Straße", Some(17), Some("a")),
        ),
        person(
            "ANLAGE-02",
            "Graf von Neuenwalde",
            "Hans Georg Arthur",
            d(1955, 1, 30),
            wohnung("Platz d. Republik", Some(3), None),
        ),
        person(
            "ANLAGE-03",
            "Müller Lüdenscheidt",
            "Karl-Heinz",
            d(1961, 7, 4),
            wohnung("Lange Straße", Some(18), Some("a")),
        ),
        person(
            "ANLAGE-04",
            "Meyer",
            "Otto",
            d(1980, 2, 2),
            wohnung("Lange Straße", Some(17), None),
        ),
        person(
            "ANLAGE-05",
            "Meier",
            "Otto",
            d(1981, 2, 2),
            wohnung("Lange Straße", Some(19), None),
        ),
        person(
            "ANLAGE-06",
            "Meer",
            "Otto",
            d(1982, 2, 2),
            wohnung("Lange Straße", Some(20), None),
        ),
        person(
            "ANLAGE-07",
            "Meier Müller",
            "Otto",
            d(1983, 2, 2),
            wohnung("Lange Straße", Some(21), None),
        ),
        person(
            "ANLAGE-08",
            "Meier-Müller",
            "Otto",
            d(1984, 2, 2),
            wohnung("Lange Straße", Some(22), None),
        ),
        person(
            "ANLAGE-09",
            "Meiermüller",
            "Otto",
            d(1985, 2, 2),
            wohnung("Lange Straße", Some(23), None),
        ),
        person(
            "ANLAGE-10",
            "Teilbekannt",
            "Tilda",
            d(1998, 3, 0),
            wohnung("Lange Straße", Some(24), None),
        ),
        person(
            "ANLAGE-11",
            "Blockname",
            "+",
            d(1990, 6, 6),
            wohnung("Lange Straße", Some(25), None),
        ),
        person(
            "ANLAGE-12",
            "Gesperrt",
            "Gesine",
            d(1975, 9, 9),
            wohnung("Lange Straße", Some(26), None),
        ),
    ];
    v[1].fruehere_namen.push("Neuenwalde".into());
    v[11].auskunftssperre = true;
    v[11].geschlecht = "w".into();
    v[9].geschlecht = "w".into();
    v
}

/// 1,001 residents "Peter Müller" in one street: a Personensuche by name and street exceeds the cap.
pub fn cap_cluster() -> Vec<Einwohner> {
    (0..CLUSTER_GROESSE)
        .map(|i| {
            let mut p = person(
                &format!("CLUSTER-{i:04}"),
                "Müller",
                "Peter",
                TeilDatum::new(
                    1950 + (i % 50) as u16,
                    1 + (i % 12) as u8,
                    1 + (i % 28) as u8,
                ),
                wohnung(CLUSTER_STRASSE, Some(1 + (i / 40) as u32), None),
            );
            p.geburtsort = "Celle".into();
            p
        })
        .collect()
}
