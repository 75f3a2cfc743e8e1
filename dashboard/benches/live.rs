//! Does the live timeline keep up with 2,000 requests a second, with a real browser attached?
//!
//! A VST and a Konnektor run in-process with the dashboard following them; headless Chromium shows the
//! timeline; eight keep-alive connections send requests to the VST at a paced total rate (default 2,000/s
//! for 10 s; `KONFORM_BENCH_RATE`, `KONFORM_BENCH_SECS`). Each request is a realistic client mistake the VST
//! diagnoses (a delivery with `Content-Type: text/plain`: 415 and a diagnosis). Reported: the rate
//! achieved, how far the dashboard's timeline lags behind the journal, what the page received (rows,
//! batches, the newest row's age on arrival), the page's longest main-thread stall, and the round trip of
//! a WebDriver script call during the load (the page answering its user). Needs Chromium; skipped without.
//!
//! `cargo bench -p dashboard --bench live` (part of `make bench`).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use test_support::webdriver::Browser;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "live: benchmark skipped in test mode (run `cargo bench -p dashboard --bench live`)"
        );
        return;
    }
    let rate: u64 = env_or("KONFORM_BENCH_RATE", 2_000);
    let secs: u64 = env_or("KONFORM_BENCH_SECS", 10);
    let Some(browser) = Browser::start() else {
        println!("live: skipped (no Chromium)");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("konform-bench-live-{}", std::process::id()));
    let shared = conformance::runner::Shared::create(&dir).expect("PKI");
    let (vst_url, ui, state, _sims) = rt.block_on(async {
        let v = mock_vst::VstState::new(
            mock_vst::VstConfig::default(),
            shared.pki.clone(),
            sim_kit::store::Store::ephemeral().expect("store"),
        )
        .expect("vst");
        let k = mock_konnektor::KonnektorState::new(
            Default::default(),
            shared.pki.clone(),
            sim_kit::store::Store::ephemeral().expect("store"),
        )
        .expect("konnektor");
        let any = sim_kit::serve::loopback_any();
        let vst = sim_kit::serve::spawn(mock_vst::app(v), any)
            .await
            .expect("vst");
        let kon = sim_kit::serve::spawn(mock_konnektor::app(k), any)
            .await
            .expect("konnektor");
        let cfg = dashboard::Config {
            sims: vec![("vst".into(), vst.url()), ("konnektor".into(), kon.url())],
            ..Default::default()
        };
        let state = dashboard::AppState::new(cfg).expect("dashboard");
        let l = tokio::net::TcpListener::bind(any).await.expect("bind");
        let ui = format!("http://{}", l.local_addr().expect("addr"));
        tokio::spawn(dashboard::serve(l, state.clone(), std::future::pending()));
        (vst.url(), ui, state, (vst, kon))
    });
    browser.goto(&format!("{ui}/"));
    browser.wait_for("#timeline", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));

    let sent = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let load = rt.spawn(load(
        vst_url,
        rate,
        Duration::from_secs(secs),
        sent.clone(),
        answered.clone(),
    ));

    let mut rtts = Vec::new();
    let mut max_lag = 0u64;
    while !load.is_finished() {
        let t = Instant::now();
        let _ = browser.execute("return window.__konform.rows;", vec![]);
        rtts.push(t.elapsed().as_secs_f64() * 1000.0);
        let lag = answered
            .load(Ordering::Relaxed)
            .saturating_sub(state.timeline().last_id());
        max_lag = max_lag.max(lag);
        std::thread::sleep(Duration::from_millis(250));
    }
    let load_secs = started.elapsed().as_secs_f64();
    let total = answered.load(Ordering::Relaxed);
    let t = Instant::now();
    while state.timeline().last_id() < total && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let catch_up = t.elapsed().as_secs_f64() * 1000.0;
    std::thread::sleep(Duration::from_millis(600));
    let stats = browser.execute("return window.__konform;", vec![]);
    let rows_in_dom = browser.execute(
        "return document.querySelectorAll('#timeline tbody tr').length;",
        vec![],
    );
    let n = |k: &str| stats.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    rtts.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        rtts.get(((rtts.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };

    println!(
        "dashboard live timeline, browser attached (headless Chromium), {} cores",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!("  target rate             {rate} requests/s for {secs} s");
    println!(
        "  sent / answered         {} / {total} in {load_secs:.1} s = {:.0} answered/s",
        sent.load(Ordering::Relaxed),
        total as f64 / load_secs
    );
    println!(
        "  dashboard ingested      {} entries (max lag behind the answers {max_lag}; caught up {catch_up:.0} ms after the load)",
        state.timeline().last_id()
    );
    println!(
        "  page received           {} matched entries in {} batches ({:.1} batches/s), {} rows inserted, {} rows in the DOM",
        n("matched"),
        n("batches"),
        n("batches") / load_secs,
        n("rows"),
        rows_in_dom
    );
    println!(
        "  newest row's age        last {:.0} ms, max {:.0} ms on arrival in the page",
        n("lastDelayMs"),
        n("maxDelayMs")
    );
    println!(
        "  page main thread        longest stall {:.0} ms",
        n("maxStallMs")
    );
    println!(
        "  WebDriver script call   p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms during the load ({} calls)",
        pct(0.5),
        pct(0.95),
        pct(1.0),
        rtts.len()
    );
    state.stop();
}

fn env_or(k: &str, d: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// Paced load over keep-alive connections: `rate` requests/s in total for `dur`.
async fn load(
    url: String,
    rate: u64,
    dur: Duration,
    sent: Arc<AtomicU64>,
    answered: Arc<AtomicU64>,
) {
    let addr = url.trim_start_matches("http://").to_string();
    let workers = 8u64;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (addr, sent, answered) = (addr.clone(), sent.clone(), answered.clone());
        set.spawn(async move {
            let Ok(tcp) = tokio::net::TcpStream::connect(&addr).await else {
                return;
            };
            let _ = tcp.set_nodelay(true);
            let Ok((mut tx, conn)) =
                hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(tcp)).await
            else {
                return;
            };
            tokio::spawn(conn);
            let per = rate / workers;
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per.max(1) as f64));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let end = tokio::time::Instant::now() + dur;
            while tokio::time::Instant::now() < end {
                tick.tick().await;
                let req = hyper::Request::post("/notify/api/v1/vitalstatusnotification")
                    .header("host", &addr)
                    .header("content-type", "text/plain")
                    .body(Full::new(Bytes::from_static(
                        b"{\"IdDatenlieferung\":\"x\",\"Meldungen\":[]}",
                    )))
                    .expect("request");
                sent.fetch_add(1, Ordering::Relaxed);
                if tx.ready().await.is_err() {
                    return;
                }
                if let Ok(r) = tx.send_request(req).await {
                    let _ = r.into_body().collect().await;
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
}
