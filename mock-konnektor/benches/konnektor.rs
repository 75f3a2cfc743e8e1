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
//! Rates are given per wall-clock second and per CPU second of the server runtime / signing threads (the
//! latter is robust to load from other processes on a shared machine; the target is judged on it).
//! Memory (measured first, in a fresh server): VmHWM after a warm-up of 10,000 calls (the journal fills to its bound of 10,000
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

/// Calls per wall-clock second and per server CPU second over `conns` keep-alive connections for `secs`.
fn http_rate(addr: SocketAddr, req: Arc<Vec<u8>>, conns: usize, secs: f64) -> (f64, f64) {
    let cpu0 = server_cpu_secs();
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
    let n = count.load(Ordering::Relaxed) as f64;
    let cpu = server_cpu_secs() - cpu0;
    (n / start.elapsed().as_secs_f64(), n / cpu.max(0.01))
}

/// `f` calls per wall-clock second and per CPU second on `threads` threads for `secs`.
fn raw_rate(threads: usize, secs: f64, f: Arc<dyn Fn() + Send + Sync>) -> (f64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, count, f) = (stop.clone(), count.clone(), f.clone());
            std::thread::spawn(move || {
                let c0 = cpu_secs_of("/proc/thread-self/stat");
                while !stop.load(Ordering::Relaxed) {
                    f();
                    count.fetch_add(1, Ordering::Relaxed);
                }
                cpu_secs_of("/proc/thread-self/stat") - c0
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let mut cpu = 0.0;
    for h in hs {
        cpu += h.join().expect("signing thread");
    }
    let n = count.load(Ordering::Relaxed) as f64;
    (n / start.elapsed().as_secs_f64(), n / cpu.max(0.01))
}

/// utime + stime of one task in seconds (`/proc/self/task/TID/stat` or `/proc/thread-self/stat`).
fn cpu_secs_of(stat_path: &str) -> f64 {
    let Ok(s) = std::fs::read_to_string(stat_path) else {
        return 0.0;
    };
    let Some(rest) = s.rfind(')').map(|i| &s[i + 2..]) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After "pid (comm) ": state is field 3, utime 14, stime 15 → indices 11 and 12 here.
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// CPU seconds used so far by the server's runtime threads (named `kon-server`).
fn server_cpu_secs() -> f64 {
    let mut total = 0.0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for t in dir.flatten() {
            let p = t.path();
            let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
            if comm.trim() == "kon-server" {
                total += cpu_secs_of(&p.join("stat").to_string_lossy());
            }
        }
    }
    total
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
                .thread_name("kon-server")
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
        .map(std::num::NonZero::get)
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
    // Peak memory first, in a fresh server, so the high-water mark belongs to this phase: a warm-up of
    // 10,000 calls fills the journal to its bound; then three rounds of 10,000 calls must not raise it.
    let n = if quick { 500 } else { 10_000 };
    {
        let state = KonnektorState::new(
            cfg.clone(),
            pki.clone(),
            sim_kit::store::Store::ephemeral().expect("store"),
        )
        .expect("state");
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
        let mut marks = vec![(vm("VmHWM:"), vm("VmRSS:"))];
        for _ in 0..3 {
            run(n);
            marks.push((vm("VmHWM:"), vm("VmRSS:")));
        }
        println!(
            "peak RSS (VmHWM): start {start} kB; after a warm-up of {n} calls (journal filled to its bound of 10,000) {} kB; after each further {n} calls {}; growth over the last {n} calls: {} kB",
            marks[0].0,
            marks[1..]
                .iter()
                .map(|(h, r)| format!("{h} kB (RSS {r} kB)"))
                .collect::<Vec<_>>()
                .join(" / "),
            marks[3].0 as i64 - marks[2].0 as i64
        );
    }

    // Rounds interleave raw signing and HTTP calls so that load from other processes hits both sides of each
    // ratio alike; medians are reported. Rates per wall-clock second depend on how much CPU the machine
    // leaves us; rates per CPU second (server runtime threads vs signing threads) do not.
    let rounds = 5usize;
    let slice = secs / rounds as f64;
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut worst: f64 = f64::MAX;
    for (label, workers) in [("one core", 1usize), ("all cores", cores)] {
        let state = KonnektorState::new(
            cfg.clone(),
            pki.clone(),
            sim_kit::store::Store::ephemeral().expect("store"),
        )
        .expect("state");
        let server = Server::start(state, workers);
        http_rate(server.addr, auth_req.clone(), conns, slice);
        let mut m: Vec<Vec<f64>> = vec![Vec::new(); 14];
        for _ in 0..rounds {
            let (e, ec) = raw_rate(workers, slice, ecdsa.clone());
            let (a, ac) = http_rate(server.addr, auth_req.clone(), conns, slice);
            let (c, cc) = raw_rate(workers, slice, cms.clone());
            let (s, sc) = http_rate(server.addr, sign_req.clone(), conns, slice);
            for (i, v) in [
                e,
                ec,
                a,
                ac,
                c,
                cc,
                s,
                sc,
                a / e,
                s / e,
                s / c,
                ac / ec,
                sc / ec,
                sc / cc,
            ]
            .into_iter()
            .enumerate()
            {
                m[i].push(v);
            }
        }
        drop(server);
        let v: Vec<f64> = m.into_iter().map(median).collect();
        println!(
            "[{label}: server {workers} worker(s), ti-core on {workers} thread(s); medians of {rounds} rounds]"
        );
        println!("                                          per wall s   per CPU s");
        println!(
            "  ti-core ECDSA sign_prehash_der        {:9.0}   {:9.0}",
            v[0], v[1]
        );
        println!(
            "  ti-core cms::sign (detached, 256 B)    {:9.0}   {:9.0}",
            v[4], v[5]
        );
        println!(
            "  ExternalAuthenticate over HTTP         {:9.0}   {:9.0}   = {:5.1} % (wall) / {:5.1} % (CPU) of raw ECDSA",
            v[2],
            v[3],
            100.0 * v[8],
            100.0 * v[11]
        );
        println!(
            "  SignDocument over HTTP                 {:9.0}   {:9.0}   = {:5.1} % (wall) / {:5.1} % (CPU) of raw ECDSA; {:5.1} % / {:5.1} % of cms::sign",
            v[6],
            v[7],
            100.0 * v[9],
            100.0 * v[12],
            100.0 * v[10],
            100.0 * v[13]
        );
        if workers == 1 {
            worst = worst.min(v[11]).min(v[12]);
        }
    }
    println!(
        "one core, per CPU second, vs raw ECDSA: worst {:.1} % (target >= 70 %)",
        100.0 * worst
    );
}
