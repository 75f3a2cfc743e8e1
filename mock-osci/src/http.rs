//! The HTTP edge: one POST endpoint (default `/osci`) taking the library's MIME entities. The body is read
//! with a limit, the protocol core (`ops`) runs on a blocking thread (RSA is CPU work), operation faults
//! (`fault` with an OSCI code, `bad_signature`) are applied, and the outcome is journaled.

use crate::OsciState;
use crate::ops;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::json;
use sim_kit::faults::{FaultAction, InjectedFault};
use sim_kit::{Diagnosis, Outcome, Simulator, Verdict};

pub fn routes(path: &str) -> Router<OsciState> {
    Router::new().route(path, post(endpoint))
}

fn mime_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    r
}

async fn endpoint(State(st): State<OsciState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path_fault = parts.extensions.get::<InjectedFault>().cloned();
    let limit = st.config().max_body;
    let bytes = match sim_kit::body::read_limited(&parts.headers, body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let code = "9100";
            let mut d = Diagnosis::new(e.rule(), e.to_string());
            if matches!(e, sim_kit::body::BodyError::TooLarge { .. }) {
                d = ops::profile_diagnosis(
                    10,
                    "osci.profile.size",
                    &format!("{e}; a message may not exceed 40 MB as a whole"),
                );
            }
            let body = crate::write::soap_fault(code, "de", &crate::write::boundary());
            return Outcome {
                verdict: Some(Verdict::Rejected),
                diagnoses: vec![d],
                data: Some(json!({ "fault": code })),
                ..Outcome::default()
            }
            .attach(mime_response(
                StatusCode::from_u16(st.config().fault_status).unwrap_or(StatusCode::OK),
                body,
            ));
        }
    };
    let body = bytes.to_vec();
    drop(bytes);
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let mut corrupt = matches!(
        path_fault.as_ref().and_then(|f| f.action.as_ref()),
        Some(FaultAction::BadSignature)
    );
    let st2 = st.clone();
    let reply =
        match tokio::task::spawn_blocking(move || ops::handle(&st2, body, now_ms, corrupt)).await {
            Ok(r) => r,
            Err(e) => {
                return Outcome {
                    verdict: Some(Verdict::Failed),
                    diagnoses: vec![Diagnosis::new(
                        "simulator.panic",
                        format!("the OSCI core failed (a konform bug): {e}"),
                    )],
                    ..Outcome::default()
                }
                .attach(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
    // Operation faults: known only now that the request is read.
    let mut reply = reply;
    let mut fault_note = None;
    if let Some(op) = reply.operation.clone()
        && let Some(f) = st.kit().faults().take_for_operation(&op)
    {
        if let Some(r) = sim_kit::layer::apply_injected(&f).await {
            return Outcome {
                operation: Some(op),
                fault: Some(f.describe()),
                verdict: Some(Verdict::Injected),
                ..Outcome::default()
            }
            .attach(r);
        }
        match &f.action {
            Some(FaultAction::Fault { code, .. }) => {
                let code: &'static str = crate::feedback::CODES
                    .iter()
                    .find(|(c, _, _)| c == code)
                    .map(|(c, _, _)| *c)
                    .unwrap_or("9000");
                reply.body = crate::write::soap_fault(code, "de", &crate::write::boundary());
                reply.fault = Some(code);
            }
            Some(FaultAction::BadSignature) => corrupt = true,
            _ => {}
        }
        fault_note = Some(f.describe());
    }
    if corrupt && reply.fault.is_none() {
        reply.diagnoses.push(Diagnosis::new(
            "osci.injected.bad-signature",
            "the SupplierSignature of this answer was corrupted on purpose (fault injection)",
        ));
    }
    let status = if reply.fault.is_some() {
        StatusCode::from_u16(st.config().fault_status).unwrap_or(StatusCode::OK)
    } else {
        StatusCode::OK
    };
    let verdict = if fault_note.is_some() {
        Verdict::Injected
    } else if reply.refused() {
        Verdict::Rejected
    } else {
        Verdict::Accepted
    };
    Outcome {
        operation: reply.operation.clone(),
        verdict: Some(verdict),
        diagnoses: reply.diagnoses,
        data: Some(reply.data),
        fault: fault_note,
    }
    .attach(mime_response(status, reply.body))
}
