//! The self-service order: the seed's checks, the bundle opened by OpenSSL 3 (no `-legacy`), the outbox,
//! and the ordered certificate used with curl against the web service.

use crate::common::*;
use crate::service::{kopf, ps};
use mock_melderegister::register::beispiele::AGS;
use mock_melderegister::soap;
use mock_melderegister::xmeld::request::personensuche_1330;
use std::process::Command;

const EMAIL: &str = "hauptadmin@buergeramt.musterhausen.example";
const PASS: &str = "Geheim-Passphrase 1";

async fn order(sim: &Sim, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = http(
        sim.portal,
        "POST",
        "/minca/api/bestellung",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await;
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null),
    )
}

fn body(mandant: &str, email: &str, pass: &str, terms: bool) -> serde_json::Value {
    serde_json::json!({ "mandant": mandant, "email": email, "passphrase": pass, "accept_terms": terms })
}

fn tool(name: &str) -> bool {
    let ok = Command::new(name).arg("--version").output().is_ok();
    if !ok && test_support::shared::in_ci() {
        panic!("`{name}` is required for this test (installed by .ci/deps)");
    }
    if !ok {
        eprintln!("SKIPPED: `{name}` not installed");
    }
    ok
}

fn protokoll(v: &serde_json::Value) -> String {
    v["protokoll"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_seeds_checks_refuse_and_nothing_is_stored() {
    let sim = start().await;
    for (b, why) in [
        (
            body("gibt-es-nicht", EMAIL, PASS, true),
            "nicht als Mandant",
        ),
        (
            body("stadt-musterhausen", "jemand@anders.example", PASS, true),
            "Hauptadministrators",
        ),
        (
            body("stadt-musterhausen", EMAIL, "kurz", true),
            "mindestens acht Zeichen",
        ),
        (
            body("stadt-musterhausen", EMAIL, PASS, false),
            "Gesetzeskonformität",
        ),
    ] {
        let (status, v) = order(&sim, b).await;
        assert_eq!(status, 422);
        assert_eq!(v["ok"], false);
        assert!(protokoll(&v).contains(why), "{why}: {}", protokoll(&v));
    }
    let r = http(
        sim.portal,
        "POST",
        "/minca/api/bestellung",
        &[("Content-Type", "application/json")],
        b"{nope",
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(sim.st.zertifikate().unwrap().is_empty());
    let r = http(sim.portal, "GET", "/__konform/outbox", &[], b"").await;
    assert_eq!(r.text().trim(), "[]");
    // The page without JavaScript: the Protokoll opens with the reason.
    let form = format!(
        "mandant=stadt-musterhausen&email=falsch%40x.example&passphrase={}&gesetzeskonformitaet=on",
        "abcdefgh"
    );
    let r = http(
        sim.portal,
        "POST",
        "/minca/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(
        r.text().contains("<details id=\"protokoll\" open>")
            && r.text().contains("Hauptadministrators"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn order_yields_bundle_kundennummer_and_outbox_and_curl_gets_a_1331() {
    let sim = start().await;
    let (status, v) = order(&sim, body("stadt-musterhausen", EMAIL, PASS, true)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["kundennummer"], AGS);
    let zip = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        v["zip_base64"].as_str().unwrap(),
    )
    .unwrap();
    // Outbox: the ZIP to the Hauptadministrator, the Kundennummer from the AG MiN, the invoice.
    let r = http(sim.portal, "GET", "/__konform/outbox", &[], b"").await;
    let mails: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(mails.as_array().unwrap().len(), 3, "{mails}");
    assert!(mails[1]["text"].as_str().unwrap().contains(AGS));
    let id = mails[0]["id"].as_str().unwrap();
    let a = http(
        sim.portal,
        "GET",
        &format!("/__konform/outbox/{id}/anhang"),
        &[],
        b"",
    )
    .await;
    assert_eq!(a.body, zip, "the outbox holds the same ZIP");
    assert_eq!(sim.st.zertifikate().unwrap().len(), 1);

    if !(tool("openssl") && tool("unzip") && tool("curl")) {
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "konform-order-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("b.zip"), &zip).unwrap();
    let run = |cmd: &mut Command| {
        let o = cmd.current_dir(&dir).output().unwrap();
        assert!(
            o.status.success(),
            "{cmd:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    run(Command::new("unzip").args(["-q", "b.zip"]));
    let base = "applikationskopplung-stadt-musterhausen";
    // OpenSSL 3 opens the PKCS#12 with the passphrase and without -legacy; the MAC is checked.
    let pass = format!("pass:{PASS}");
    let out = run(Command::new("openssl").args([
        "pkcs12",
        "-in",
        &format!("{base}.p12"),
        "-passin",
        &pass,
        "-nodes",
        "-out",
        "p12.pem",
    ]));
    let _ = out;
    let p12 = std::fs::read_to_string(dir.join("p12.pem")).unwrap();
    assert!(
        p12.contains("BEGIN CERTIFICATE") && p12.contains("BEGIN PRIVATE KEY"),
        "{p12}"
    );
    let wrong = Command::new("openssl")
        .current_dir(&dir)
        .args([
            "pkcs12",
            "-in",
            &format!("{base}.p12"),
            "-passin",
            "pass:falsch123",
            "-nodes",
        ])
        .output()
        .unwrap();
    assert!(
        !wrong.status.success(),
        "a wrong passphrase must fail the MAC check"
    );
    let info = Command::new("openssl")
        .current_dir(&dir)
        .args([
            "pkcs12",
            "-in",
            &format!("{base}.p12"),
            "-passin",
            &pass,
            "-info",
            "-noout",
        ])
        .output()
        .unwrap();
    let info =
        String::from_utf8_lossy(&info.stderr).into_owned() + &String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("AES-256-CBC") && info.contains("sha256"),
        "{info}"
    );
    // The encrypted PEM key and the DER certificate.
    run(Command::new("openssl").args([
        "pkey",
        "-in",
        &format!("{base}.key.pem"),
        "-passin",
        &pass,
        "-out",
        "key.pem",
    ]));
    let der_pem = run(Command::new("openssl").args([
        "x509",
        "-inform",
        "DER",
        "-in",
        &format!("{base}.cert.der"),
    ]));
    assert_eq!(
        der_pem.trim(),
        std::fs::read_to_string(dir.join(format!("{base}.cert.pem")))
            .unwrap()
            .trim()
    );
    // curl --cert with the Kundennummer gets a 1331.
    std::fs::write(dir.join("ca.pem"), pki().tls_ca.cert_pem()).unwrap();
    let msg = personensuche_1330(&kopf(), &ps("Sörensen", "Jens", "Lange Straße"), &[1, 13]);
    std::fs::write(
        dir.join("req.xml"),
        soap::request(msg.as_bytes(), Some(v["kundennummer"].as_str().unwrap())),
    )
    .unwrap();
    let url = format!("https://localhost:{}{}", sim.service.port(), soap::PATH);
    let addr = sim.service.port().to_string();
    let resp = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || {
            Command::new("curl")
                .current_dir(&dir)
                .args([
                    "-sS",
                    "--cacert",
                    "ca.pem",
                    "--cert",
                    &format!("{base}.cert.pem"),
                    "--key",
                    "key.pem",
                    "-H",
                    "Content-Type: text/xml; charset=utf-8",
                    "-H",
                    "SOAPAction: \"\"",
                    "--data-binary",
                    "@req.xml",
                    "--resolve",
                    &format!("localhost:{addr}:127.0.0.1"),
                    &url,
                ])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        resp.status.success(),
        "{}",
        String::from_utf8_lossy(&resp.stderr)
    );
    let x = String::from_utf8(soap::parse_response(&resp.stdout).expect("SOAP answer")).unwrap();
    assert!(
        x.contains("datenabruf.personensuche.antwort.1331") && x.contains("<code>01</code>"),
        "{x}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
}
