//! Peak memory of `konform up` under the hostile inputs of issue 8 (`cargo bench -p konform --bench
//! hostile`, part of `make bench`). Each case runs against a fresh `konform up` (the release binary, a
//! separate process) and reports the process's high-water mark (`VmHWM` from `/proc/PID/status`) after
//! startup and after the case, with the answers' statuses and the wall time. It reports figures; it
//! asserts nothing about time.
//!
//! Cases (the findings' worst inputs):
//! - `konnektor-4mb-name`: 40 SOAP requests, each with a 4 MB element name, then one `GET
//!   /__konform/journal` (before: 70 → 409 MiB, and the journal request peaked at 1 GiB);
//! - `vst-50mib-name`: three VST deliveries, each with a 50 MiB unknown property name (before: +100 MiB
//!   per request);
//! - `vst-64mib-zeros`: a 64 MiB body `[0,0,…]` (before: 1.1 GiB);
//! - `vst-64mib-zeros-x2`: two of them in parallel (before: 2.2 GiB).
//!
//! `HOSTILE_ONLY=name` runs one case. Linux only (reads `/proc`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KONFORM: &str = env!("CARGO_BIN_EXE_konform");

struct Up {
    child: Child,
    vst: String,
    konnektor: String,
}

impl Up {
    fn start(dir: &Path) -> Up {
        let ready = dir.join("ready.json");
        let _ = std::fs::remove_file(&ready);
        let cfg = dir.join("config.yaml");
        // No authentication, so the bodies reach the parser (the worst case for the VST).
        std::fs::write(&cfg, "vst:\n  profile:\n    auth: none\n").expect("config");
        let child = Command::new(KONFORM)
            .args([
                "up",
                "--ephemeral",
                "--vst-port",
                "0",
                "--konnektor-port",
                "0",
                "--osci-port",
                "0",
                "--melderegister-port",
                "0",
                "--melderegister-portal-port",
                "0",
            ])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--config")
            .arg(&cfg)
            .arg("--ready-file")
            .arg(&ready)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("konform up");
        let deadline = Instant::now() + Duration::from_secs(120);
        while !ready.exists() {
            assert!(Instant::now() < deadline, "konform up did not get ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&ready).expect("ready file")).expect("JSON");
        let url = |k: &str| {
            v[k].as_str()
                .unwrap_or_default()
                .trim_start_matches("http://")
                .to_string()
        };
        Up {
            vst: url("vst"),
            konnektor: url("konnektor"),
            child,
        }
    }

    fn hwm_mib(&self) -> f64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        s.lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Send one request, read the whole answer; returns the status and the answer's size.
fn request(authority: &str, head: &str, body: &[u8]) -> (u16, usize) {
    let Ok(mut s) = TcpStream::connect(authority) else {
        return (0, 0);
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(300)));
    let head = format!(
        "{head}host: {authority}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    if s.write_all(head.as_bytes()).is_err() || s.write_all(body).is_err() {
        // The server may answer (413, 503) and close before the whole body is sent.
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let status = std::str::from_utf8(out.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, out.len())
}

fn report(name: &str, up: &Up, before: f64, t: Instant, statuses: &[u16], note: &str) {
    println!(
        "{name:<22} VmHWM {before:>7.1} MiB after start → {:>7.1} MiB after the case   {:>6.2} s   statuses {:?}{note}",
        up.hwm_mib(),
        t.elapsed().as_secs_f64(),
        dedup(statuses)
    );
}

fn dedup(s: &[u16]) -> Vec<String> {
    let mut out: Vec<(u16, usize)> = Vec::new();
    for &x in s {
        match out.iter_mut().find(|(v, _)| *v == x) {
            Some((_, n)) => *n += 1,
            None => out.push((x, 1)),
        }
    }
    out.into_iter().map(|(v, n)| format!("{n}×{v}")).collect()
}

fn konnektor_4mb_name(up: &Up) {
    let name = "E".repeat(4 * 1024 * 1024);
    let body = format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>\
         <{name}/></soapenv:Body></soapenv:Envelope>"
    );
    let head = "POST /Konnektorservice HTTP/1.1\r\ncontent-type: text/xml; charset=UTF-8\r\n\
                soapaction: \"http://ws.gematik.de/conn/EventService/v7.2#GetCards\"\r\n";
    let before = up.hwm_mib();
    let t = Instant::now();
    let mut st = Vec::new();
    let mut biggest = 0;
    for _ in 0..40 {
        let (s, n) = request(&up.konnektor, head, body.as_bytes());
        st.push(s);
        biggest = biggest.max(n);
    }
    let (s, journal_bytes) = request(&up.konnektor, "GET /__konform/journal HTTP/1.1\r\n", b"");
    st.push(s);
    report(
        "konnektor-4mb-name",
        up,
        before,
        t,
        &st,
        &format!("   largest fault {biggest} bytes, journal page {journal_bytes} bytes"),
    );
}

fn vst_body(up: &Up, name: &str, body: &[u8], parallel: usize, repeat: usize) {
    let head = "POST /notify/api/v1/vitalstatusnotification HTTP/1.1\r\ncontent-type: application/json\r\n";
    let before = up.hwm_mib();
    let t = Instant::now();
    let mut st = Vec::new();
    for _ in 0..repeat {
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..parallel)
                .map(|_| s.spawn(|| request(&up.vst, head, body).0))
                .collect();
            st.extend(hs.into_iter().map(|h| h.join().unwrap_or(0)));
        });
    }
    let (s, journal_bytes) = request(&up.vst, "GET /__konform/journal HTTP/1.1\r\n", b"");
    st.push(s);
    report(
        name,
        up,
        before,
        t,
        &st,
        &format!(
            "   body {} MiB, journal page {journal_bytes} bytes",
            body.len() >> 20
        ),
    );
}

fn main() {
    if std::env::args().any(|a| a == "--test") || cfg!(not(target_os = "linux")) {
        return; // `cargo test --benches` compiles it; only `cargo bench` runs it.
    }
    let only = std::env::var("HOSTILE_ONLY").ok();
    let run = |n: &str| only.as_deref().is_none_or(|o| o == n);
    let dir = tempfile::tempdir().expect("temporary directory");
    println!(
        "peak memory of `konform up` (release) under hostile input, each case in a fresh process"
    );
    if run("konnektor-4mb-name") {
        konnektor_4mb_name(&Up::start(dir.path()));
    }
    if run("vst-50mib-name") {
        let mut body = b"{\"IdDatenlieferung\": \"x\", \"".to_vec();
        body.resize(body.len() + 50 * 1024 * 1024, b'A');
        body.extend_from_slice(b"\": 1}");
        vst_body(&Up::start(dir.path()), "vst-50mib-name", &body, 1, 3);
    }
    let zeros = {
        let mut b = Vec::with_capacity(64 << 20);
        b.push(b'[');
        while b.len() < (64 << 20) - 2 {
            b.extend_from_slice(b"0,");
        }
        b.extend_from_slice(b"0]");
        b
    };
    if run("vst-64mib-zeros") {
        vst_body(&Up::start(dir.path()), "vst-64mib-zeros", &zeros, 1, 1);
    }
    if run("vst-64mib-zeros-x2") {
        vst_body(&Up::start(dir.path()), "vst-64mib-zeros-x2", &zeros, 2, 1);
    }
}
