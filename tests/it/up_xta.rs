//! `konform up`'s XTA server: the account certificates land in the PKI directory, and an accepted message
//! survives a `kill -9` of the whole process (the store under --data-dir), fetched after the restart.

use super::common;

use mock_xta::ns::{Op, Port};
use mock_xta::wire::{self, Packaging, PartySpec};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn start(data: &Path, ready: &Path, extra: &[&str]) -> (Child, String) {
    let _ = std::fs::remove_file(ready);
    let child = Command::new(common::KONFORM)
        .arg("up")
        .args(common::EPHEMERAL_PORTS)
        .arg("--data-dir")
        .arg(data)
        .arg("--ready-file")
        .arg(ready)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "no ready file within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(ready).unwrap()).unwrap();
    (child, r["xta"].as_str().unwrap().to_string())
}

/// POST over plain HTTP; (status, body).
fn post(base: &str, port: Port, b: &wire::Built) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", port.path(), b.content_type, b.body.len()).unwrap();
    s.write_all(&b.body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    (status, text)
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
    let a = s.find(open).map(|i| i + open.len()).unwrap_or(0);
    let b = s[a..].find(close).map(|i| a + i).unwrap_or(s.len());
    &s[a..b]
}

#[test]
fn accepted_message_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ready = dir.path().join("ready.json");
    let (mut child, url) = start(&data, &ready, &["--xta-plain"]);
    assert!(url.starts_with("http://"), "{url}");
    for f in [
        "xta/ehp_010100100001.pem",
        "xta/ehp_010100100001.key.pem",
        "xta/vbe_010510440199.pem",
    ] {
        assert!(data.join("pki").join(f).exists(), "{f} missing");
    }
    let portal = PartySpec::new(mock_xta::config::PORTAL_ID);
    let authority = PartySpec::new(mock_xta::config::AUTHORITY_ID);
    let (s, r) = post(
        &url,
        Port::Management,
        &wire::simple(
            Op::CreateMessageId,
            &url,
            &[wire::author_header(&portal)],
            "",
        ),
    );
    assert_eq!(s, 200, "{r}");
    let id = between(between(&r, "<env:Body>", "</env:Body>"), ">", "<").to_string();
    assert!(id.starts_with("urn:de:xta:messageid:"), "{id}");
    let meta = wire::fim_meta(&id, portal, authority.clone());
    let msg = wire::ContentSpec::new(
        "application/xml",
        None,
        wire::fim_message(&wire::default_header(), &["Plan.pdf"]).into_bytes(),
    );
    let att = wire::ContentSpec::new(
        "application/pdf",
        Some("Plan.pdf"),
        b"%PDF-1.4 kill -9".to_vec(),
    );
    let (s, r) = post(
        &url,
        Port::Send,
        &wire::send(
            Op::SendMessage,
            &url,
            &wire::meta_xml(&meta),
            &msg,
            &[att],
            Packaging::MtomCxf,
        ),
    );
    assert_eq!(s, 200, "{r}");
    // No clean shutdown.
    child.kill().unwrap();
    let _ = child.wait();
    let (mut child, url) = start(&data, &ready, &["--xta-plain"]);
    let (s, r) = post(
        &url,
        Port::MsgBox,
        &wire::simple(
            Op::GetMessage,
            &url,
            &[wire::author_header(&authority)],
            &wire::fetch_request(&wire::msgbox_selector(&[&id], None)),
        ),
    );
    assert_eq!(s, 200, "{r}");
    assert!(r.contains(&ti_core::b64_encode(b"%PDF-1.4 kill -9")), "{r}");
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn pki_init_writes_account_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(common::KONFORM)
        .args(["pki", "init", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for id in [mock_xta::config::PORTAL_ID, mock_xta::config::AUTHORITY_ID] {
        let cert = dir.path().join(mock_xta::pki::client_cert_file(id));
        let key = dir.path().join(mock_xta::pki::client_key_file(id));
        assert!(
            stdout.contains(&mock_xta::pki::client_cert_file(id)),
            "{stdout}"
        );
        let pem = std::fs::read_to_string(&cert).unwrap();
        let (_, der) = ti_core::pem_decode(&pem).unwrap();
        assert_eq!(
            mock_xta::pki::accounts_named_by(&der).0,
            vec![id.to_string()]
        );
        ti_core::pki::Identity::from_pem(&pem, &std::fs::read_to_string(&key).unwrap()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}

/// The "done when": a portal client and an authority client exchange a FIM Versammlungsanzeige
/// through `konform up`'s XTA server over mTLS (the reference client with the account certificates
/// `konform up` wrote), and the message survives a `kill -9` in between.
#[test]
fn portal_and_authority_exchange_over_mtls_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ready = dir.path().join("ready.json");
    let (mut child, url) = start(&data, &ready, &[]);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let files = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/xta-fim/files");
    let input = dir.path().join("send.json");
    std::fs::write(
        &input,
        serde_json::json!({
            "message": files.join("Versammlungsanzeige.xml"),
            "attachments": [files.join("Lageplan.pdf"), files.join("Foto_Bühne.png")],
        })
        .to_string(),
    )
    .unwrap();
    let client = |action: &str, input: Option<&Path>, url: &str| {
        let mut c = Command::new(common::KONFORM);
        c.args(["client", action])
            .env("KONFORM_XTA_URL", url)
            .env("KONFORM_PKI_DIR", data.join("pki"));
        if let Some(i) = input {
            c.arg("--input").arg(i);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{action}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("{action}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    };
    let sent = client("xta.send", Some(&input), &url);
    let id = sent["message_id"].as_str().unwrap().to_string();
    assert_eq!(sent["status"], 0);
    child.kill().unwrap();
    let _ = child.wait();
    let (mut child, url) = start(&data, &ready, &[]);
    let got = client("xta.fetch", None, &url);
    assert_eq!(got["messages"][0]["message_id"], id.as_str());
    let pdf = std::fs::read(files.join("Lageplan.pdf")).unwrap();
    let sha: String = ti_core::sha256(&pdf)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(got["messages"][0]["attachments"][0]["sha256"], sha.as_str());
    let rep_in = dir.path().join("rep.json");
    std::fs::write(&rep_in, serde_json::json!({ "message_id": id }).to_string()).unwrap();
    assert_eq!(
        client("xta.transport_report", Some(&rep_in), &url)["status"],
        1
    );
    child.kill().unwrap();
    let _ = child.wait();
}
