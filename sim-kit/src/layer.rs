//! The middleware every simulator router runs through: applies path faults, catches handler panics (a
//! simulator bug must still produce an answer and a journal entry), journals the outcome and sets the
//! `X-Konform-Diagnosis` header.

use crate::faults::{FaultAction, InjectedFault};
use crate::journal::{JournalEntry, Verdict};
use crate::{ADMIN_PREFIX, DIAGNOSIS_HEADER, Diagnosis, Kit};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use std::time::{Duration, Instant};

/// What a handler tells the journal about the request it answered. Put it in the response extensions
/// (see [`Outcome::attach`]); the layer removes it before the response leaves.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub operation: Option<String>,
    /// Overrides the verdict derived from the status.
    pub verdict: Option<Verdict>,
    pub diagnoses: Vec<Diagnosis>,
    pub data: Option<serde_json::Value>,
    /// An injected fault the handler applied itself (operation faults).
    pub fault: Option<String>,
}

impl Outcome {
    pub fn op(operation: impl Into<String>) -> Outcome {
        Outcome {
            operation: Some(operation.into()),
            ..Outcome::default()
        }
    }
    pub fn diagnose(mut self, d: Diagnosis) -> Outcome {
        self.diagnoses.push(d);
        self
    }
    pub fn attach(self, resp: impl IntoResponse) -> Response {
        let mut r = resp.into_response();
        r.extensions_mut().insert(self);
        r
    }
}

/// Marker in a response's extensions: the server closes the connection without sending anything.
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

/// The response for a dropped connection (the serve loop turns it into a closed socket).
pub fn drop_connection_response() -> Response {
    let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    r.extensions_mut().insert(DropConnection);
    r
}

fn verdict_of(status: StatusCode) -> Verdict {
    if status.is_success() || status.is_redirection() || status.is_informational() {
        Verdict::Accepted
    } else if status.is_client_error() {
        Verdict::Rejected
    } else {
        Verdict::Failed
    }
}

/// The generic part of an injected fault, shared by path rules (here) and operation rules (taken by a
/// simulator once it knows the operation): wait for the delays, and answer `status` / `drop` rules.
/// `None` means: process the request (simulator-specific actions — `bad_signature`, `fault` — are the
/// simulator's to apply).
pub async fn apply_injected(f: &InjectedFault) -> Option<Response> {
    if let Some(ms) = f.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match &f.action {
        Some(FaultAction::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            None
        }
        Some(FaultAction::Status {
            status,
            body,
            content_type,
        }) => {
            let mut r = Response::new(Body::from(body.clone().unwrap_or_default()));
            *r.status_mut() =
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if let Some(ct) = content_type
                .as_deref()
                .and_then(|c| HeaderValue::from_str(c).ok())
            {
                r.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            Some(r)
        }
        Some(FaultAction::Drop) => Some(drop_connection_response()),
        _ => None,
    }
}

/// Axum middleware: `router.layer(axum::middleware::from_fn_with_state(kit, kit_layer))`.
pub async fn kit_layer(State(kit): State<Kit>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with(ADMIN_PREFIX) {
        return next.run(req).await;
    }
    let start = Instant::now();
    let method = req.method().to_string();
    let full_path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let (mut req, captured) = crate::exchange::capture_request(req);
    let injected = kit.faults().take_for_path(&method, &path);
    let mut short_circuit: Option<(Response, Verdict)> = None;
    if let Some(f) = &injected {
        short_circuit = apply_injected(f).await.map(|r| (r, Verdict::Injected));
        req.extensions_mut().insert::<InjectedFault>(f.clone());
    }

    let (mut resp, forced) = match short_circuit {
        Some((r, v)) => (r, Some(v)),
        None => match std::panic::AssertUnwindSafe(next.run(req))
            .catch_unwind()
            .await
        {
            Ok(r) => (r, None),
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                let r = Outcome {
                    verdict: Some(Verdict::Failed),
                    diagnoses: vec![Diagnosis::new(
                        "simulator.panic",
                        format!("the simulator panicked (a konform bug, please report it): {msg}"),
                    )],
                    ..Outcome::default()
                }
                .attach(StatusCode::INTERNAL_SERVER_ERROR);
                (r, None)
            }
        },
    };

    let mut outcome = resp
        .extensions_mut()
        .remove::<Outcome>()
        .unwrap_or_default();
    let status = resp.status();
    if outcome.diagnoses.is_empty() && outcome.operation.is_none() {
        match status {
            StatusCode::NOT_FOUND => outcome.diagnoses.push(
                Diagnosis::new("http.unknown-path", format!("no endpoint at {path}"))
                    .hint("see GET /__konform/health for the endpoints this simulator serves"),
            ),
            StatusCode::METHOD_NOT_ALLOWED => outcome.diagnoses.push(Diagnosis::new(
                "http.method",
                format!("{method} is not allowed on {path}"),
            )),
            _ => {}
        }
    }
    for d in outcome.diagnoses.iter().take(10) {
        if let Ok(v) = HeaderValue::from_str(&d.header_value()) {
            resp.headers_mut().append(DIAGNOSIS_HEADER, v);
        }
    }
    let fault = match (injected, outcome.fault.take()) {
        (_, Some(own)) => Some(own),
        (Some(f), None) => Some(f.describe()),
        (None, None) => None,
    };
    let verdict = forced
        .or(outcome.verdict)
        .unwrap_or_else(|| verdict_of(status));
    let (resp, answer) = crate::exchange::capture_response(resp).await;
    let seq = kit.journal().record(JournalEntry {
        seq: 0,
        at: String::new(),
        simulator: String::new(),
        method,
        path: full_path,
        operation: outcome.operation,
        status: status.as_u16(),
        verdict,
        diagnoses: outcome.diagnoses,
        fault,
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        data: outcome.data,
    });
    kit.exchanges().put(crate::exchange::Exchange {
        seq,
        request: captured.finish(),
        response: answer,
    });
    resp
}
