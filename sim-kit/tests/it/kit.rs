//! The shared kit through a toy simulator: journal, diagnosis header, path faults, panics, admin API,
//! and a real dropped connection over TCP.

use crate::common::{app, call};
use axum::http::StatusCode;
use sim_kit::Verdict;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn journal_and_diagnosis_header() {
    let (app, toy) = app();
    assert_eq!(call(&app, "GET", "/ok", "").await.0, StatusCode::OK);
    let (st, diags, _) = call(&app, "GET", "/bad", "").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(diags, vec!["toy.rule at /x/0: always wrong".to_string()]);
    let (st, diags, _) = call(&app, "GET", "/nowhere", "").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(diags[0].starts_with("http.unknown-path"), "{diags:?}");
    let (st, diags, _) = call(&app, "POST", "/ok", "").await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    assert!(diags[0].starts_with("http.method"), "{diags:?}");
    let (st, diags, _) = call(&app, "GET", "/panic", "").await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(diags[0].starts_with("simulator.panic"));

    let j = toy.kit.journal().all();
    assert_eq!(
        j.len(),
        5,
        "admin calls are not journaled, the rest are: {j:?}"
    );
    assert_eq!(j[0].verdict, Verdict::Accepted);
    assert_eq!(j[1].verdict, Verdict::Rejected);
    assert_eq!(j[1].operation.as_deref(), Some("bad"));
    assert_eq!(j[1].diagnoses[0].location.as_deref(), Some("/x/0"));
    assert_eq!(j[4].verdict, Verdict::Failed);

    let (st, _, body) = call(&app, "GET", "/__konform/journal?since=3", "").await;
    assert_eq!(st, StatusCode::OK);
    let v: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(
        call(&app, "GET", "/__konform/journal?since=x", "").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&app, "DELETE", "/__konform/journal", "").await.0,
        StatusCode::NO_CONTENT
    );
    assert!(toy.kit.journal().is_empty());
}

#[tokio::test]
async fn path_faults_through_admin_api() {
    let (app, toy) = app();
    let (st, _, body) = call(
        &app,
        "POST",
        "/__konform/faults",
        r#"{"path":"/ok","times":2,"action":{"kind":"status","status":503,"body":"busy"}}"#,
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(
        call(&app, "GET", "/ok", "").await,
        (StatusCode::SERVICE_UNAVAILABLE, vec![], "busy".into())
    );
    assert_eq!(
        call(&app, "GET", "/ok", "").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(call(&app, "GET", "/ok", "").await.0, StatusCode::OK);
    let j = toy.kit.journal().all();
    assert_eq!(j[0].verdict, Verdict::Injected);
    assert!(j[0].fault.as_deref().unwrap().contains("503"));

    // Bad rules are refused with a JSON reason.
    let (st, _, body) = call(&app, "POST", "/__konform/faults", r#"{"times":1}"#).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body.contains("path"), "{body}");
    let (st, _, body) = call(
        &app,
        "POST",
        "/__konform/faults",
        r#"{"path": "/ok", "action": {"kind": "explode"}}"#,
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body.contains("line"), "{body}");
    assert_eq!(
        call(&app, "GET", "/__konform/nothing", "").await.0,
        StatusCode::NOT_FOUND
    );

    assert_eq!(
        call(&app, "POST", "/__konform/reset", "").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(toy.resets.load(Ordering::SeqCst), 1);
    assert!(toy.kit.journal().is_empty());
}

#[tokio::test(start_paused = true)]
async fn delay_fault_waits_then_answers() {
    let (app, _toy) = app();
    call(
        &app,
        "POST",
        "/__konform/faults",
        r#"{"path":"/ok","delay_ms":30000}"#,
    )
    .await;
    let t = tokio::time::Instant::now();
    let (st, _, _) = call(&app, "GET", "/ok", "").await;
    assert_eq!(st, StatusCode::OK);
    assert!(t.elapsed() >= std::time::Duration::from_secs(30));
}

#[tokio::test]
async fn dropped_connection_sends_nothing() {
    let (app, toy) = app();
    let sim = sim_kit::serve::spawn(app.clone(), sim_kit::serve::loopback_any())
        .await
        .unwrap();
    toy.kit
        .faults()
        .add(serde_json::from_str(r#"{"path":"/ok","action":{"kind":"drop"}}"#).unwrap())
        .unwrap();
    let mut s = tokio::net::TcpStream::connect(sim.addr).await.unwrap();
    s.write_all(b"GET /ok HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .expect("server closes the connection")
        .unwrap_or(0);
    assert_eq!(
        n,
        0,
        "no response bytes: {:?}",
        String::from_utf8_lossy(&buf)
    );
    // The next connection is served normally.
    let mut s = tokio::net::TcpStream::connect(sim.addr).await.unwrap();
    s.write_all(b"GET /ok HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"));
    sim.stop().await;
}
