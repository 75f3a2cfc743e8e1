//! An independent SOAP toolkit — Python `zeep`, generating its client from the official `XTA.wsdl` — sends
//! a FIM message with two attachments as MTOM from the portal account and fetches it as the authority,
//! over mTLS with the account certificates `konform pki` writes. The answers it reads are MTOM too.

use crate::common::*;
use mock_xta::XtaConfig;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zeep_client_from_the_official_wsdl_sends_and_fetches_over_mtls() {
    let Some(wsdl) = wsdl_dir() else { return };
    let mut cfg = XtaConfig::default();
    cfg.behaviour.always_mtom = true;
    let (_, st) = sim_with(cfg);
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let files =
        mock_xta::pki::client_cert_files(&pki, &st.accounts(), std::time::SystemTime::now())
            .unwrap();
    for (rel, text) in files
        .into_iter()
        .chain([("tls/ca.pem".to_string(), pki.tls_ca.cert_pem())])
    {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let a1 = pdf(120_000);
    let a2: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..50_000u32).map(|i| (i * 7 % 256) as u8))
        .collect();
    let msg = mock_xta::wire::fim_message(
        &mock_xta::wire::default_header(),
        &["Lageplan.pdf", "Foto_Bühne.png"],
    );
    let (mp, p1, p2) = (
        dir.path().join("Versammlungsanzeige.xml"),
        dir.path().join("Lageplan.pdf"),
        dir.path().join("Foto_Bühne.png"),
    );
    std::fs::write(&mp, &msg).unwrap();
    std::fs::write(&p1, &a1).unwrap();
    std::fs::write(&p2, &a2).unwrap();

    let tls = sim_kit::tls::server_config(&mock_xta::tls_settings(&pki)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mock_xta::serve_tls(listener, st.clone(), tls, async move {
        let _ = rx.await;
    }));
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zeep/client.py");
    let url = format!("https://localhost:{port}");
    let pki_dir = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3").arg(&script).arg(&url).arg(&wsdl).arg(&pki_dir).arg(&mp).arg(&p1).arg(&p2).output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("python3 could not be run ({e}): the zeep test needs python3 with zeep and lxml (.ci/deps)"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named") {
        panic!(
            "the zeep test needs `pip install zeep lxml` (.ci/deps installs them into .venv): {stderr}"
        );
    }
    assert!(
        out.status.success(),
        "zeep client failed:\n{stderr}\njournal: {:#?}",
        st.kit().journal().all()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sha = |d: &[u8]| {
        ti_core::sha256(d)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(v["service_available"], true);
    assert_eq!(
        ti_core::b64_decode(v["encryption_cert"].as_str().unwrap()).unwrap(),
        st.enc_cert(mock_xta::config::AUTHORITY_ID).unwrap()
    );
    assert_eq!(v["send_status"], 200);
    assert_eq!(v["listed"][0], v["message_id"]);
    assert_eq!(v["fetched"]["message_sha256"], sha(msg.as_bytes()));
    assert_eq!(v["fetched"]["attachments"][0]["filename"], "Lageplan.pdf");
    assert_eq!(v["fetched"]["attachments"][0]["sha256"], sha(&a1));
    assert_eq!(v["fetched"]["attachments"][1]["filename"], "Foto_Bühne.png");
    assert_eq!(v["fetched"]["attachments"][1]["sha256"], sha(&a2));
    assert_eq!(v["fetched_meta_reader"], mock_xta::config::AUTHORITY_ID);
    assert_eq!(v["report_status"], 1);
    assert_eq!(v["fault"]["code"], "9070");
    // The send arrived as MTOM and every call was authenticated by certificate.
    let journal = st.kit().journal().all();
    assert!(journal.iter().all(|e| {
        e.diagnoses
            .iter()
            .all(|d| d.rule != "xta.auth.unauthenticated")
    }));
    let ops: Vec<&str> = journal
        .iter()
        .filter_map(|e| e.operation.as_deref())
        .collect();
    for op in [
        "checkAccountActive",
        "lookupService",
        "createMessageId",
        "sendMessage",
        "getStatusList",
        "getMessage",
        "close",
        "getTransportReport",
    ] {
        assert!(ops.contains(&op), "{op} missing from {ops:?}");
    }
    let _ = tx.send(());
    let _ = server.await;
}
