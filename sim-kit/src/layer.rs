//! The middleware every simulator router runs through: checks admin access, guards request bodies (deadline,
//! minimum rate, in-flight budget), applies path faults, catches handler panics (a simulator bug must still
//! produce an answer and a journal entry), journals the outcome, sets the `X-Konform-Diagnosis` header and
//! logs one line per request.

use crate::faults::{FaultAction, InjectedFault};
use crate::guard::{self, Slot};
use crate::journal::{JournalEntry, Verdict};
use crate::serve::ConnInfo;
use crate::{ADMIN_PREFIX, DIAGNOSIS_HEADER, Diagnosis, Kit, Settings, access, clip};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use std::sync::Arc;
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
///
/// Admin requests (under [`ADMIN_PREFIX`]) pass the [`access`] check and are neither
/// journaled nor fault-injected. Every other request: its body is guarded ([`guard`]), path
/// faults apply, a handler panic becomes a `500`, and the outcome is journaled, put in the
/// `X-Konform-Diagnosis` header and logged (target `konform::request`).
pub async fn kit_layer(State(kit): State<Kit>, req: Request, next: Next) -> Response {
    let settings = kit.settings();
    if req.uri().path().starts_with(ADMIN_PREFIX) {
        return admin_request(&kit, &settings, req, next).await;
    }
    let start = Instant::now();
    let method = clip::clip(req.method().as_str(), clip::MAX_FIELD).into_owned();
    let path = clip::clip(req.uri().path(), clip::MAX_FIELD).into_owned();
    let full_path = req
        .uri()
        .path_and_query()
        .map(|p| clip::clip(p.as_str(), clip::MAX_FIELD).into_owned())
        .unwrap_or_else(|| path.clone());
    let (req, slot) = guard_request(req, &settings);
    let (mut req, captured) = crate::exchange::capture_request(req);
    let injected = kit.faults().take_for_path(&method, req.uri().path());
    let mut short_circuit: Option<Response> = None;
    if let Some(f) = &injected {
        short_circuit = apply_injected(f).await;
        req.extensions_mut().insert::<InjectedFault>(f.clone());
    }
    let (mut resp, mut forced) = match short_circuit {
        Some(r) => (r, Some(Verdict::Injected)),
        None => (run_catching(req, next).await, None),
    };

    let mut outcome = resp
        .extensions_mut()
        .remove::<Outcome>()
        .unwrap_or_default();
    if let Some(i) = slot.interrupt() {
        // The body was cut off: whatever the handler made of the truncated body is not the answer.
        resp = i.response(&settings.limits);
        forced = None;
        outcome = Outcome {
            operation: outcome.operation,
            verdict: Some(Verdict::Rejected),
            diagnoses: vec![i.diagnosis()],
            ..Outcome::default()
        };
    }
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
    let duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "konform::request",
        simulator = kit.name(),
        method = %method,
        path = %clip::clip(&full_path, 256),
        operation = outcome.operation.as_deref().unwrap_or("-"),
        status = status.as_u16(),
        verdict = ?verdict,
        rule = outcome.diagnoses.first().map_or("-", |d| d.rule.as_str()),
        ms = (duration_ms * 10.0).round() / 10.0,
        "request"
    );
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
        duration_ms,
        data: outcome.data,
    });
    kit.exchanges().put(crate::exchange::Exchange {
        seq,
        request: captured.finish(),
        response: answer,
    });
    drop(slot);
    resp
}

/// Wrap the body in the guard; the slot holds the in-flight budget until dropped.
fn guard_request(req: Request, s: &Settings) -> (Request, Arc<Slot>) {
    let declared = crate::body::content_length(req.headers());
    let (parts, body) = req.into_parts();
    let (body, slot) = guard::guard(body, declared, &s.limits, s.in_flight.clone());
    (Request::from_parts(parts, body), slot)
}

/// Run the handler; a panic becomes a `500` with a `simulator.panic` diagnosis.
async fn run_catching(req: Request, next: Next) -> Response {
    match std::panic::AssertUnwindSafe(next.run(req))
        .catch_unwind()
        .await
    {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(std::string::ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Outcome {
                verdict: Some(Verdict::Failed),
                diagnoses: vec![Diagnosis::new(
                    "simulator.panic",
                    format!("the simulator panicked (a konform bug, please report it): {msg}"),
                )],
                ..Outcome::default()
            }
            .attach(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

async fn admin_request(kit: &Kit, settings: &Settings, req: Request, next: Next) -> Response {
    let conn = req.extensions().get::<ConnInfo>().copied();
    let method = req.method().clone();
    let path = clip::clip(req.uri().path(), 256).into_owned();
    if let Err(r) = access::check(&settings.admin, &method, req.headers(), conn.as_ref()) {
        tracing::warn!(
            target: "konform::admin",
            simulator = kit.name(),
            method = %method,
            path = %path,
            status = r.status.as_u16(),
            peer = %conn.map(|c| c.peer.to_string()).unwrap_or_default(),
            "admin request refused: {}",
            r.error
        );
        return r.into_response();
    }
    let (req, slot) = guard_request(req, settings);
    let mut resp = next.run(req).await;
    if let Some(i) = slot.interrupt() {
        resp = i.response(&settings.limits);
    }
    tracing::debug!(
        target: "konform::admin",
        simulator = kit.name(),
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        "admin request"
    );
    resp
}
