//! VST-specific admin routes under `/__konform/` (the shared ones — health, journal, faults, reset — come
//! from `sim-kit`). All JSON; documented in `docs/vst.md`.

use crate::config::{Profile, Registration};
use crate::process::ErrorStream;
use crate::state::{Error, ListKind, ProcessingError, VstState};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Deserialize;
use sim_kit::admin::{AdminJson, ApiError};
use std::time::Duration;
use ti_core::ids::Environment;

fn api_err(e: Error) -> ApiError {
    match e {
        Error::UnknownInsurer(_) => ApiError::not_found(e.to_string()),
        _ => ApiError::bad_request(e.to_string()),
    }
}

async fn list_registrations(State(s): State<VstState>) -> Response {
    Json(s.insurers()).into_response()
}

async fn add_registration(
    State(s): State<VstState>,
    AdminJson(r): AdminJson<Registration>,
) -> Result<Response, ApiError> {
    let tid = r.telematik_id.clone();
    s.register_insurer(r).map_err(api_err)?;
    let view = s
        .insurers()
        .into_iter()
        .find(|i| i.telematik_id == tid)
        .ok_or_else(|| ApiError::conflict("registration vanished"))?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn remove_registration(
    State(s): State<VstState>,
    Path(tid): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.unregister_insurer(&tid).map_err(api_err)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueBody {
    #[serde(default)]
    kvnr: Option<String>,
    #[serde(default)]
    kvnrs: Vec<String>,
    #[serde(default)]
    telematik_id: Option<String>,
}

async fn queue(s: VstState, body: QueueBody, anonymization: bool) -> Result<Response, ApiError> {
    let mut all = body.kvnrs;
    all.extend(body.kvnr);
    if all.is_empty() {
        return Err(ApiError::bad_request("give `kvnr` or `kvnrs`"));
    }
    // Validate all first, so a bad one queues nothing.
    for k in &all {
        ti_core::ids::check_kvnr(k)
            .map_err(|e| ApiError::bad_request(format!("KVNR `{k}` {e}")))?;
    }
    for k in &all {
        let r = match (&body.telematik_id, anonymization) {
            (Some(t), false) => s.queue_request_for(k, t),
            (Some(t), true) => s.queue_anonymization_for(k, t),
            (None, false) => s.queue_request(k),
            (None, true) => s.queue_anonymization(k),
        };
        r.map_err(api_err)?;
    }
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "queued": all.len() })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorBody {
    stream: ErrorStream,
    #[serde(rename = "IdDatenlieferung", alias = "id_datenlieferung")]
    id_datenlieferung: String,
    #[serde(rename = "IdDatensatz", alias = "id_datensatz")]
    id_datensatz: String,
    #[serde(rename = "Code", alias = "code")]
    code: String,
    #[serde(default)]
    telematik_id: Option<String>,
}

async fn add_error(
    State(s): State<VstState>,
    AdminJson(b): AdminJson<ErrorBody>,
) -> Result<Response, ApiError> {
    if b.code.is_empty() || b.id_datenlieferung.is_empty() || b.id_datensatz.is_empty() {
        return Err(ApiError::bad_request(
            "IdDatenlieferung, IdDatensatz and Code must not be empty",
        ));
    }
    s.inject_processing_error_for(
        b.stream,
        b.telematik_id.as_deref(),
        ProcessingError {
            id_datenlieferung: b.id_datenlieferung,
            id_datensatz: b.id_datensatz,
            code: b.code,
        },
    );
    Ok(StatusCode::CREATED.into_response())
}

async fn list_errors(State(s): State<VstState>) -> Response {
    Json(serde_json::json!({
        "vitalstatus": s.mailbox_view(ListKind::Errors(ErrorStream::VitalStatus)),
        "insuranceupdate": s.mailbox_view(ListKind::Errors(ErrorStream::InsuranceUpdate)),
    }))
    .into_response()
}

async fn put_profile(
    State(s): State<VstState>,
    AdminJson(p): AdminJson<Profile>,
) -> Result<Response, ApiError> {
    p.validate()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    s.set_profile(p);
    Ok(Json(s.profile()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvBody {
    environment: Environment,
}

async fn put_environment(State(s): State<VstState>, AdminJson(b): AdminJson<EnvBody>) -> Response {
    s.set_environment(b.environment);
    Json(serde_json::json!({ "environment": s.environment() })).into_response()
}

#[derive(Deserialize)]
struct SettleQuery {
    #[serde(default)]
    timeout_ms: Option<u64>,
}

async fn settle(State(s): State<VstState>, Query(q): Query<SettleQuery>) -> Response {
    let t = q.timeout_ms.unwrap_or(30_000).min(600_000);
    let done = s.settle(Duration::from_millis(t)).await;
    Json(serde_json::json!({ "settled": done, "pending": s.pending_checks() })).into_response()
}

async fn get_delivery(
    State(s): State<VstState>,
    Path(seq): Path<u64>,
) -> Result<Response, ApiError> {
    s.delivery(seq)
        .map(|d| Json(d).into_response())
        .ok_or_else(|| ApiError::not_found(format!("no accepted delivery {seq}")))
}

pub fn admin_routes() -> Router<VstState> {
    let p = |s: &str| format!("{}{s}", sim_kit::ADMIN_PREFIX);
    Router::new()
        .route(
            &p("/registrations"),
            get(list_registrations).post(add_registration),
        )
        .route(&p("/registrations/{tid}"), delete(remove_registration))
        .route(&p("/insurers"), get(list_registrations))
        .route(
            &p("/requests"),
            get(
                |State(s): State<VstState>| async move { Json(s.mailbox_view(ListKind::Requests)) },
            )
            .post(
                |State(s): State<VstState>, AdminJson(b): AdminJson<QueueBody>| queue(s, b, false),
            ),
        )
        .route(
            &p("/anonymizations"),
            get(|State(s): State<VstState>| async move {
                Json(s.mailbox_view(ListKind::Anonymizations))
            })
            .post(
                |State(s): State<VstState>, AdminJson(b): AdminJson<QueueBody>| queue(s, b, true),
            ),
        )
        .route(&p("/processingerrors"), get(list_errors).post(add_error))
        .route(
            &p("/profile"),
            get(|State(s): State<VstState>| async move { Json(s.profile()) }).put(put_profile),
        )
        .route(
            &p("/environment"),
            get(|State(s): State<VstState>| async move {
                Json(serde_json::json!({ "environment": s.environment() }))
            })
            .put(put_environment),
        )
        .route(
            &p("/deliveries"),
            get(|State(s): State<VstState>| async move { Json(s.deliveries()) }),
        )
        .route(&p("/deliveries/{seq}"), get(get_delivery))
        .route(&p("/settle"), axum::routing::post(settle).get(settle))
}
