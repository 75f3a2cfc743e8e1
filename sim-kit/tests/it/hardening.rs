//! Issue 8's findings against the kit, each reproduced through the toy simulator: attacker-sized names in
//! the journal (finding 1), bodies in flight (2), slow clients and connection floods (3), and the admin
//! API from a web page (5).

use crate::common::{Toy, app, call};
use axum::http::StatusCode;
use sim_kit::limits::Limits;
use sim_kit::{Verdict, clip};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The toy served over TCP with `limits` (kit and listener).
async fn serve_toy(limits: Limits) -> (SocketAddr, Toy, tokio::sync::oneshot::Sender<()>) {
    let (router, toy) = app();
    toy.kit.set_limits(&limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(sim_kit::serve::serve_with(
        listener,
        router,
        limits,
        async move {
            let _ = rx.await;
        },
    ));
    (addr, toy, tx)
}

/// Send raw bytes, read the whole answer (the server closes or `Connection: close`).
async fn raw(addr: SocketAddr, req: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req).await.unwrap();
    read_all(&mut s).await
}

async fn read_all(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf))
        .await
        .expect("the server answers and closes within 20 s");
    String::from_utf8_lossy(&buf).into_owned()
}

fn status_of(resp: &str) -> u16 {
    resp.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn huge_names_stay_bounded_in_journal_and_admin_page() {
    // Finding 1: 40 requests, each with a 4 MB name quoted three times in the diagnosis.
    let (app, toy) = app();
    let name = "E".repeat(4 * 1024 * 1024);
    for _ in 0..40 {
        let (st, diags, _) = call(&app, "POST", "/name", &name).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert!(
            diags[0].len() < 8 * 1024,
            "header of {} bytes",
            diags[0].len()
        );
    }
    let j = toy.kit.journal();
    assert_eq!(j.len(), 40);
    assert!(
        j.bytes() < 40 * 8 * 1024,
        "journal holds {} bytes",
        j.bytes()
    );
    let d = &j.all()[0].diagnoses[0];
    assert!(d.message.len() <= clip::MAX_MESSAGE);
    assert!(
        d.message.ends_with("…(4,194,322 bytes)"),
        "{}",
        &d.message[d.message.len() - 40..]
    );
    assert!(d.location.as_ref().unwrap().len() <= clip::MAX_LOCATION);
    let (st, _, body) = call(&app, "GET", "/__konform/journal", "").await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        body.len() < 40 * 8 * 1024,
        "journal page of {} bytes",
        body.len()
    );
    let v: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(v.len(), 40);
}

#[tokio::test]
async fn journal_pages_with_a_hard_cap() {
    let (app, toy) = app();
    toy.kit.set_limits(&Limits {
        journal_max_entries: 20_000,
        ..Limits::default()
    });
    for _ in 0..25 {
        call(&app, "GET", "/ok", "").await;
    }
    let resp = get_with_headers(&app, "/__konform/journal?limit=10").await;
    assert_eq!(resp.0.len(), 10);
    assert_eq!(
        resp.1.as_deref(),
        Some("</__konform/journal?since=10&limit=10>; rel=\"next\"")
    );
    let resp = get_with_headers(&app, "/__konform/journal?since=20&limit=10").await;
    assert_eq!(
        resp.0
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![21, 22, 23, 24, 25]
    );
    assert_eq!(resp.1, None, "no next page");
    let resp = get_with_headers(&app, "/__konform/journal?since=25").await;
    assert!(resp.0.is_empty());
    // More than the hard cap: one page holds at most JOURNAL_PAGE_MAX; no limit means the default page.
    let one = toy.kit.journal().all()[0].clone();
    for _ in 0..sim_kit::admin::JOURNAL_PAGE_MAX {
        toy.kit.journal().record(one.clone());
    }
    let resp = get_with_headers(&app, "/__konform/journal?limit=1000000").await;
    assert_eq!(resp.0.len(), sim_kit::admin::JOURNAL_PAGE_MAX);
    assert!(resp.1.is_some());
    let resp = get_with_headers(&app, "/__konform/journal").await;
    assert_eq!(resp.0.len(), sim_kit::admin::JOURNAL_PAGE_DEFAULT);
}

async fn get_with_headers(
    app: &axum::Router,
    uri: &str,
) -> (Vec<serde_json::Value>, Option<String>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let resp = app
        .clone()
        .oneshot(
            axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let link = resp
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (serde_json::from_slice(&body).unwrap(), link)
}

#[tokio::test]
async fn slow_bodies_get_408_and_connections_past_the_cap_are_closed_at_once() {
    // Finding 3: bodies sent a byte at a time were held forever, and a flood of connections made
    // every later client hang. Lowered limits so this runs in seconds.
    let limits = Limits {
        max_connections: 4,
        min_body_rate: 50,
        body_rate_grace_secs: 1,
        body_deadline_secs: 30,
        ..Limits::default()
    };
    let (addr, toy, _stop) = serve_toy(limits).await;
    let mut slow = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nA")
            .await
            .unwrap();
        slow.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Past the cap: closed at once, without a byte — not left hanging.
    for _ in 0..6 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 64];
        let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("a connection past the cap is closed at once");
        assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    }
    // The slow ones: 408 after the grace period, with a journal entry.
    for s in &mut slow {
        let resp = read_all(s).await;
        assert_eq!(status_of(&resp), 408, "{resp}");
        assert!(
            resp.to_ascii_lowercase().contains("connection: close"),
            "{resp}"
        );
        assert!(resp.contains("http.body-rate"), "{resp}");
    }
    let j = toy.kit.journal().all();
    assert_eq!(j.iter().filter(|e| e.status == 408).count(), 4, "{j:?}");
    assert_eq!(j[0].diagnoses[0].rule, "http.body-rate");
    assert_eq!(j[0].verdict, Verdict::Rejected);
    assert_eq!(j[0].operation.as_deref(), Some("echo"));
    // Slots are free again: a normal request is served.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let resp = raw(
        addr,
        b"POST /echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 3\r\n\r\nabc",
    )
    .await;
    assert_eq!(status_of(&resp), 200, "{resp}");
    assert!(resp.ends_with("\r\n\r\n3"), "{resp}");
}

#[tokio::test]
async fn a_body_not_complete_by_the_deadline_gets_408() {
    let limits = Limits {
        min_body_rate: 0,
        body_deadline_secs: 1,
        ..Limits::default()
    };
    let (addr, toy, _stop) = serve_toy(limits).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n")
        .await
        .unwrap();
    // Keep sending, but never finish within the deadline.
    let writer = tokio::spawn(async move {
        for _ in 0..40 {
            if s.write_all(&[b'a'; 100]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        s
    });
    let mut s = writer.await.unwrap();
    let resp = read_all(&mut s).await;
    assert_eq!(status_of(&resp), 408, "{resp}");
    assert!(resp.contains("http.body-deadline"), "{resp}");
    assert_eq!(
        toy.kit.journal().all()[0].diagnoses[0].rule,
        "http.body-deadline"
    );
}

#[tokio::test]
async fn bodies_in_flight_are_bounded_503_with_retry_after() {
    // Finding 2: no bound on large bodies in flight at once.
    let limits = Limits {
        max_body_bytes_in_flight: 1000,
        min_body_rate: 0,
        retry_after_secs: 2,
        ..Limits::default()
    };
    let (addr, toy, _stop) = serve_toy(limits).await;
    // A holds 800 bytes of budget while its body is still arriving.
    let mut a = TcpStream::connect(addr).await.unwrap();
    a.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 800\r\n\r\n0123456789")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = "b".repeat(500);
    let req = format!(
        "POST /echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 500\r\n\r\n{body}"
    );
    let resp = raw(addr, req.as_bytes()).await;
    assert_eq!(status_of(&resp), 503, "{resp}");
    let lower = resp.to_ascii_lowercase();
    assert!(lower.contains("retry-after: 2"), "{resp}");
    assert!(
        lower.contains("x-konform-diagnosis: http.in-flight-limit"),
        "{resp}"
    );
    // A finishes and is answered; then B fits.
    a.write_all(&[b'a'; 790]).await.unwrap();
    let resp_a = read_all(&mut a).await;
    assert_eq!(status_of(&resp_a), 200, "{resp_a}");
    assert!(resp_a.ends_with("800"));
    let resp = raw(addr, req.as_bytes()).await;
    assert_eq!(status_of(&resp), 200, "{resp}");
    // Larger than the whole budget: 413, never fits.
    let big = format!(
        "POST /echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 1001\r\n\r\n{}",
        "c".repeat(1001)
    );
    assert_eq!(status_of(&raw(addr, big.as_bytes()).await), 413);
    let statuses: Vec<u16> = toy.kit.journal().all().iter().map(|e| e.status).collect();
    assert_eq!(statuses, vec![503, 200, 200, 413]);
    let busy = &toy.kit.journal().all()[0];
    assert_eq!(busy.diagnoses[0].rule, "http.in-flight-limit");
}

#[tokio::test]
async fn admin_refuses_web_pages_and_rebound_hosts() {
    // Finding 5: a page in a browser could POST text/plain to the admin API, or rebind its DNS name.
    let (addr, toy, _stop) = serve_toy(Limits::default()).await;
    let port = addr.port();
    let fault = r#"{"path":"/ok","action":{"kind":"status","status":503}}"#;
    // The browser's cross-origin "simple" request: text/plain, with its Origin.
    let req = format!(
        "POST /__konform/faults HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\norigin: http://evil.example\r\n\
         content-type: text/plain;charset=UTF-8\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{fault}",
        fault.len()
    );
    assert_eq!(status_of(&raw(addr, req.as_bytes()).await), 403);
    // The same without an Origin (a script, a form): still not JSON → 415.
    let req = req.replace("origin: http://evil.example\r\n", "");
    let resp = raw(addr, req.as_bytes()).await;
    assert_eq!(status_of(&resp), 415, "{resp}");
    assert!(resp.contains("application/json"));
    assert!(toy.kit.faults().list().is_empty(), "nothing was injected");
    let delete = format!(
        "DELETE /__konform/journal HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n\r\n"
    );
    assert_eq!(status_of(&raw(addr, delete.as_bytes()).await), 415);
    // DNS rebinding: the page's own name in Host.
    let get = |host: String| {
        format!("GET /__konform/journal HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n")
    };
    let resp = raw(addr, get(format!("rebind.evil.example:{port}")).as_bytes()).await;
    assert_eq!(status_of(&resp), 403, "{resp}");
    assert!(resp.contains("is not the address"), "{resp}");
    assert_eq!(
        status_of(&raw(addr, get(format!("127.0.0.1:{port}")).as_bytes()).await),
        200
    );
    assert_eq!(
        status_of(&raw(addr, get(format!("localhost:{port}")).as_bytes()).await),
        200
    );
    // The proper request works.
    let ok = req.replace("text/plain;charset=UTF-8", "application/json");
    assert_eq!(status_of(&raw(addr, ok.as_bytes()).await), 201);
    assert_eq!(toy.kit.faults().list().len(), 1);
    // The simulator's own API takes any Host (clients reach it under many names).
    let api = format!("GET /ok HTTP/1.1\r\nhost: vst.example:{port}\r\nconnection: close\r\n\r\n");
    assert_eq!(
        status_of(&raw(addr, api.as_bytes()).await),
        503,
        "the injected fault answers"
    );
}

#[tokio::test]
async fn admin_token_is_required_when_configured() {
    let (addr, toy, _stop) = serve_toy(Limits::default()).await;
    toy.kit.set_admin_access(sim_kit::access::AdminAccess {
        token: Some("t0ken".into()),
        ..Default::default()
    });
    let get = |auth: &str| {
        format!(
            "GET /__konform/health HTTP/1.1\r\nhost: sim.example\r\n{auth}connection: close\r\n\r\n"
        )
    };
    let resp = raw(addr, get("").as_bytes()).await;
    assert_eq!(status_of(&resp), 401, "{resp}");
    assert!(
        resp.to_ascii_lowercase()
            .contains("www-authenticate: bearer")
    );
    assert_eq!(
        status_of(&raw(addr, get("authorization: Bearer t0ke\r\n").as_bytes()).await),
        401
    );
    assert_eq!(
        status_of(&raw(addr, get("authorization: Bearer t0ken\r\n").as_bytes()).await),
        200
    );
}
