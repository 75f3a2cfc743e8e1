//! Profile rules end to end: every violation the seed defines comes back as the right fault with a
//! diagnosis naming the rule and the seed passage, and leaves nothing in the store; warnings turn the
//! report yellow instead.

use crate::common::*;
use mock_xta::XtaConfig;
use mock_xta::config::{AccountConfig, FIM_SERVICE, Mode, OfferConfig};
use mock_xta::ns::Op;
use mock_xta::wire::{self, ContentSpec, Packaging, PartySpec};

fn account(id: &str, books: &[&str], offers: &[&str]) -> AccountConfig {
    AccountConfig {
        id: id.into(),
        name: format!("Test {id}"),
        category: "Test".into(),
        identifier_type: "xoev".into(),
        books: books.iter().map(std::string::ToString::to_string).collect(),
        offers: offers
            .iter()
            .map(|s| OfferConfig {
                service: s.to_string(),
                mode: Mode::Async,
                reply: None,
            })
            .collect(),
        locked: false,
    }
}

fn config() -> XtaConfig {
    let mut c = XtaConfig::default();
    c.accounts
        .push(account("vbe:010510440299", &[], &[FIM_SERVICE]));
    c.accounts.push(account("vbe:020000000099", &[], &[]));
    c.accounts
        .push(account("abc:010100100001", &[FIM_SERVICE], &[]));
    c.accounts.push(account("ehp:020100100001", &[], &[]));
    c.accounts.push(account(
        "gae:000000000001",
        &[],
        &["urn:xoev-de:xdomea:schema:2.4.0/xdomea240Antrag.wsdl"],
    ));
    c.accounts[0]
        .books
        .push("urn:xoev-de:xdomea:schema:2.4.0/xdomea240Antrag.wsdl".into());
    c
}

fn count(st: &mock_xta::XtaState) -> i64 {
    st.store().read(mock_xta::db::counts).unwrap().0
}

/// Send, expect a fault with `code` and a diagnosis `rule`, and nothing stored.
async fn refused(
    app: &axum::Router,
    st: &mock_xta::XtaState,
    meta: &wire::MetaSpec,
    msg: &ContentSpec,
    atts: &[ContentSpec],
    code: u16,
    rule: &str,
) {
    let before = count(st);
    let r = send(app, meta, msg, atts, Packaging::Inline).await;
    r.assert_fault(code);
    assert!(r.has_diag(rule), "{rule} expected: {:?}", r.diagnoses);
    assert_eq!(
        count(st),
        before,
        "a refused message must leave nothing behind"
    );
}

async fn fresh(app: &axum::Router, who: &PartySpec) -> String {
    create_id(app, who).await
}

#[tokio::test]
async fn transport_order_rules() {
    let (app, st) = sim_with(config());
    let msg = || {
        ContentSpec::new(
            "application/xml",
            None,
            wire::fim_message(&wire::default_header(), &[]).into_bytes(),
        )
    };

    let mut m = wire::fim_meta(&fresh(&app, &portal()).await, portal(), authority());
    m.message_type.code = "fim.S17000652.17000652001003".into();
    refused(
        &app,
        &st,
        &m,
        &msg(),
        &[],
        9052,
        "profile.message-type.code",
    )
    .await;

    let mut m = wire::fim_meta(&fresh(&app, &portal()).await, portal(), authority());
    m.payload_schema = "urn:xoev-de:xfall:standard:fim-s17000652_1.2".into();
    refused(
        &app,
        &st,
        &m,
        &msg(),
        &[],
        9052,
        "profile.message-type.payload-schema",
    )
    .await;

    let mut m = wire::fim_meta(&fresh(&app, &portal()).await, portal(), authority());
    m.business_scenario = None;
    m.business_scenario_text = Some("FIM_DATA".into());
    refused(
        &app,
        &st,
        &m,
        &msg(),
        &[],
        9052,
        "profile.business-scenario",
    )
    .await;

    // Reader of the wrong category (an ehp: account) — 9052; an unknown vbe: reader — 9012; a known one
    // that does not offer the service — 9022.
    let mut h = wire::default_header();
    h.reader.key = "ehp:020100100001".into();
    let m = wire::fim_meta(
        &fresh(&app, &portal()).await,
        portal(),
        PartySpec::new("ehp:020100100001"),
    );
    refused(
        &app,
        &st,
        &m,
        &ContentSpec::new(
            "application/xml",
            None,
            wire::fim_message(&h, &[]).into_bytes(),
        ),
        &[],
        9052,
        "profile.key.category",
    )
    .await;
    h.reader.key = "vbe:010510440399".into();
    let m = wire::fim_meta(
        &fresh(&app, &portal()).await,
        portal(),
        PartySpec::new("vbe:010510440399"),
    );
    refused(
        &app,
        &st,
        &m,
        &ContentSpec::new(
            "application/xml",
            None,
            wire::fim_message(&h, &[]).into_bytes(),
        ),
        &[],
        9012,
        "xta.send.unknown-reader",
    )
    .await;
    h.reader.key = "vbe:020000000099".into();
    let m = wire::fim_meta(
        &fresh(&app, &portal()).await,
        portal(),
        PartySpec::new("vbe:020000000099"),
    );
    refused(
        &app,
        &st,
        &m,
        &ContentSpec::new(
            "application/xml",
            None,
            wire::fim_message(&h, &[]).into_bytes(),
        ),
        &[],
        9022,
        "xta.send.service-not-offered",
    )
    .await;

    // An author of the wrong category.
    let abc = PartySpec::new("abc:010100100001");
    let mut h = wire::default_header();
    h.author.key = abc.id.clone();
    let m = wire::fim_meta(&fresh(&app, &abc).await, abc.clone(), authority());
    refused(
        &app,
        &st,
        &m,
        &ContentSpec::new(
            "application/xml",
            None,
            wire::fim_message(&h, &[]).into_bytes(),
        ),
        &[],
        9052,
        "profile.key.category",
    )
    .await;

    // A service the account has not booked.
    let other = PartySpec::new("ehp:020100100001");
    let m = wire::fim_meta(&fresh(&app, &other).await, other, authority());
    refused(&app, &st, &m, &msg(), &[], 9013, "xta.send.not-booked").await;
}

#[tokio::test]
async fn message_and_header_rules() {
    let (app, st) = sim_with(config());
    let m = || async { wire::fim_meta(&create_id(&app, &portal()).await, portal(), authority()) };
    let raw = |s: &str| ContentSpec::new("application/xml", None, s.as_bytes().to_vec());

    refused(
        &app,
        &st,
        &m().await,
        &raw("Versammlungsanzeige als Text"),
        &[],
        9050,
        "profile.message.xml",
    )
    .await;
    let iso = wire::fim_message(&wire::default_header(), &[])
        .replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
    refused(
        &app,
        &st,
        &m().await,
        &raw(&iso),
        &[],
        9051,
        "profile.message.encoding",
    )
    .await;
    let mut latin = raw(&wire::fim_message(&wire::default_header(), &[]));
    latin.attrs.encoding = Some("ISO-8859-1".into());
    refused(
        &app,
        &st,
        &m().await,
        &latin,
        &[],
        9051,
        "profile.message.encoding",
    )
    .await;
    let no_header =
        "<?xml version=\"1.0\"?><Antrag xmlns=\"urn:x\"><F17009191>x</F17009191></Antrag>";
    refused(
        &app,
        &st,
        &m().await,
        &raw(no_header),
        &[],
        9052,
        "profile.header.missing",
    )
    .await;
    let no_field = wire::fim_message(&wire::default_header(), &[]).replace(
        "<xfd:F05002752>fim.S17000652.17000652001004</xfd:F05002752>",
        "",
    );
    refused(
        &app,
        &st,
        &m().await,
        &raw(&no_field),
        &[],
        9052,
        "profile.header.field-missing",
    )
    .await;
    let doctype = format!(
        "<!DOCTYPE x [<!ENTITY e \"boom\">]>{}",
        wire::fim_message(&wire::default_header(), &[])
            .split_once("?>")
            .unwrap()
            .1
    );
    refused(
        &app,
        &st,
        &m().await,
        &raw(&doctype),
        &[],
        9050,
        "profile.message.xml",
    )
    .await;

    // Attachments.
    let (meta, msg, _) = fim(
        &create_id(&app, &portal()).await,
        &[("Plan 1.pdf", b"%PDF")],
    );
    refused(
        &app,
        &st,
        &meta,
        &msg,
        &[ContentSpec::new(
            "application/pdf",
            Some("Plan 1.pdf"),
            pdf(10),
        )],
        9052,
        "profile.attachment.filename-chars",
    )
    .await;
    let (meta, msg, _) = fim(&create_id(&app, &portal()).await, &[("Plan.pdf", b"%PDF")]);
    refused(
        &app,
        &st,
        &meta,
        &msg,
        &[],
        9052,
        "profile.attachment.proof-without-file",
    )
    .await;
    let (meta, msg, _) = fim(&create_id(&app, &portal()).await, &[]);
    refused(
        &app,
        &st,
        &meta,
        &msg,
        &[ContentSpec::new(
            "application/pdf",
            Some("Plan.pdf"),
            pdf(10),
        )],
        9052,
        "profile.attachment.file-without-proof",
    )
    .await;
    let (meta, msg, _) = fim(&create_id(&app, &portal()).await, &[("Plan.pdf", b"")]);
    refused(
        &app,
        &st,
        &meta,
        &msg,
        &[ContentSpec::new("application/pdf", None, pdf(10))],
        9052,
        "profile.attachment.filename-missing",
    )
    .await;
    let (meta, msg, _) = fim(&create_id(&app, &portal()).await, &[("Nachweise.pdf", b"")]);
    refused(
        &app,
        &st,
        &meta,
        &msg,
        &[ContentSpec::new(
            "application/pdf",
            Some("Nachweise.pdf"),
            b"PK\x03\x04zip".to_vec(),
        )],
        9052,
        "profile.compression",
    )
    .await;
}

#[tokio::test]
async fn warnings_make_the_report_yellow() {
    let (app, _) = sim_with(config());
    // The prose spelling of the service in the order and the header: accepted, yellow once received.
    let id = create_id(&app, &portal()).await;
    let mut meta = wire::fim_meta(&id, portal(), authority());
    meta.service = "urn:fim:Versamlungsanzeige:1.4".into();
    let mut h = wire::default_header();
    h.service = meta.service.clone();
    let r = send(
        &app,
        &meta,
        &ContentSpec::new(
            "application/xml",
            None,
            wire::fim_message(&h, &[]).into_bytes(),
        ),
        &[],
        Packaging::Inline,
    )
    .await;
    r.assert_ok();
    assert!(r.has_diag("profile.service.variant"), "{:?}", r.diagnoses);
    let close = call(
        &app,
        Op::Close,
        &authority(),
        &wire::iterator_request("MsgBoxCloseRequest", "1", &[&id]),
    )
    .await;
    close.assert_ok();
    let rep = call(
        &app,
        Op::GetTransportReport,
        &portal(),
        &wire::message_id_body(&id),
    )
    .await;
    assert_eq!(rep.find("Status").as_deref(), Some("2"), "{}", rep.xml);
    assert!(
        rep.find_all("code")
            .contains(&"profile.service.variant".to_string())
    );

    // The header names another authority: routed there (header wins), yellow.
    let id = create_id(&app, &portal()).await;
    let meta = wire::fim_meta(&id, portal(), authority());
    let mut h = wire::default_header();
    h.reader.key = "vbe:010510440299".into();
    let r = send(
        &app,
        &meta,
        &ContentSpec::new(
            "application/xml",
            None,
            wire::fim_message(&h, &[]).into_bytes(),
        ),
        &[],
        Packaging::Inline,
    )
    .await;
    r.assert_ok();
    let other = PartySpec::new("vbe:010510440299");
    let l = call(
        &app,
        Op::GetStatusList,
        &other,
        &wire::status_list_request(None, None, ""),
    )
    .await;
    assert_eq!(l.find_all("MessageID"), vec![id.clone()]);
    let l = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(None, None, ""),
    )
    .await;
    assert!(!l.find_all("MessageID").contains(&id));
}

#[tokio::test]
async fn production_keys_only_when_configured_and_diagnosed() {
    let mut c = config();
    let mut prod = account("vbe:010510440100", &[], &[FIM_SERVICE]);
    prod.name = "Kreisordnungsbehörde Dithmarschen".into();
    c.accounts.push(prod);
    let (app, _) = sim_with(c);
    let id = create_id(&app, &portal()).await;
    let meta = wire::fim_meta(&id, portal(), PartySpec::new("vbe:010510440100"));
    let mut h = wire::default_header();
    h.reader.key = "vbe:010510440100".into();
    let r = send(
        &app,
        &meta,
        &ContentSpec::new(
            "application/xml",
            None,
            wire::fim_message(&h, &[]).into_bytes(),
        ),
        &[],
        Packaging::Inline,
    )
    .await;
    r.assert_ok();
    assert!(r.has_diag("profile.key.production"), "{:?}", r.diagnoses);
    // Not configured: the production key of the portal is no account.
    let (app, _) = sim_with(config());
    let prod_portal = PartySpec::new("ehp:010100100000");
    let r = call(&app, Op::CreateMessageId, &prod_portal, "").await;
    r.assert_fault(9012);
}

#[tokio::test]
async fn second_profile_is_data_too() {
    let (app, _) = sim_with(config());
    let id = create_id(&app, &portal()).await;
    let meta = wire::MetaSpec {
        service: "urn:xoev-de:xdomea:schema:2.4.0/xdomea240Antrag.wsdl".into(),
        business_scenario: Some(wire::CodeSpec {
            code: "XDOMEAGAD_DATA".into(),
            list_uri: "urn:de:xta:codeliste:business.scenario".into(),
            list_version_id: "1".into(),
        }),
        payload_schema: "urn:xoev-de:xdomea:schema:2.4.0".into(),
        message_type: wire::CodeSpec {
            code: "0201".into(),
            list_uri: "urn:de:payloadSchema:elementName".into(),
            list_version_id: "1.0".into(),
        },
        ..wire::fim_meta(&id, portal(), PartySpec::new("gae:000000000001"))
    };
    // A ZIP is what xdomea transfers are: allowed here, unlike under the FIM profile.
    let zip = ContentSpec::new(
        "application/zip",
        Some("0201_Antrag.zip"),
        b"PK\x03\x04xdomea".to_vec(),
    );
    let r = send(&app, &meta, &zip, &[], Packaging::MtomCxf).await;
    r.assert_ok();
    assert!(
        r.diagnoses
            .iter()
            .all(|d| !d.starts_with("profile.compression"))
    );
}

#[tokio::test]
async fn size_limit_40_mib_and_the_megabyte_switch() {
    // 40 × 10⁶ + 1 bytes: within 40 MiB (accepted), beyond 40 MB read as 10⁶ (refused with 9023).
    let big = vec![b'x'; 40_000_001];
    for (unit, ok) in [
        (None, true),
        (Some(mock_xta::profile::SizeUnit::Megabyte), false),
    ] {
        let mut c = config();
        if let Some(u) = unit {
            c.profile_switches.insert(
                "fim-versammlungsanzeige-1.4".into(),
                mock_xta::profile::Switches {
                    size_unit: Some(u),
                    ..Default::default()
                },
            );
        }
        let (app, st) = sim_with(c);
        let id = create_id(&app, &portal()).await;
        let (meta, msg, _) = fim(&id, &[("Gross.pdf", b"")]);
        let att = ContentSpec::new("application/pdf", Some("Gross.pdf"), big.clone());
        let r = send(&app, &meta, &msg, &[att], Packaging::MtomCxf).await;
        if ok {
            r.assert_ok();
        } else {
            r.assert_fault(9023);
            assert_eq!(count(&st), 0);
        }
    }
    // Beyond 40 MiB: refused while streaming.
    let (app, st) = sim_with(config());
    let id = create_id(&app, &portal()).await;
    let (meta, msg, _) = fim(&id, &[("Gross.pdf", b"")]);
    let att = ContentSpec::new(
        "application/pdf",
        Some("Gross.pdf"),
        vec![b'y'; 40 * 1024 * 1024 + 1],
    );
    let r = send(&app, &meta, &msg, &[att], Packaging::MtomCxf).await;
    r.assert_fault(9023);
    assert!(r.has_diag("xta.size.limit"), "{:?}", r.diagnoses);
    assert_eq!(count(&st), 0);
}
