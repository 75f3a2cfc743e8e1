//! Entry points of the fuzz targets (`fuzz/fuzz_targets/xmeld_request.rs`, `melderegister_matcher.rs`):
//! whatever the input, nothing panics and every answer is well-formed XML.

use crate::register::Register;
use crate::search::query::{FreieSuche, Hausnummer, PersonName, Personensuche, Suchbereich};
use crate::xmeld::{self, Kontext, Merkmale};
use std::sync::OnceLock;

fn register() -> &'static Register {
    static R: OnceLock<Register> = OnceLock::new();
    R.get_or_init(|| Register::synthetic(5, 2000))
}

struct NoMerkmale;
impl Merkmale for NoMerkmale {
    fn ausgeben(&mut self, om: &str) -> String {
        format!("M{}", om.len())
    }
    fn aufloesen(&self, m: &str) -> Option<String> {
        m.strip_prefix("ANLAGE").map(|_| "ANLAGE-01".to_string())
    }
}

/// Parse an XMeld request with the server's limits, answer it and check the answer parses.
pub fn xmeld_request(data: &[u8]) {
    let Ok(root) = sim_kit::xmltree::parse(data, xmeld::LIMITS) else {
        return;
    };
    let Ok(a) = xmeld::anfrage(&root) else { return };
    for sicher in [false, true] {
        let k = Kontext {
            sicherheitsbehoerde: sicher,
            eigene_kennung: "ags:03000000".into(),
            landesspezifisch_ablehnen: true,
        };
        let e = xmeld::bearbeiten(&a, &k, register(), &mut NoMerkmale);
        let out = xmeld::write::antwort(
            &a,
            &e,
            register(),
            &crate::absender(&crate::MelderegisterConfig::default()),
            "5f0c8b1e-6d2a-4c3b-8e9f-0a1b2c3d4e5f",
            "2026-01-01T00:00:00Z",
        );
        if let Err(err) =
            sim_kit::xmltree::parse(out.as_bytes(), sim_kit::xmltree::Limits::default())
        {
            panic!("answer is not well-formed: {err}");
        }
    }
}

/// Run the normaliser, the wildcard matcher and both searches on strings cut from the input.
pub fn matcher(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let parts: Vec<&str> = s.split('|').collect();
    let get = |i: usize| parts.get(i).copied().unwrap_or("").to_string();
    let n = crate::search::normal::search_form(&get(0));
    assert!(n.bytes().all(|b| b.is_ascii_uppercase()));
    let _ =
        crate::search::normal::wildcard_match(&crate::search::normal::pattern_form(&get(1)), &n);
    let _ = crate::search::phonetik::code(&n);
    let q = Personensuche {
        name: PersonName::NachnameUndVornamen {
            nachname: get(0),
            vornamen: get(2),
        },
        phonetik: data.first().is_some_and(|b| b & 1 == 1),
        ags: "03241001".into(),
        plz: None,
        strasse: Some(get(3)),
        hausnummer: Hausnummer::default(),
        geburtsdatum: None,
        geburtsort: None,
        geschlecht: None,
        sterbetag: None,
        sterbeort: None,
        azr_nummer: None,
    };
    if crate::search::rules::check_personensuche(&q, false).is_ok() {
        let _ = register().personensuche(&q);
    }
    let mut f = FreieSuche::in_area(Suchbereich::Bundesland("03".into()));
    f.nachname = Some(get(1)).filter(|x| !x.is_empty());
    f.vornamen = Some(get(2)).filter(|x| !x.is_empty());
    f.strasse = Some(get(3)).filter(|x| !x.is_empty());
    f.phonetik = data.first().is_some_and(|b| b & 2 == 2);
    if crate::search::rules::check_freie_suche(&f).is_ok() {
        assert!(register().freie_suche(&f).len() <= crate::search::CAP + 1);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_entry_points_survive_samples() {
        super::matcher(b"M\xc3\xbcller|M*r|Peter Hans|Lange Str.");
        super::matcher(b"\x03|**|?|*");
        super::matcher(b"");
        super::xmeld_request(b"<x/>");
        let q = crate::xmeld::request::freie_suche_1332(
            &crate::xmeld::request::Kopfdaten {
                uuid: "0b6f4d3e-2a1c-4e8f-9b7a-1c2d3e4f5a6b".into(),
                erstellt: "2026-11-30T12:00:00Z".into(),
                leser: "ags:03000000".into(),
                autor: "dbs:1".into(),
                autor_name: "x\u{1}y".into(),
                sicherheitsbehoerde: false,
                aktenzeichen: "a".into(),
                anlass: "b".into(),
                kennung: "c".into(),
                list_version: None,
            },
            &{
                let mut f = super::FreieSuche::in_area(super::Suchbereich::Bundesland("03".into()));
                f.nachname = Some("Me?er".into());
                f
            },
            &[1],
        );
        super::xmeld_request(q.as_bytes());
    }
}
