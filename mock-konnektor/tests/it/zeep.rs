//! An independent SOAP toolkit — Python `zeep`, generating its client from the official gematik WSDLs —
//! drives every operation over real HTTP (simulator on an ephemeral loopback port). The signatures it gets
//! back are verified here with ti-core.

use crate::support::*;
use mock_konnektor::DEFAULT_CARD_HANDLE;
use std::process::Command;
use std::time::SystemTime;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zeep_client_from_official_wsdls_calls_every_operation() {
    let Some(wsdl) = wsdl_dir() else { return };
    let (app, st) = default_sim();
    let running = sim_kit::serve::spawn(app, sim_kit::serve::loopback_any())
        .await
        .unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zeep/client.py");
    let url = running.url();
    let wsdl = wsdl.join("conn");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(&script)
            .arg(&url)
            .arg(&wsdl)
            .arg(DEFAULT_CARD_HANDLE)
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("python3 could not be run ({e}): the zeep test needs python3 with `pip install zeep lxml`"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'zeep'") || stderr.contains("No module named 'lxml'") {
        panic!("the zeep test needs `pip install zeep lxml`: {stderr}");
    }
    assert!(out.status.success(), "zeep client failed:\n{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_eq!(v["cards"][0], DEFAULT_CARD_HANDLE);
    assert_eq!(v["terminals"][0], "CT1");
    assert_eq!(v["pin_before"], "VERIFIABLE");
    assert_eq!(v["verify_pin"], "OK");
    assert_eq!(v["pin_after"], "VERIFIED");
    assert_eq!(v["verify_certificate"], "VALID");
    let pki = st.pki();
    for (r, id) in [
        ("C.AUT", &pki.insurer_aut),
        ("C.SIG", &pki.insurer_sig),
        ("C.ENC", &pki.insurer_enc),
    ] {
        assert_eq!(
            ti_core::b64_decode(v["certs"][r].as_str().unwrap()).unwrap(),
            id.cert_der,
            "{r}"
        );
    }
    let cms = v["cms"].as_array().unwrap();
    assert_eq!(cms.len(), 2);
    for (i, c) in cms.iter().enumerate() {
        assert_eq!(c["request_id"], format!("Req{i}"));
        assert_eq!(c["result"], "OK");
        assert_eq!(c["type"], "urn:ietf:rfc:5652");
        let der = ti_core::b64_decode(c["cms"].as_str().unwrap()).unwrap();
        let content = ti_core::b64_decode(c["content"].as_str().unwrap()).unwrap();
        ti_core::cms::verify(
            &der,
            ti_core::cms::Content::Detached(&content),
            &[pki.ca.cert()],
            SystemTime::now(),
        )
        .unwrap();
    }
    let ea = &v["external_authenticate"];
    assert_eq!(ea["type"], "urn:bsi:tr:03111:ecdsa");
    let sig = ti_core::b64_decode(ea["signature"].as_str().unwrap()).unwrap();
    let digest = ti_core::b64_decode(ea["digest"].as_str().unwrap()).unwrap();
    let aut = ti_core::b64_decode(v["certs"]["C.AUT"].as_str().unwrap()).unwrap();
    ti_core::pki::public_key_of_cert_der(&aut)
        .unwrap()
        .verify_prehash(&digest, &sig)
        .unwrap();
    assert_eq!(v["fault"]["code"], 4004);
    assert_eq!(v["fault"]["message"], "Ungültige Mandanten-ID");
    // Every endpoint zeep used came from connector.sds and points at this server.
    for (_, url) in v["endpoints"].as_object().unwrap() {
        assert!(url.as_str().unwrap().starts_with(&running.url()), "{url}");
    }
    // Every call was journaled and accepted, except the deliberate fault.
    let j = sim_kit::Simulator::kit(&st).journal().all();
    let ops: Vec<&str> = j.iter().filter_map(|e| e.operation.as_deref()).collect();
    for op in [
        "connector.sds",
        "GetCards",
        "GetCardTerminals",
        "GetPinStatus",
        "VerifyPin",
        "ReadCardCertificate",
        "VerifyCertificate",
        "GetJobNumber",
        "SignDocument",
        "ExternalAuthenticate",
    ] {
        assert!(ops.contains(&op), "{op} missing from {ops:?}");
    }
    assert_eq!(
        j.iter()
            .filter(|e| e.verdict != sim_kit::Verdict::Accepted)
            .count(),
        1
    );
    running.stop().await;
}
