//! Konnektor admin routes under `/__konform/` (besides the shared journal/faults/reset/health):
//!
//! | route | does |
//! |---|---|
//! | `GET /__konform/cards` | every configured card with PIN state and whether it is inserted |
//! | `GET /__konform/cards/{handle}` | one card |
//! | `PUT /__konform/cards/{handle}/pin` | set PIN status / left tries / scripted VerifyPin answers ([`PinUpdate`]) |
//! | `POST /__konform/cards/{handle}/pin/next` | append scripted VerifyPin answers: `{"answers":["wrong","ok"]}` |
//! | `PUT /__konform/cards/{handle}/inserted` | insert or pull the card: `{"inserted": false}` |

use crate::{KonnektorState, PinUpdate, VerifyAnswer};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use sim_kit::admin::{AdminJson, ApiError};

pub fn routes() -> Router<KonnektorState> {
    Router::new()
        .route("/__konform/cards", get(list))
        .route("/__konform/cards/{handle}", get(one))
        .route("/__konform/cards/{handle}/pin", put(set_pin).post(set_pin))
        .route("/__konform/cards/{handle}/pin/next", post(queue))
        .route(
            "/__konform/cards/{handle}/inserted",
            put(inserted).post(inserted),
        )
}

fn not_found(handle: &str) -> ApiError {
    ApiError::not_found(format!("no card with handle `{handle}`"))
}

async fn list(State(st): State<KonnektorState>) -> Response {
    Json(st.cards()).into_response()
}

async fn one(
    State(st): State<KonnektorState>,
    Path(handle): Path<String>,
) -> Result<Response, ApiError> {
    st.card(&handle)
        .map(|c| Json(c).into_response())
        .ok_or_else(|| not_found(&handle))
}

async fn set_pin(
    State(st): State<KonnektorState>,
    Path(handle): Path<String>,
    AdminJson(update): AdminJson<PinUpdate>,
) -> Result<Response, ApiError> {
    if st.card(&handle).is_none() {
        return Err(not_found(&handle));
    }
    st.set_pin(&handle, &update)
        .map(|c| Json(c).into_response())
        .map_err(|e| match e {
            crate::Error::UnknownCard(_) => not_found(&handle),
            e => ApiError::bad_request(e.to_string()),
        })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Queue {
    answers: Vec<VerifyAnswer>,
}

async fn queue(
    State(st): State<KonnektorState>,
    Path(handle): Path<String>,
    AdminJson(q): AdminJson<Queue>,
) -> Result<Response, ApiError> {
    st.queue_verify(&handle, &q.answers)
        .map(|c| Json(c).into_response())
        .map_err(|_| not_found(&handle))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Inserted {
    inserted: bool,
}

async fn inserted(
    State(st): State<KonnektorState>,
    Path(handle): Path<String>,
    AdminJson(b): AdminJson<Inserted>,
) -> Result<Response, ApiError> {
    if st.card(&handle).is_none() {
        return Err(not_found(&handle));
    }
    st.set_inserted(&handle, b.inserted)
        .map(|c| Json(c).into_response())
        .map_err(|e| match e {
            crate::Error::UnknownCard(_) => not_found(&handle),
            e => ApiError::conflict(e.to_string()),
        })
}
