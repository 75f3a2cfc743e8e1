//! `scenarios/obligations.yaml`: loads, quotes the seed (or the row's `source`) verbatim, covers every
//! shipped pack, and every defect of the reference client names one of its obligations.

use super::scenarios_dir;
use conformance::client::Defect;
use conformance::obligations::{self, normalize};
use std::collections::BTreeMap;

fn file() -> obligations::ObligationsFile {
    obligations::load(&scenarios_dir().join("obligations.yaml")).expect("obligations.yaml loads")
}

#[test]
fn every_quote_and_section_is_in_the_seed() {
    let f = file();
    let mut texts: BTreeMap<&str, String> = BTreeMap::new();
    for o in &f.obligations {
        // The seed's file, or the reference document the row names as `source`.
        let rel = obligations::quoted_file(&f, o).expect("load checked the seed");
        if !texts.contains_key(rel) {
            let Some(path) = test_support::shared::require(rel) else {
                return;
            };
            let text =
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {rel}: {e}", o.id));
            texts.insert(rel, normalize(&text));
        }
        let text = &texts[rel];
        assert!(
            text.contains(&normalize(&o.quote)),
            "{}: quote not in {rel}: {}",
            o.id,
            o.quote
        );
        assert!(
            text.contains(&normalize(&o.section)),
            "{}: section not in {rel}: {}",
            o.id,
            o.section
        );
    }
}

#[test]
fn every_obligation_of_the_shipped_packs_is_checked() {
    let f = file();
    let (packs, errors) = conformance::model::load(&[scenarios_dir()]);
    assert!(errors.is_empty(), "{errors:?}");
    let c = obligations::coverage(&f, &packs);
    assert!(
        c.ok(),
        "unchecked {:?}, dangling {:?}",
        c.unchecked,
        c.dangling
    );
    assert!(c.total >= 60, "{} obligations", c.total);
}

#[test]
fn every_defect_names_an_obligation_of_the_file() {
    let f = file();
    let mut n = 0;
    for d in Defect::all() {
        assert!(
            obligations::class_of(&f, d.obligation()).is_some(),
            "defect {} names obligation `{}`, which obligations.yaml lacks",
            d.name(),
            d.obligation()
        );
        n += 1;
    }
    assert!(n >= 55, "{n} defects");
}
