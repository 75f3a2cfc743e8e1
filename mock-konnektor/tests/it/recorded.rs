//! The real request templates in `reference/konnektor/recorded/` (PTV3, PTV4, commonPTV; skipped without
//! the shared reference material) are accepted, at
//! `/Konnektorservice` with their SOAPAction and at the per-service endpoints; every response validates
//! against the official XSDs (checked inside `common::soap`). `connector.sds` validates against
//! ServiceDirectory 3.1 and lists every service at this server's address.

use crate::support::*;
use mock_konnektor::DEFAULT_CARD_HANDLE;
use std::path::PathBuf;

fn templates() -> Option<PathBuf> {
    test_support::shared::require("reference/konnektor/recorded")
}

fn fill<'a>(extra: &[(&'static str, &'a str)]) -> Vec<(&'static str, &'a str)> {
    let mut v: Vec<(&'static str, &'a str)> = ctx_fill();
    v.extend_from_slice(extra);
    v
}

#[tokio::test]
async fn get_cards_templates() {
    let Some(dir) = templates() else { return };
    let (app, _) = default_sim();
    for card_type in ["", "<v21:CardType>SMC-B</v21:CardType>"] {
        let body = recorded(
            &dir,
            "commonPTV/get-cards.xml",
            &fill(&[("CARDTYPE", card_type)]),
        );
        for (path, action) in [
            ("/Konnektorservice", Some(A_GET_CARDS)),
            ("/ws/EventService", Some(A_GET_CARDS)),
            ("/ws/EventService", None),
        ] {
            let r = soap(&app, path, action, &body).await;
            r.assert_ok();
            assert_eq!(
                r.texts("CONN:CardHandle"),
                vec![DEFAULT_CARD_HANDLE.to_string()]
            );
            assert_eq!(r.text("CARDCMN:CardType").as_deref(), Some("SMC-B"));
            assert_eq!(r.text("CARDCMN:CtId").as_deref(), Some("CT1"));
        }
    }
    // A filter that matches nothing gives an empty, still valid list.
    let body = recorded(
        &dir,
        "commonPTV/get-cards.xml",
        &fill(&[("CARDTYPE", "<v21:CardType>HBA</v21:CardType>")]),
    );
    let r = soap(&app, "/Konnektorservice", Some(A_GET_CARDS), &body).await;
    r.assert_ok();
    assert!(r.texts("CONN:CardHandle").is_empty());
    assert!(r.body.contains("<CARD:Cards></CARD:Cards>"), "{}", r.body);
}

#[tokio::test]
async fn get_card_terminals_template() {
    let Some(dir) = templates() else { return };
    let (app, _) = default_sim();
    let body = recorded(&dir, "commonPTV/get-card-terminals.xml", &ctx_fill());
    let r = soap(&app, "/Konnektorservice", Some(A_GET_TERMINALS), &body).await;
    r.assert_ok();
    assert_eq!(r.texts("CARDCMN:CtId"), vec!["CT1".to_string()]);
    assert_eq!(r.text("CT:Slots").as_deref(), Some("4"));
}

#[tokio::test]
async fn pin_templates() {
    let Some(dir) = templates() else { return };
    let (app, _) = default_sim();
    let pin_status = recorded(
        &dir,
        "commonPTV/get-pin-status.xml",
        &fill(&[("CARDHANDLE", DEFAULT_CARD_HANDLE), ("PINTYPE", "PIN.SMC")]),
    );
    let r = soap(&app, "/Konnektorservice", Some(A_PIN_STATUS), &pin_status).await;
    r.assert_ok();
    assert_eq!(r.text("CARD:PinStatus").as_deref(), Some("VERIFIABLE"));
    assert_eq!(r.text("CARD:LeftTries").as_deref(), Some("3"));

    let r = soap(
        &app,
        "/ws/CardService",
        Some(A_VERIFY_PIN),
        &verify_pin_request(DEFAULT_CARD_HANDLE),
    )
    .await;
    r.assert_ok();
    assert_eq!(r.text("CARDCMN:PinResult").as_deref(), Some("OK"));

    let r = soap(&app, "/ws/CardService", Some(A_PIN_STATUS), &pin_status).await;
    assert_eq!(r.text("CARD:PinStatus").as_deref(), Some("VERIFIED"));
}

#[tokio::test]
async fn read_card_certificate_ptv3_and_ptv4() {
    let Some(dir) = templates() else { return };
    let (app, st) = default_sim();
    let pki = st.pki().clone();
    for (cref, expected) in [
        ("C.AUT", &pki.insurer_aut),
        ("C.SIG", &pki.insurer_sig),
        ("C.ENC", &pki.insurer_enc),
    ] {
        let ptv3 = recorded(
            &dir,
            "PTV3/read-card-certificate.xml",
            &fill(&[
                ("CARDHANDLE", DEFAULT_CARD_HANDLE),
                ("CERTIFICATE_REF", cref),
            ]),
        );
        let ptv4 = read_cert_request(DEFAULT_CARD_HANDLE, cref, "ECC");
        for body in [ptv3, ptv4] {
            let r = soap(&app, "/Konnektorservice", Some(A_READ_CERT), &body).await;
            r.assert_ok();
            assert_eq!(r.text("CERTCMN:CertRef").as_deref(), Some(cref));
            let der = ti_core::b64_decode(&r.text("CERTCMN:X509Certificate").unwrap()).unwrap();
            assert_eq!(&der, &expected.cert_der, "{cref} is the PKI's certificate");
            let issuer = r.text("CERTCMN:X509IssuerName").unwrap();
            assert!(issuer.contains("KONFORM.TEST-CA TEST-ONLY"), "{issuer}");
            let serial: u128 = r.text("CERTCMN:X509SerialNumber").unwrap().parse().unwrap();
            assert!(serial > 0);
        }
    }
}

#[tokio::test]
async fn auth_sign_template() {
    let (app, st) = default_sim();
    st.set_pin_status(DEFAULT_CARD_HANDLE, mock_konnektor::PinStatus::Verified)
        .unwrap();
    let digest = ti_core::sha256(b"challenge");
    let body = ext_auth_request(DEFAULT_CARD_HANDLE, &digest, "urn:bsi:tr:03111:ecdsa");
    for path in ["/Konnektorservice", "/ws/AuthSignatureService"] {
        let r = soap(&app, path, Some(A_EXT_AUTH), &body).await;
        r.assert_ok();
        let sig = &signatures(&r)[0];
        assert_eq!(sig[0], 0x30, "DER SEQUENCE");
        st.pki()
            .insurer_aut
            .public_key()
            .verify_prehash(&digest, sig)
            .unwrap();
    }
}

#[tokio::test]
async fn verify_certificate_template() {
    let Some(dir) = templates() else { return };
    let (app, st) = default_sim();
    let cert = ti_core::b64_encode(&st.pki().insurer_aut.cert_der);
    for vt in [
        String::new(),
        format!(
            "<m:VerificationTime>{}</m:VerificationTime>",
            sim_kit::now_rfc3339()
        ),
    ] {
        let body = recorded(
            &dir,
            "commonPTV/verify-certificate.xml",
            &fill(&[("CERTIFICATE", &cert), ("VERIFICATION_TIME", &vt)]),
        );
        let r = soap(&app, "/Konnektorservice", Some(A_VERIFY_CERT), &body).await;
        r.assert_ok();
        assert_eq!(r.text("CERT:VerificationResult").as_deref(), Some("VALID"));
    }
    // A certificate of another CA is INVALID (answered, not faulted).
    let other = ti_core::pki::TestPki::generate(&Default::default()).unwrap();
    let other_b64 = ti_core::b64_encode(&other.insurer_aut.cert_der);
    let body = recorded(
        &dir,
        "commonPTV/verify-certificate.xml",
        &fill(&[("CERTIFICATE", &other_b64), ("VERIFICATION_TIME", "")]),
    );
    let r = soap(&app, "/ws/CertificateService", Some(A_VERIFY_CERT), &body).await;
    r.assert_ok();
    assert_eq!(
        r.text("CERT:VerificationResult").as_deref(),
        Some("INVALID")
    );
    assert!(
        r.has_diag("konnektor.certificate.invalid"),
        "{:?}",
        r.diagnoses
    );
}

#[tokio::test]
async fn connector_sds_validates_and_points_here() {
    let (app, _) = default_sim();
    let r = send(
        &app,
        axum::http::Request::get("/connector.sds")
            .header("host", "localhost:18082")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::OK);
    xmllint(&r.body, "http://ws.gematik.de/conn/ServiceDirectory/v3.1");
    for (name, version) in [
        ("EventService", "7.2.0"),
        ("CardService", "8.1.2"),
        ("CertificateService", "6.0.1"),
        ("SignatureService", "7.4.2"),
        ("AuthSignatureService", "7.4.1"),
    ] {
        assert!(r.body.contains(&format!("Name=\"{name}\"")), "{name}");
        assert!(r.body.contains(&format!("Version=\"{version}\"")), "{name}");
        assert!(
            r.body
                .contains(&format!("Location=\"http://localhost:18082/ws/{name}\"")),
            "{name}"
        );
        assert!(
            r.body
                .contains(&format!("Location=\"https://localhost:18082/ws/{name}\"")),
            "{name}"
        );
    }
    // Every endpoint it names answers SOAP.
    for s in mock_konnektor::soap::Service::ALL {
        let r = soap(&app, s.path(), Some(A_GET_CARDS), &get_cards_request("")).await;
        if s == mock_konnektor::soap::Service::Event {
            r.assert_ok();
        } else {
            assert_eq!(r.faultcode(), Some("S:Client"), "{}", r.body);
            assert!(r.has_diag("konnektor.soap.wrong-endpoint"));
        }
    }
}

/// The same operations in the seed's style (no shared material needed).
#[tokio::test]
async fn seed_style_requests() {
    let (app, _) = default_sim();
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(A_GET_TERMINALS),
        &get_terminals_request(),
    )
    .await;
    r.assert_ok();
    assert_eq!(r.texts("CARDCMN:CtId"), vec!["CT1".to_string()]);
    let r = soap(
        &app,
        "/ws/CardService",
        Some(A_PIN_STATUS),
        &pin_status_request(DEFAULT_CARD_HANDLE),
    )
    .await;
    assert_eq!(r.text("CARD:PinStatus").as_deref(), Some("VERIFIABLE"));
    assert_eq!(r.text("CARD:LeftTries").as_deref(), Some("3"));
    let r = soap(
        &app,
        "/ws/EventService",
        None,
        &get_cards_request("<ns5:CardType>SMC-B</ns5:CardType>"),
    )
    .await;
    assert_eq!(r.texts("CONN:CardHandle"), vec![DEFAULT_CARD_HANDLE]);
}
