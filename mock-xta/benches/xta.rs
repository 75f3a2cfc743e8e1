//! mock-xta over loopback HTTP with the durable store: a 40 MB message's throughput and memory, and small
//! sendMessage calls per second next to the bare-axum floor.
//!
//! `cargo bench -p mock-xta` (part of `make bench`). Knobs: `XTA_BENCH_SECS` (seconds per rate phase,
//! default 5), `XTA_BENCH_CLIENTS` (concurrent clients for the rates, default 4). The simulator runs as
//! `konform up` runs it — `mock_xta::app` behind sim-kit's accept loop on 127.0.0.1, plain HTTP (identity
//! from the Author header), on a store opened in a temporary directory (WAL, fsync'd blobs) — and is
//! driven by ureq clients on their own threads, so the figures include HTTP, parsing, the profile checks
//! and storage, and the clients' own work on the same cores.
//!
//! - 40 MB message (first, in this fresh process): four 10 MB attachments sent by the portal account as
//!   Apache CXF sends them (MTOM, binary parts), fetched by the authority account with an MTOM request
//!   (so the answer is MTOM too) and closed. MB/s for sendMessage and getMessage, and the peak resident
//!   set above the level before each request (`/proc/self/clear_refs` resets the high-water mark; the
//!   client holds the request before the reset and streams the answer into a counter, so the peak is the
//!   server's). Targets: ≥ 200 MB/s, ≤ 2× the message size.
//! - Small sendMessage calls: a FIM Versammlungsanzeige with one 2 kB proof (MTOM as CXF sends it). The
//!   MessageIDs come from createMessageId beforehand (as many as the clients get in one phase, also
//!   reported), so only sendMessage is on the clock; the send phase ends after the same time or when the
//!   ids run out. The floor: a trivial axum handler that reads the
//!   same body, served the same way, hit by the same client loop.

use mock_xta::config::{AUTHORITY_ID, PORTAL_ID};
use mock_xta::ns::{Op, Port};
use mock_xta::wire::{self, Built, ContentSpec, Packaging, PartySpec};
use mock_xta::{XtaConfig, XtaState};
use sim_kit::serve::{RunningSim, loopback_any};
use sim_kit::store::Store;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;
use ti_core::pki::{PkiOptions, TestPki};

fn rss_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn party(id: &str, name: &str) -> PartySpec {
    PartySpec {
        id: id.into(),
        id_type: "xoev".into(),
        name: Some(name.into()),
        category: None,
    }
}

fn portal() -> PartySpec {
    party(
        PORTAL_ID,
        "EFA-Onlinedienst Versammlungsanzeige Schleswig-Holstein",
    )
}

fn authority() -> PartySpec {
    party(AUTHORITY_ID, "Kreisordnungsbehörde Dithmarschen")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

fn post(
    agent: &ureq::Agent,
    base: &str,
    port: Port,
    b: &Built,
) -> ureq::http::Response<ureq::Body> {
    agent
        .post(format!("{base}{}", port.path()))
        .header("content-type", &b.content_type)
        .send(&b.body[..])
        .expect("request")
}

/// A request's answer, read whole; panics unless 200.
fn call(agent: &ureq::Agent, base: &str, port: Port, b: &Built) -> String {
    let mut r = post(agent, base, port, b);
    let status = r.status();
    let text = r
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_string()
        .expect("answer");
    assert_eq!(status, 200, "{text}");
    text
}

fn simple(base: &str, op: Op, who: &PartySpec, body: &str) -> Built {
    wire::simple(op, base, &[wire::author_header(who)], body)
}

/// createMessageId for the portal; the issued id.
fn create_id(agent: &ureq::Agent, base: &str) -> String {
    let b = simple(base, Op::CreateMessageId, &portal(), "");
    let text = call(agent, base, Port::Management, &b);
    let body = text.find(":Body>").map_or("", |i| &text[i..]);
    between(body, "MessageID", ">", "<").expect("wsa:MessageID in the Body")
}

/// The text after the first `anchor`, then `start`, up to `end`.
fn between(text: &str, anchor: &str, start: &str, end: &str) -> Option<String> {
    let a = text.find(anchor)? + anchor.len();
    let s = a + text[a..].find(start)? + start.len();
    let e = s + text[s..].find(end)?;
    Some(text[s..e].to_string())
}

/// sendMessage of a FIM message with these attachments, MTOM as CXF sends it.
fn fim_send(base: &str, id: &str, attachments: Vec<(String, Vec<u8>)>) -> Built {
    let names: Vec<&str> = attachments.iter().map(|(n, _)| n.as_str()).collect();
    let meta = wire::fim_meta(id, portal(), authority());
    let msg = ContentSpec::new(
        "application/xml",
        Some("Versammlungsanzeige.xml"),
        wire::fim_message(&wire::default_header(), &names).into_bytes(),
    );
    let atts: Vec<ContentSpec> = attachments
        .into_iter()
        .map(|(n, d)| ContentSpec::new("application/pdf", Some(&n), d))
        .collect();
    wire::send(
        Op::SendMessage,
        base,
        &wire::meta_xml(&meta),
        &msg,
        &atts,
        Packaging::MtomCxf,
    )
}

/// A request without content, packaged as MTOM with the root part only (CXF with MTOM on does that).
fn mtom_wrap(b: Built, op: Op) -> Built {
    let mut body = b"--MIMEBoundary_1\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\nContent-ID: <root@x>\r\n\r\n".to_vec();
    body.extend_from_slice(&b.body);
    body.extend_from_slice(b"\r\n--MIMEBoundary_1--\r\n");
    Built {
        content_type: format!(
            "multipart/related; type=\"application/xop+xml\"; boundary=\"MIMEBoundary_1\"; start=\"<root@x>\"; start-info=\"application/soap+xml\"; action=\"{}\"",
            op.action()
        ),
        body,
    }
}

fn pdf(n: usize, seed: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.4\n".to_vec();
    v.extend((0..n - v.len()).map(|i| ((i + seed) % 251) as u8));
    v
}

/// Counts what it is given and keeps the first 256 kB (the root part of an MTOM answer).
struct Counter {
    n: u64,
    head: Vec<u8>,
}

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let keep = (256usize << 10)
            .saturating_sub(self.head.len())
            .min(buf.len());
        self.head.extend_from_slice(&buf[..keep]);
        self.n += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Peak {
    before_kb: u64,
    start: Instant,
}

impl Peak {
    fn start() -> Peak {
        reset_peak();
        Peak {
            before_kb: rss_kb("VmRSS:"),
            start: Instant::now(),
        }
    }
    /// (seconds, peak bytes above the start)
    fn end(self) -> (f64, f64) {
        let secs = self.start.elapsed().as_secs_f64();
        let peak = rss_kb("VmHWM:").saturating_sub(self.before_kb) as f64 * 1024.0;
        (secs, peak)
    }
}

fn big_message(base: &str) {
    let agent = agent();
    let id = create_id(&agent, base);
    let atts: Vec<(String, Vec<u8>)> = (1..=4)
        .map(|i| (format!("Anlage_{i}.pdf"), pdf(10_000_000, i)))
        .collect();
    let content: usize = atts.iter().map(|(_, d)| d.len()).sum();
    let req = fim_send(base, &id, atts);
    let len = req.body.len() as f64;

    let peak = Peak::start();
    let mut r = post(&agent, base, Port::Send, &req);
    let status = r.status();
    let answer = r.body_mut().read_to_string().expect("answer");
    let (send_secs, send_peak) = peak.end();
    assert_eq!(status, 200, "{answer}");
    drop(req);

    let fetch = simple(
        base,
        Op::GetMessage,
        &authority(),
        &wire::fetch_request(&wire::msgbox_selector(&[&id], None)),
    );
    let fetch = mtom_wrap(fetch, Op::GetMessage);
    let mut sink = Counter {
        n: 0,
        head: Vec::with_capacity(256 << 10),
    };
    let peak = Peak::start();
    let mut r = post(&agent, base, Port::MsgBox, &fetch);
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    std::io::copy(&mut r.body_mut().as_reader(), &mut sink).expect("answer");
    let (fetch_secs, fetch_peak) = peak.end();
    let head = String::from_utf8_lossy(&sink.head).into_owned();
    assert_eq!(status, 200, "{head}");
    assert!(ct.starts_with("multipart/related"), "{ct}");
    assert!(head.contains(&id), "{head}");
    assert!(sink.n as usize > content, "{} bytes fetched", sink.n);
    let rid = between(&head, "MsgBoxRequestID", "\"", "\"").expect("MsgBoxRequestID");

    let close = simple(
        base,
        Op::Close,
        &authority(),
        &wire::iterator_request("MsgBoxCloseRequest", &rid, &[]),
    );
    let t = Instant::now();
    call(&agent, base, Port::MsgBox, &close);
    let close_ms = t.elapsed().as_secs_f64() * 1e3;

    let out = sink.n as f64;
    println!(
        "40 MB message (4 × 10 MB attachments, {:.1} MB MTOM on the wire): sendMessage {:.0} MB/s, peak +{:.1} MB = {:.2}× the message; getMessage ({:.1} MB MTOM) {:.0} MB/s, peak +{:.1} MB = {:.2}×; close {close_ms:.1} ms — targets ≥ 200 MB/s, ≤ 2×",
        len / 1e6,
        len / 1e6 / send_secs,
        send_peak / 1e6,
        send_peak / len,
        out / 1e6,
        out / 1e6 / fetch_secs,
        fetch_peak / 1e6,
        fetch_peak / out
    );
}

/// `clients` threads each send their requests, for at most `secs`; returns (requests, wall seconds).
fn hammer(clients: Vec<Vec<(Port, Built)>>, base: &str, secs: f64) -> (usize, f64) {
    let start = Instant::now();
    let n = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .into_iter()
            .map(|reqs| {
                s.spawn(move || {
                    let agent = agent();
                    let mut n = 0;
                    for (port, b) in &reqs {
                        if start.elapsed().as_secs_f64() >= secs {
                            break;
                        }
                        call(&agent, base, *port, b);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client")).sum()
    });
    (n, start.elapsed().as_secs_f64())
}

/// Each client issues MessageIDs for `secs` and builds one small send per id; returns the sends and
/// createMessageId/s.
fn issue_ids(base: &str, clients: usize, secs: f64) -> (Vec<Vec<(Port, Built)>>, f64) {
    let proof = pdf(2_000, 0);
    let sends: Vec<Vec<(Port, Built)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                let proof = proof.clone();
                s.spawn(move || {
                    let agent = agent();
                    let mut ids = Vec::new();
                    let t = Instant::now();
                    while t.elapsed().as_secs_f64() < secs {
                        ids.push(create_id(&agent, base));
                    }
                    ids.iter()
                        .map(|id| {
                            let b =
                                fim_send(base, id, vec![("Lageplan.pdf".into(), proof.clone())]);
                            (Port::Send, b)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    let n: usize = sends.iter().map(Vec::len).sum();
    (sends, n as f64 / secs)
}

/// The same client loop against a handler that only reads the body, for `secs`.
fn floor(rt: &tokio::runtime::Runtime, body: &Built, clients: usize, secs: f64) -> f64 {
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::post(|body: axum::body::Bytes| async move { format!("{}", body.len()) }),
    );
    let sim = rt
        .block_on(sim_kit::serve::spawn(app, loopback_any()))
        .expect("bind");
    let base = sim.url();
    let start = Instant::now();
    let n: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                let base = &base;
                s.spawn(move || {
                    let agent = agent();
                    let mut n = 0u64;
                    while start.elapsed().as_secs_f64() < secs {
                        call(&agent, base, Port::Send, body);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client")).sum()
    });
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(sim);
    rate
}

fn small_sends(rt: &tokio::runtime::Runtime, base: &str, clients: usize, secs: f64) {
    let (sends, create_rate) = issue_ids(base, clients, secs);
    let sample = sends
        .iter()
        .find_map(|c| c.first())
        .map(|(_, b)| Built {
            content_type: b.content_type.clone(),
            body: b.body.clone(),
        })
        .expect("at least one MessageID");
    let size = sample.body.len();
    let (n, wall) = hammer(sends, base, secs);
    let rate = n as f64 / wall;
    let bare = floor(rt, &sample, clients, secs);
    println!(
        "small sendMessage ({size} bytes, MTOM, durable store, {clients} clients): {rate:.0}/s ({n} in {wall:.2} s); bare-axum floor {bare:.0}/s; {:.1} % of the floor (createMessageId beforehand: {create_rate:.0}/s)",
        100.0 * rate / bare
    );
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return; // `cargo test --benches` compiles the bench and must not run it.
    }
    let env = |k: &str| std::env::var(k).ok().and_then(|s| s.parse::<f64>().ok());
    let secs = env("XTA_BENCH_SECS").unwrap_or(5.0);
    let clients = env("XTA_BENCH_CLIENTS").unwrap_or(4.0).max(1.0) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("store")).expect("store");
    let pki = Arc::new(TestPki::generate(&PkiOptions::default()).expect("test PKI"));
    let st = XtaState::new(XtaConfig::default(), pki, store).expect("XTA state");
    let sim: RunningSim = rt
        .block_on(sim_kit::serve::spawn(mock_xta::app(st), loopback_any()))
        .expect("bind");
    let base = sim.url();
    big_message(&base);
    small_sends(&rt, &base, clients, secs);
    drop(sim);
}
