//! The VST admin API under `/__konform/` and the profile switches of the resolved ambiguities.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use mock_vst::{Profile, SignatureEncoding, SignatureInput, VstConfig};
use ti_core::ecies::{self, AesKeySize, EciesParams};
use ti_core::sig_input::Variant;

async fn admin(s: &Sim, method: &str, path: &str, body: &str) -> Resp {
    send(
        &s.app,
        Request::builder()
            .method(method)
            .uri(format!("/__konform{path}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn profile_environment_errors_and_reset() {
    let s = sim();
    let r = admin(&s, "GET", "/profile", "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["auth"], "ird-header");
    assert_eq!(r.json()["id_checks"], "sync");
    let r = admin(
        &s,
        "PUT",
        "/profile",
        r#"{"id_checks":"async","response_signature":"raw"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(s.state.profile().id_checks, mock_vst::IdChecks::Async);
    assert_eq!(
        s.state.profile().aes_key_bits,
        128,
        "missing keys take defaults"
    );
    let r = admin(&s, "PUT", "/profile", r#"{"aes_key_bits":100}"#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = admin(&s, "PUT", "/profile", r#"{"bogus":1}"#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = admin(&s, "PUT", "/environment", r#"{"environment":"production"}"#).await;
    assert_eq!(r.json()["environment"], "production");
    assert_eq!(s.state.environment(), ti_core::ids::Environment::Production);
    assert_eq!(
        admin(&s, "PUT", "/environment", r#"{"environment":"test"}"#)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    let r = admin(
        &s,
        "POST",
        "/processingerrors",
        r#"{"stream":"insuranceupdate","IdDatenlieferung":"L1","IdDatensatz":"D1","Code":"WrongFormatIkAlt"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let v = admin(&s, "GET", "/processingerrors", "").await.json();
    let tid = s.pki.insurer.telematik_id.clone();
    assert_eq!(v["insuranceupdate"][&tid][0]["Code"], "WrongFormatIkAlt");
    assert_eq!(
        admin(&s, "POST", "/processingerrors", r#"{"stream":"x"}"#)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let r = admin(&s, "POST", "/requests", r#"{"kvnr":"A111100009"}"#).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "invalid KVNR: nothing queued"
    );
    assert_eq!(
        admin(
            &s,
            "POST",
            "/requests",
            r#"{"kvnrs":["A111100008"],"telematik_id":"nobody"}"#
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin(&s, "POST", "/requests", r#"{"kvnr":"A111100008"}"#)
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        admin(&s, "GET", "/requests", "").await.json()[&tid]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let h = admin(&s, "GET", "/health", "").await.json();
    assert_eq!(h["simulator"], "vst");
    assert_eq!(h["state"]["environment"], "production");
    assert!(h["state"]["endpoints"].as_array().unwrap().len() >= 7);

    // Reset: back to the configuration.
    assert_eq!(
        admin(&s, "POST", "/reset", "").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(s.state.profile(), Profile::default());
    assert_eq!(s.state.environment(), ti_core::ids::Environment::Reference);
    assert_eq!(get(&s, IU_ERR).await.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&s, VS_REQ).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.state.insurers().len(),
        1,
        "the default insurer is registered again"
    );
    assert_eq!(
        admin(&s, "GET", "/nothing-here", "").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn registrations_deliveries_and_unregistering() {
    // A registration from the configuration.
    let pki = pki();
    let cfg = VstConfig {
        register_default_insurer: false,
        insurers: vec![mock_vst::state::default_registration(&pki)],
        ..VstConfig::default()
    };
    let s = sim_with(cfg);
    let list = admin(&s, "GET", "/registrations", "").await.json();
    assert_eq!(list[0]["TelematikId"], pki.insurer.telematik_id.as_str());
    assert_eq!(list[0]["can_receive_encrypted"], true);
    assert_eq!(
        post(&s, VS, vs_body(&s.pki, "adm-1", &[good(1)]))
            .await
            .status,
        StatusCode::OK
    );
    let d = admin(&s, "GET", "/deliveries/1", "").await;
    assert_eq!(d.status, StatusCode::OK);
    assert_eq!(d.json()["records"][0]["IdVersicherter"], "A111100010");
    assert_eq!(
        admin(&s, "GET", "/deliveries/99", "").await.status,
        StatusCode::NOT_FOUND
    );
    let r = admin(&s, "POST", "/settle?timeout_ms=10000", "").await;
    assert_eq!(r.json()["settled"], true);
    assert_eq!(
        admin(&s, "GET", "/deliveries", "").await.json()[0]["processed"],
        true
    );
    // Unregister: the insurer is then unknown (403).
    let tid = pki.insurer.telematik_id.clone();
    assert_eq!(
        admin(&s, "DELETE", &format!("/registrations/{tid}"), "")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(get(&s, VS_ERR).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        admin(&s, "DELETE", &format!("/registrations/{tid}"), "")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A broken registration in the configuration is a start error, not a silent skip.
    let mut bad = mock_vst::state::default_registration(&pki);
    bad.haupt_ik = "109500968".into();
    let e = mock_vst::VstState::new(
        VstConfig {
            insurers: vec![bad],
            ..VstConfig::default()
        },
        pki.clone(),
    );
    assert!(e.is_err());
}

#[tokio::test]
async fn profile_switches_change_the_crypto_conventions() {
    let s = sim();
    // Raw r||s response signatures.
    s.state.set_profile(Profile {
        response_signature: SignatureEncoding::Raw,
        ..Profile::default()
    });
    s.state
        .inject_processing_error(mock_vst::ErrorStream::VitalStatus, "L", "D", "C");
    let v = get(&s, VS_ERR).await.json();
    let sig = ti_core::b64_decode(v["Signatur"].as_str().unwrap()).unwrap();
    assert_eq!(sig.len(), 64);
    s.pki
        .vst_sig
        .public_key()
        .verify_sha256(b"L|D|C", &sig)
        .unwrap();

    // A client that signs the base64 text is accepted when the profile says so.
    s.state.set_profile(Profile {
        signature_input: SignatureInput::Base64Text,
        ..Profile::default()
    });
    let r = post(
        &s,
        VS,
        vs_body_variant(&s.pki, "sw-1", &[good(1)], Variant::Base64Text),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.diags);
    // … and a canonical client is then the near miss.
    let r = post(&s, VS, vs_body(&s.pki, "sw-2", &[good(2)])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.has("signature-input.canonical", Some("/Signatur")),
        "{:?}",
        r.diags
    );

    // AES-256 and another HKDF info.
    s.state.set_profile(Profile {
        aes_key_bits: 256,
        hkdf_info: "other-info".into(),
        ..Profile::default()
    });
    let p = EciesParams {
        info: "other-info".into(),
        aes: AesKeySize::Aes256,
    };
    let mut rec = good(3);
    let e = |k: &ti_core::EcPublicKey, v: &str| {
        ti_core::b64_encode(&ecies::encrypt(k, v.as_bytes(), &p))
    };
    rec.raw = Some([
        e(&s.pki.vst_enc.public_key(), &rec.kvnr),
        e(&s.pki.registerstelle_enc.public_key(), "01"),
        e(&s.pki.registerstelle_enc.public_key(), "---N/A----"),
    ]);
    let r = post(&s, VS, vs_body(&s.pki, "sw-3", &[rec])).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.diags);
    assert_eq!(
        get(&s, VS_ERR).await.status,
        StatusCode::NO_CONTENT,
        "Registerstelle values decrypt too"
    );
    // The default client is now the one that fails.
    let r = post(&s, VS, vs_body(&s.pki, "sw-4", &[good(4)])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
