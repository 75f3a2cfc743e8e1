//! Bad input: over-limit bodies, deep nesting, huge numbers, invalid UTF-8, truncated bodies, wrong
//! methods, unknown paths. Always the right 4xx with a diagnosis; never a 500, never a panic.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use mock_vst::VstConfig;
use std::time::Duration;

#[tokio::test]
async fn over_limit_body_is_refused_before_it_is_read() {
    let s = sim_with(VstConfig {
        body_limit: 4096,
        ..VstConfig::default()
    });
    // Declared too large: 413 although the body never arrives.
    let never = futures_stream_never();
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        send(
            &s.app,
            Request::post(VS)
                .header("content-type", "application/json")
                .header("content-length", "100000000")
                .header("authorization", auth(&s.pki))
                .body(never)
                .unwrap(),
        ),
    )
    .await
    .expect("413 without waiting for the body");
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.has("http.body-limit", None), "{:?}", r.diags);
    // Undeclared (chunked) and growing past the limit.
    let big = vec![b' '; 10_000];
    let r = post(
        &s,
        VS,
        Body::new(body_streams::iter(vec![big.clone(), big])),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Under the limit: a normal answer.
    let body = vs_body(&s.pki, "small", &[good(1)]);
    assert!(body.len() < 4096);
    assert_eq!(post(&s, VS, body).await.status, StatusCode::OK);
}

/// A minimal stream implementation (no futures crate needed).
mod body_streams {
    use bytes::Bytes;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub struct Iter(Vec<Vec<u8>>);
    pub fn iter(mut v: Vec<Vec<u8>>) -> Iter {
        v.reverse();
        Iter(v)
    }
    impl http_body::Body for Iter {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            Poll::Ready(
                self.0
                    .pop()
                    .map(|c| Ok(http_body::Frame::data(Bytes::from(c)))),
            )
        }
    }
    /// Yields the chunks, then fails (a client that disconnects mid-body).
    pub fn failing(mut v: Vec<Vec<u8>>) -> FailAfter {
        v.reverse();
        FailAfter(v)
    }
    pub struct FailAfter(Vec<Vec<u8>>);
    impl http_body::Body for FailAfter {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            match self.0.pop() {
                Some(c) => Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(c))))),
                None => Poll::Ready(Some(Err(std::io::Error::other("connection reset")))),
            }
        }
    }
    /// Never yields anything.
    pub struct Never;
    impl http_body::Body for Never {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            Poll::Pending
        }
    }
}

fn futures_stream_never() -> Body {
    Body::new(body_streams::Never)
}

#[tokio::test]
async fn truncated_bodies() {
    let s = sim();
    let body = vs_body(&s.pki, "t-1", &[good(1)]);
    for cut in [1, body.len() / 3, body.len() / 2, body.len() - 1] {
        let r = post(&s, VS, body[..cut].to_string()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "cut at {cut}");
        assert!(
            r.has("json.truncated", None) || r.has("json.syntax", None),
            "{:?}",
            r.diags
        );
    }
    // The connection breaks mid-body.
    let half = body.as_bytes()[..body.len() / 2].to_vec();
    let r = post(&s, VS, Body::new(body_streams::failing(vec![half]))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.has("http.body-truncated", None), "{:?}", r.diags);
    assert!(s.state.deliveries().is_empty());
}

#[tokio::test]
async fn deep_nesting_and_huge_numbers() {
    let s = sim();
    let deep = format!(
        "{{\"IdDatenlieferung\":{}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let r = post(&s, VS, deep).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.has("json.depth", None), "{:?}", r.diags);
    let deep_obj = format!("{}{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
    let r = post(&s, VS, deep_obj).await;
    assert!(r.has("json.depth", None), "{:?}", r.diags);
    for n in ["1e999999", &"9".repeat(100_000), "-1E+400"] {
        let r = post(&s, VS, format!("{{\"IdDatenlieferung\":{n}}}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(
            r.has("json.number", Some("/IdDatenlieferung")),
            "{:?}",
            r.diags
        );
    }
    // An ordinary number is syntactically fine, and then the wrong type.
    let r = post(&s, VS, "{\"IdDatenlieferung\":12}".to_string()).await;
    assert!(
        r.has("json.type", Some("/IdDatenlieferung")),
        "{:?}",
        r.diags
    );
}

#[tokio::test]
async fn invalid_utf8_is_rejected_with_its_location() {
    let s = sim();
    let body = vs_body(&s.pki, "u-1", &[good(1)]);
    let mut bytes = body.into_bytes();
    let pos = bytes.windows(11).position(|w| w == b"2024-01-001").unwrap();
    bytes[pos + 4] = 0xff;
    let r = post(&s, VS, Bytes::from(bytes)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.has("json.utf8", Some("/Meldungen/0/IdDatensatz")),
        "{:?}",
        r.diags
    );
    // Latin-1 encoded umlaut in a property name.
    let r = post(&s, VS, Bytes::from_static(b"{\"Gr\xfc\xdfe\":1}")).await;
    assert!(r.has("json.utf8", None), "{:?}", r.diags);
    // Non-UTF-8 outside strings is a syntax error.
    let r = post(&s, VS, Bytes::from_static(b"\xfe\xff{}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths() {
    let s = sim();
    for (m, p) in [
        ("GET", VS),
        ("PUT", VS),
        ("DELETE", IU),
        ("POST", VS_REQ),
        ("POST", VS_ERR),
        ("PATCH", IU_ERR),
        ("POST", "/.well-known"),
    ] {
        let r = send(
            &s.app,
            Request::builder()
                .method(m)
                .uri(p)
                .header("authorization", auth(&s.pki))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {p}");
        assert!(r.has("http.method", None), "{m} {p}: {:?}", r.diags);
    }
    for p in [
        "/notify/api/v2/vitalstatusnotification",
        "/notify/api/v1/VitalStatusNotification",
        "/",
        "/notify/api/v1/vitalstatusnotification/requests/1",
        "/.well-known/jwks.json",
    ] {
        let r = get(&s, p).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{p}");
        assert!(r.has("http.unknown-path", None), "{p}: {:?}", r.diags);
    }
    // Every one of these is journaled with its diagnosis.
    let j = s.state.kit().journal().all();
    assert_eq!(j.len(), 12);
    assert!(
        j.iter()
            .all(|e| !e.diagnoses.is_empty() && e.status >= 400 && e.status < 500)
    );
}

#[tokio::test]
async fn garbage_bodies_never_give_500() {
    let s = sim();
    let cases: Vec<Vec<u8>> = vec![
        vec![],
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"x\"".to_vec(),
        b"{".to_vec(),
        b"{}".to_vec(),
        b"{\"Meldungen\":[null]}".to_vec(),
        b"{\"IdDatenlieferung\":\"a\",\"Meldungen\":[{}],\"Signatur\":\"AA==\"}".to_vec(),
        vec![0u8; 1000],
        (0..=255u8).collect(),
    ];
    for c in cases {
        let r = post(&s, VS, Bytes::from(c.clone())).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{:?}",
            String::from_utf8_lossy(&c)
        );
        assert!(!r.diags.is_empty());
        let r = post(&s, IU, Bytes::from(c.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn over_limit_body_over_tcp_is_answered_without_reading_it() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = sim_with(VstConfig {
        body_limit: 64 * 1024,
        ..VstConfig::default()
    });
    let running = sim_kit::serve::spawn(s.app.clone(), sim_kit::serve::loopback_any())
        .await
        .unwrap();
    let mut c = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    let head = format!(
        "POST {VS} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: {}\r\ncontent-length: 1073741824\r\n\r\n",
        auth(&s.pki)
    );
    c.write_all(head.as_bytes()).await.unwrap();
    c.write_all(&[b' '; 4096]).await.unwrap();
    // The client never sends the remaining gigabyte; the answer must come anyway.
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), c.read(&mut buf))
        .await
        .expect("answered before the body is complete")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("http.body-limit"), "{text}");
    running.stop().await;
}
