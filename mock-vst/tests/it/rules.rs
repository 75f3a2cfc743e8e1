//! One test per rule of the seed, each with its accept and its reject side, through the router.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use mock_vst::{IdChecks, Profile, ReusePolicy, VstConfig};
use ti_core::ecies::{self, AesKeySize, EciesParams};
use ti_core::sig_input::Variant;
use ti_core::{Curve, EcSecretKey, b64_encode};

async fn post_ct(s: &Sim, ct: Option<&str>, body: String) -> Resp {
    let mut b = Request::post(VS).header("authorization", auth(&s.pki));
    if let Some(ct) = ct {
        b = b.header("content-type", ct);
    }
    send(&s.app, b.body(Body::from(body)).unwrap()).await
}

#[tokio::test]
async fn content_type_must_be_application_json() {
    let s = sim();
    for (i, ct) in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
    ]
    .iter()
    .enumerate()
    {
        let body = vs_body(&s.pki, &format!("ct-{i}"), &[good(i)]);
        let r = post_ct(&s, Some(ct), body).await;
        assert_eq!(r.status, StatusCode::OK, "{ct}: {:?}", r.diags);
    }
    for ct in [
        Some("text/plain"),
        None,
        Some("application/json; charset=iso-8859-1"),
        Some("application/xml"),
        Some("application/json; boundary=x"),
    ] {
        let body = vs_body(&s.pki, "ct-bad", &[good(9)]);
        let r = post_ct(&s, ct, body).await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        assert!(
            r.has("http.content-type", Some("header:Content-Type")),
            "{:?}",
            r.diags
        );
        assert!(r.body.is_empty(), "no extended error description");
    }
    assert_eq!(s.state.deliveries().len(), 3);
}

#[tokio::test]
async fn json_without_comments() {
    let s = sim();
    let body = vs_body(&s.pki, "c-1", &[good(1)]);
    let commented = body.replacen('{', "{ // a comment\n", 1);
    let r = post(&s, VS, commented).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.has("json.comment", None), "{:?}", r.diags);
    let block = body.replacen("\"Meldungen\"", "/* x */ \"Meldungen\"", 1);
    let r = post(&s, VS, block).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.has("json.comment", None));
    assert!(s.state.deliveries().is_empty());
    assert_eq!(post(&s, VS, body).await.status, StatusCode::OK);
}

#[tokio::test]
async fn no_duplicate_keys_at_any_depth_case_insensitive() {
    let s = sim();
    let body = vs_body(&s.pki, "d-1", &[good(1)]);
    // A second IdDatensatz inside the record, spelled differently.
    let dup = body.replacen(
        "\"IdDatensatz\":",
        "\"iddatensatz\":\"x\",\"IdDatensatz\":",
        1,
    );
    let r = post(&s, VS, dup).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.has("json.duplicate-key", Some("/Meldungen/0/IdDatensatz")),
        "{:?}",
        r.diags
    );
    let top = body.replacen('{', "{\"SIGNATUR\":\"AA==\",", 1);
    let r = post(&s, VS, top).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.has("json.duplicate-key", Some("/Signatur")),
        "{:?}",
        r.diags
    );
    assert!(s.state.deliveries().is_empty());
    assert_eq!(post(&s, VS, body).await.status, StatusCode::OK);
}

#[tokio::test]
async fn property_names_are_case_insensitive() {
    let s = sim();
    let body = vs_body(&s.pki, "ci-1", &[good(1)])
        .replace("\"IdDatenlieferung\"", "\"iddatenlieferung\"")
        .replace("\"Meldungen\"", "\"MELDUNGEN\"")
        .replace("\"Vitalstatus\"", "\"VitalStatus\"");
    let r = post(&s, VS, body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.diags);
    // Reject side: a name that only resembles a property is unknown.
    let body = vs_body(&s.pki, "ci-2", &[good(2)]).replace("\"Vitalstatus\"", "\"Vital_status\"");
    let r = post(&s, VS, body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.has("json.unknown-property", Some("/Meldungen/0/Vital_status")),
        "{:?}",
        r.diags
    );
}

#[tokio::test]
async fn only_properties_of_the_openapi_definition() {
    let s = sim();
    let body = vs_body(&s.pki, "u-1", &[good(1), good(2)]);
    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["Meldungen"][1]["Kommentar"] = "x".into();
    let r = post(&s, VS, v.to_string()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.has("json.unknown-property", Some("/Meldungen/1/Kommentar")));
    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["Version"] = 1.into();
    let r = post(&s, VS, v.to_string()).await;
    assert!(
        r.has("json.unknown-property", Some("/Version")),
        "{:?}",
        r.diags
    );
    assert_eq!(post(&s, VS, body).await.status, StatusCode::OK);
}

#[tokio::test]
async fn required_properties_types_and_base64() {
    let s = sim();
    let body = vs_body(&s.pki, "r-1", &[good(1)]);
    let base: serde_json::Value = serde_json::from_str(&body).unwrap();
    type Mutate = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(Mutate, &str, &str)> = vec![
        (
            Box::new(|v| {
                v["Meldungen"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("Sterbedatum");
            }),
            "json.required",
            "/Meldungen/0/Sterbedatum",
        ),
        (
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("Signatur");
            }),
            "json.required",
            "/Signatur",
        ),
        (
            Box::new(|v| v["IdDatenlieferung"] = 2024.into()),
            "json.type",
            "/IdDatenlieferung",
        ),
        (
            Box::new(|v| v["Meldungen"] = serde_json::json!({})),
            "json.type",
            "/Meldungen",
        ),
        (
            Box::new(|v| v["Meldungen"][0]["Vitalstatus"] = "not base64!".into()),
            "json.base64",
            "/Meldungen/0/Vitalstatus",
        ),
        (
            Box::new(|v| v["Meldungen"][0]["IdVersicherter"] = serde_json::Value::Null),
            "json.required",
            "/Meldungen/0/IdVersicherter",
        ),
        (
            Box::new(|v| v["Meldungen"] = serde_json::json!([])),
            "delivery.empty",
            "/Meldungen",
        ),
        (
            Box::new(|v| v["Meldungen"][0]["IdDatensatz"] = "".into()),
            "field.empty",
            "/Meldungen/0/IdDatensatz",
        ),
    ];
    for (mutate, rule, at) in cases {
        let mut v = base.clone();
        mutate(&mut v);
        let r = post(&s, VS, v.to_string()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{rule} {at}");
        assert!(r.has(rule, Some(at)), "{rule} {at}: {:?}", r.diags);
    }
    assert!(s.state.deliveries().is_empty());
    assert_eq!(post(&s, VS, body).await.status, StatusCode::OK);
}

#[tokio::test]
async fn authentication_and_authorisation() {
    let s = sim();
    let body = || vs_body(&s.pki, "a-1", &[good(1)]);
    let call = |h: Option<String>| {
        let mut b = Request::post(VS).header("content-type", "application/json");
        if let Some(h) = h {
            b = b.header("authorization", h);
        }
        send(&s.app, b.body(Body::from(body())).unwrap())
    };
    let r = call(None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.has("auth.missing", None));
    let r = call(Some("Bearer abc".into())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.has("auth.scheme", None));
    let r = call(Some("IRD nonsense".into())).await;
    assert!(r.has("auth.format", None), "{:?}", r.diags);
    // Signed with the SIG key instead of the AUT key.
    let input =
        ti_core::sig_input::registration_input(&s.pki.insurer.telematik_id, &s.pki.insurer.ik);
    let wrong = s
        .pki
        .insurer_sig
        .key
        .sign_prehash_der(&ti_core::sha256(&input))
        .unwrap();
    let r = call(Some(mock_vst::auth_header(
        &s.pki.insurer.telematik_id,
        &s.pki.insurer.ik,
        &wrong,
    )))
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.has("auth.signature", None), "{:?}", r.diags);
    // Raw r||s instead of DER.
    let raw = s
        .pki
        .insurer_aut
        .key
        .sign_prehash_raw(&ti_core::sha256(&input))
        .unwrap();
    let r = call(Some(mock_vst::auth_header(
        &s.pki.insurer.telematik_id,
        &s.pki.insurer.ik,
        &raw,
    )))
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.has("auth.signature-encoding", None), "{:?}", r.diags);
    // Not registered: 403.
    let r = call(Some(mock_vst::auth_header(
        "9-99.TEST",
        "109519005",
        &wrong,
    )))
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.has("auth.unregistered", None));
    // GET endpoints are protected too.
    let r = send(&s.app, Request::get(VS_ERR).body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(s.state.deliveries().is_empty());
    // Accept side.
    assert_eq!(call(Some(auth(&s.pki))).await.status, StatusCode::OK);
    // Mode `none`: no header needed.
    s.state.set_profile(Profile {
        auth: mock_vst::AuthMode::None,
        ..Profile::default()
    });
    assert_eq!(
        call(None).await.status,
        StatusCode::OK,
        "second delivery reuses IdDatenlieferung only with a diagnosis"
    );
}

#[tokio::test]
async fn registration_verifies_certificate_and_signature() {
    let s = sim();
    // A second insurer with a card from the same test CA.
    let other = TestPkiExt::second_insurer(&s.pki);
    let reg = |sig: &[u8], cert: String| {
        serde_json::json!({
            "TelematikId": "5-2.109519005.TEST",
            "HauptIK": "109519005",
            "Certificate": cert,
            "Signature": b64_encode(sig),
        })
        .to_string()
    };
    let input = ti_core::sig_input::registration_input("5-2.109519005.TEST", "109519005");
    let good_sig = other
        .key
        .sign_prehash_der(&ti_core::sha256(&input))
        .unwrap();
    let bad_sig = other.key.sign_prehash_der(&ti_core::sha256(b"x")).unwrap();
    let admin = |body: String| {
        send(
            &s.app,
            Request::post("/__konform/registrations")
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
    };
    let r = admin(reg(&bad_sig, other.cert_pem())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("does not verify"), "{}", r.text());
    // A certificate from another CA.
    let foreign = ti_core::pki::TestPki::generate(&Default::default()).unwrap();
    let r = admin(reg(&good_sig, foreign.insurer_aut.cert_pem())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Accept: PEM and base64 DER both work.
    let r = admin(reg(&good_sig, b64_encode(&other.cert_der))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(s.state.insurers().len(), 2);
    // The new insurer authenticates.
    let h = mock_vst::auth_header("5-2.109519005.TEST", "109519005", &good_sig);
    let r = send(
        &s.app,
        Request::get(VS_ERR)
            .header("authorization", h)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // … but cannot sign deliveries with the default insurer's C.SIG.
    let body = vs_body(&s.pki, "reg-1", &[good(1)]);
    let r = send(
        &s.app,
        Request::post(VS)
            .header("content-type", "application/json")
            .header(
                "authorization",
                mock_vst::auth_header("5-2.109519005.TEST", "109519005", &good_sig),
            )
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.has("cms.signer-insurer", Some("/Signatur")),
        "{:?}",
        r.diags
    );
}

/// Issue extra certificates from the test CA.
struct TestPkiExt;
impl TestPkiExt {
    fn second_insurer(pki: &ti_core::pki::TestPki) -> ti_core::pki::Identity {
        use std::time::{Duration, SystemTime};
        let key = EcSecretKey::generate(pki.curve);
        let der = ti_core::pki::issue(
            &ti_core::pki::CertSpec {
                subject: "CN=Zweite Kasse C.AUT TEST-ONLY,OU=109519005,OU=5-2.109519005.TEST,O=Zweite Kasse NOT-VALID,C=DE",
                purpose: ti_core::pki::Purpose::Signature,
                not_before: SystemTime::now() - Duration::from_secs(3600),
                not_after: SystemTime::now() + Duration::from_secs(3600 * 24),
                serial: 4711,
            },
            &key.public_key(),
            Some(&pki.ca),
            None,
        )
        .unwrap();
        ti_core::pki::Identity { cert_der: der, key }
    }
}

#[tokio::test]
async fn no_patient_data_in_ids() {
    let s = sim();
    let r = post(&s, VS, vs_body(&s.pki, "lieferung-A111100008", &[good(1)])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.has("delivery.patient-data-in-id", Some("/IdDatenlieferung")),
        "{:?}",
        r.diags
    );
    let mut rec = good(2);
    rec.id = "A111100010".into();
    let r = post(&s, VS, vs_body(&s.pki, "p-2", &[good(1), rec])).await;
    assert!(
        r.has(
            "delivery.patient-data-in-id",
            Some("/Meldungen/1/IdDatensatz")
        ),
        "{:?}",
        r.diags
    );
    // An id that merely looks similar (wrong check digit) is fine.
    let mut rec = good(3);
    rec.id = "A111100009".into();
    assert_eq!(
        post(&s, VS, vs_body(&s.pki, "p-3", &[rec])).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn id_datensatz_unique_within_delivery() {
    let s = sim();
    let mut b = good(2);
    b.id = good(1).id;
    let r = post(&s, VS, vs_body(&s.pki, "dup-1", &[good(1), b])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.has(
        "delivery.duplicate-id-datensatz",
        Some("/Meldungen/1/IdDatensatz")
    ));
    assert_eq!(
        post(&s, VS, vs_body(&s.pki, "dup-2", &[good(1), good(2)]))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn kvnr_pattern_check_digit_reserved_and_environment() {
    let mut cfg = VstConfig::default();
    cfg.kvnr.reserved.push("A111199994".into());
    let s = sim_with(cfg);
    let with = |kvnr: &str| {
        let mut r = good(1);
        r.kvnr = kvnr.into();
        r
    };
    let cases = [
        ("a11110000", 400, "kvnr.pattern"),
        ("A111100009", 400, "kvnr.check-digit"),
        ("A111199994", 400, "kvnr.reserved"),
        ("A123456780", 403, "kvnr.environment"),
    ];
    for (i, (kvnr, status, rule)) in cases.iter().enumerate() {
        let r = post(
            &s,
            VS,
            vs_body(&s.pki, &format!("k-{i}"), &[good(0), with(kvnr)]),
        )
        .await;
        assert_eq!(r.status.as_u16(), *status, "{kvnr}");
        assert!(
            r.has(rule, Some("/Meldungen/1/IdVersicherter")),
            "{kvnr}: {:?}",
            r.diags
        );
    }
    assert!(s.state.deliveries().is_empty());
    assert_eq!(
        post(&s, VS, vs_body(&s.pki, "k-ok", &[with("A111100008")]))
            .await
            .status,
        StatusCode::OK
    );
    // Production environment: production KVNRs and test KVNRs (connection tests) are accepted.
    s.state
        .set_environment(ti_core::ids::Environment::Production);
    assert_eq!(
        post(&s, VS, vs_body(&s.pki, "k-pu1", &[with("A123456780")]))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        post(&s, VS, vs_body(&s.pki, "k-pu2", &[with("A111100010")]))
            .await
            .status,
        StatusCode::OK
    );
    let d = s.state.deliveries();
    assert_eq!(
        d[1].records[0].id_versicherter.as_deref(),
        Some("A123456780")
    );
}

#[tokio::test]
async fn insurance_update_ik_and_kvnr_checks_and_signed_transfer_number() {
    let s = sim();
    let ok = [
        iu_rec("iu-001", "A111100008", None, "109500969"),
        iu_rec("iu-002", "A111100010", Some("A111100022"), "260326822"),
    ];
    let r = post(&s, IU, iu_body(&s.pki, "iu-1", &ok)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.diags);
    let v = r.json();
    let tn = v["Transfernummer"].as_str().unwrap();
    assert!(verify_vst_sig(
        &s.pki,
        tn.as_bytes(),
        v["Signatur"].as_str().unwrap()
    ));
    let d = &s.state.deliveries()[0];
    assert_eq!(d.transfer_number.as_deref(), Some(tn));
    assert_eq!(
        d.records[1].id_versicherter_alt.as_deref(),
        Some("A111100022")
    );
    assert_eq!(d.records[1].ik_alt.as_deref(), Some("260326822"));
    for (i, (rec, rule, at)) in [
        (
            iu_rec("x", "A111100008", None, "260326823"),
            "ik.check-digit",
            "/Meldungen/0/IkAlt",
        ),
        (
            iu_rec("x", "A111100008", None, "12345678"),
            "ik.pattern",
            "/Meldungen/0/IkAlt",
        ),
        (
            iu_rec("x", "A111100008", Some("A111100029"), "109500969"),
            "kvnr.check-digit",
            "/Meldungen/0/IdVersicherterAlt",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let r = post(&s, IU, iu_body(&s.pki, &format!("iu-bad-{i}"), &[rec])).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{rule}");
        assert!(r.has(rule, Some(at)), "{rule}: {:?}", r.diags);
    }
    assert_eq!(s.state.deliveries().len(), 1);
}

#[tokio::test]
async fn cms_signature_over_the_signature_input() {
    let s = sim();
    let recs = [good(1), good(2)];
    // Near misses are named.
    for (v, rule) in [
        (Variant::Base64Text, "signature-input.base64-text"),
        (Variant::NoSeparator, "signature-input.no-separator"),
        (
            Variant::WithoutIdDatenlieferung,
            "signature-input.without-id-datenlieferung",
        ),
        (
            Variant::ReversedRecordFields,
            "signature-input.reversed-record-fields",
        ),
    ] {
        let r = post(&s, VS, vs_body_variant(&s.pki, "s-1", &recs, v)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{v:?}");
        assert!(r.has(rule, Some("/Signatur")), "{v:?}: {:?}", r.diags);
    }
    // Insurance update: the absent optional field as an empty segment.
    let iu = [iu_rec("i1", "A111100008", None, "109500969")];
    let r = post(
        &s,
        IU,
        iu_body_variant(&s.pki, "s-iu", &iu, Variant::EmptySegmentForAbsent),
    )
    .await;
    assert!(
        r.has("signature-input.empty-segment-for-absent", None),
        "{:?}",
        r.diags
    );
    // A value changed after signing.
    let body = vs_body(&s.pki, "s-2", &recs);
    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["Meldungen"][0]["IdDatensatz"] = "2024-01-999".into();
    let r = post(&s, VS, v.to_string()).await;
    assert!(
        r.has("cms.message-digest", Some("/Signatur")),
        "{:?}",
        r.diags
    );
    // Not CMS at all.
    v = serde_json::from_str(&body).unwrap();
    v["Signatur"] = b64_encode(b"not a signature").into();
    let r = post(&s, VS, v.to_string()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.has("cms.malformed", Some("/Signatur")));
    // Embedded content instead of detached.
    let encs: Vec<[String; 3]> = recs.iter().map(|r| encrypt_vs(&s.pki, r)).collect();
    let plain = vs_body_from(&s.pki, "s-3", &recs, &encs, Variant::Canonical);
    let mut v: serde_json::Value = serde_json::from_str(&plain).unwrap();
    let srecs: Vec<ti_core::sig_input::VitalStatusRecord<'_>> = recs
        .iter()
        .zip(&encs)
        .map(|(r, e)| ti_core::sig_input::VitalStatusRecord {
            id_datensatz: &r.id,
            id_versicherter: &e[0],
            vitalstatus: &e[1],
            sterbedatum: &e[2],
        })
        .collect();
    let input = ti_core::sig_input::build(&ti_core::sig_input::vitalstatus_segments("s-3", &srecs))
        .unwrap();
    let embedded = ti_core::cms::sign(
        &input,
        &s.pki.insurer_sig.key,
        &s.pki.insurer_sig.cert_der,
        true,
        std::time::SystemTime::now(),
    )
    .unwrap();
    v["Signatur"] = b64_encode(&embedded).into();
    let r = post(&s, VS, v.to_string()).await;
    assert!(r.has("cms.detached", None), "{:?}", r.diags);
    // Signer from a foreign CA: 403.
    let foreign = ti_core::pki::TestPki::generate(&Default::default()).unwrap();
    let fsig = ti_core::cms::sign(
        &input,
        &foreign.insurer_sig.key,
        &foreign.insurer_sig.cert_der,
        false,
        std::time::SystemTime::now(),
    )
    .unwrap();
    v["Signatur"] = b64_encode(&fsig).into();
    let r = post(&s, VS, v.to_string()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.has("cms.trust", None), "{:?}", r.diags);
    assert!(s.state.deliveries().is_empty());
    // Accept side.
    assert_eq!(post(&s, VS, plain).await.status, StatusCode::OK);
}

#[tokio::test]
async fn decryption_for_the_right_recipient_with_near_misses() {
    let s = sim();
    let vst = s.pki.vst_enc.public_key();
    let p256 = EcSecretKey::generate(Curve::P256);
    let cases: Vec<(String, &str)> = vec![
        (
            enc(&s.pki.registerstelle_enc.public_key(), "A111100008"),
            "ecies.recipient",
        ),
        (
            b64_encode(&ecies::encrypt(
                &vst,
                b"A111100008",
                &EciesParams {
                    info: ecies::VAU_INFO.into(),
                    aes: AesKeySize::Aes128,
                },
            )),
            "ecies.hkdf-info",
        ),
        (
            b64_encode(&ecies::encrypt(
                &vst,
                b"A111100008",
                &EciesParams {
                    info: ecies::IRD_INFO.into(),
                    aes: AesKeySize::Aes256,
                },
            )),
            "ecies.aes-key-size",
        ),
        (enc(&p256.public_key(), "A111100008"), "ecies.curve"),
        (b64_encode(&[1u8; 40]), "ecies.truncated"),
    ];
    for (i, (value, rule)) in cases.into_iter().enumerate() {
        let mut rec = good(1);
        let mut e = encrypt_vs(&s.pki, &rec);
        e[0] = value;
        rec.raw = Some(e);
        let r = post(&s, VS, vs_body(&s.pki, &format!("e-{i}"), &[good(0), rec])).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{rule}");
        assert!(
            r.has(rule, Some("/Meldungen/1/IdVersicherter")),
            "{rule}: {:?}",
            r.diags
        );
    }
    assert!(s.state.deliveries().is_empty());
}

#[tokio::test]
async fn registerstelle_checks_are_asynchronous_processing_errors() {
    let s = sim();
    // Nothing pending: 204.
    assert_eq!(get(&s, VS_ERR).await.status, StatusCode::NO_CONTENT);
    let mut wrong_recipient = vs_rec("2024-02-005", "A111100059", "01", "---N/A----");
    let mut e = encrypt_vs(&s.pki, &wrong_recipient);
    e[1] = enc(&s.pki.vst_enc.public_key(), "01");
    wrong_recipient.raw = Some(e);
    let recs = vec![
        vs_rec("2024-02-001", "A111100010", "02", "2024-03-01"),
        vs_rec("2024-02-002", "A111100022", "04", "---N/A----"),
        vs_rec("2024-02-003", "A111100034", "02", "01.03.2024"),
        vs_rec("2024-02-004", "A111100046", "01", "2024-03-01"),
        wrong_recipient,
        vs_rec("2024-02-006", "A111100061", "02", "---N/A----"),
    ];
    let r = post(&s, VS, vs_body(&s.pki, "2024-02", &recs)).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "synchronous answer first: {:?}",
        r.diags
    );
    let r = get(&s, VS_ERR).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let got: Vec<(String, String)> = v["Fehler"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["IdDatensatz"].as_str().unwrap().into(),
                e["Code"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("2024-02-002", "WrongFormatVitalstatus"),
        ("2024-02-003", "WrongFormatSterbedatum"),
        ("2024-02-004", "InconsistentSterbedatum"),
        ("2024-02-005", "DecryptionError"),
        ("2024-02-006", "InconsistentSterbedatum"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    assert!(
        v["Fehler"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["IdDatenlieferung"] == "2024-02")
    );
    // The journal explains the decryption error.
    let j = s.state.kit().journal().all();
    let asyncs: Vec<_> = j.iter().filter(|e| e.method == "ASYNC").collect();
    assert_eq!(asyncs.len(), 1);
    assert!(
        asyncs[0]
            .diagnoses
            .iter()
            .any(|d| d.rule == "ecies.recipient"
                && d.location.as_deref() == Some("/Meldungen/4/Vitalstatus"))
    );
    // Consumed: the next poll is empty.
    assert_eq!(get(&s, VS_ERR).await.status, StatusCode::NO_CONTENT);
    // The stored delivery has the Registerstelle plaintext.
    let d = &s.state.deliveries()[0];
    assert!(d.processed);
    assert_eq!(d.records[0].sterbedatum.as_deref(), Some("2024-03-01"));
    assert_eq!(
        d.records[1].errors,
        vec!["WrongFormatVitalstatus".to_string()]
    );
}

#[tokio::test]
async fn fetched_items_are_consumed_unless_profile_says_otherwise() {
    let s = sim();
    s.state.inject_processing_error(
        mock_vst::ErrorStream::InsuranceUpdate,
        "L1",
        "D1",
        "DecryptionError",
    );
    assert_eq!(get(&s, IU_ERR).await.status, StatusCode::OK);
    assert_eq!(get(&s, IU_ERR).await.status, StatusCode::NO_CONTENT);
    s.state.set_profile(Profile {
        consume_fetched: false,
        ..Profile::default()
    });
    s.state
        .inject_processing_error(mock_vst::ErrorStream::InsuranceUpdate, "L1", "D2", "X");
    assert_eq!(get(&s, IU_ERR).await.status, StatusCode::OK);
    assert_eq!(get(&s, IU_ERR).await.status, StatusCode::OK);
}

#[tokio::test]
async fn requests_and_anonymizations_are_encrypted_for_the_insurer_and_signed() {
    let s = sim();
    assert_eq!(get(&s, VS_REQ).await.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&s, VS_ANON).await.status, StatusCode::NO_CONTENT);
    s.state.queue_request("A111100008").unwrap();
    s.state.queue_request("A111100010").unwrap();
    s.state.queue_anonymization("A111100022").unwrap();
    assert!(
        s.state.queue_request("A111100009").is_err(),
        "invalid KVNR refused"
    );
    for (path, list, want) in [
        (VS_REQ, "Anfragen", vec!["A111100008", "A111100010"]),
        (VS_ANON, "Anonymisierungen", vec!["A111100022"]),
    ] {
        let r = get(&s, path).await;
        assert_eq!(r.status, StatusCode::OK);
        let v = r.json();
        let items: Vec<&str> = v[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["IdVersicherter"].as_str().unwrap())
            .collect();
        let plain: Vec<String> = items
            .iter()
            .map(|b| {
                String::from_utf8(
                    ecies::decrypt(
                        &s.pki.insurer_enc.key,
                        &ti_core::b64_decode(b).unwrap(),
                        &EciesParams::default(),
                    )
                    .unwrap(),
                )
                .unwrap()
            })
            .collect();
        assert_eq!(plain, want);
        let input =
            ti_core::sig_input::build(&ti_core::sig_input::id_list_segments(&items)).unwrap();
        assert!(verify_vst_sig(
            &s.pki,
            &input,
            v["Signatur"].as_str().unwrap()
        ));
    }
}

#[tokio::test]
async fn injected_bad_signature_corrupts_the_response_signature() {
    let s = sim();
    s.state.queue_request("A111100008").unwrap();
    s.state
        .kit()
        .faults()
        .add(
            serde_json::from_str(&format!(
                r#"{{"path":"{VS_REQ}","action":{{"kind":"bad_signature"}}}}"#
            ))
            .unwrap(),
        )
        .unwrap();
    let r = get(&s, VS_REQ).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let item = v["Anfragen"][0]["IdVersicherter"].as_str().unwrap();
    let input = ti_core::sig_input::build(&ti_core::sig_input::id_list_segments(&[item])).unwrap();
    assert!(!verify_vst_sig(
        &s.pki,
        &input,
        v["Signatur"].as_str().unwrap()
    ));
    let j = s.state.kit().journal().all();
    assert!(
        j.last()
            .unwrap()
            .fault
            .as_deref()
            .unwrap()
            .contains("bad response signature")
    );
    // Next call is clean again.
    s.state.queue_request("A111100010").unwrap();
    let v = get(&s, VS_REQ).await.json();
    let item = v["Anfragen"][0]["IdVersicherter"].as_str().unwrap();
    let input = ti_core::sig_input::build(&ti_core::sig_input::id_list_segments(&[item])).unwrap();
    assert!(verify_vst_sig(
        &s.pki,
        &input,
        v["Signatur"].as_str().unwrap()
    ));
}

fn reuse_delivery(s: &Sim, id: &str, eph: &EcSecretKey, iv: [u8; 12]) -> String {
    let params = EciesParams::default();
    let rs = s.pki.registerstelle_enc.public_key();
    let mut rec = good(1);
    rec.raw = Some([
        enc(&s.pki.vst_enc.public_key(), &rec.kvnr),
        b64_encode(&ecies::encrypt_with(&rs, eph, &iv, b"01", &params).unwrap()),
        b64_encode(&ecies::encrypt_with(&rs, eph, &iv, b"---N/A----", &params).unwrap()),
    ]);
    vs_body(&s.pki, id, &[rec])
}

#[tokio::test]
async fn ephemeral_key_and_iv_reuse_is_flagged() {
    let s = sim();
    let eph = EcSecretKey::generate(Curve::BrainpoolP256r1);
    let r = post(&s, VS, reuse_delivery(&s, "kr-1", &eph, [7; 12])).await;
    assert_eq!(r.status, StatusCode::OK, "default: accepted, but diagnosed");
    assert!(
        r.has("ecies.key-reuse", Some("/Meldungen/0/Sterbedatum")),
        "{:?}",
        r.diags
    );
    assert!(
        r.has("ecies.iv-reuse", Some("/Meldungen/0/Sterbedatum")),
        "{:?}",
        r.diags
    );
    // Across deliveries: a fresh delivery with a field using the same key again.
    let eph2 = EcSecretKey::generate(Curve::BrainpoolP256r1);
    let params = EciesParams::default();
    let mut rec = good(2);
    let mut e = encrypt_vs(&s.pki, &rec);
    e[1] = b64_encode(
        &ecies::encrypt_with(
            &s.pki.registerstelle_enc.public_key(),
            &eph,
            &[8; 12],
            b"01",
            &params,
        )
        .unwrap(),
    );
    let _ = eph2;
    rec.raw = Some(e);
    let r = post(&s, VS, vs_body(&s.pki, "kr-2", &[rec])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.has("ecies.key-reuse", Some("/Meldungen/0/Vitalstatus")),
        "{:?}",
        r.diags
    );
    // Reject mode.
    s.state.set_profile(Profile {
        key_reuse: ReusePolicy::Reject,
        ..Profile::default()
    });
    let eph3 = EcSecretKey::generate(Curve::BrainpoolP256r1);
    let r = post(&s, VS, reuse_delivery(&s, "kr-3", &eph3, [9; 12])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(s.state.deliveries().len(), 2);
    // Fresh keys: no diagnosis.
    let r = post(&s, VS, vs_body(&s.pki, "kr-4", &[good(4)])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.diags.is_empty(), "{:?}", r.diags);
}

#[tokio::test]
async fn async_id_checks_profile_turns_errors_into_processing_errors() {
    let s = sim_with(VstConfig {
        profile: Profile {
            id_checks: IdChecks::Async,
            ..Profile::default()
        },
        ..VstConfig::default()
    });
    let mut bad = good(2);
    bad.kvnr = "A111100009".into();
    let mut undecryptable = good(3);
    let mut e = encrypt_vs(&s.pki, &undecryptable);
    e[0] = enc(&s.pki.registerstelle_enc.public_key(), &undecryptable.kvnr);
    undecryptable.raw = Some(e);
    let mut prod = good(4);
    prod.kvnr = "A123456780".into();
    let r = post(
        &s,
        VS,
        vs_body(&s.pki, "as-1", &[good(1), bad, undecryptable, prod]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.diags);
    let v = get(&s, VS_ERR).await.json();
    let codes: Vec<&str> = v["Fehler"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "WrongFormatIdVersicherter",
            "DecryptionError",
            "WrongEnvironmentIdVersicherter"
        ]
    );
}

#[tokio::test]
async fn duplicate_delivery_id_is_diagnosed_or_rejected() {
    let s = sim();
    assert_eq!(
        post(&s, VS, vs_body(&s.pki, "dl-1", &[good(1)]))
            .await
            .status,
        StatusCode::OK
    );
    let r = post(&s, VS, vs_body(&s.pki, "dl-1", &[good(2)])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.has(
        "delivery.duplicate-id-datenlieferung",
        Some("/IdDatenlieferung")
    ));
    s.state.set_profile(Profile {
        duplicate_delivery_id: ReusePolicy::Reject,
        ..Profile::default()
    });
    let r = post(&s, VS, vs_body(&s.pki, "dl-1", &[good(3)])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(s.state.deliveries().len(), 2);
    // The insurance update stream has its own ids.
    let iu = [iu_rec("i1", "A111100008", None, "109500969")];
    assert_eq!(
        post(&s, IU, iu_body(&s.pki, "dl-1", &iu)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn wellknown_is_a_signed_jwt_with_the_keys() {
    let s = sim();
    for path in ["/.well-known", "/.wellknown"] {
        let r = send(&s.app, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.content_type.as_deref(), Some("application/jwt"));
        let v = ti_core::jws::verify_compact(&r.text(), None).unwrap();
        assert_eq!(v.header["alg"], "BP256R1");
        let cert = der::Decode::from_der(&v.x5c[0])
            .map(|c: x509_cert::Certificate| c)
            .unwrap();
        ti_core::pki::verify_chain(&cert, &[], &[s.pki.ca.cert()], std::time::SystemTime::now())
            .unwrap();
        assert_eq!(v.x5c[0], s.pki.vst_sig.cert_der);
        let p: serde_json::Value = serde_json::from_slice(&v.payload).unwrap();
        assert!(p["exp"].as_u64().unwrap() > p["iat"].as_u64().unwrap());
        let keys = p["keys"].as_array().unwrap();
        let by_kid = |kid: &str| {
            keys.iter()
                .find(|k| k["kid"] == kid)
                .map(|k| ti_core::jws::public_key_from_jwk(k).unwrap())
        };
        assert_eq!(by_kid("vst-enc"), Some(s.pki.vst_enc.public_key()));
        assert_eq!(
            by_kid("registerstelle-enc"),
            Some(s.pki.registerstelle_enc.public_key())
        );
        assert_eq!(by_kid("vst-sig"), Some(s.pki.vst_sig.public_key()));
        assert_eq!(keys[0]["crv"], "BP-256");
    }
    // Reject side: a tampered token does not verify.
    let r = send(
        &s.app,
        Request::get("/.well-known").body(Body::empty()).unwrap(),
    )
    .await;
    let t = r.text();
    let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
    parts[1] = ti_core::b64url_encode(br#"{"keys":[]}"#);
    assert!(ti_core::jws::verify_compact(&parts.join("."), None).is_err());
    // POST is not allowed.
    let r = send(
        &s.app,
        Request::post("/.well-known").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn rejected_deliveries_store_nothing_accepted_ones_are_whole() {
    let s = sim();
    let mut handles = Vec::new();
    for i in 0..12usize {
        let app = s.app.clone();
        let pki = s.pki.clone();
        handles.push(tokio::spawn(async move {
            let recs: Vec<VsRec> = (0..5).map(|j| good(i * 10 + j)).collect();
            let mut body = vs_body(&pki, &format!("conc-{i}"), &recs);
            if i % 3 == 0 {
                // Break the signature of every third delivery.
                body = body.replace("2024-01-", "2024-0X-");
            }
            send(
                &app,
                Request::post(VS)
                    .header("content-type", "application/json")
                    .header("authorization", auth(&pki))
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .status
        }));
    }
    let mut ok = 0;
    for h in handles {
        let st = h.await.unwrap();
        assert!(st == StatusCode::OK || st == StatusCode::BAD_REQUEST);
        ok += (st == StatusCode::OK) as usize;
    }
    assert_eq!(ok, 8);
    assert!(s.state.settle(std::time::Duration::from_secs(30)).await);
    let d = s.state.deliveries();
    assert_eq!(d.len(), 8);
    for del in &d {
        assert_eq!(del.records.len(), 5);
        assert!(del.processed);
        assert!(
            del.records
                .iter()
                .all(|r| r.id_versicherter.is_some() && r.vitalstatus.as_deref() == Some("01"))
        );
    }
    let mut seqs: Vec<u64> = d.iter().map(|x| x.seq).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), 8);
    let j = s.state.kit().journal().all();
    let posts = j.iter().filter(|e| e.method == "POST").count();
    assert_eq!(posts, 12);
}

#[tokio::test]
async fn json_escapes_are_read_as_the_values_they_stand_for() {
    // Some JSON writers escape `/` as `\/`; base64 is full of slashes. The values (and the signature
    // input) are the unescaped strings, and the asynchronous checks see them too.
    let s = sim();
    let recs = [vs_rec("e-001", "A111100008", "02", "---N/A----"), good(2)];
    let body = vs_body(&s.pki, "esc-1", &recs).replace('/', "\\/");
    assert!(body.contains("\\/"));
    let r = post(&s, VS, body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.diags);
    let v = get(&s, VS_ERR).await.json();
    assert_eq!(v["Fehler"][0]["IdDatensatz"], "e-001");
    assert_eq!(v["Fehler"][0]["Code"], "InconsistentSterbedatum");
    let d = &s.state.deliveries()[0];
    assert_eq!(d.records[1].vitalstatus.as_deref(), Some("01"));
    assert_eq!(d.records[0].id_versicherter.as_deref(), Some("A111100008"));
}

#[tokio::test]
async fn p256_mode_for_clients_without_brainpool() {
    // `konform up --curve p256`: every TI key on P-256, the JWS alg ES256, the same rules.
    let pki = std::sync::Arc::new(
        ti_core::pki::TestPki::generate(&ti_core::pki::PkiOptions {
            curve: Curve::P256,
            ..Default::default()
        })
        .unwrap(),
    );
    let state = mock_vst::VstState::new(VstConfig::default(), pki.clone()).unwrap();
    let s = Sim {
        app: mock_vst::app(state.clone()),
        state,
        pki,
    };
    let r = send(
        &s.app,
        Request::get("/.well-known").body(Body::empty()).unwrap(),
    )
    .await;
    let v = ti_core::jws::verify_compact(&r.text(), None).unwrap();
    assert_eq!(v.header["alg"], "ES256");
    let p: serde_json::Value = serde_json::from_slice(&v.payload).unwrap();
    assert_eq!(p["keys"][0]["crv"], "P-256");
    let r = post(&s, VS, vs_body(&s.pki, "p256-1", &[good(1), good(2)])).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.diags);
    // A brainpool point sent to a P-256 VST is named as the wrong curve.
    let bp = EcSecretKey::generate(Curve::BrainpoolP256r1);
    let mut rec = good(3);
    let mut e = encrypt_vs(&s.pki, &rec);
    e[0] = enc(&bp.public_key(), &rec.kvnr);
    rec.raw = Some(e);
    let r = post(&s, VS, vs_body(&s.pki, "p256-2", &[rec])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.has("ecies.curve", Some("/Meldungen/0/IdVersicherter")),
        "{:?}",
        r.diags
    );
}
