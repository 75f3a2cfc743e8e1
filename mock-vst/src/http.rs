//! The seed's HTTP API: routes, status codes, signed responses, `.well-known`, `openapi.json`.

use crate::config::ContentTypeCheck;
use crate::process::{ErrorStream, Rejection};
use crate::seed;
use crate::state::{Committed, Credentials, ListKind, Polled, ProcessingError, VstState};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use sim_kit::{Diagnosis, FaultAction, InjectedFault, Outcome};
use ti_core::sig_input;

pub use crate::paths::{BASE, ENDPOINTS};

/// The OpenAPI 3.1 document of the seed's API (hand-written; `mock-vst/openapi.json`).
pub const OPENAPI: &str = include_str!("../openapi.json");

fn reject(op: Outcome, r: Rejection) -> Response {
    let mut o = op;
    o.diagnoses.extend(r.diagnoses);
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    // The real service answers without extended error descriptions ("Es werden in diesem Fehlerfall keine
    // erweiterten Fehlerbeschreibungen zurückgemeldet"): empty body, explanation in the header.
    o.attach(status)
}

/// The store failed: an internal error ("StatusCode 500: … wenn ein interner Fehler bei der Verarbeitung
/// aufgetreten ist"), never the client's fault.
fn store_failure(e: &dyn std::fmt::Display) -> Rejection {
    Rejection::new(
        500,
        Diagnosis::new(
            "simulator.store",
            format!("the simulator could not store its state: {e}"),
        ),
    )
}

fn bad_signature_injected(ext: &axum::http::Extensions) -> bool {
    ext.get::<InjectedFault>()
        .is_some_and(|f| f.action == Some(FaultAction::BadSignature))
}

/// `application/json` (else 415). Its parameters: with `content_type: strict` only `charset=utf-8` (else
/// 415); by default anything, the body being read as UTF-8 regardless ("Die Zeichenkodierung wird als UTF-8
/// gelesen"), with a diagnosis for a charset label other than UTF-8 and for other parameters (returned
/// as notes for the answer).
pub fn check_content_type(
    headers: &HeaderMap,
    mode: ContentTypeCheck,
) -> Result<Vec<Diagnosis>, Diagnosis> {
    let d = |rule: &str, msg: String| {
        Diagnosis::new(rule, msg)
            .at("header:Content-Type")
            .hint("send Content-Type: application/json (charset=utf-8 optional)")
            .seed(seed::CONTENT_TYPE)
    };
    let Some(v) = headers.get(header::CONTENT_TYPE) else {
        return Err(d("http.content-type", "no Content-Type header".into()));
    };
    let Ok(v) = v.to_str() else {
        return Err(d("http.content-type", "Content-Type is not ASCII".into()));
    };
    let mut parts = v.split(';');
    let mime = parts.next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(d(
            "http.content-type",
            format!("Content-Type `{v}` is not application/json"),
        ));
    }
    let strict = mode == ContentTypeCheck::Strict;
    let switch = "(profile `content_type: strict` answers 415 instead)";
    let mut notes = Vec::new();
    for p in parts.map(str::trim).filter(|p| !p.is_empty()) {
        let (k, val) = p.split_once('=').unwrap_or((p, ""));
        let val = val.trim().trim_matches('"');
        if !k.trim().eq_ignore_ascii_case("charset") {
            let msg = format!("unexpected Content-Type parameter `{p}`");
            if strict {
                return Err(d("http.content-type", msg));
            }
            notes.push(d(
                "http.content-type-parameter",
                format!("{msg}; ignored, application/json defines no parameters {switch}"),
            ));
        } else if !val.eq_ignore_ascii_case("utf-8") {
            if strict {
                return Err(d(
                    "http.content-type",
                    format!("charset `{val}`; the body is read as UTF-8 only"),
                ));
            }
            notes.push(d(
                "http.charset",
                format!("charset `{val}` declared, but the body is read as UTF-8 (\"Die Zeichenkodierung wird als UTF-8 gelesen\") {switch}"),
            ));
        }
    }
    Ok(notes)
}

/// The headers the login reads.
fn credentials(headers: &HeaderMap) -> Credentials<'_> {
    Credentials {
        authorization: headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
        authentication: headers.get("authentication").map(HeaderValue::as_bytes),
    }
}

async fn post_delivery(s: VstState, stream: ErrorStream, req: Request) -> Response {
    let op = Outcome::op(stream.operation());
    let (parts, body) = req.into_parts();
    let insurer = match s.authenticate(&credentials(&parts.headers)) {
        Ok(i) => i,
        Err(r) => return reject(op, r),
    };
    let mut op = op;
    match check_content_type(&parts.headers, s.profile().content_type) {
        Ok(notes) => op.diagnoses.extend(notes),
        Err(d) => return reject(op, Rejection::new(415, d)),
    }
    let limit = s.config().body_limit;
    let bytes = match sim_kit::body::read_limited(&parts.headers, body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let status = match e {
                sim_kit::body::BodyError::TooLarge { .. } => 413,
                sim_kit::body::BodyError::Truncated(_) => 400,
            };
            return reject(
                op,
                Rejection::new(
                    status,
                    Diagnosis::new(e.rule(), e.to_string()).seed(seed::BODY_LIMIT),
                ),
            );
        }
    };
    let s2 = s.clone();
    let ins2 = insurer.clone();
    let checked = match tokio::task::spawn_blocking(move || s2.check(&ins2, stream, &bytes)).await {
        Ok(Ok(c)) => c,
        Ok(Err(r)) => return reject(op, r),
        Err(e) => {
            let mut o = op;
            o.diagnoses.push(Diagnosis::new(
                "simulator.panic",
                format!("checking the delivery failed inside the simulator (a konform bug, please report it): {e}"),
            ));
            return o.attach(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let n_records = checked.records.len();
    let preview: Vec<_> = checked.records.iter().take(100).cloned().collect();
    let id_dl = checked.id_datenlieferung.clone();
    let Committed {
        seq,
        warnings,
        transfer_number: transfer,
        job,
    } = match s.commit(&insurer, checked) {
        Ok(c) => c,
        Err(r) => return reject(op, r),
    };
    if let Some(job) = job {
        crate::worker::run(&s, job).await;
    }
    let mut o = op;
    o.diagnoses.extend(warnings);
    o.data = Some(serde_json::json!({
        "delivery": seq,
        "TelematikId": insurer.telematik_id,
        "IdDatenlieferung": id_dl,
        "records": n_records,
        "plaintext": preview,
        "plaintext_truncated": n_records > preview.len(),
        "see": format!("/__konform/deliveries/{seq}"),
    }));
    match transfer {
        // "Der (Content) der Antwort ist dabei leer."
        None => o.attach(StatusCode::OK),
        Some(tn) => {
            let corrupt = bad_signature_injected(&parts.extensions);
            if corrupt {
                o.fault = Some("injected bad response signature".into());
            }
            let body = SignedTransferNumber {
                signatur: s.sign_response(tn.as_bytes(), corrupt),
                transfernummer: tn,
            };
            o.attach(json_response(StatusCode::OK, &body))
        }
    }
}

/// The insurance update answer ("signierte Transfernummer", type `SignedTransferNumber`; the shape is
/// konform's, see `docs/vst.md`).
#[derive(Serialize)]
struct SignedTransferNumber {
    #[serde(rename = "Transfernummer")]
    transfernummer: String,
    #[serde(rename = "Signatur")]
    signatur: String,
}

fn json_response<T: Serialize>(status: StatusCode, v: &T) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

#[derive(Serialize)]
struct IdItem {
    #[serde(rename = "IdVersicherter")]
    id_versicherter: String,
}

#[derive(Serialize)]
struct RequestsBundle {
    #[serde(rename = "Anfragen")]
    anfragen: Vec<IdItem>,
    #[serde(rename = "Signatur")]
    signatur: String,
}

#[derive(Serialize)]
struct AnonymizationsBundle {
    #[serde(rename = "Anonymisierungen")]
    anonymisierungen: Vec<IdItem>,
    #[serde(rename = "Signatur")]
    signatur: String,
}

#[derive(Serialize)]
struct ErrorsBundle {
    #[serde(rename = "Fehler")]
    fehler: Vec<ProcessingError>,
    #[serde(rename = "Signatur")]
    signatur: String,
}

async fn get_list(s: VstState, kind: ListKind, op: &'static str, req: Request) -> Response {
    let op = Outcome::op(op);
    let insurer = match s.authenticate(&credentials(req.headers())) {
        Ok(i) => i,
        Err(r) => return reject(op, r),
    };
    let polled = match s.take(&insurer.telematik_id, kind) {
        Ok(p) => p,
        Err(e) => return reject(op, store_failure(&e)),
    };
    let mut o = op;
    if polled.is_empty() {
        // "Wenn keine Daten zum Abruf vorhanden sind, wird der StatusCode 204 zurückgegeben."
        return o.attach(StatusCode::NO_CONTENT);
    }
    let corrupt = bad_signature_injected(req.extensions());
    if corrupt {
        o.fault = Some("injected bad response signature".into());
    }
    let variant = s.profile().signature_input.variant();
    o.data = Some(serde_json::json!({ "items": polled.len() }));
    let resp = match polled {
        Polled::Ids(ids) => {
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let input = sig_input::build_variant(&sig_input::id_list_segments(&refs), variant)
                .unwrap_or_default();
            let signatur = s.sign_response(&input, corrupt);
            let list = ids
                .into_iter()
                .map(|id_versicherter| IdItem { id_versicherter })
                .collect();
            if kind == ListKind::Requests {
                json_response(
                    StatusCode::OK,
                    &RequestsBundle {
                        anfragen: list,
                        signatur,
                    },
                )
            } else {
                json_response(
                    StatusCode::OK,
                    &AnonymizationsBundle {
                        anonymisierungen: list,
                        signatur,
                    },
                )
            }
        }
        Polled::Errors(errs) => {
            let triples: Vec<(&str, &str, &str)> = errs
                .iter()
                .map(|e| {
                    (
                        e.id_datenlieferung.as_str(),
                        e.id_datensatz.as_str(),
                        e.code.as_str(),
                    )
                })
                .collect();
            let input =
                sig_input::build_variant(&sig_input::processing_error_segments(&triples), variant)
                    .unwrap_or_default();
            let signatur = s.sign_response(&input, corrupt);
            json_response(
                StatusCode::OK,
                &ErrorsBundle {
                    fehler: errs,
                    signatur,
                },
            )
        }
    };
    o.attach(resp)
}

async fn wellknown(State(s): State<VstState>, req: Request) -> Response {
    let mut token = s.wellknown_token();
    let mut o = Outcome::op("wellknown");
    o.diagnoses
        .extend(crate::wellknown::diagnoses(&s.profile()));
    if bad_signature_injected(req.extensions()) {
        // Corrupt the JWS signature (flip the first signature character) so it no longer verifies.
        if let Some(dot) = token.rfind('.') {
            let mut bytes = token.into_bytes();
            if let Some(c) = bytes.get_mut(dot + 1) {
                *c = if *c == b'A' { b'B' } else { b'A' };
            }
            token = String::from_utf8(bytes).unwrap_or_default();
        }
        o.fault = Some("injected bad response signature (.well-known JWS)".into());
    }
    let mut r = Response::new(Body::from(token));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwt"),
    );
    o.attach(r)
}

async fn openapi() -> Response {
    let mut r = Response::new(Body::from(OPENAPI));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Outcome::op("openapi").attach(r)
}

/// The seed's API on a router (without admin routes and kit layer).
pub fn api_routes() -> Router<VstState> {
    Router::new()
        .route(
            &format!("{BASE}/vitalstatusnotification"),
            post(|State(s): State<VstState>, req: Request| {
                post_delivery(s, ErrorStream::VitalStatus, req)
            }),
        )
        .route(
            &format!("{BASE}/insuranceupdatenotification"),
            post(|State(s): State<VstState>, req: Request| {
                post_delivery(s, ErrorStream::InsuranceUpdate, req)
            }),
        )
        .route(
            &format!("{BASE}/vitalstatusnotification/requests"),
            get(|State(s): State<VstState>, req: Request| {
                get_list(s, ListKind::Requests, "requests", req)
            }),
        )
        .route(
            &format!("{BASE}/vitalstatusnotification/anonymizationnotifications"),
            get(|State(s): State<VstState>, req: Request| {
                get_list(
                    s,
                    ListKind::Anonymizations,
                    "anonymizationnotifications",
                    req,
                )
            }),
        )
        .route(
            &format!("{BASE}/vitalstatusnotification/processingerrors"),
            get(|State(s): State<VstState>, req: Request| {
                get_list(
                    s,
                    ListKind::Errors(ErrorStream::VitalStatus),
                    "vitalstatusnotification.processingerrors",
                    req,
                )
            }),
        )
        .route(
            &format!("{BASE}/insuranceupdatenotification/processingerrors"),
            get(|State(s): State<VstState>, req: Request| {
                get_list(
                    s,
                    ListKind::Errors(ErrorStream::InsuranceUpdate),
                    "insuranceupdatenotification.processingerrors",
                    req,
                )
            }),
        )
        .route("/.well-known", get(wellknown))
        .route("/.wellknown", get(wellknown))
        .route("/openapi.json", get(openapi))
}

/// Shown for unknown paths (the kit adds the diagnosis).
pub async fn not_found() -> impl IntoResponse {
    StatusCode::NOT_FOUND
}
