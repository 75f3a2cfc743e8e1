//! What went over the wire, for the people debugging a client: the request's and the answer's headers and
//! the first bytes of each body, kept beside the journal (by its sequence number) within a byte budget, and
//! served as `GET /__konform/exchanges/{seq}`. The journal entry itself stays as it is; an exchange that
//! fell out of the budget is simply gone.
//!
//! The request body is copied as the handler reads it (a tee: nothing is buffered ahead of the handler, so
//! body limits work as before); an answer body is copied when it is already complete in memory and small.

use crate::Simulator;
use crate::admin::ApiError;
use axum::Json;
use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Frame;
use serde::Serialize;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Bytes of each body kept.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Bytes of all exchanges kept together (the oldest go first).
pub const BUDGET: usize = 32 * 1024 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_HEADER_VALUE: usize = 2048;

/// One side of an exchange.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Message {
    /// The answer's status (absent for the request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    /// The kept bytes as text, when they are UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The kept bytes in base64, when they are not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// The body's full size as far as it is known (read, or declared).
    pub size: u64,
    /// Only the beginning of the body was kept (or none of it, for a large streamed answer).
    pub truncated: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    pub seq: u64,
    pub request: Message,
    pub response: Message,
}

impl Exchange {
    fn weight(&self) -> usize {
        let m = |m: &Message| {
            m.headers
                .iter()
                .map(|(k, v)| k.len() + v.len() + 16)
                .sum::<usize>()
                + m.body.as_ref().map_or(0, String::len)
                + m.body_base64.as_ref().map_or(0, String::len)
        };
        256 + m(&self.request) + m(&self.response)
    }
}

fn headers(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .take(MAX_HEADERS)
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes());
            let v = match v.char_indices().nth(MAX_HEADER_VALUE) {
                Some((i, _)) => format!("{}…({} bytes)", &v[..i], v.len()),
                None => v.into_owned(),
            };
            (k.as_str().to_string(), v)
        })
        .collect()
}

fn kept(bytes: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (Some(s.to_string()), None),
        // A cut in the middle of a character is still text.
        Err(e) if e.error_len().is_none() && bytes.len() >= BODY_LIMIT => (
            Some(String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()),
            None,
        ),
        Err(_) => {
            use base64::Engine;
            (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            )
        }
    }
}

#[derive(Default)]
struct Copied {
    bytes: Vec<u8>,
    size: u64,
}

/// A request body that keeps a copy of its first [`BODY_LIMIT`] bytes as the handler reads it.
struct Tee {
    inner: Body,
    copy: Arc<Mutex<Copied>>,
}

impl HttpBody for Tee {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let mut c = self
                .copy
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            c.size += data.len() as u64;
            let room = BODY_LIMIT.saturating_sub(c.bytes.len());
            c.bytes.extend_from_slice(&data[..data.len().min(room)]);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The request side being captured; [`RequestCapture::finish`] once the answer is there.
pub struct RequestCapture {
    headers: Vec<(String, String)>,
    declared: Option<u64>,
    copy: Arc<Mutex<Copied>>,
}

/// Wrap a request's body so that what the handler reads is copied.
pub fn capture_request(req: Request) -> (Request, RequestCapture) {
    let (parts, body) = req.into_parts();
    let copy = Arc::new(Mutex::new(Copied::default()));
    let cap = RequestCapture {
        headers: headers(&parts.headers),
        declared: crate::body::content_length(&parts.headers),
        copy: copy.clone(),
    };
    let tee = Tee { inner: body, copy };
    (Request::from_parts(parts, Body::new(tee)), cap)
}

impl RequestCapture {
    pub fn finish(self) -> Message {
        let c = self
            .copy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let size = c.size.max(self.declared.unwrap_or(0));
        let (body, body_base64) = kept(&c.bytes);
        Message {
            status: None,
            headers: self.headers,
            body,
            body_base64,
            size,
            truncated: (c.bytes.len() as u64) < size,
        }
    }
}

/// Copy a complete, small answer body (the body is rebuilt from the copy); others are described only.
pub async fn capture_response(resp: Response) -> (Response, Message) {
    let status = Some(resp.status().as_u16());
    let hs = headers(resp.headers());
    let exact = resp.body().size_hint().exact();
    match exact {
        Some(n) if n as usize <= BODY_LIMIT => {
            let (parts, body) = resp.into_parts();
            let bytes = match body.collect().await {
                Ok(c) => c.to_bytes(),
                Err(_) => Bytes::new(),
            };
            let (b, b64) = kept(&bytes);
            let msg = Message {
                status,
                headers: hs,
                body: b,
                body_base64: b64,
                size: bytes.len() as u64,
                truncated: false,
            };
            (Response::from_parts(parts, Body::from(bytes)), msg)
        }
        other => {
            let msg = Message {
                status,
                headers: hs,
                size: other.unwrap_or(0),
                truncated: true,
                ..Message::default()
            };
            (resp, msg)
        }
    }
}

/// The kept exchanges, by journal sequence number, within [`BUDGET`].
#[derive(Default)]
pub struct Exchanges {
    state: Mutex<Kept>,
}

/// The exchanges with their weights, oldest first, and the sum of the weights.
#[derive(Default)]
struct Kept {
    items: VecDeque<(Arc<Exchange>, usize)>,
    weight: usize,
}

impl Exchanges {
    pub fn put(&self, ex: Exchange) {
        let w = ex.weight();
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.items.push_back((Arc::new(ex), w));
        st.weight += w;
        while st.weight > BUDGET {
            match st.items.pop_front() {
                Some((_, w)) => st.weight -= w,
                None => break,
            }
        }
    }

    pub fn get(&self, seq: u64) -> Option<Arc<Exchange>> {
        let st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let i = st.items.partition_point(|(e, _)| e.seq < seq);
        st.items
            .get(i)
            .filter(|(e, _)| e.seq == seq)
            .map(|(e, _)| e.clone())
    }

    pub fn clear(&self) {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.items.clear();
        st.weight = 0;
    }

    /// Bytes kept (approximately).
    pub fn bytes(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .weight
    }
}

async fn one<S: Simulator>(
    State(sim): State<S>,
    Path(seq): Path<u64>,
) -> Result<Response, ApiError> {
    sim.kit()
        .exchanges()
        .get(seq)
        .map(|e| Json(&*e).into_response())
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no exchange {seq} kept (only the latest ones are, within {BUDGET} bytes)"
            ))
        })
}

/// `GET /__konform/exchanges/{seq}`.
pub fn routes<S: Simulator>() -> Router<S> {
    Router::new().route(
        &format!("{}/exchanges/{{seq}}", crate::ADMIN_PREFIX),
        get(one::<S>),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(seq: u64, body: usize) -> Exchange {
        Exchange {
            seq,
            request: Message {
                body: Some("x".repeat(body)),
                size: body as u64,
                ..Message::default()
            },
            response: Message::default(),
        }
    }

    #[test]
    fn budget_and_lookup() {
        let x = Exchanges::default();
        for i in 1..=1000 {
            x.put(ex(i, BODY_LIMIT));
        }
        assert!(x.bytes() <= BUDGET);
        assert!(x.get(1).is_none(), "the oldest went first");
        assert_eq!(x.get(1000).unwrap().seq, 1000);
        x.clear();
        assert!(x.get(1000).is_none());
    }

    #[tokio::test]
    async fn the_tee_copies_what_the_handler_reads_and_no_more() {
        let big = vec![b'a'; BODY_LIMIT + 10];
        let req = Request::builder()
            .header("content-type", "application/json")
            .body(Body::from(big.clone()))
            .unwrap();
        let (req, cap) = capture_request(req);
        let read = req.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(read.len(), big.len(), "the handler gets every byte");
        let m = cap.finish();
        assert_eq!(m.size, big.len() as u64);
        assert!(m.truncated);
        assert_eq!(m.body.unwrap().len(), BODY_LIMIT);
        assert_eq!(
            m.headers[0],
            ("content-type".into(), "application/json".into())
        );

        let resp = Response::new(Body::from(vec![0xff, 0x00]));
        let (resp, m) = capture_response(resp).await;
        assert_eq!(m.body_base64.as_deref(), Some("/wA="));
        assert_eq!(
            resp.into_body().collect().await.unwrap().to_bytes().len(),
            2
        );
    }
}
