//! mock-melderegister — the Melderegisterdatenspiegel Niedersachsen's Applikationskopplung.
//!
//! Two listeners: the **web service** ([`service_app`], HTTPS with required client certificates,
//! `POST /okkommbis/services/XoevService`) and the **portal** ([`app`], plain HTTP: the self-service order
//! page `/minca/` and the admin API `/__konform/`). Protocol cores with no I/O: [`search`] (DIN 91379
//! normalisation, Kölner Phonetik, the BMeldDAV matching rules, the index), [`register`] (the synthetic
//! register), [`xmeld`] (1330/1332 in, 1331/1333 out), [`soap`] (the binding), [`codes`]. The edge:
//! [`service`], [`tls`], [`admin`]. See `docs/melderegister.md`.

pub mod admin;
pub mod bestellung;
pub mod bundle;
pub mod codes;
pub mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod portal;
pub mod register;
pub mod search;
pub mod service;
pub mod soap;
pub mod state;
pub mod tls;
pub mod xmeld;
pub mod zertifikat;

pub use config::{KundennummerOrt, MandantConfig, MelderegisterConfig};
pub use state::MelderegisterState;

use std::future::Future;

/// The mirror as author of its answers (fictitious contact data).
pub fn absender(cfg: &MelderegisterConfig) -> xmeld::write::Absender {
    xmeld::write::Absender {
        kennung: cfg.eigene_kennung.clone(),
        name: "Melderegisterdatenspiegel Niedersachsen (konform-Simulator, fiktive Daten)".into(),
        email: "melderegister@simulator.invalid".into(),
        telefon: "0511 0000000".into(),
        strasse: "Simulatorweg".into(),
        hausnummer: "1".into(),
        plz: "30159".into(),
        ort: "Hannover".into(),
    }
}

/// The web service router (journaled, no admin routes: those live on the portal listener).
pub fn service_app(st: MelderegisterState) -> axum::Router {
    use sim_kit::Simulator;
    let kit = st.kit().clone();
    service::routes()
        .layer(axum::middleware::from_fn_with_state(
            kit,
            sim_kit::kit_layer,
        ))
        .with_state(st)
}

/// The portal router: the order page `/minca/` and the admin API.
pub fn app(st: MelderegisterState) -> axum::Router {
    sim_kit::admin::finish(portal::routes().merge(admin::routes()), st)
}

/// TLS for the web service: the test PKI's server certificate (valid for 127.0.0.1 and localhost), client
/// certificates required and verified against the TLS CA (which issues the ordered certificates).
pub fn service_tls(
    pki: &ti_core::pki::TestPki,
) -> Result<sim_kit::tls::TlsServerConfig, sim_kit::tls::TlsError> {
    sim_kit::tls::server_config(&sim_kit::tls::TlsSettings {
        cert_chain_pem: pki.tls_server.cert_pem() + &pki.tls_ca.cert_pem(),
        key_pem: pki.tls_server.key_pem(),
        client_ca_pem: Some(pki.tls_ca.cert_pem()),
    })
}

/// Serve the portal (plain HTTP) until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    st: MelderegisterState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    sim_kit::serve::serve(listener, app(st), shutdown).await
}

/// Serve the web service over TLS until `shutdown` resolves.
pub async fn serve_service(
    listener: tokio::net::TcpListener,
    st: MelderegisterState,
    tls: sim_kit::tls::TlsServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tls::serve_tls(listener, st, tls, shutdown).await
}
