//! The order page in a real browser: headless Chromium driven through WebDriver (Debian's `chromedriver`),
//! spoken to as plain JSON over HTTP. Wrong e-mail → the Protokoll opens with the reason; short passphrase;
//! box not ticked; success → the button is greyed out, the order confirmed, the ZIP in the outbox.

use crate::common::*;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a6f3-4a2b7ad0c8a1";

struct Driver {
    child: Child,
    addr: SocketAddr,
    session: String,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// One WebDriver command. chromedriver keeps connections open, so the answer is read by Content-Length.
async fn wd(addr: SocketAddr, method: &str, path: &str, body: Value) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let b = body.to_string();
    let b = if method == "GET" || method == "DELETE" {
        ""
    } else {
        b.as_str()
    };
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(&request_bytes(
        method,
        path,
        &[("Content-Type", "application/json")],
        b.as_bytes(),
    ))
    .await
    .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let (status, v) = loop {
        let n = tokio::time::timeout(Duration::from_secs(60), s.read(&mut buf))
            .await
            .expect("WebDriver answers")
            .unwrap();
        assert!(n > 0, "WebDriver closed the connection");
        raw.extend_from_slice(&buf[..n]);
        let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if raw.len() >= end + 4 + len {
            let status: u16 = head
                .split_whitespace()
                .nth(1)
                .and_then(|x| x.parse().ok())
                .unwrap_or(0);
            break (
                status,
                serde_json::from_slice::<Value>(&raw[end + 4..end + 4 + len])
                    .unwrap_or(Value::Null),
            );
        }
    };
    assert!(status < 400, "{method} {path}: {status} {v}");
    v["value"].clone()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver() -> Option<Driver> {
    let have = Command::new("chromedriver")
        .arg("--version")
        .output()
        .is_ok()
        && std::path::Path::new("/usr/bin/chromium").exists();
    if !have {
        if test_support::shared::in_ci() {
            panic!(
                "chromium and chromedriver are required (Debian packages chromium, chromium-driver; .ci/deps installs them)"
            );
        }
        eprintln!("SKIPPED: chromium / chromedriver not installed");
        return None;
    }
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile =
        std::env::temp_dir().join(format!("konform-chromium-{}-{port}", std::process::id()));
    let caps = json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
        "binary": "/usr/bin/chromium",
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.display())]
    }}}});
    let v = wd(addr, "POST", "/session", caps).await;
    let session = v["sessionId"].as_str().unwrap().to_string();
    Some(Driver {
        child,
        addr,
        session,
        profile,
    })
}

impl Driver {
    async fn cmd(&self, method: &str, p: &str, body: Value) -> Value {
        wd(
            self.addr,
            method,
            &format!("/session/{}{p}", self.session),
            body,
        )
        .await
    }
    async fn el(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        // The W3C web element reference: an object with one key (`element-6066-…`).
        v.get(ELEMENT)
            .or_else(|| v.as_object().and_then(|o| o.values().next()))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .to_string()
    }
    async fn fill(&self, css: &str, text: &str) {
        let e = self.el(css).await;
        self.cmd("POST", &format!("/element/{e}/clear"), json!({}))
            .await;
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            json!({ "text": text }),
        )
        .await;
    }
    async fn js(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
        .await
    }
    /// Wait until `script` returns true (the page's fetch completes asynchronously).
    async fn until(&self, script: &str) -> bool {
        for _ in 0..100 {
            if self.js(script).await == Value::Bool(true) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn order_page_in_headless_chromium() {
    let Some(d) = start_driver().await else {
        return;
    };
    let sim = start().await;
    let page = format!("http://{}/minca/", sim.portal);
    d.cmd("POST", "/url", json!({ "url": page })).await;
    let title = d.cmd("GET", "/title", Value::Null).await;
    assert!(
        title
            .as_str()
            .unwrap_or("")
            .contains("Applikationskopplung"),
        "{title}"
    );
    let protokoll_open = "return document.getElementById('protokoll').open === true";
    let text = "return document.getElementById('protokoll-text').textContent";
    let submit = async || {
        let b = d.el("#bestellen").await;
        d.cmd("POST", &format!("/element/{b}/click"), json!({}))
            .await;
    };
    // Wrong e-mail: the Protokoll opens and says why.
    d.fill("#email", "jemand@anders.example").await;
    d.fill("#passphrase", "Geheim-Passphrase 1").await;
    let cb = d.el("#gesetzeskonformitaet").await;
    d.cmd("POST", &format!("/element/{cb}/click"), json!({}))
        .await;
    submit().await;
    assert!(d.until(protokoll_open).await, "the Protokoll must open");
    assert!(
        d.js(text)
            .await
            .as_str()
            .unwrap()
            .contains("Hauptadministrators")
    );
    // Short passphrase.
    d.js("document.getElementById('protokoll').open = false; return true")
        .await;
    d.fill("#email", "hauptadmin@buergeramt.musterhausen.example")
        .await;
    d.fill("#passphrase", "kurz").await;
    submit().await;
    assert!(d.until(&format!("{protokoll_open} && document.getElementById('protokoll-text').textContent.includes('acht Zeichen')")).await);
    // Box not ticked.
    d.fill("#passphrase", "Geheim-Passphrase 1").await;
    d.cmd("POST", &format!("/element/{cb}/click"), json!({}))
        .await;
    submit().await;
    assert!(d.until("return document.getElementById('protokoll-text').textContent.includes('Gesetzeskonformität')").await);
    assert!(
        sim.st.zertifikate().unwrap().is_empty(),
        "no refused order stores anything"
    );
    // Success: the button is greyed out and the order confirmed.
    d.cmd("POST", &format!("/element/{cb}/click"), json!({}))
        .await;
    submit().await;
    assert!(d.until("return document.getElementById('bestellen').disabled === true && document.getElementById('ergebnis').textContent.includes('erfolgreich')").await, "{}", d.js(text).await);
    let grey = d
        .js("return getComputedStyle(document.getElementById('bestellen')).backgroundColor")
        .await;
    assert_eq!(grey, json!("rgb(170, 170, 170)"), "greyed out");
    let r = http(sim.portal, "GET", "/__konform/outbox", &[], b"").await;
    let mails: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        mails[0]["anhang"]["dateiname"],
        "applikationskopplung-stadt-musterhausen.zip"
    );
    assert_eq!(sim.st.zertifikate().unwrap().len(), 1);
    d.cmd("DELETE", "", Value::Null).await;
}
