//! `mock-vst`: a simulator of the Vertrauensstelle IRD (VST) API for insurers, faithful to the seed
//! (`shared/seeds/002_63d74fbbe60b04e8.txt`, "IRD Technische Spezifikation für Versicherungsträger"):
//! the same endpoints, the same status codes, and — unlike the real service — an explanation of every
//! rejection (rule, JSON pointer, seed passage) in the journal and the `X-Konform-Diagnosis` header.
//!
//! - [`json`]: strict JSON parser (comments, duplicate keys, depth, numbers, UTF-8), borrowing strings
//! - [`model`]: the seed's request types, case-insensitive names, unknown properties, types, base64
//! - [`process`]: every delivery check (CMS signature with near-miss diagnosis, decryption for the right
//!   recipient, KVNR/IK, key reuse) and the asynchronous Registerstelle checks; no I/O
//! - [`wellknown`]: the signed key document; [`paths`]: the seed's paths
//! - [`state`]: registrations, mailboxes, stored deliveries ([`VstState`]); no HTTP, no async runtime
//! - the edge: [`http`] (the seed's routes, signed responses, `openapi.json`), [`admin`] (`/__konform/`),
//!   [`worker`] (where the asynchronous checks run)
//!
//! Documentation for users: `docs/vst.md`.

pub mod admin;
pub mod config;
pub mod http;
pub mod json;
pub mod model;
pub mod paths;
pub mod process;
pub mod seed;
pub mod state;
pub mod wellknown;
pub mod worker;

pub use config::{
    AuthMode, IdChecks, InvalidConfig, Profile, Registration, ReusePolicy, SignatureEncoding,
    SignatureInput, VstConfig,
};
pub use process::{ErrorStream, InsurerId, StoredRecord};
pub use state::{Error, InsurerView, ProcessingError, StoredDelivery, VstState};

use std::future::Future;

impl sim_kit::Simulator for VstState {
    fn kit(&self) -> &sim_kit::Kit {
        VstState::kit(self)
    }
    fn reset(&self) {
        self.reset_state();
    }
    fn describe(&self) -> serde_json::Value {
        self.describe_state()
    }
}

/// The simulator as a router: the seed's API, the admin API under `/__konform/`, the kit layer
/// (journal, diagnosis header, fault injection).
pub fn app(state: VstState) -> axum::Router {
    let routes = http::api_routes().merge(admin::admin_routes());
    sim_kit::admin::finish(routes, state)
}

/// Serve on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: VstState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    sim_kit::serve::serve(listener, app(state), shutdown).await
}

/// The `Authorization` header value for a client: `IRD <base64(TelematikId|HauptIK)>.<base64(signature)>`,
/// the signature being the DER ECDSA signature the SMC-B's C.AUT key (ExternalAuthenticate) made over
/// SHA-256(`TelematikId|HauptIK`).
pub fn auth_header(telematik_id: &str, haupt_ik: &str, aut_signature_der: &[u8]) -> String {
    let ident = ti_core::sig_input::registration_input(telematik_id, haupt_ik);
    format!(
        "IRD {}.{}",
        ti_core::b64_encode(&ident),
        ti_core::b64_encode(aut_signature_der)
    )
}
