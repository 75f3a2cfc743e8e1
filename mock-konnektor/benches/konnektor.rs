//! Konnektor simulator throughput vs the raw ECDSA signing rate of ti-core, and peak memory over 10,000 calls.
//!
//! `cargo bench -p mock-konnektor` (or `make bench`). Knobs: `KONNEKTOR_BENCH_SECS` (seconds per
//! measurement, default 5, split into 5 interleaved rounds), `KONNEKTOR_BENCH_CONNS` (client connections, default 4).
//!
//! Two setups, each comparing like with like:
//! - one core: the server on a 1-worker runtime vs ti-core signing on 1 thread (the client threads are
//!   light and run beside it);
//! - all cores: the server on N workers vs ti-core signing on N threads, the clients competing for the same
//!   cores (a pessimistic figure on a small machine).
//!
//! The client is a minimal keep-alive HTTP/1.1 client over raw TcpStreams, several connections at once.
//! Memory: VmHWM (peak RSS) after a warm-up of 10,000 calls (the journal fills to its bound of 10,000
//! entries), then after each of three more rounds of 10,000 calls; the figures must level off.

use mock_konnektor::{KonnektorConfig, KonnektorState};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use ti_core::pki::{PkiOptions, TestPki};

const HANDLE: &str = mock_konnektor::DEFAULT_CARD_HANDLE;

fn ctx() -> &'static str {
    "<ns3:Context><ns2:MandantId>Mandant1</ns2:MandantId><ns2:ClientSystemId>ClientID1</ns2:ClientSystemId><ns2:WorkplaceId>Workplace1</ns2:WorkplaceId><ns2:UserId>User1</ns2:UserId></ns3:Context>"
}

fn sign_document_body() -> String {
    let doc = ti_core::b64_encode(&[0x5au8; 256]);
    format!(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns2="http://ws.gematik.de/conn/ConnectorCommon/v5.0" xmlns:ns3="http://ws.gematik.de/conn/ConnectorContext/v2.0" xmlns:ns4="http://ws.gematik.de/conn/SignatureService/v7.4" xmlns:dss="urn:oasis:names:tc:dss:1.0:core:schema"><soap:Body><ns4:SignDocument><ns2:CardHandle>{HANDLE}</ns2:CardHandle>{}<ns4:TvMode>NONE</ns4:TvMode><ns4:JobNumber>SIG-001</ns4:JobNumber><ns4:SignRequest RequestID="R1"><ns4:OptionalInputs><dss:SignatureType>urn:ietf:rfc:5652</dss:SignatureType><ns4:IncludeEContent>false</ns4:IncludeEContent></ns4:OptionalInputs><ns4:Document ShortText="bench" ID="D1"><dss:Base64Data>{doc}</dss:Base64Data></ns4:Document><ns4:IncludeRevocationInfo>false</ns4:IncludeRevocationInfo></ns4:SignRequest></ns4:SignDocument></soap:Body></soap:Envelope>"#,
        ctx()
    )
}

fn external_authenticate_body() -> String {
    let digest = ti_core::b64_encode(&ti_core::sha256(b"bench"));
    format!(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns2="http://ws.gematik.de/conn/ConnectorCommon/v5.0" xmlns:ns3="http://ws.gematik.de/conn/ConnectorContext/v2.0" xmlns:ns4="http://ws.gematik.de/conn/SignatureService/v7.4" xmlns:dss="urn:oasis:names:tc:dss:1.0:core:schema"><soap:Body><ns4:ExternalAuthenticate><ns2:CardHandle>{HANDLE}</ns2:CardHandle>{}<ns4:OptionalInputs><dss:SignatureType>urn:bsi:tr:03111:ecdsa</dss:SignatureType></ns4:OptionalInputs><ns4:BinaryString><dss:Base64Data MimeType="application/octet-stream">{digest}</dss:Base64Data></ns4:BinaryString></ns4:ExternalAuthenticate></soap:Body></soap:Envelope>"#,
        ctx()
    )
}

fn request(action: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /Konnektorservice HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: text/xml; charset=UTF-8\r\nsoapaction: \"{action}\"\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Send one request on a keep-alive connection and read the whole response; returns the status code.
fn roundtrip(s: &mut TcpStream, req: &[u8], buf: &mut Vec<u8>) -> u16 {
    s.write_all(req).expect("write");
    buf.clear();
    let mut tmp = [0u8; 16384];
    let header_end;
    loop {
        let n = s.read(&mut tmp).expect("read");
        assert!(n > 0, "server closed the connection");
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            header_end = p + 4;
            break;
        }
    }
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let status: u16 = head[9..12].parse().expect("status");
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().expect("content-length"))
        .expect("content-length");
    while buf.len() < header_end + len {
        let n = s.read(&mut tmp).expect("read body");
        assert!(n > 0, "server closed the connection mid-body");
        buf.extend_from_slice(&tmp[..n]);
    }
    status
}

/// Calls per second over `conns` keep-alive connections for `secs`.
fn http_rate(addr: SocketAddr, req: Arc<Vec<u8>>, conns: usize, secs: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..conns)
        .map(|_| {
            let (stop, count, req) = (stop.clone(), count.clone(), req.clone());
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).expect("connect");
                s.set_nodelay(true).ok();
                let mut buf = Vec::with_capacity(8192);
                while !stop.load(Ordering::Relaxed) {
                    let st = roundtrip(&mut s, &req, &mut buf);
                    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&buf));
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("client thread");
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// `f` calls per second on `threads` threads for `secs`.
fn raw_rate(threads: usize, secs: f64, f: Arc<dyn Fn() + Send + Sync>) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, count, f) = (stop.clone(), count.clone(), f.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    f();
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in hs {
        h.join().expect("signing thread");
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn vm(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(state: KonnektorState, workers: usize) -> Server {
        let (tx_addr, rx_addr) = std::sync::mpsc::channel();
        let (tx_stop, rx_stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx_addr
                    .send(l.local_addr().expect("addr"))
                    .expect("send addr");
                mock_konnektor::serve(l, state, async move {
                    let _ = rx_stop.await;
                })
                .await
                .expect("serve");
            });
        });
        Server {
            addr: rx_addr.recv().expect("server address"),
            stop: Some(tx_stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs us too: keep that quick.
    let quick =
        std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("KONNEKTOR_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 0.3 } else { 5.0 });
    let conns: usize = std::env::var("KONNEKTOR_BENCH_CONNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);

    let pki = Arc::new(TestPki::generate(&PkiOptions::default()).expect("PKI"));
    let cfg = KonnektorConfig {
        pin_initially_verified: true,
        ..KonnektorConfig::default()
    };
    let sign_req = Arc::new(request(
        "http://ws.gematik.de/conn/SignatureService/v7.4#SignDocument",
        &sign_document_body(),
    ));
    let auth_req = Arc::new(request(
        "http://ws.gematik.de/conn/SignatureService/v7.4#ExternalAuthenticate",
        &external_authenticate_body(),
    ));

    let aut_key = pki.insurer_aut.key.clone();
    let digest = ti_core::sha256(b"bench");
    let ecdsa: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        std::hint::black_box(aut_key.sign_prehash_der(&digest).expect("sign"));
    });
    let sig = pki.insurer_sig.clone();
    let content = [0x5au8; 256];
    let cms: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        std::hint::black_box(
            ti_core::cms::sign(
                &content,
                &sig.key,
                &sig.cert_der,
                false,
                std::time::SystemTime::now(),
            )
            .expect("cms"),
        );
    });

    println!(
        "mock-konnektor bench: {} curve, {cores} cores, {conns} client connections, {secs} s per figure",
        pki.curve.name()
    );
    // Rounds interleave raw signing and HTTP calls so that load from other processes on a shared machine hits
    // both sides of each ratio alike; the median ratio is reported.
    let rounds = 5usize;
    let slice = secs / rounds as f64;
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let mut worst: f64 = f64::MAX;
    for (label, workers) in [("one core", 1usize), ("all cores", cores)] {
        let state = KonnektorState::new(cfg.clone(), pki.clone()).expect("state");
        let server = Server::start(state, workers);
        http_rate(server.addr, auth_req.clone(), conns, slice);
        let (mut raw, mut raw_cms, mut auth, mut sign) = (vec![], vec![], vec![], vec![]);
        let (mut r_auth, mut r_sign, mut r_sign_cms) = (vec![], vec![], vec![]);
        for _ in 0..rounds {
            let e = raw_rate(workers, slice, ecdsa.clone());
            let a = http_rate(server.addr, auth_req.clone(), conns, slice);
            let c = raw_rate(workers, slice, cms.clone());
            let s = http_rate(server.addr, sign_req.clone(), conns, slice);
            r_auth.push(a / e);
            r_sign.push(s / e);
            r_sign_cms.push(s / c);
            raw.push(e);
            raw_cms.push(c);
            auth.push(a);
            sign.push(s);
        }
        drop(server);
        let (raw, raw_cms, auth, sign) = (median(raw), median(raw_cms), median(auth), median(sign));
        let (r_auth, r_sign, r_sign_cms) = (median(r_auth), median(r_sign), median(r_sign_cms));
        println!(
            "[{label}: server {workers} worker(s), ti-core on {workers} thread(s); medians of {rounds} rounds]"
        );
        println!("  ti-core ECDSA sign_prehash_der        {raw:9.0} /s");
        println!("  ti-core cms::sign (detached, 256 B)    {raw_cms:9.0} /s");
        println!(
            "  ExternalAuthenticate over HTTP         {auth:9.0} /s  = {:5.1} % of raw ECDSA",
            100.0 * r_auth
        );
        println!(
            "  SignDocument over HTTP                 {sign:9.0} /s  = {:5.1} % of raw ECDSA ({:5.1} % of cms::sign)",
            100.0 * r_sign,
            100.0 * r_sign_cms
        );
        if workers == 1 {
            worst = worst.min(r_auth).min(r_sign);
        }
    }

    // Peak memory over 10,000 calls (after a warm-up that fills the bounded journal).
    let n = if quick { 500 } else { 10_000 };
    let state = KonnektorState::new(cfg, pki.clone()).expect("state");
    let server = Server::start(state, cores);
    let run = |count: usize| {
        let per = count / conns;
        let hs: Vec<_> = (0..conns)
            .map(|i| {
                let (addr, a, s) = (server.addr, auth_req.clone(), sign_req.clone());
                std::thread::spawn(move || {
                    let mut c = TcpStream::connect(addr).expect("connect");
                    let mut buf = Vec::new();
                    for k in 0..per {
                        let r = if (i + k) % 2 == 0 { &a } else { &s };
                        assert_eq!(roundtrip(&mut c, r, &mut buf), 200);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().expect("client");
        }
    };
    let start = vm("VmHWM:");
    run(n);
    let mut marks = vec![vm("VmHWM:")];
    for _ in 0..3 {
        run(n);
        marks.push(vm("VmHWM:"));
    }
    println!(
        "peak RSS (VmHWM): start {start} kB; after a warm-up of {n} calls (journal filled to its bound) {} kB; after each further {n} calls {} kB; growth over the last {n}: {} kB",
        marks[0],
        marks[1..]
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(" / "),
        marks[3].saturating_sub(marks[2])
    );
    println!(
        "one-core throughput vs raw ECDSA: worst {:.1} % (target >= 70 %)",
        100.0 * worst
    );
}
