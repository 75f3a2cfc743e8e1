//! Every worked example of the BMeldDAV Anlage (`reference/xmeld/NOTES.md` §1.5) as a golden test, run
//! through the whole engine against the example persons of `register::beispiele`.

use super::query::*;
use super::rules::{check_freie_suche, check_personensuche};
use crate::codes::Grund;
use crate::register::Register;
use crate::register::beispiele::{AGS, CLUSTER_GROESSE, CLUSTER_STRASSE};
use crate::register::model::TeilDatum;
use std::sync::OnceLock;

fn reg() -> &'static Register {
    static R: OnceLock<Register> = OnceLock::new();
    R.get_or_init(|| Register::synthetic(7, 3000))
}

fn ps(nachname: &str, vornamen: &str) -> Personensuche {
    Personensuche {
        name: PersonName::NachnameUndVornamen {
            nachname: nachname.into(),
            vornamen: vornamen.into(),
        },
        phonetik: false,
        ags: AGS.into(),
        plz: None,
        strasse: Some("Lange Straße".into()),
        hausnummer: Hausnummer::default(),
        geburtsdatum: None,
        geburtsort: None,
        geschlecht: None,
        sterbetag: None,
        sterbeort: None,
        azr_nummer: None,
    }
}

/// Ordnungsmerkmale of the Personensuche hits.
fn hits(q: &Personensuche) -> Vec<String> {
    check_personensuche(q, false).expect("valid request");
    let r = reg();
    r.personensuche(q)
        .expect("search runs")
        .into_iter()
        .map(|i| {
            r.get(i)
                .map(|e| e.ordnungsmerkmal.clone())
                .unwrap_or_default()
        })
        .collect()
}

fn fs_names(nachname: &str) -> FreieSuche {
    let mut q = FreieSuche::in_area(Suchbereich::Gemeinde(AGS.into()));
    q.nachname = Some(nachname.into());
    q.strasse = Some("Lange Straße".into());
    q
}

fn fhits(q: &FreieSuche) -> Vec<String> {
    check_freie_suche(q).expect("valid request");
    let r = reg();
    let mut v: Vec<String> = r
        .freie_suche(q)
        .into_iter()
        .filter_map(|i| r.get(i).map(|e| e.ordnungsmerkmal.clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn nr4a_soerensen_normalisation() {
    for q in ["Sörensen", "Soerensen", "Sœrensen", "SÖRENSEN"] {
        assert_eq!(hits(&ps(q, "Jens")), vec!["ANLAGE-01"], "{q}");
    }
    assert!(hits(&ps("Sorensen", "Jens")).is_empty());
}

#[test]
fn nr4b_personensuche_familienname_exact() {
    let mut q = ps("Graf von Neuenwalde", "Hans");
    q.strasse = Some("Platz d. Republik".into());
    assert_eq!(hits(&q), vec!["ANLAGE-02"]);
    // A former name (0203a) counts too.
    let mut q2 = ps("Neuenwalde", "Hans");
    q2.strasse = q.strasse.clone();
    assert_eq!(hits(&q2), vec!["ANLAGE-02"]);
    for partial in ["Graf", "Graf Neuenwalde", "von Neuenwalde Graf"] {
        let mut q3 = ps(partial, "Hans");
        q3.strasse = q.strasse.clone();
        assert!(hits(&q3).is_empty(), "{partial}");
    }
    assert_eq!(
        hits(&ps("Müller Lüdenscheidt", "Karl-Heinz")),
        vec!["ANLAGE-03"]
    );
    assert!(hits(&ps("Müller", "Karl-Heinz")).is_empty());
}

#[test]
fn nr6b_freie_suche_familienname_parts() {
    let mut base = fs_names("Graf");
    base.strasse = Some("Platz d. Republik".into());
    for q in ["Graf", "Neuenwalde", "Neuenwalde Graf", "von Graf"] {
        let mut f = base.clone();
        f.nachname = Some(q.into());
        assert_eq!(fhits(&f), vec!["ANLAGE-02"], "{q}");
    }
    let mut f = base.clone();
    f.nachname = Some("Graf vom Neuenwalde".into());
    assert!(fhits(&f).is_empty());
}

#[test]
fn nr4c_vornamen_as_a_set() {
    let mut q = ps("Graf von Neuenwalde", "");
    q.strasse = Some("Platz d. Republik".into());
    for v in ["Arthur", "Georg Arthur", "Arthur Hans", "Hans Georg Arthur"] {
        let mut x = q.clone();
        x.name = PersonName::NachnameUndVornamen {
            nachname: "Graf von Neuenwalde".into(),
            vornamen: v.into(),
        };
        assert_eq!(hits(&x), vec!["ANLAGE-02"], "{v}");
    }
    for v in ["Hans-Georg", "Hans Heinrich"] {
        let mut x = q.clone();
        x.name = PersonName::NachnameUndVornamen {
            nachname: "Graf von Neuenwalde".into(),
            vornamen: v.into(),
        };
        assert!(hits(&x).is_empty(), "{v}");
    }
    // Karl-Heinz = Karlheinz after normalisation (hyphens join).
    assert_eq!(
        hits(&ps("Müller Lüdenscheidt", "Karlheinz")),
        vec!["ANLAGE-03"]
    );
    // `+`: "Name zu Recht nicht vorhanden" matches only the marker.
    assert_eq!(hits(&ps("Blockname", "+")), vec!["ANLAGE-11"]);
    assert!(hits(&ps("Meyer", "+")).is_empty());
}

#[test]
fn nr4e_street_suffixes() {
    let mut q = ps("Sörensen", "Jens");
    q.strasse = Some("Lange Str.".into());
    assert_eq!(hits(&q), vec!["ANLAGE-01"]);
    q.strasse = Some("lange strasse".into());
    assert_eq!(hits(&q), vec!["ANLAGE-01"]);
    // `Pl. d. Republik` ≠ `Platz d. Republik`: the suffix rule applies at the end only → reason 02.
    let mut q = ps("Graf von Neuenwalde", "Hans");
    q.strasse = Some("Pl. d. Republik".into());
    let e = reg().personensuche(&q).unwrap_err();
    assert_eq!(e.grund, Grund::StrasseNichtGefunden);
}

#[test]
fn nr4g_house_numbers() {
    let with = |nr: Option<u32>, zusatz: Option<&str>| {
        let mut q = fs_names("Meyer Sörensen Müller Lüdenscheidt");
        q.nachname = None;
        q.hausnummer = Some(HausnummerAuswahl::Einzeln(Hausnummer {
            nummer: nr,
            zusatz: zusatz.map(str::to_string),
            teilnummer: None,
        }));
        fhits(&q)
    };
    // `17` matches `17 a` and `17`; `17 a` does not match `17`; only `A` matches `17 a` and `18 a`.
    assert_eq!(with(Some(17), None), vec!["ANLAGE-01", "ANLAGE-04"]);
    assert_eq!(with(Some(17), Some("a")), vec!["ANLAGE-01"]);
    assert_eq!(with(None, Some("A")), vec!["ANLAGE-01", "ANLAGE-03"]);
    // Personensuche: the same field rule.
    let mut q = ps("Meyer", "Otto");
    q.hausnummer.nummer = Some(17);
    assert_eq!(hits(&q), vec!["ANLAGE-04"]);
    q.hausnummer.zusatz = Some("a".into());
    assert!(hits(&q).is_empty());
}

#[test]
fn nr6i_house_number_range() {
    let mut q = fs_names("x");
    q.nachname = None;
    q.vornamen = Some("Otto".into());
    q.hausnummer = Some(HausnummerAuswahl::Bereich { von: 19, bis: 21 });
    assert_eq!(fhits(&q), vec!["ANLAGE-05", "ANLAGE-06", "ANLAGE-07"]);
    q.hausnummer = Some(HausnummerAuswahl::Bereich { von: 21, bis: 21 });
    assert_eq!(
        check_freie_suche(&q).unwrap_err().grund,
        Grund::HausnummernbereichUngueltig
    );
}

#[test]
fn nr4h_partial_dates_exact() {
    let mut q = ps("Teilbekannt", "Tilda");
    q.geburtsdatum = Some(TeilDatum::parse("00031998").unwrap());
    assert_eq!(hits(&q), vec!["ANLAGE-10"]);
    q.geburtsdatum = Some(TeilDatum::new(1998, 3, 1));
    assert!(hits(&q).is_empty());
    q.geburtsdatum = Some(TeilDatum::new(1998, 0, 0));
    assert!(hits(&q).is_empty());
}

#[test]
fn nr6f_birth_period() {
    let mut q = fs_names("Teilbekannt");
    let range = |a: (u16, u8, u8), b: (u16, u8, u8)| Geburt::Zeitraum {
        von: TeilDatum::new(a.0, a.1, a.2),
        bis: TeilDatum::new(b.0, b.1, b.2),
    };
    // `1998-03-00` matches when 1 March 1998 is in the range.
    q.geburt = Some(range((1998, 3, 1), (1998, 3, 31)));
    assert_eq!(fhits(&q), vec!["ANLAGE-10"]);
    q.geburt = Some(range((1998, 3, 2), (1998, 12, 31)));
    assert!(fhits(&q).is_empty());
    q.geburt = Some(range((1998, 1, 1), (1998, 1, 1)));
    assert_eq!(
        check_freie_suche(&q).unwrap_err().grund,
        Grund::GeburtszeitraumUngueltig
    );
    // Full dates inclusive at both ends.
    let mut m = fs_names("Meyer");
    m.geburt = Some(range((1980, 2, 2), (1980, 2, 3)));
    assert_eq!(fhits(&m), vec!["ANLAGE-04"]);
    m.geburt = Some(range((1980, 1, 1), (1980, 2, 2)));
    assert_eq!(fhits(&m), vec!["ANLAGE-04"]);
}

#[test]
fn nr7_wildcards() {
    let names = |p: &str| {
        let mut q = fs_names(p);
        q.vornamen = Some("Otto".into());
        fhits(&q)
    };
    assert_eq!(names("Me?er"), vec!["ANLAGE-04", "ANLAGE-05", "ANLAGE-07"]);
    // `*` spans any characters of the normalised part: MEIERMUELLER (from `Meier-Müller` and
    // `Meiermüller`) ends in ER as well.
    assert_eq!(
        names("Me*er"),
        vec![
            "ANLAGE-04",
            "ANLAGE-05",
            "ANLAGE-06",
            "ANLAGE-07",
            "ANLAGE-08",
            "ANLAGE-09"
        ]
    );
    assert!(names("Meier?Müller").is_empty());
    let mut q = fs_names("S?rensen");
    assert!(fhits(&q).is_empty());
    q.nachname = Some("So?rensen".into());
    assert_eq!(fhits(&q), vec!["ANLAGE-01"]);
    // Not first, not alone; not with phonetics; not in a Personensuche.
    for bad in ["*eier", "?", "**", "Meier *"] {
        let q = fs_names(bad);
        assert_eq!(
            check_freie_suche(&q).unwrap_err().grund,
            Grund::SonstigerFachlicherFehler,
            "{bad}"
        );
    }
    let mut q = fs_names("Me?er");
    q.phonetik = true;
    assert_eq!(
        check_freie_suche(&q).unwrap_err().grund,
        Grund::PlatzhalterMitPhonetik
    );
    assert_eq!(
        check_personensuche(&ps("Me?er", "Otto"), false)
            .unwrap_err()
            .grund,
        Grund::SonstigerFachlicherFehler
    );
    // Street wildcards.
    let mut s = fs_names("Meyer");
    s.strasse = Some("Lange*".into());
    s.vornamen = Some("Otto".into());
    assert_eq!(fhits(&s), vec!["ANLAGE-04"]);
}

#[test]
fn nr1_phonetic_search() {
    let mut q = ps("Maier", "Otto");
    q.phonetik = true;
    q.hausnummer.nummer = Some(17);
    // Meyer (67) at no. 17 is found by the code of `Maier`.
    assert_eq!(hits(&q), vec!["ANLAGE-04"]);
    let mut f = fs_names("Mayr");
    f.phonetik = true;
    f.vornamen = Some("Oto".into());
    // Meyer, Meier, Meer and the part MEIER of `Meier Müller` all code to 67 (per part in the freie Suche).
    assert_eq!(
        fhits(&f),
        vec!["ANLAGE-04", "ANLAGE-05", "ANLAGE-06", "ANLAGE-07"]
    );
}

#[test]
fn minimum_selection_data_and_azr() {
    let mut q = ps("Meyer", "Otto");
    q.strasse = None;
    assert_eq!(
        check_personensuche(&q, false).unwrap_err().grund,
        Grund::MindestangabenFehlen
    );
    q.geschlecht = Some("m".into());
    assert!(check_personensuche(&q, false).is_ok());
    let q = ps("Meyer", " - ");
    assert_eq!(
        check_personensuche(&q, false).unwrap_err().grund,
        Grund::MindestangabenFehlen
    );
    let mut q = ps("Meyer", "Otto");
    q.azr_nummer = Some("123456789012".into());
    assert_eq!(
        check_personensuche(&q, false).unwrap_err().grund,
        Grund::AzrNummerUnzulaessig
    );
    assert!(check_personensuche(&q, true).is_ok());
}

#[test]
fn aktualitaet_without_street_is_21() {
    let mut q = FreieSuche::in_area(Suchbereich::Bundesland("03".into()));
    q.nachname = Some("Meyer".into());
    q.aktualitaet_anschrift = Some(Aktualitaet::Aktuell);
    assert_eq!(
        check_freie_suche(&q).unwrap_err().grund,
        Grund::AktualitaetOhneStrasse
    );
}

#[test]
fn cap_is_exactly_1000() {
    let mut q = ps("Müller", "Peter");
    q.strasse = Some(CLUSTER_STRASSE.into());
    let r = reg().personensuche(&q).unwrap();
    assert_eq!(r.len(), 1001, "the search stops right after the cap");
    const { assert!(CLUSTER_GROESSE > super::CAP) };
    // One house number fewer → at most 1,000 hits, a list (not a rejection).
    q.geburtsort = Some("Celle".into());
    q.geschlecht = Some("m".into());
    q.hausnummer.nummer = Some(1);
    let r = reg().personensuche(&q).unwrap();
    assert_eq!(r.len(), 40);
}

#[test]
fn whole_land_wildcard_only_is_valid() {
    let mut q = FreieSuche::in_area(Suchbereich::Bundesland("03".into()));
    q.nachname = Some("Sœr*".into());
    check_freie_suche(&q).unwrap();
    let r = reg().freie_suche(&q);
    assert!(!r.is_empty());
    for id in r {
        let e = reg().get(id).unwrap();
        assert!(
            e.familienname.starts_with("Sœr")
                || e.fruehere_namen.iter().any(|n| n.starts_with("Sœr"))
        );
    }
}

#[test]
fn auskunftssperre_never_appears() {
    // ANLAGE-12 has an Auskunftssperre: neither a Personensuche nor a list shows her.
    assert!(hits(&ps("Gesperrt", "Gesine")).is_empty());
    let f = fs_names("Gesperrt");
    assert!(fhits(&f).is_empty());
}
