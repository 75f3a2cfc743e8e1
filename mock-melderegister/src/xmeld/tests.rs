//! Requests in, answers out: the shipped example requests, the recorded production answer's structure,
//! and every ergebnisstatus / rejection a client can provoke through XML.

use super::request::{Kopfdaten, freie_suche_1332, merkmal_1330, personensuche_1330};
use super::write::{Absender, antwort};
use super::*;
use crate::codes::{Ergebnisstatus, Grund};
use crate::register::Register;
use crate::register::beispiele::{AGS, CLUSTER_STRASSE};
use crate::search::query::*;
use sim_kit::xmltree::{Element, parse};
use std::collections::HashMap;
use std::sync::OnceLock;

pub const EIGEN: &str = "ags:03000000";

fn reg() -> &'static Register {
    static R: OnceLock<Register> = OnceLock::new();
    R.get_or_init(|| Register::synthetic(3, 2000))
}

#[derive(Default)]
struct Mem(HashMap<String, String>, u32);
impl Merkmale for Mem {
    fn ausgeben(&mut self, om: &str) -> String {
        self.1 += 1;
        let m = format!("IDM-{:08}", self.1 * 7919);
        self.0.insert(m.clone(), om.to_string());
        m
    }
    fn aufloesen(&self, m: &str) -> Option<String> {
        self.0.get(m).cloned()
    }
}

fn ctx(sicher: bool) -> Kontext {
    Kontext {
        sicherheitsbehoerde: sicher,
        eigene_kennung: EIGEN.into(),
        landesspezifisch_ablehnen: true,
    }
}

fn absender() -> Absender {
    Absender {
        kennung: EIGEN.into(),
        name: "Melderegisterdatenspiegel Niedersachsen (Simulator)".into(),
        email: "melderegister@example.invalid".into(),
        telefon: "0511 000000".into(),
        strasse: "Musterweg".into(),
        hausnummer: "1".into(),
        plz: "30159".into(),
        ort: "Hannover".into(),
    }
}

fn kopf(leser: &str) -> Kopfdaten {
    Kopfdaten {
        uuid: "0b6f4d3e-2a1c-4e8f-9b7a-1c2d3e4f5a6b".into(),
        erstellt: "2026-11-30T12:00:00.000+01:00".into(),
        leser: leser.into(),
        autor: "dbs:030000000001".into(),
        autor_name: "Stadt Musterhausen (fiktiv)".into(),
        sicherheitsbehoerde: false,
        aktenzeichen: "AZ-1".into(),
        anlass: "Prüfung".into(),
        kennung: "Fachverfahren Test".into(),
        list_version: Some("25.11a".into()),
    }
}

fn run(xml: &str, sicher: bool, m: &mut Mem) -> (Anfrage, Ergebnis, String) {
    let root = parse(xml.as_bytes(), LIMITS).expect("well-formed");
    let a = anfrage(&root).expect("valid request");
    let e = bearbeiten(&a, &ctx(sicher), reg(), m);
    let out = antwort(
        &a,
        &e,
        reg(),
        &absender(),
        "5f0c8b1e-6d2a-4c3b-8e9f-0a1b2c3d4e5f",
        "2026-11-30T12:00:01.000+01:00",
    );
    (a, e, out)
}

fn grund(e: &Ergebnis) -> Vec<Grund> {
    match e {
        Ergebnis::Rueckweisung(r) => r.iter().map(|x| x.grund).collect(),
        _ => vec![],
    }
}

fn status(e: &Ergebnis) -> Option<(Ergebnisstatus, usize)> {
    match e {
        Ergebnis::Auskunft { status, personen } => Some((*status, personen.len())),
        _ => None,
    }
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

const ALLE: &[u32] = &[1, 4, 7, 13, 15, 19, 41, 44, 45, 48, 49, 172];

#[test]
fn shipped_examples_are_accepted_and_answered_with_the_right_rejection() {
    let cases = [
        (
            "20251130-163234_req_1330.xml",
            Grund::AgsLeserUngleichAuswahldaten,
        ),
        (
            "FachspezifischBehoerdenauskunft006a-1330.xml",
            Grund::SuchbereichNichtZustaendig,
        ),
        (
            "FachspezifischBehoerdenauskunft009a-1330.xml",
            Grund::SuchbereichNichtZustaendig,
        ),
        (
            "FachspezifischBehoerdenauskunft011a-1330.xml",
            Grund::SuchbereichNichtZustaendig,
        ),
        (
            "FachspezifischBehoerdenauskunft005a-1332.xml",
            Grund::SuchbereichNichtZustaendig,
        ),
    ];
    for (f, want) in cases {
        let Some(xml) =
            test_support::shared::read_to_string(&format!("reference/xmeld/examples/{f}"))
        else {
            return;
        };
        let (_, e, out) = run(&xml, true, &mut Mem::default());
        assert_eq!(grund(&e), vec![want], "{f}");
        parse(out.as_bytes(), LIMITS).expect("answer is well-formed");
    }
}

/// Element paths (local names) of a document, repeated siblings collapsed.
fn paths(el: &Element, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    let p = format!("{prefix}/{}", el.local);
    out.insert(p.clone());
    for c in &el.children {
        paths(c, &p, out);
    }
}

#[test]
fn answer_has_the_structure_of_the_recorded_production_1331() {
    let (Some(req), Some(real)) = (
        test_support::shared::read_to_string(
            "reference/xmeld/examples/20251130-163234_req_1330.xml",
        ),
        test_support::shared::read_to_string(
            "reference/xmeld/examples/20251130-163234_resp_1330.xml",
        ),
    ) else {
        return;
    };
    let (a, _, ours) = run(&req, true, &mut Mem::default());
    let ours = parse(ours.as_bytes(), LIMITS).unwrap();
    let real = parse(real.as_bytes(), LIMITS).unwrap();
    assert_eq!(ours.local, real.local);
    assert_eq!(ours.ns, real.ns);
    let (mut po, mut pr) = (Default::default(), Default::default());
    paths(&ours, "", &mut po);
    paths(&real, "", &mut pr);
    // Everything we send exists in the real answer (we send no `zusatz` and no `hausnummern.bis`).
    let extra: Vec<_> = po.difference(&pr).collect();
    assert!(
        extra.is_empty(),
        "elements the real answer does not have: {extra:?}"
    );
    let missing: Vec<_> = pr
        .difference(&po)
        .filter(|p| !p.contains("zusatz") && !p.contains("hausnummern.bis"))
        .collect();
    assert!(
        missing.is_empty(),
        "elements of the real answer we lack: {missing:?}"
    );
    // Roles swapped: our Leser is the request's Autor; ursprungsnachricht echoes the request.
    let text = |e: &Element, path: &[&str]| -> String {
        let mut cur = e;
        for p in path {
            cur = cur.children.iter().find(|c| c.local == *p).unwrap();
        }
        cur.text.clone()
    };
    assert_eq!(
        text(&ours, &["nachrichtenkopf.g2g", "leser", "kennung"]),
        a.autor.kennung
    );
    assert_eq!(
        text(&ours, &["ursprungsnachricht", "nachrichtenUUID"]),
        text(&real, &["ursprungsnachricht", "nachrichtenUUID"])
    );
    assert_eq!(
        text(
            &ours,
            &[
                "antwortSuchanfrage",
                "rueckweisung",
                "grundDerRueckweisung",
                "code"
            ]
        ),
        text(
            &real,
            &[
                "antwortSuchanfrage",
                "rueckweisung",
                "grundDerRueckweisung",
                "code"
            ]
        )
    );
}

#[test]
fn personensuche_statuses() {
    let leser = format!("ags:{AGS}");
    let mut m = Mem::default();
    // 01: unique.
    let (_, e, out) = run(
        &personensuche_1330(&kopf(&leser), &ps("Sörensen", "Jens"), ALLE),
        false,
        &mut m,
    );
    assert_eq!(status(&e), Some((Ergebnisstatus::Eindeutig, 1)));
    assert!(
        out.contains("<name>Sœrensen</name>") && out.contains("<code>01</code>"),
        "{out}"
    );
    // The mirror's own key as Leser works too.
    let (_, e, _) = run(
        &personensuche_1330(&kopf(EIGEN), &ps("Sörensen", "Jens"), ALLE),
        false,
        &mut m,
    );
    assert_eq!(status(&e), Some((Ergebnisstatus::Eindeutig, 1)));
    // 02: Trefferliste with Identifikationsmerkmale; continuing with one gives 01.
    let mut q = ps("Müller", "Peter");
    q.strasse = Some(CLUSTER_STRASSE.into());
    q.hausnummer.nummer = Some(2);
    let (_, e, out) = run(&personensuche_1330(&kopf(&leser), &q, ALLE), false, &mut m);
    let Some((Ergebnisstatus::Trefferliste, n)) = status(&e) else {
        panic!("{e:?}")
    };
    assert_eq!(n, 40);
    assert_eq!(out.matches("<xmeld:identifikationsmerkmal>").count(), 40);
    let Ergebnis::Auskunft { personen, .. } = &e else {
        unreachable!()
    };
    let merkmal = personen[0].merkmal.clone().unwrap();
    let (_, e, _) = run(&merkmal_1330(&kopf(&leser), &merkmal, ALLE), false, &mut m);
    assert_eq!(status(&e), Some((Ergebnisstatus::Eindeutig, 1)));
    let (_, e, _) = run(
        &merkmal_1330(&kopf(&leser), "unbekannt-123", ALLE),
        false,
        &mut m,
    );
    assert_eq!(grund(&e), vec![Grund::IdentifikationsmerkmalUngueltig]);
    // 03: not found, and Auskunftssperre (neutral).
    let (_, e, _) = run(
        &personensuche_1330(&kopf(&leser), &ps("Niemand", "Nobody"), ALLE),
        false,
        &mut m,
    );
    assert_eq!(status(&e), Some((Ergebnisstatus::NichtGefunden, 0)));
    let (_, e, _) = run(
        &personensuche_1330(&kopf(&leser), &ps("Gesperrt", "Gesine"), ALLE),
        false,
        &mut m,
    );
    assert_eq!(status(&e), Some((Ergebnisstatus::NichtGefunden, 0)));
    // 12: above the cap.
    q.hausnummer.nummer = None;
    let (_, e, _) = run(&personensuche_1330(&kopf(&leser), &q, ALLE), false, &mut m);
    assert_eq!(grund(&e), vec![Grund::TrefferlisteZuGross]);
}

#[test]
fn personensuche_rejections() {
    let leser = format!("ags:{AGS}");
    let mut m = Mem::default();
    let r = |k: &Kopfdaten, q: &Personensuche, codes: &[u32], sicher: bool, m: &mut Mem| {
        grund(&run(&personensuche_1330(k, q, codes), sicher, m).1)
    };
    // 14: Leser of another Gemeinde.
    assert_eq!(
        r(
            &kopf("ags:03101000"),
            &ps("Sörensen", "Jens"),
            ALLE,
            false,
            &mut m
        ),
        vec![Grund::AgsLeserUngleichAuswahldaten]
    );
    // 22: a Gemeinde outside Niedersachsen.
    let mut q = ps("Sörensen", "Jens");
    q.ags = "09162000".into();
    assert_eq!(
        r(&kopf("ags:09162000"), &q, ALLE, false, &mut m),
        vec![Grund::SuchbereichNichtZustaendig]
    );
    // 02: unknown street.
    let mut q = ps("Sörensen", "Jens");
    q.strasse = Some("Gibtsnichtweg".into());
    assert_eq!(
        r(&kopf(&leser), &q, ALLE, false, &mut m),
        vec![Grund::StrasseNichtGefunden]
    );
    // 03: claims to be a security authority.
    let mut k = kopf(&leser);
    k.sicherheitsbehoerde = true;
    assert_eq!(
        r(&k, &ps("Sörensen", "Jens"), ALLE, false, &mut m),
        vec![Grund::KeineSicherheitsbehoerde]
    );
    // 07, 08, 09, 10 at once for a non-security authority; fine for a security authority.
    let codes = [1, 163, 176, 178, 184];
    assert_eq!(
        r(
            &kopf(&leser),
            &ps("Sörensen", "Jens"),
            &codes,
            false,
            &mut m
        ),
        vec![
            Grund::AusweisdatenNichtBerechtigt,
            Grund::PassTatsachenNichtBerechtigt,
            Grund::WaffenDatenNichtBerechtigt,
            Grund::WohnungsgeberNichtBerechtigt
        ]
    );
    assert!(r(&k, &ps("Sörensen", "Jens"), &codes, true, &mut m).is_empty());
    // 17: logging field too long; wildcards in a Personensuche.
    let mut k2 = kopf(&leser);
    k2.aktenzeichen = "A".repeat(121);
    assert_eq!(
        r(&k2, &ps("Sörensen", "Jens"), ALLE, false, &mut m),
        vec![Grund::SonstigerFachlicherFehler]
    );
    k2.aktenzeichen = "Ä".repeat(120);
    assert!(
        r(&k2, &ps("Sörensen", "Jens"), ALLE, false, &mut m).is_empty(),
        "120 characters must be accepted"
    );
    assert_eq!(
        r(&kopf(&leser), &ps("S*rensen", "Jens"), ALLE, false, &mut m),
        vec![Grund::SonstigerFachlicherFehler]
    );
    // 18: minimum selection data.
    let mut q = ps("Sörensen", "Jens");
    q.strasse = None;
    assert_eq!(
        r(&kopf(&leser), &q, ALLE, false, &mut m),
        vec![Grund::MindestangabenFehlen]
    );
    // 24: AZR-Nummer from a non-security authority.
    let mut q = ps("Sörensen", "Jens");
    q.azr_nummer = Some("012345678901".into());
    assert_eq!(
        r(&kopf(&leser), &q, ALLE, false, &mut m),
        vec![Grund::AzrNummerUnzulaessig]
    );
}

fn fs(nachname: &str, bereich: Suchbereich) -> FreieSuche {
    let mut q = FreieSuche::in_area(bereich);
    q.nachname = Some(nachname.into());
    q
}

#[test]
fn freie_suche_statuses_and_rejections() {
    let mut m = Mem::default();
    let land = Suchbereich::Bundesland("03".into());
    let r = |k: &Kopfdaten, q: &FreieSuche, codes: &[u32], m: &mut Mem| {
        run(&freie_suche_1332(k, q, codes), false, m).1
    };
    let codes = [1, 6, 11, 15];
    // 04: list, Identifikationsmerkmale only with more than one record.
    let e = r(&kopf(EIGEN), &fs("Me?er", land.clone()), &codes, &mut m);
    let Some((Ergebnisstatus::Ergebnisliste, n)) = status(&e) else {
        panic!("{e:?}")
    };
    assert!(n >= 3);
    let e = r(
        &kopf(EIGEN),
        &fs("Sœrensen", Suchbereich::Gemeinde(AGS.into())),
        &codes,
        &mut m,
    );
    let Ergebnis::Auskunft {
        status: st,
        personen,
    } = &e
    else {
        panic!()
    };
    assert_eq!(*st, Ergebnisstatus::Ergebnisliste);
    if personen.len() == 1 {
        assert!(personen[0].merkmal.is_none());
    }
    // 03 when nothing matches.
    let e = r(
        &kopf(EIGEN),
        &fs("Gibtsnicht", land.clone()),
        &codes,
        &mut m,
    );
    assert_eq!(status(&e), Some((Ergebnisstatus::NichtGefunden, 0)));
    // 13: more than 1,000 (Müller over the whole Land: the cluster alone has 1,001).
    assert_eq!(
        grund(&r(
            &kopf(EIGEN),
            &fs("Müller", land.clone()),
            &codes,
            &mut m
        )),
        vec![Grund::ErgebnislisteZuGross]
    );
    // 15: wildcards with phonetics.
    let mut q = fs("Me?er", land.clone());
    q.phonetik = true;
    assert_eq!(
        grund(&r(&kopf(EIGEN), &q, &codes, &mut m)),
        vec![Grund::PlatzhalterMitPhonetik]
    );
    // 19, 20, 21.
    let mut q = fs("Meyer", land.clone());
    q.hausnummer = Some(HausnummerAuswahl::Bereich { von: 9, bis: 3 });
    assert_eq!(
        grund(&r(&kopf(EIGEN), &q, &codes, &mut m)),
        vec![Grund::HausnummernbereichUngueltig]
    );
    let mut q = fs("Meyer", land.clone());
    q.geburt = Some(Geburt::Zeitraum {
        von: crate::register::model::TeilDatum::new(2000, 1, 1),
        bis: crate::register::model::TeilDatum::new(1999, 1, 1),
    });
    assert_eq!(
        grund(&r(&kopf(EIGEN), &q, &codes, &mut m)),
        vec![Grund::GeburtszeitraumUngueltig]
    );
    let mut q = fs("Meyer", land.clone());
    q.aktualitaet_anschrift = Some(Aktualitaet::Inaktuell);
    assert_eq!(
        grund(&r(&kopf(EIGEN), &q, &codes, &mut m)),
        vec![Grund::AktualitaetOhneStrasse]
    );
    // 22: a Land outside; a Gemeinde Leser searching the whole Land.
    assert_eq!(
        grund(&r(
            &kopf(EIGEN),
            &fs("Meyer", Suchbereich::Bundesland("09".into())),
            &codes,
            &mut m
        )),
        vec![Grund::SuchbereichNichtZustaendig]
    );
    assert_eq!(
        grund(&r(
            &kopf(&format!("ags:{AGS}")),
            &fs("Meyer", land.clone()),
            &codes,
            &mut m
        )),
        vec![Grund::SuchbereichNichtZustaendig]
    );
    // 07 / 11 for a non-security authority.
    assert_eq!(
        grund(&r(
            &kopf(EIGEN),
            &fs("Meyer", land.clone()),
            &[1, 28, 29],
            &mut m
        )),
        vec![
            Grund::AusweisdatenNichtBerechtigt,
            Grund::EinzugsdatumNichtBerechtigt
        ]
    );
    // A Landkreis area.
    let e = r(
        &kopf(EIGEN),
        &fs("Sœrensen", Suchbereich::Kreis("03241".into())),
        &codes,
        &mut m,
    );
    assert!(matches!(
        status(&e),
        Some((Ergebnisstatus::Ergebnisliste, _))
    ));
}

#[test]
fn schema_errors() {
    let leser = format!("ags:{AGS}");
    let good = personensuche_1330(&kopf(&leser), &ps("Sörensen", "Jens"), ALLE);
    let err = |xml: &str| {
        let root = parse(xml.as_bytes(), LIMITS).expect("well-formed");
        anfrage(&root).expect_err("must be rejected").rule
    };
    let mut k = kopf(&leser);
    k.uuid = "12345".into();
    assert_eq!(
        err(&personensuche_1330(&k, &ps("A", "B"), ALLE)),
        "xmeld.header.uuid"
    );
    k.uuid = "0b6f4d3e-2a1c-4e8f-cb7a-1c2d3e4f5a6b".into();
    assert_eq!(
        err(&personensuche_1330(&k, &ps("A", "B"), ALLE)),
        "xmeld.header.uuid",
        "variant bits"
    );
    let mut k = kopf(&leser);
    k.list_version = Some("2.4".into());
    assert_eq!(
        err(&personensuche_1330(&k, &ps("A", "B"), ALLE)),
        "xmeld.header.list-version"
    );
    k.list_version = None;
    assert!(
        anfrage(
            &parse(
                personensuche_1330(&k, &ps("A", "B"), ALLE).as_bytes(),
                LIMITS
            )
            .unwrap()
        )
        .is_ok(),
        "the attribute is optional"
    );
    assert_eq!(
        err(&good.replace("<xmeld:kennung>Fachverfahren Test</xmeld:kennung>", "")),
        "xmeld.schema.required"
    );
    assert_eq!(
        err(&good.replace("<code>44</code>", "<code>999</code>")),
        "xmeld.schema.anforderungselement"
    );
    assert_eq!(
        err(&good.replace("version=\"25.11a\"", "version=\"2.4.4\"")),
        "xmeld.schema.attribute"
    );
    assert_eq!(
        err(&good.replace(
            "personensuche.suchanfrage.1330",
            "personensuche.antwort.1331"
        )),
        "xmeld.message-type"
    );
    assert_eq!(
        err(&good.replace("<code>1330</code>", "<code>1332</code>")),
        "xmeld.header.nachrichtentyp"
    );
    let several = good.replacen("<gemeindeschluessel", "<gemeindeschluessel listVersionID=\"x\"><code>03101000</code></gemeindeschluessel><gemeindeschluessel", 1);
    assert_eq!(err(&several), "xmeld.schema.max-occurs");
}
