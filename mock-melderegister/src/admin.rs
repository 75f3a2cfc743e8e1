//! Admin API under `/__konform/` (on the portal listener): Mandanten, Kundennummern, certificates, the
//! outbox, residents, and the clock. See `docs/melderegister.md`.

use crate::register::model::Einwohner;
use crate::state::{MelderegisterState, NS_OUTBOX};
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sim_kit::admin::{AdminJson, ApiError};
use sim_kit::store::kv;

/// An e-mail in the local outbox (no mail is ever sent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub id: String,
    pub an: String,
    pub von: String,
    pub betreff: String,
    pub text: String,
    pub erstellt: String,
    #[serde(default)]
    pub anhang: Option<Anhang>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anhang {
    pub dateiname: String,
    pub blob: String,
    pub bytes: u64,
}

pub fn routes() -> Router<MelderegisterState> {
    Router::new()
        .route("/__konform/mandanten", get(mandanten))
        .route("/__konform/mandanten/{id}/zertifikat", post(zertifikat))
        .route("/__konform/kundennummern", get(kundennummern))
        .route("/__konform/zertifikate/{fp}/sperren", post(sperren))
        .route("/__konform/zertifikate/{fp}/entsperren", post(entsperren))
        .route("/__konform/outbox", get(outbox))
        .route("/__konform/outbox/{id}/anhang", get(anhang))
        .route("/__konform/einwohner", post(einwohner))
        .route("/__konform/uhr", get(uhr_get).post(uhr_post))
}

fn store_err(e: impl std::fmt::Display) -> ApiError {
    ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        error: e.to_string(),
        detail: None,
    }
}

/// `GET /__konform/mandanten`: `id`, `name`, `ags`, `email`, `dvdv`, `security`, `certificates`.
async fn mandanten(State(st): State<MelderegisterState>) -> Result<Response, ApiError> {
    let certs = st.zertifikate().map_err(store_err)?;
    let v: Vec<_> = st
        .config()
        .mandanten
        .iter()
        .map(|m| {
            json!({
                "id": m.id, "name": m.name, "ags": m.ags, "email": m.email, "dvdv": m.dvdv, "security": m.security,
                "certificates": certs.iter().filter(|c| c.mandant == m.id).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(v).into_response())
}

async fn kundennummern(State(st): State<MelderegisterState>) -> Result<Response, ApiError> {
    let mut m = serde_json::Map::new();
    for x in &st.config().mandanten {
        m.insert(
            x.id.clone(),
            json!(st.kundennummer(&x.id).map_err(store_err)?),
        );
    }
    Ok(Json(m).into_response())
}

/// Issue a certificate directly (what an order yields, without the e-mails): PEM certificate and key.
async fn zertifikat(
    State(st): State<MelderegisterState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (ident, z, k) = crate::zertifikat::ausstellen(&st, &id).map_err(|e| match e {
        crate::zertifikat::AusstellenError::UnbekannterMandant(_) => {
            ApiError::not_found(e.to_string())
        }
        other => store_err(other),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "mandant": id, "kundennummer": k, "fingerprint": z.fingerprint,
            "cert_pem": ident.cert_pem(), "key_pem": ident.key_pem(),
        })),
    )
        .into_response())
}

async fn sperren(st: State<MelderegisterState>, fp: Path<String>) -> Result<StatusCode, ApiError> {
    set_revoked(st, fp, true)
}

async fn entsperren(
    st: State<MelderegisterState>,
    fp: Path<String>,
) -> Result<StatusCode, ApiError> {
    set_revoked(st, fp, false)
}

fn set_revoked(
    State(st): State<MelderegisterState>,
    Path(fp): Path<String>,
    revoked: bool,
) -> Result<StatusCode, ApiError> {
    if st.set_revoked(&fp, revoked).map_err(store_err)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "no certificate with fingerprint {fp}"
        )))
    }
}

async fn outbox(State(st): State<MelderegisterState>) -> Result<Response, ApiError> {
    let v: Vec<(String, Mail)> = st
        .store()
        .read(|c| kv::list(c, NS_OUTBOX))
        .map_err(store_err)?;
    Ok(Json(v.into_iter().map(|(_, m)| m).collect::<Vec<_>>()).into_response())
}

async fn anhang(
    State(st): State<MelderegisterState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let m: Option<Mail> = st
        .store()
        .read(|c| kv::get(c, NS_OUTBOX, &id))
        .map_err(store_err)?;
    let a = m
        .and_then(|m| m.anhang)
        .ok_or_else(|| ApiError::not_found(format!("no mail {id} with an attachment")))?;
    let mut f = st.store().open_blob(&a.blob).map_err(store_err)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut bytes).map_err(store_err)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", a.dateiname),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// `POST /__konform/einwohner`: a JSON array of residents (fictitious), added to the register and stored.
async fn einwohner(
    State(st): State<MelderegisterState>,
    AdminJson(v): AdminJson<Vec<Einwohner>>,
) -> Result<Response, ApiError> {
    if v.len() > 100_000 {
        return Err(ApiError::bad_request(
            "at most 100,000 residents per request",
        ));
    }
    let n = v.len();
    let total = st.add_einwohner(v).map_err(store_err)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "added": n, "residents": total })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Uhr {
    #[serde(default)]
    vorstellen_stunden: i64,
    #[serde(default)]
    vorstellen_sekunden: i64,
}

async fn uhr_get(State(st): State<MelderegisterState>) -> Response {
    Json(json!({ "offset_seconds": st.offset(), "now": st.now().format(&time::format_description::well_known::Rfc3339).unwrap_or_default() })).into_response()
}

/// Move the simulator clock forward (e.g. 49 hours to expire Identifikationsmerkmale).
async fn uhr_post(
    State(st): State<MelderegisterState>,
    AdminJson(u): AdminJson<Uhr>,
) -> Result<Response, ApiError> {
    let secs = u
        .vorstellen_stunden
        .saturating_mul(3600)
        .saturating_add(u.vorstellen_sekunden);
    if !(0..=10 * 365 * 86_400).contains(&secs) {
        return Err(ApiError::bad_request(
            "the clock moves forward only, by at most ten years",
        ));
    }
    st.advance(secs);
    Ok(uhr_get(State(st)).await)
}
