//! The seed's flows and the Konnektor's behaviour around them: PIN state machine, context and card faults,
//! SignDocument (detached / embedded / several documents, cross-checked with OpenSSL and ti-core),
//! ExternalAuthenticate (cross-checked with the C.AUT from ReadCardCertificate), fault injection, the admin
//! API and YAML configuration. Every SOAP response is XSD-validated inside `common::soap`.

use crate::support::*;
use mock_konnektor::{
    DEFAULT_CARD_HANDLE, KonnektorConfig, KonnektorState, PinStatus, PinUpdate, VerifyAnswer,
};
use sim_kit::{Simulator, Verdict};
use std::process::Command;
use std::time::SystemTime;

async fn verify_pin(app: &axum::Router, handle: &str) -> Resp {
    soap(
        app,
        "/Konnektorservice",
        Some(A_VERIFY_PIN),
        &verify_pin_request(handle),
    )
    .await
}

#[tokio::test]
async fn sign_needs_verified_pin_then_signs_detached() {
    let (app, st) = default_sim();
    let body = sign_request(DEFAULT_CARD_HANDLE, &[("R1", b"Test\n")], false);
    let r = soap(&app, "/Konnektorservice", Some(A_SIGN), &body).await;
    r.assert_fault(4085);
    assert_eq!(r.faultcode(), Some("S:Server"));
    assert!(
        r.has_diag("konnektor.pin.not-verified"),
        "{:?}",
        r.diagnoses
    );

    verify_pin(&app, DEFAULT_CARD_HANDLE).await.assert_ok();
    let r = soap(&app, "/Konnektorservice", Some(A_SIGN), &body).await;
    r.assert_ok();
    let cms = &signatures(&r)[0];
    let now = SystemTime::now();
    let p = ti_core::cms::verify(
        cms,
        ti_core::cms::Content::Detached(b"Test\n"),
        &[st.pki().ca.cert()],
        now,
    )
    .expect("ti-core verifies the detached CMS");
    assert!(p.embedded_content.is_none());
    assert_eq!(
        p.signer_cert,
        st.pki().insurer_sig.cert(),
        "signed by C.SIG"
    );
    assert!(r.body.contains("RequestID=\"R1\""));
    assert!(r.body.contains("Type=\"urn:ietf:rfc:5652\""));

    let j = st.kit().journal().all();
    let last = j.last().unwrap();
    assert_eq!(last.operation.as_deref(), Some("SignDocument"));
    assert_eq!(last.verdict, Verdict::Accepted);
    assert_eq!(j[0].verdict, Verdict::Rejected);
}

#[tokio::test]
async fn several_documents_embedded_and_openssl_verifies() {
    let (app, st) = default_sim();
    st.set_pin_status(DEFAULT_CARD_HANDLE, PinStatus::Verified)
        .unwrap();
    let docs: [(&str, &[u8]); 3] = [("A", b"first"), ("B", b"\x00\x01binary\xff"), ("C", b"")];
    for embed in [false, true] {
        let r = soap(
            &app,
            "/ws/SignatureService",
            Some(A_SIGN),
            &sign_request(DEFAULT_CARD_HANDLE, &docs, embed),
        )
        .await;
        r.assert_ok();
        let sigs = signatures(&r);
        assert_eq!(sigs.len(), 3);
        for ((id, content), cms) in docs.iter().zip(&sigs) {
            assert!(r.body.contains(&format!("RequestID=\"{id}\"")));
            let content_arg = if embed {
                ti_core::cms::Content::Embedded
            } else {
                ti_core::cms::Content::Detached(content)
            };
            let p =
                ti_core::cms::verify(cms, content_arg, &[st.pki().ca.cert()], SystemTime::now())
                    .unwrap();
            assert_eq!(p.embedded_content.is_some(), embed);
            if embed {
                assert_eq!(p.embedded_content.as_deref(), Some(*content));
            }
            openssl_verify(cms, content, embed, &st);
        }
    }
}

/// `openssl cms -verify -binary -inform DER [-content FILE] -CAfile ca.pem`.
fn openssl_verify(cms: &[u8], content: &[u8], embedded: bool, st: &KonnektorState) {
    let dir = tempfile::tempdir().unwrap();
    let sig = dir.path().join("sig.der");
    let data = dir.path().join("data.bin");
    let ca = dir.path().join("ca.pem");
    let out = dir.path().join("out.bin");
    std::fs::write(&sig, cms).unwrap();
    std::fs::write(&data, content).unwrap();
    std::fs::write(&ca, st.pki().ca.cert_pem()).unwrap();
    let mut cmd = Command::new("openssl");
    cmd.args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(&sig)
        .arg("-CAfile")
        .arg(&ca)
        .arg("-purpose")
        .arg("any")
        .arg("-out")
        .arg(&out);
    if !embedded {
        cmd.arg("-content").arg(&data);
    }
    let o = cmd
        .output()
        .expect("openssl is required for the CMS cross-check");
    assert!(
        o.status.success(),
        "openssl cms -verify failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), content);
}

#[tokio::test]
async fn external_authenticate_verifies_with_read_certificate() {
    let (app, st) = default_sim();
    let digest = ti_core::sha256(b"TelematikId|HauptIK");
    let body = ext_auth_request(DEFAULT_CARD_HANDLE, &digest, "urn:bsi:tr:03111:ecdsa");
    soap(&app, "/Konnektorservice", Some(A_EXT_AUTH), &body)
        .await
        .assert_fault(4085);
    verify_pin(&app, DEFAULT_CARD_HANDLE).await.assert_ok();
    let r = soap(&app, "/Konnektorservice", Some(A_EXT_AUTH), &body).await;
    r.assert_ok();
    let sig = signatures(&r).remove(0);
    assert_eq!(sig[0], 0x30);

    let rc = soap(
        &app,
        "/Konnektorservice",
        Some(A_READ_CERT),
        &read_cert_request(DEFAULT_CARD_HANDLE, "C.AUT", "ECC"),
    )
    .await;
    rc.assert_ok();
    let der = ti_core::b64_decode(&rc.text("CERTCMN:X509Certificate").unwrap()).unwrap();
    let key = ti_core::pki::public_key_of_cert_der(&der).unwrap();
    key.verify_prehash(&digest, &sig)
        .expect("signature verifies with C.AUT from ReadCardCertificate");
    // Not with C.SIG.
    assert!(
        st.pki()
            .insurer_sig
            .public_key()
            .verify_prehash(&digest, &sig)
            .is_err()
    );
    // The AuthSignatureService-named SOAPAction is accepted too, with a note.
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(mock_konnektor::soap::ALT_EXTERNAL_AUTHENTICATE_ACTION),
        &body,
    )
    .await;
    r.assert_ok();
    assert!(r.has_diag("konnektor.soap.action-alias"));
}

#[tokio::test]
async fn external_authenticate_rejects_other_lengths_and_types() {
    let (app, st) = default_sim();
    st.set_pin_status(DEFAULT_CARD_HANDLE, PinStatus::Verified)
        .unwrap();
    for len in [0usize, 20, 31, 33, 48, 64] {
        let body = ext_auth_request(
            DEFAULT_CARD_HANDLE,
            &vec![7u8; len],
            "urn:bsi:tr:03111:ecdsa",
        );
        let r = soap(&app, "/Konnektorservice", Some(A_EXT_AUTH), &body).await;
        r.assert_fault(4114);
        assert!(r.has_diag("konnektor.auth.input-length"), "{len}");
    }
    let body = ext_auth_request(DEFAULT_CARD_HANDLE, &[1u8; 32], "urn:ietf:rfc:3447");
    let r = soap(&app, "/Konnektorservice", Some(A_EXT_AUTH), &body).await;
    r.assert_fault(4111);
    assert!(
        r.diagnoses.iter().any(|d| d.contains("RSA")),
        "{:?}",
        r.diagnoses
    );
}

#[tokio::test]
async fn wrong_signature_type_and_rsa() {
    let (app, st) = default_sim();
    st.set_pin_status(DEFAULT_CARD_HANDLE, PinStatus::Verified)
        .unwrap();
    let body = sign_request(DEFAULT_CARD_HANDLE, &[("R1", b"x")], false)
        .replace("urn:ietf:rfc:5652", "http://uri.etsi.org/01903/v1.3.2#");
    soap(&app, "/Konnektorservice", Some(A_SIGN), &body)
        .await
        .assert_fault(4111);
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(A_READ_CERT),
        &read_cert_request(DEFAULT_CARD_HANDLE, "C.AUT", "RSA"),
    )
    .await;
    r.assert_fault(4149);
    assert!(r.has_diag("konnektor.certificate.crypt"));
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(A_READ_CERT),
        &read_cert_request(DEFAULT_CARD_HANDLE, "C.QES", "ECC"),
    )
    .await;
    r.assert_fault(4149);
    let rsa_sign = sign_request(DEFAULT_CARD_HANDLE, &[("R1", b"x")], false).replace(
        "</ns2:CardHandle>",
        "</ns2:CardHandle><ns4:Crypt>RSA</ns4:Crypt>",
    );
    soap(&app, "/Konnektorservice", Some(A_SIGN), &rsa_sign)
        .await
        .assert_fault(4149);
    let ecc_sign = sign_request(DEFAULT_CARD_HANDLE, &[("R1", b"x")], false).replace(
        "</ns2:CardHandle>",
        "</ns2:CardHandle><ns4:Crypt>RSA_ECC</ns4:Crypt>",
    );
    soap(&app, "/Konnektorservice", Some(A_SIGN), &ecc_sign)
        .await
        .assert_ok();
}

#[tokio::test]
async fn the_seeds_stray_gt_is_a_syntax_error_with_a_hint() {
    let (app, st) = default_sim();
    st.set_pin_status(DEFAULT_CARD_HANDLE, PinStatus::Verified)
        .unwrap();
    let body = sign_request(DEFAULT_CARD_HANDLE, &[("RequestID", b"Test\n")], false).replace(
        ">false</ns4:IncludeEContent>",
        ">&gt;false</ns4:IncludeEContent>",
    );
    let r = soap(&app, "/Konnektorservice", Some(A_SIGN), &body).await;
    r.assert_fault(4000);
    assert_eq!(r.faultcode(), Some("S:Client"));
    let detail = r.text("GERROR:Detail").unwrap();
    assert!(detail.contains("cvc-datatype-valid.1.2.1"), "{detail}");
    assert!(
        r.diagnoses
            .iter()
            .any(|d| d.contains("IncludeEContent") && d.contains("stray")),
        "{:?}",
        r.diagnoses
    );
}

#[tokio::test]
async fn pin_state_machine_through_soap_and_admin() {
    let (app, st) = default_sim();
    let r = admin(
        &app,
        "POST",
        &format!("/__konform/cards/{DEFAULT_CARD_HANDLE}/pin/next"),
        r#"{"answers":["wrong","wrong","wrong"]}"#,
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.body);
    let r = verify_pin(&app, DEFAULT_CARD_HANDLE).await;
    r.assert_ok();
    assert_eq!(r.text("CARDCMN:PinResult").as_deref(), Some("REJECTED"));
    assert_eq!(r.text("CARDCMN:LeftTries").as_deref(), Some("2"));
    let r = verify_pin(&app, DEFAULT_CARD_HANDLE).await;
    assert_eq!(r.text("CARDCMN:LeftTries").as_deref(), Some("1"));
    let r = verify_pin(&app, DEFAULT_CARD_HANDLE).await;
    assert_eq!(r.text("CARDCMN:PinResult").as_deref(), Some("NOWBLOCKED"));
    let r = verify_pin(&app, DEFAULT_CARD_HANDLE).await;
    assert_eq!(r.text("CARDCMN:PinResult").as_deref(), Some("WASBLOCKED"));
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(A_SIGN),
        &sign_request(DEFAULT_CARD_HANDLE, &[("R", b"x")], false),
    )
    .await;
    r.assert_fault(4063);
    assert_eq!(
        st.card(DEFAULT_CARD_HANDLE).unwrap().pin_status,
        PinStatus::Blocked
    );

    // Transport PIN: VerifyPin and signing fault with 4065.
    let r = admin(
        &app,
        "PUT",
        &format!("/__konform/cards/{DEFAULT_CARD_HANDLE}/pin"),
        r#"{"status":"TRANSPORT_PIN"}"#,
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.body);
    verify_pin(&app, DEFAULT_CARD_HANDLE)
        .await
        .assert_fault(4065);
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(A_EXT_AUTH),
        &ext_auth_request(DEFAULT_CARD_HANDLE, &[0u8; 32], "urn:bsi:tr:03111:ecdsa"),
    )
    .await;
    r.assert_fault(4065);

    // Reset brings back the configured start.
    let r = admin(&app, "POST", "/__konform/reset", "").await;
    assert_eq!(r.status, axum::http::StatusCode::NO_CONTENT);
    assert_eq!(
        st.card(DEFAULT_CARD_HANDLE).unwrap().pin_status,
        PinStatus::Verifiable
    );
    // Admin errors are JSON 4xx.
    let r = admin(
        &app,
        "PUT",
        "/__konform/cards/NOPE/pin",
        r#"{"status":"VERIFIED"}"#,
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::NOT_FOUND);
    let r = admin(
        &app,
        "PUT",
        &format!("/__konform/cards/{DEFAULT_CARD_HANDLE}/pin"),
        r#"{"status":"SLEEPY"}"#,
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::BAD_REQUEST);
    let r = admin(&app, "GET", "/__konform/cards", "").await;
    let cards: Vec<serde_json::Value> = serde_json::from_str(&r.body).unwrap();
    assert_eq!(cards[0]["handle"], DEFAULT_CARD_HANDLE);
    assert_eq!(cards[0]["pin_status"], "VERIFIABLE");
}

#[tokio::test]
async fn context_faults() {
    let (app, _) = default_sim();
    let base = verify_pin_request(DEFAULT_CARD_HANDLE);
    for (from, to, code, rule) in [
        (
            "Mandant1<",
            "Mandant2<",
            4004,
            "konnektor.context.mandant-id",
        ),
        (
            "ClientID1<",
            "clientid1<",
            4005,
            "konnektor.context.client-system-id",
        ),
        (
            "Workplace1<",
            "Workplace9<",
            4006,
            "konnektor.context.workplace-id",
        ),
        ("Mandant1<", "<", 4021, "konnektor.context.incomplete"),
    ] {
        let r = soap(
            &app,
            "/Konnektorservice",
            Some(A_VERIFY_PIN),
            &base.replace(from, to),
        )
        .await;
        r.assert_fault(code);
        assert_eq!(r.faultcode(), Some("S:Server"));
        assert!(r.has_diag(rule), "{rule}: {:?}", r.diagnoses);
    }
    // The recorded fault text for 4004.
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(A_VERIFY_PIN),
        &base.replace("Mandant1<", "X<"),
    )
    .await;
    assert_eq!(
        r.text("faultstring").as_deref(),
        Some("Ungültige Mandanten-ID")
    );
    assert_eq!(
        r.text("GERROR:ErrorText").as_deref(),
        Some("Ungültige Mandanten-ID")
    );
    assert_eq!(r.text("GERROR:CompType").as_deref(), Some("Konnektor"));
    // A different UserId is noted, not faulted.
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(A_VERIFY_PIN),
        &base.replace("User1<", "User2<"),
    )
    .await;
    r.assert_ok();
    assert!(r.has_diag("konnektor.context.user-id"));
}

#[tokio::test]
async fn card_handle_faults_and_card_types() {
    let yaml = r#"
pin_initially_verified: true
terminals:
  - ct_id: CT1
    workplaces: [Workplace1]
  - ct_id: CT2
    mac_address: 02-00-00-00-00-02
    workplaces: []
cards:
  - handle: SMC-B-1
  - handle: SMCB-EXPIRED
    keys: expired
    holder: Praxis Abgelaufen
  - handle: SMCB-OUT
    keys: generate
    inserted: false
    ct_id: CT2
    slot_id: 1
  - handle: EGK-1
    card_type: EGK
    ct_id: CT2
    slot_id: 2
    keys: generate
  - handle: SMCB-TRANSPORT
    keys: generate
    ct_id: CT2
    slot_id: 3
    pin: { status: TRANSPORT_PIN }
"#;
    let cfg: KonnektorConfig = sim_kit::config::from_yaml(yaml, "test.yaml").unwrap();
    let (app, st) = sim(cfg);
    let cards = get_cards_request("");
    let r = soap(&app, "/Konnektorservice", Some(A_GET_CARDS), &cards).await;
    assert_eq!(
        r.texts("CONN:CardHandle"),
        vec!["SMC-B-1", "SMCB-EXPIRED", "EGK-1", "SMCB-TRANSPORT"],
        "inserted cards only"
    );
    let dates = r.texts("CARD:CertificateExpirationDate");
    let today = &sim_kit::now_rfc3339()[..10];
    assert!(dates[1].as_str() < today, "expired card: {dates:?}");
    assert!(dates[0].as_str() > today);

    // Unknown handle, near miss, pulled card: 4008.
    for (h, rule) in [
        ("NOPE", "konnektor.card.unknown-handle"),
        ("smc-b-1", "konnektor.card.unknown-handle"),
        ("SMCB-OUT", "konnektor.card.not-inserted"),
    ] {
        let r = verify_pin(&app, h).await;
        r.assert_fault(4008);
        assert!(r.has_diag(rule), "{h}: {:?}", r.diagnoses);
    }
    assert!(
        verify_pin(&app, "smc-b-1")
            .await
            .diagnoses
            .iter()
            .any(|d| d.contains("did you mean 'SMC-B-1'"))
    );
    // Insert it, then it works; pull the default card, then 4008.
    st.set_inserted("SMCB-OUT", true).unwrap();
    verify_pin(&app, "SMCB-OUT").await.assert_ok();
    let r = admin(
        &app,
        "PUT",
        "/__konform/cards/SMC-B-1/inserted",
        r#"{"inserted":false}"#,
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::OK);
    verify_pin(&app, "SMC-B-1").await.assert_fault(4008);

    // An eGK has no PIN.SMC and cannot sign.
    verify_pin(&app, "EGK-1").await.assert_fault(4209);
    soap(
        &app,
        "/Konnektorservice",
        Some(A_SIGN),
        &sign_request("EGK-1", &[("R", b"x")], false),
    )
    .await
    .assert_fault(4058);
    // Transport PIN from config.
    verify_pin(&app, "SMCB-TRANSPORT").await.assert_fault(4065);

    // The expired card signs (pin_initially_verified) with a diagnosis; the CMS fails the trust check.
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(A_SIGN),
        &sign_request("SMCB-EXPIRED", &[("R", b"x")], false),
    )
    .await;
    r.assert_ok();
    assert!(r.has_diag("konnektor.certificate.expired"));
    let err = ti_core::cms::verify(
        &signatures(&r)[0],
        ti_core::cms::Content::Detached(b"x"),
        &[st.pki().ca.cert()],
        SystemTime::now(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ti_core::cms::CmsFailure::Untrusted(_)),
        "{err:?}"
    );
    // VerifyCertificate says INVALID for it.
    let rc = soap(
        &app,
        "/Konnektorservice",
        Some(A_READ_CERT),
        &read_cert_request("SMCB-EXPIRED", "C.SIG", "ECC"),
    )
    .await;
    let cert = rc.text("CERTCMN:X509Certificate").unwrap();
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(A_VERIFY_CERT),
        &verify_cert_request(&cert, ""),
    )
    .await;
    assert_eq!(
        r.text("CERT:VerificationResult").as_deref(),
        Some("INVALID")
    );
}

#[test]
fn bad_configurations_are_refused() {
    for (yaml, needle) in [
        ("cards: [{handle: A}, {handle: A}]", "appears twice"),
        ("cards: [{handle: A, card_type: XYZ}]", "card_type"),
        ("cards: [{handle: A, ct_id: CT9}]", "not configured"),
        ("cards: [{handle: A, slot_id: 9}]", "slot 9"),
        ("cards: [{handle: A, iccsn: '123'}]", "iccsn"),
        ("context: {mandant_id: ''}", "mandant_id"),
        (
            "cards: [{handle: A, pin: {status: VERIFIED, left_tries: 7}}]",
            "left_tries",
        ),
    ] {
        let cfg: KonnektorConfig = sim_kit::config::from_yaml(yaml, "t.yaml").unwrap();
        let e = KonnektorState::new(cfg, pki())
            .err()
            .expect(yaml)
            .to_string();
        assert!(e.contains(needle), "{yaml}: {e}");
    }
    let e = sim_kit::config::from_yaml::<KonnektorConfig>("cardz: []", "t.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("cardz"), "{e}");
    // The default round-trips through YAML.
    let text = serde_json::to_string(&KonnektorConfig::default()).unwrap();
    let back: KonnektorConfig = sim_kit::config::from_yaml(&text, "json-as-yaml").unwrap();
    assert_eq!(back, KonnektorConfig::default());
}

#[tokio::test]
async fn injected_operation_faults() {
    let (app, st) = default_sim();
    st.set_pin(
        DEFAULT_CARD_HANDLE,
        &PinUpdate {
            status: Some(PinStatus::Verified),
            ..Default::default()
        },
    )
    .unwrap();
    let body = sign_request(DEFAULT_CARD_HANDLE, &[("R", b"x")], false);
    let r = admin(
        &app,
        "POST",
        "/__konform/faults",
        r#"{"operation":"SignDocument","times":2,"action":{"kind":"fault","code":"4085"}}"#,
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.body);
    for _ in 0..2 {
        soap(&app, "/Konnektorservice", Some(A_SIGN), &body)
            .await
            .assert_fault(4085);
    }
    soap(&app, "/Konnektorservice", Some(A_SIGN), &body)
        .await
        .assert_ok();
    let j = st.kit().journal().all();
    assert_eq!(j[0].verdict, Verdict::Injected);
    assert!(j[0].fault.as_deref().unwrap().contains("4085"));
    assert_eq!(j[2].verdict, Verdict::Accepted);

    // A code outside the table, with its own text.
    admin(
        &app,
        "POST",
        "/__konform/faults",
        r#"{"operation":"GetCards","action":{"kind":"fault","code":"4999","text":"Irgendwas"}}"#,
    )
    .await;
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(A_GET_CARDS),
        &get_cards_request(""),
    )
    .await;
    r.assert_fault(4999);
    assert_eq!(r.text("faultstring").as_deref(), Some("Irgendwas"));

    // Bad signature: the CMS no longer verifies.
    st.kit()
        .faults()
        .add(
            serde_json::from_str(
                r#"{"operation":"SignDocument","action":{"kind":"bad_signature"}}"#,
            )
            .unwrap(),
        )
        .unwrap();
    let r = soap(&app, "/Konnektorservice", Some(A_SIGN), &body).await;
    r.assert_ok();
    assert!(
        ti_core::cms::verify(
            &signatures(&r)[0],
            ti_core::cms::Content::Detached(b"x"),
            &[st.pki().ca.cert()],
            SystemTime::now()
        )
        .is_err()
    );
    // An HTTP status instead of SOAP.
    st.kit()
        .faults()
        .add(
            serde_json::from_str(
                r#"{"operation":"ExternalAuthenticate","action":{"kind":"status","status":503}}"#,
            )
            .unwrap(),
        )
        .unwrap();
    let r = send(
        &app,
        axum::http::Request::post("/Konnektorservice")
            .header("content-type", "text/xml")
            .header("soapaction", A_EXT_AUTH)
            .body(axum::body::Body::from(ext_auth_request(
                DEFAULT_CARD_HANDLE,
                &[0u8; 32],
                "urn:bsi:tr:03111:ecdsa",
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn dropped_connection_over_tcp() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (app, st) = default_sim();
    let running = sim_kit::serve::spawn(app, sim_kit::serve::loopback_any())
        .await
        .unwrap();
    st.kit()
        .faults()
        .add(serde_json::from_str(r#"{"operation":"VerifyPin","action":{"kind":"drop"}}"#).unwrap())
        .unwrap();
    let body = verify_pin_request(DEFAULT_CARD_HANDLE);
    let mut s = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    s.write_all(
        format!(
            "POST /Konnektorservice HTTP/1.1\r\nhost: x\r\ncontent-type: text/xml\r\nsoapaction: \"{A_VERIFY_PIN}\"\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .expect("closed")
        .unwrap_or(0);
    assert_eq!(n, 0, "{}", String::from_utf8_lossy(&buf));
    let j = st.kit().journal().all();
    assert_eq!(j[0].verdict, Verdict::Injected);
    assert_eq!(j[0].operation.as_deref(), Some("VerifyPin"));
    running.stop().await;
}

#[tokio::test]
async fn in_process_api() {
    let (_app, st) = default_sim();
    assert_eq!(st.cards().len(), 1);
    st.queue_verify(DEFAULT_CARD_HANDLE, &[VerifyAnswer::Wrong])
        .unwrap();
    assert_eq!(
        st.card(DEFAULT_CARD_HANDLE).unwrap().next_verify,
        vec![VerifyAnswer::Wrong]
    );
    assert!(st.set_pin_status("NOPE", PinStatus::Verified).is_err());
    st.reset();
    assert!(st.card(DEFAULT_CARD_HANDLE).unwrap().next_verify.is_empty());
    let health = st.describe();
    assert_eq!(health["context"]["mandant_id"], "Mandant1");
    assert_eq!(health["endpoints"]["Konnektorservice"], "/Konnektorservice");
}

#[tokio::test]
async fn get_job_number_and_unimplemented_operations() {
    let (app, _) = default_sim();
    let ctx = r#"<ns3:Context xmlns:ns2="http://ws.gematik.de/conn/ConnectorCommon/v5.0" xmlns:ns3="http://ws.gematik.de/conn/ConnectorContext/v2.0"><ns2:MandantId>Mandant1</ns2:MandantId><ns2:ClientSystemId>ClientID1</ns2:ClientSystemId><ns2:WorkplaceId>Workplace1</ns2:WorkplaceId></ns3:Context>"#;
    let env = |inner: &str| {
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{inner}</s:Body></s:Envelope>"#
        )
    };
    let r = soap(
        &app,
        "/ws/SignatureService",
        Some(A_JOB),
        &env(&format!(
            r#"<x:GetJobNumber xmlns:x="http://ws.gematik.de/conn/SignatureService/v7.4">{ctx}</x:GetJobNumber>"#
        )),
    )
    .await;
    r.assert_ok();
    let j1 = r.text("SIG:JobNumber").unwrap();
    assert_eq!(j1.len(), 7);
    let r = soap(
        &app,
        "/Konnektorservice",
        Some("http://ws.gematik.de/conn/CardService/v8.1#ChangePin"),
        &env(&format!(
            r#"<x:ChangePin xmlns:x="http://ws.gematik.de/conn/CardService/v8.1">{ctx}</x:ChangePin>"#
        )),
    )
    .await;
    assert_eq!(r.faultcode(), Some("S:Server"));
    assert!(r.has_diag("konnektor.not-implemented"));
}
