//! OSCI admin routes under `/__konform/` (besides the shared journal/faults/reset/health):
//!
//! | route | does |
//! |---|---|
//! | `GET /__konform/process-cards` | every Laufzettel (MessageId, addressee, Creation/Forwarding/Reception, inspections) |
//! | `GET /__konform/certificates` | the intermediary's cipher and signature certificates (PEM) and the trusted CAs |

use crate::OsciState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sim_kit::admin::ApiError;

pub fn routes() -> Router<OsciState> {
    Router::new()
        .route("/__konform/process-cards", get(cards))
        .route("/__konform/certificates", get(certificates))
}

async fn cards(State(st): State<OsciState>) -> Result<Response, ApiError> {
    let cards = st
        .process_cards()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(cards).into_response())
}

async fn certificates(State(st): State<OsciState>) -> Response {
    let k = st.keys();
    Json(serde_json::json!({
        "cipher": k.cipher.0.to_pem(),
        "signature": k.signature.0.to_pem(),
        "trusted_cas": k.trust.cas.iter().map(super::certs::Cert::to_pem).collect::<Vec<_>>(),
    }))
    .into_response()
}
