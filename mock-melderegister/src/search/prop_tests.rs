//! Property tests for the normaliser, the wildcard matcher and the engine.

use super::normal::{parts, pattern_form, search_form, wildcard_match};
use super::query::*;
use crate::register::Register;
use crate::register::generate::{Rng, einwohner};
use crate::register::model::Einwohner;
use proptest::prelude::*;

proptest! {
    #[test]
    fn search_form_is_upper_ascii_and_idempotent(s in "\\PC{0,40}") {
        let n = search_form(&s);
        prop_assert!(n.bytes().all(|b| b.is_ascii_uppercase()));
        prop_assert_eq!(search_form(&n), n.clone());
        // Separation then normalisation loses nothing but the separators.
        prop_assert_eq!(parts(&s).concat(), n);
    }

    #[test]
    fn literal_patterns_are_equality(a in "[A-Z]{0,12}", b in "[A-Z]{0,12}") {
        prop_assert_eq!(wildcard_match(&a, &b), a == b);
    }

    #[test]
    fn question_marks_and_stars_match_their_source(v in "[A-Z]{1,16}", mask in proptest::collection::vec(0u8..4, 16)) {
        let p: String = v.chars().zip(mask.iter()).enumerate().map(|(i, (c, m))| {
            if i > 0 && *m == 0 { '?' } else { c }
        }).collect();
        prop_assert!(wildcard_match(&p, &v));
        let starred = format!("{}*", &v[..1]);
        prop_assert!(wildcard_match(&starred, &v));
        let longer = format!("{v}?");
        prop_assert!(!wildcard_match(&longer, &v));
    }

    #[test]
    fn pattern_form_keeps_wildcards(s in "[a-zäöüß]{1,5}[?*][a-zäöüß]{0,5}") {
        let p = pattern_form(&s);
        prop_assert_eq!(p.chars().filter(|c| *c == '?' || *c == '*').count(), 1);
    }

    /// A Personensuche built from a resident's own data finds that resident, and a freie Suche by one
    /// of its family-name parts in its Gemeinde does too.
    #[test]
    fn residents_find_themselves(seed in 0u64..10_000) {
        let mut rng = Rng::new(seed);
        let mut e = einwohner(&mut rng, 0);
        let gesperrt = e.auskunftssperre;
        e.auskunftssperre = false;
        let mut reg = Register::default();
        reg.add_all([e.clone()]);
        // The same person with an Auskunftssperre is never found.
        let mut blocked = Register::default();
        blocked.add_all([Einwohner { auskunftssperre: true, ..e.clone() }]);
        let _ = gesperrt;
        let w = &e.wohnungen[0];
        let q = Personensuche {
            name: PersonName::NachnameUndVornamen { nachname: e.familienname.clone(), vornamen: e.vornamen.clone() },
            phonetik: seed % 2 == 0,
            ags: w.ags.clone(),
            plz: Some(w.plz.clone()),
            strasse: Some(w.strasse.clone()),
            hausnummer: Hausnummer { nummer: w.hausnummer, zusatz: w.zusatz.clone(), teilnummer: None },
            geburtsdatum: Some(e.geburtsdatum),
            geburtsort: None,
            geschlecht: Some(e.geschlecht.clone()),
            sterbetag: e.sterbedatum,
            sterbeort: None,
            azr_nummer: None,
        };
        prop_assert_eq!(reg.personensuche(&q).unwrap(), vec![0]);
        prop_assert!(blocked.personensuche(&q).unwrap().is_empty());
        let mut f = FreieSuche::in_area(Suchbereich::Gemeinde(w.ags.clone()));
        f.nachname = e.familienname.split_whitespace().last().map(str::to_string);
        prop_assert_eq!(reg.freie_suche(&f), vec![0]);
    }
}
