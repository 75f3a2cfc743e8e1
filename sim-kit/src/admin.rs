//! The admin API conventions every simulator follows, under `/__konform/`:
//!
//! | route | does |
//! |---|---|
//! | `GET /__konform/health` | simulator name, version, configuration summary, endpoints |
//! | `GET /__konform/journal?since=SEQ&limit=N` | journal entries after `since` (JSON array, streamed), at most `limit` ([`JOURNAL_PAGE_DEFAULT`] when absent, never more than [`JOURNAL_PAGE_MAX`]); a `Link: <…>; rel="next"` header when more follow |
//! | `DELETE /__konform/journal` | clear the journal |
//! | `GET /__konform/faults` | pending fault rules |
//! | `POST /__konform/faults` | add a [`FaultRule`] (JSON), answers it with its id |
//! | `DELETE /__konform/faults`, `DELETE /__konform/faults/{id}` | remove all / one |
//! | `POST /__konform/reset` | simulator state back to its configuration, journal and faults cleared |
//!
//! Simulators add their own routes under the same prefix. Admin errors are JSON `{"error": …}` with a 4xx.
//! Who may call these routes at all is [`crate::access`]'s business (checked by the kit layer).

use crate::faults::FaultRule;
use crate::journal::JournalEntry;
use crate::{ADMIN_PREFIX, Simulator};
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::sync::Arc;

/// An admin API error: status + message, rendered as JSON.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub detail: Option<serde_json::Value>,
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: msg.into(),
            detail: None,
        }
    }
    pub fn not_found(msg: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            error: msg.into(),
            detail: None,
        }
    }
    pub fn conflict(msg: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            error: msg.into(),
            detail: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.error });
        if let Some(d) = self.detail {
            body["detail"] = d;
        }
        (self.status, Json(body)).into_response()
    }
}

/// JSON body extractor for admin routes whose rejections are JSON with line and column, not axum's text.
pub struct AdminJson<T>(pub T);

/// Admin request bodies are small; a limit keeps a mistaken upload from eating memory.
pub const ADMIN_BODY_LIMIT: usize = 16 * 1024 * 1024;

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AdminJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = crate::body::read_limited(&parts.headers, body, ADMIN_BODY_LIMIT)
            .await
            .map_err(|e| ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                error: e.to_string(),
                detail: None,
            })?;
        let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        serde_json::from_slice(bytes)
            .map(AdminJson)
            .map_err(|e| ApiError {
                status: StatusCode::BAD_REQUEST,
                error: format!("invalid JSON body: {e}"),
                detail: Some(json!({ "line": e.line(), "column": e.column() })),
            })
    }
}

#[derive(Deserialize)]
struct JournalQuery {
    #[serde(default)]
    since: u64,
    #[serde(default)]
    limit: Option<usize>,
}

async fn health<S: Simulator>(State(sim): State<S>) -> Response {
    Json(json!({
        "simulator": sim.kit().name(),
        "version": env!("CARGO_PKG_VERSION"),
        "journal": {
            "entries": sim.kit().journal().len(),
            "bytes": sim.kit().journal().bytes(),
            "last_seq": sim.kit().journal().last_seq(),
            "dropped": sim.kit().journal().dropped(),
        },
        "limits": sim.kit().limits(),
        "faults": sim.kit().faults().list().len(),
        "state": sim.describe(),
    }))
    .into_response()
}

/// Journal entries per page when the request names no `limit`.
pub const JOURNAL_PAGE_DEFAULT: usize = 1000;
/// The most entries one page holds, whatever `limit` says.
pub const JOURNAL_PAGE_MAX: usize = 10_000;

async fn journal<S: Simulator>(
    State(sim): State<S>,
    q: Result<Query<JournalQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return ApiError::bad_request("query parameters: since=SEQ (number), limit=N (number)")
            .into_response();
    };
    let limit = q
        .limit
        .unwrap_or(JOURNAL_PAGE_DEFAULT)
        .min(JOURNAL_PAGE_MAX);
    let journal = sim.kit().journal();
    let mut page = journal.page(q.since, limit.saturating_add(1));
    let more = page.len() > limit;
    page.truncate(limit);
    let next = page.last().map(|e| e.seq);
    let mut resp = Response::new(json_array_stream(page));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-konform-journal-last-seq", journal.last_seq().into());
    h.insert("x-konform-journal-dropped", journal.dropped().into());
    if let (true, Some(next)) = (more, next) {
        let link = format!("<{ADMIN_PREFIX}/journal?since={next}&limit={limit}>; rel=\"next\"");
        if let Ok(v) = HeaderValue::from_str(&link) {
            h.insert(header::LINK, v);
        }
    }
    resp
}

/// A JSON array serialised one entry at a time as the client reads it: memory stays at one entry,
/// however large the page.
fn json_array_stream(entries: Vec<Arc<JournalEntry>>) -> Body {
    let empty = entries.is_empty();
    let items = stream::iter(entries.into_iter().enumerate()).map(|(i, e)| {
        let mut buf = Vec::with_capacity(512);
        buf.push(if i == 0 { b'[' } else { b',' });
        if let Err(err) = serde_json::to_writer(&mut buf, &*e) {
            // Cannot happen for these types; keep the array valid regardless.
            buf.truncate(1);
            let _ = serde_json::to_writer(&mut buf, &json!({ "error": err.to_string() }));
        }
        Ok::<_, std::convert::Infallible>(Bytes::from(buf))
    });
    let end = stream::once(async move {
        Ok::<_, std::convert::Infallible>(Bytes::from_static(if empty { b"[]" } else { b"]" }))
    });
    Body::from_stream(items.chain(end))
}

async fn clear_journal<S: Simulator>(State(sim): State<S>) -> StatusCode {
    sim.kit().journal().clear();
    StatusCode::NO_CONTENT
}

async fn list_faults<S: Simulator>(State(sim): State<S>) -> Response {
    Json(sim.kit().faults().list()).into_response()
}

async fn add_fault<S: Simulator>(
    State(sim): State<S>,
    AdminJson(rule): AdminJson<FaultRule>,
) -> Result<Response, ApiError> {
    let rule = sim
        .kit()
        .faults()
        .add(rule)
        .map_err(ApiError::bad_request)?;
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

async fn clear_faults<S: Simulator>(State(sim): State<S>) -> StatusCode {
    sim.kit().faults().clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault<S: Simulator>(
    State(sim): State<S>,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    if sim.kit().faults().remove(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no fault rule {id}")))
    }
}

async fn reset<S: Simulator>(State(sim): State<S>) -> StatusCode {
    sim.reset();
    sim.kit().faults().clear();
    sim.kit().journal().clear();
    StatusCode::NO_CONTENT
}

async fn admin_fallback() -> ApiError {
    ApiError::not_found("unknown admin route; see the admin API documentation (docs/admin-api.md)")
}

/// The shared admin routes.
pub fn admin_routes<S: Simulator>() -> Router<S> {
    let p = |s: &str| format!("{ADMIN_PREFIX}{s}");
    Router::new()
        .route(&p("/health"), get(health::<S>))
        .route(&p("/journal"), get(journal::<S>).delete(clear_journal::<S>))
        .route(
            &p("/faults"),
            get(list_faults::<S>)
                .post(add_fault::<S>)
                .delete(clear_faults::<S>),
        )
        .route(&p("/faults/{id}"), delete(remove_fault::<S>))
        .route(&p("/reset"), post(reset::<S>))
        .route(
            &p("/{*rest}"),
            get(admin_fallback)
                .post(admin_fallback)
                .put(admin_fallback)
                .delete(admin_fallback),
        )
}

/// Put a simulator's routes together with the admin routes and the kit layer.
pub fn finish<S: Simulator>(app: Router<S>, sim: S) -> Router {
    let kit = sim.kit().clone();
    app.merge(admin_routes::<S>())
        .layer(axum::middleware::from_fn_with_state(kit, crate::kit_layer))
        .with_state(sim)
}
