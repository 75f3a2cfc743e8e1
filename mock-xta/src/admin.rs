//! XTA admin routes under `/__konform/xta/` (besides the shared journal/faults/reset/health):
//!
//! | route | does |
//! |---|---|
//! | `GET /__konform/xta/accounts` | accounts with their booked and offered services |
//! | `PUT /__konform/xta/accounts` | add or replace an account (an [`AccountConfig`] as JSON) |
//! | `PUT /__konform/xta/accounts/{id}/locked` | lock or unlock: `{"locked": true}` |
//! | `GET /__konform/xta/mailboxes/{id}` | the messages addressed to an account, with their state |
//! | `GET /__konform/xta/messages?limit=N` | the latest messages (newest first) |
//! | `GET /__konform/xta/messages/{id}` | one message: routing, state, attachments, transport report |
//! | `GET /__konform/xta/messages/{id}/content/{n}` | content `n` (0 = Message, 1… = attachments) as stored |
//! | `GET /__konform/xta/reports/{id}` | the transport report (status and records) |
//! | `PUT /__konform/xta/clock` | shift the simulator's clock: `{"offset_secs": 3600}` |
//! | `GET /__konform/xta/profiles` | the loaded transport profiles |
//!
//! `POST /__konform/reset` empties mailboxes and reports and restores the configured accounts.

use crate::{AccountConfig, XtaState, db};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::json;
use sim_kit::admin::{AdminJson, ApiError};

pub fn routes() -> Router<XtaState> {
    let p = |s: &str| format!("/__konform/xta{s}");
    Router::new()
        .route(
            &p("/accounts"),
            get(accounts).put(put_account).post(put_account),
        )
        .route(&p("/accounts/{id}/locked"), put(lock).post(lock))
        .route(&p("/mailboxes/{id}"), get(mailbox))
        .route(&p("/messages"), get(messages))
        .route(&p("/messages/{id}"), get(message))
        .route(&p("/messages/{id}/content/{n}"), get(content))
        .route(&p("/reports/{id}"), get(report))
        .route(&p("/clock"), put(clock).post(clock).get(get_clock))
        .route(&p("/profiles"), get(profiles))
}

fn store_err(e: sim_kit::store::StoreError) -> ApiError {
    ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        error: e.to_string(),
        detail: None,
    }
}

async fn accounts(State(st): State<XtaState>) -> Response {
    Json(st.accounts()).into_response()
}

async fn put_account(
    State(st): State<XtaState>,
    AdminJson(a): AdminJson<AccountConfig>,
) -> Result<Response, ApiError> {
    st.put_account(a.clone())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok((StatusCode::OK, Json(a)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Locked {
    locked: bool,
}

async fn lock(
    State(st): State<XtaState>,
    Path(id): Path<String>,
    AdminJson(l): AdminJson<Locked>,
) -> Result<Response, ApiError> {
    let mut a = st
        .account(&id)
        .ok_or_else(|| ApiError::not_found(format!("no account `{id}`")))?;
    a.locked = l.locked;
    st.put_account(a.clone())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(a).into_response())
}

fn message_json(st: &XtaState, m: &db::MessageRow) -> Result<serde_json::Value, ApiError> {
    let (atts, rep) = st
        .store()
        .read(|c| Ok((db::attachments(c, &m.id)?, db::report(c, &m.id)?)))
        .map_err(store_err)?;
    let records = rep.as_ref().map(|r| r.records.clone()).unwrap_or_default();
    let status = crate::report::status(m, &records);
    Ok(json!({
        "message": m,
        "attachments": atts,
        "report": { "status": status, "status_name": crate::report::status_name(status), "records": records },
        "in_mailbox": crate::ops::msgbox::delivered(m, st.now()) && m.closed_at.is_none(),
    }))
}

async fn mailbox(State(st): State<XtaState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    if st.account(&id).is_none() {
        return Err(ApiError::not_found(format!("no account `{id}`")));
    }
    let rows = st
        .store()
        .read(|c| db::mailbox(c, &id))
        .map_err(store_err)?;
    let list = rows
        .iter()
        .map(|m| message_json(&st, m))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(list).into_response())
}

#[derive(Deserialize)]
struct Limit {
    #[serde(default)]
    limit: Option<usize>,
}

async fn messages(
    State(st): State<XtaState>,
    q: Result<Query<Limit>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Ok(Query(q)) = q else {
        return Err(ApiError::bad_request("query parameter: limit=N (number)"));
    };
    let rows = st
        .store()
        .read(|c| db::all_messages(c, q.limit.unwrap_or(100).min(10_000)))
        .map_err(store_err)?;
    let list = rows
        .iter()
        .map(|m| message_json(&st, m))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(list).into_response())
}

fn find(st: &XtaState, id: &str) -> Result<db::MessageRow, ApiError> {
    st.store()
        .read(|c| db::message(c, id))
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found(format!("no message `{id}`")))
}

async fn message(State(st): State<XtaState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let m = find(&st, &id)?;
    Ok(Json(message_json(&st, &m)?).into_response())
}

async fn content(
    State(st): State<XtaState>,
    Path((id, n)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    let m = find(&st, &id)?;
    let (blob, ct) = if n == 0 {
        match (&m.message_blob, &m.encrypted_xml) {
            (Some(b), _) => (b.clone(), m.message_attrs.content_type.clone()),
            (None, Some(x)) => {
                return Ok((
                    [(header::CONTENT_TYPE, "application/xml".to_string())],
                    x.clone(),
                )
                    .into_response());
            }
            (None, None) => return Err(ApiError::not_found("no content")),
        }
    } else {
        let atts = st
            .store()
            .read(|c| db::attachments(c, &id))
            .map_err(store_err)?;
        let a = atts.get(n - 1).ok_or_else(|| {
            ApiError::not_found(format!("message `{id}` has {} attachments", atts.len()))
        })?;
        (a.blob.clone(), a.attrs.content_type.clone())
    };
    let data = tokio::task::spawn_blocking(move || {
        let mut f = st.store().open_blob(&blob).map_err(|e| e.to_string())?;
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut v).map_err(|e| e.to_string())?;
        Ok::<_, String>(v)
    })
    .await
    .map_err(|e| ApiError::bad_request(e.to_string()))?
    .map_err(ApiError::bad_request)?;
    let ct = if ct.is_ascii() && !ct.contains(['\r', '\n']) {
        ct
    } else {
        "application/octet-stream".into()
    };
    Ok(([(header::CONTENT_TYPE, ct)], data).into_response())
}

async fn report(State(st): State<XtaState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let m = find(&st, &id)?;
    let j = message_json(&st, &m)?;
    Ok(Json(j["report"].clone()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Clock {
    offset_secs: i64,
}

async fn clock(State(st): State<XtaState>, AdminJson(c): AdminJson<Clock>) -> Response {
    st.set_clock_offset(c.offset_secs);
    Json(json!({ "offset_secs": c.offset_secs, "now": crate::model::xsd_time::format_datetime(st.now()) })).into_response()
}

async fn get_clock(State(st): State<XtaState>) -> Response {
    Json(json!({ "offset_secs": st.clock_offset(), "now": crate::model::xsd_time::format_datetime(st.now()) })).into_response()
}

async fn profiles(State(st): State<XtaState>) -> Response {
    Json(st.profiles().all()).into_response()
}
