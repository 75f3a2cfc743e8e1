//! Golden tests: the seed's own examples go through the FIM profile exactly as seed 001 says — its key
//! examples (§3.1, §3.2 with positions 11–12: 00 production, 01–99 / 99 test) and its header example
//! (§5.2), including the service it spells two ways.

use super::check::{Facts, Level, check, scan_spec};
use super::keys::{self, KeyEnvironment};
use super::{Profiles, Severity};
use crate::model::{ContentAttrs, Meta};
use crate::wire::{self, FimHeader, PartySpec};
use crate::xml::scan::scan;

fn fim() -> super::Profile {
    Profiles::builtin()
        .unwrap()
        .by_id("fim-versammlungsanzeige-1.4")
        .unwrap()
        .clone()
}

fn meta(m: &wire::MetaSpec) -> Meta {
    let el = crate::xml::reader::parse_document(wire::meta_xml(m).as_bytes(), Default::default())
        .unwrap();
    Meta::parse(&el, "/MessageMetaData").unwrap()
}

fn verdict(
    p: &super::Profile,
    m: &wire::MetaSpec,
    header: &FimHeader,
    proofs: &[&str],
    files: &[&str],
) -> super::Verdict {
    let msg = wire::fim_message(header, proofs);
    let spec = scan_spec(p).unwrap();
    let sc = scan(msg.as_bytes(), &spec);
    let mt = meta(m);
    let attrs = ContentAttrs {
        content_type: "application/xml".into(),
        ..ContentAttrs::default()
    };
    let atts: Vec<super::check::AttachmentFacts> = files
        .iter()
        .map(|f| super::check::AttachmentFacts {
            attrs: ContentAttrs {
                content_type: "application/pdf".into(),
                filename: Some(f.to_string()),
                ..ContentAttrs::default()
            },
            head: b"%PDF".to_vec(),
        })
        .collect();
    check(
        p,
        &Facts {
            meta: &mt,
            message: Some(&attrs),
            message_head: msg.as_bytes(),
            scan: Some(&sc),
            attachments: &atts,
            encrypted: false,
            total_bytes: msg.len() as u64,
        },
    )
}

fn rules(v: &super::Verdict, level: Level) -> Vec<String> {
    v.findings
        .iter()
        .filter(|f| f.level == level)
        .map(|f| f.rule.clone())
        .collect()
}

#[test]
fn seed_key_examples() {
    let p = fim();
    let ehp = p.author.clone().unwrap();
    let vbe = p.reader.clone().unwrap();
    // §3.1: the example portal key ends in 00 = Produktion; 01-99 = Test.
    assert_eq!(
        keys::check("ehp:010100100000", &ehp),
        Ok(Some(KeyEnvironment::Production))
    );
    assert_eq!(
        keys::check("ehp:010100100001", &ehp),
        Ok(Some(KeyEnvironment::Test))
    );
    assert_eq!(
        keys::check("ehp:010100100099", &ehp),
        Ok(Some(KeyEnvironment::Test))
    );
    // §3.2: 00 = Produktion, 99 = Test — nothing else.
    assert_eq!(
        keys::check("vbe:010510440100", &vbe),
        Ok(Some(KeyEnvironment::Production))
    );
    assert_eq!(
        keys::check("vbe:010510440199", &vbe),
        Ok(Some(KeyEnvironment::Test))
    );
    assert_eq!(
        keys::check("vbe:010510440101", &vbe).unwrap_err().rule,
        "profile.key.environment"
    );
    // Länderschlüssel 01–16; twelve digits; the right category.
    assert_eq!(
        keys::check("ehp:170100100001", &ehp).unwrap_err().rule,
        "profile.key.segment"
    );
    assert_eq!(
        keys::check("vbe:000510440199", &vbe).unwrap_err().rule,
        "profile.key.segment"
    );
    assert_eq!(
        keys::check("vbe:01051044019", &vbe).unwrap_err().rule,
        "profile.key.format"
    );
    assert_eq!(
        keys::check("vbe:0105104401x9", &vbe).unwrap_err().rule,
        "profile.key.format"
    );
    assert_eq!(
        keys::check("vsb:010510440199", &vbe).unwrap_err().rule,
        "profile.key.category"
    );
    assert_eq!(
        keys::check("010510440199", &vbe).unwrap_err().rule,
        "profile.key.prefix"
    );
}

#[test]
fn seed_header_example_goes_through_as_the_seed_says() {
    let p = fim();
    let h = wire::seed_header_example();
    // A transport order exactly as the seed's prose writes it: the service with one "m" (§4.1 II c),
    // the example keys of §3.1/§3.2.
    let mut m = wire::fim_meta(
        "urn:de:xta:messageid:test:1",
        PartySpec::new(&h.author.key),
        PartySpec::new(&h.reader.key),
    );
    m.service = "urn:fim:Versamlungsanzeige:1.4".into();
    let v = verdict(&p, &m, &h, &[], &[]);
    assert_eq!(rules(&v, Level::Error), Vec::<String>::new(), "{v:#?}");
    // The misspelt service is a warning; the header (§5.2, two "m") differs from the order, and the header
    // is authoritative (§4.1 III): routed by the correctly spelt service, with a warning.
    let w = rules(&v, Level::Warning);
    assert!(w.contains(&"profile.service.variant".to_string()), "{w:?}");
    assert!(
        w.contains(&"profile.header.routing-differs".to_string()),
        "{w:?}"
    );
    assert_eq!(v.routing.service, "urn:fim:Versammlungsanzeige:1.4");
    assert_eq!(v.routing.reader, "vbe:010510440100");
    // Both example keys end in 00: production keys, diagnosed against a test server.
    let notes = rules(&v, Level::Note);
    assert_eq!(
        notes
            .iter()
            .filter(|r| *r == "profile.key.production")
            .count(),
        4,
        "{notes:?}"
    );
    assert_eq!(v.author_environment, Some(KeyEnvironment::Production));
    assert_eq!(v.reader_environment, Some(KeyEnvironment::Production));
}

#[test]
fn header_wins_on_routing_data_and_names_are_notes_only() {
    let p = fim();
    let mut h = wire::default_header();
    h.reader.key = "vbe:010510440299".into();
    h.author.name = "Ein anderer Name".into();
    let m = wire::fim_meta(
        "urn:x:1",
        PartySpec::new("ehp:010100100001"),
        PartySpec {
            name: Some("Kreisordnungsbehörde  Dithmarschen".into()),
            ..PartySpec::new("vbe:010510440199")
        },
    );
    let mut m2 = m.clone();
    m2.author.name = Some("EFA-Onlinedienst Versammlungsanzeige Schleswig-Holstein".into());
    let v = verdict(&p, &m2, &h, &[], &[]);
    assert!(rules(&v, Level::Error).is_empty(), "{v:#?}");
    assert_eq!(v.routing.reader, "vbe:010510440299");
    let routing: Vec<_> = v
        .findings
        .iter()
        .filter(|f| f.rule == "profile.header.routing-differs")
        .collect();
    assert_eq!(routing.len(), 1);
    assert!(
        routing[0].message.contains("vbe:010510440299")
            && routing[0].message.contains("vbe:010510440199"),
        "{}",
        routing[0].message
    );
    let names: Vec<_> = v
        .findings
        .iter()
        .filter(|f| f.rule == "profile.header.name-differs")
        .collect();
    assert_eq!(names.len(), 1);
    assert_eq!(names[0].level, Level::Note);
    // With the switch the same difference is refused.
    let mut strict = p.clone();
    super::Switches {
        on_routing_difference: Some(super::model::Difference::Reject),
        ..Default::default()
    }
    .apply(&mut strict);
    let v = verdict(&strict, &m2, &h, &[], &[]);
    assert_eq!(
        rules(&v, Level::Error),
        vec!["profile.header.routing-differs".to_string()]
    );
}

#[test]
fn misspelt_service_switch() {
    let mut p = fim();
    let h = wire::default_header();
    let mut m = wire::fim_meta(
        "urn:x:1",
        PartySpec::new("ehp:010100100001"),
        PartySpec::new("vbe:010510440199"),
    );
    m.service = "urn:fim:Versamlungsanzeige:1.4".into();
    let mut hh = h.clone();
    hh.service = m.service.clone();
    assert_eq!(
        rules(&verdict(&p, &m, &hh, &[], &[]), Level::Warning),
        vec!["profile.service.variant".to_string(); 2]
    );
    super::Switches {
        service_variants: Some(Severity::Error),
        ..Default::default()
    }
    .apply(&mut p);
    assert_eq!(
        rules(&verdict(&p, &m, &hh, &[], &[]), Level::Error),
        vec!["profile.service.variant".to_string(); 2]
    );
}

#[test]
fn attachment_names_and_proofs() {
    let p = fim();
    let h = wire::default_header();
    let m = wire::fim_meta(
        "urn:x:1",
        PartySpec::new("ehp:010100100001"),
        PartySpec::new("vbe:010510440199"),
    );
    let ok = verdict(
        &p,
        &m,
        &h,
        &["Lageplan_Größe-1.pdf", "Ordner.Liste.pdf"],
        &["Ordner.Liste.pdf", "Lageplan_Größe-1.pdf"],
    );
    assert!(rules(&ok, Level::Error).is_empty(), "{ok:#?}");
    let long = format!("{}.pdf", "a".repeat(87));
    assert_eq!(long.chars().count(), 91);
    let cases: Vec<(Vec<&str>, Vec<&str>, &str)> = vec![
        (
            vec![&long],
            vec![&long],
            "profile.attachment.filename-length",
        ),
        (
            vec!["Plan 1.pdf"],
            vec!["Plan 1.pdf"],
            "profile.attachment.filename-chars",
        ),
        (
            vec!["Plan(1).pdf"],
            vec!["Plan(1).pdf"],
            "profile.attachment.filename-chars",
        ),
        (
            vec!["Plan.pdf"],
            vec!["Plan.pdf", "Plan.pdf"],
            "profile.attachment.filename-unique",
        ),
        (
            vec!["Plan.pdf", "Plan.pdf"],
            vec!["Plan.pdf"],
            "profile.attachment.proof-unique",
        ),
        (
            vec!["Plan.pdf", "Foto.png"],
            vec!["Plan.pdf"],
            "profile.attachment.proof-without-file",
        ),
        (
            vec!["Plan.pdf"],
            vec!["Plan.pdf", "Foto.png"],
            "profile.attachment.file-without-proof",
        ),
    ];
    for (proofs, files, rule) in cases {
        let v = verdict(&p, &m, &h, &proofs, &files);
        assert!(
            rules(&v, Level::Error).contains(&rule.to_string()),
            "{rule}: {:?}",
            rules(&v, Level::Error)
        );
    }
    let exactly90 = format!("{}.pdf", "ä".repeat(86));
    assert_eq!(exactly90.chars().count(), 90);
    assert!(
        rules(
            &verdict(&p, &m, &h, &[&exactly90], &[&exactly90]),
            Level::Error
        )
        .is_empty()
    );
}
