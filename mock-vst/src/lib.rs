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
    AuthMode, ContentTypeCheck, IdChecks, InvalidConfig, Profile, Registration, ReusePolicy,
    SignatureEncoding, SignatureInput, TokenHeader, TokenKey, VstConfig, WellknownSigner,
};
pub use process::{ErrorStream, InsurerId, StoredRecord};
pub use state::{Error, InsurerView, ProcessingError, StoredDelivery, VstState};

use std::future::Future;

impl sim_kit::Simulator for VstState {
    fn kit(&self) -> &sim_kit::Kit {
        VstState::kit(self)
    }
    fn reset(&self) {
        if let Err(e) = self.reset_state() {
            // Nothing to answer with here: the journal says it (the admin reset itself succeeded for the
            // kit's parts).
            self.kit().journal().record(sim_kit::JournalEntry {
                seq: 0,
                at: String::new(),
                simulator: String::new(),
                method: "RESET".into(),
                path: sim_kit::ADMIN_PREFIX.into(),
                operation: Some("reset".into()),
                status: 0,
                verdict: sim_kit::Verdict::Failed,
                diagnoses: vec![sim_kit::Diagnosis::new("simulator.store", e.to_string())],
                fault: None,
                duration_ms: 0.0,
                data: None,
            });
        }
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

/// Serve on `listener` until `shutdown` resolves (first resuming asynchronous checks a previous run left
/// unfinished in the store).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: VstState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    worker::resume(&state);
    sim_kit::serve::serve(listener, app(state), shutdown).await
}

/// Serve over TLS on `listener` until `shutdown` resolves ("Der Schutz der Datenübertragung … muss per
/// TLS gesichert sein"); `tls` from [`sim_kit::tls::server_config`], e.g. with the test PKI's
/// `tls/server.pem` and, for client authentication, `tls/ca.pem` as the client CA.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    state: VstState,
    tls: sim_kit::tls::TlsServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    worker::resume(&state);
    sim_kit::tls::serve_tls(listener, app(state), tls, shutdown).await
}

/// The TLS settings of the test PKI: its P-256 server certificate (`tls/server.pem`, for `localhost` and
/// `127.0.0.1`, chained to `tls/ca.pem`) and, with `client_auth`, `tls/ca.pem` as the CA of client
/// certificates.
pub fn tls_settings(pki: &ti_core::pki::TestPki, client_auth: bool) -> sim_kit::tls::TlsSettings {
    sim_kit::tls::TlsSettings {
        cert_chain_pem: pki.tls_server.cert_pem() + &pki.tls_ca.cert_pem(),
        key_pem: pki.tls_server.key_pem(),
        client_ca_pem: client_auth.then(|| pki.tls_ca.cert_pem()),
    }
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
