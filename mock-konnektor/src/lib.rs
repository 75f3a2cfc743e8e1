//! mock-konnektor — a TI Konnektor SOAP simulator.
//!
//! Serves `GET /connector.sds` (ServiceDirectory 3.1), SOAP 1.1 endpoints per service (`/ws/EventService`,
//! `/ws/CardService`, `/ws/CertificateService`, `/ws/SignatureService`, `/ws/AuthSignatureService`) and
//! `/Konnektorservice`, which dispatches on `SOAPAction` as the IRD seed's examples call it. Operations:
//! GetCards, GetCardTerminals, VerifyPin, GetPinStatus, ReadCardCertificate, VerifyCertificate,
//! SignDocument (CMS, detached or embedded), GetJobNumber, ExternalAuthenticate (ECDSA, DER). Faults are
//! tel/error 2.0 in the recorded shape; every rejection is journaled with a diagnosis. See
//! `docs/konnektor.md`.
//!
//! Code map: `xml` (strict, compact reader), `schema` (content models, typed access to matched children),
//! `soap` (Content-Type, envelope, SOAPAction → operation) with the table in `services`, `ops` (one module
//! per operation: typed request, parse, apply), `cards` (cards and the PIN state machine), `fault`
//! (tel/error), `sds` (connector.sds) and `write` have no I/O and read no clock; `state` holds the
//! simulator's state; `http` and `admin` are the axum edge.

pub mod admin;
pub mod cards;
pub mod config;
pub mod fault;
pub mod http;
pub mod ops;
pub mod schema;
pub mod sds;
pub mod services;
pub mod soap;
pub mod state;
pub mod write;
pub mod xml;

pub use cards::{CardView, PinUpdate, VerifyAnswer};
pub use config::{
    CardConfig, ConfigError, ContextConfig, DEFAULT_CARD_HANDLE, KeySource, KonnektorConfig,
    LimitsConfig, PinConfig, PinStatus, TerminalConfig,
};
pub use state::{Error, KonnektorState};

use std::future::Future;

/// The router: SOAP endpoints, `connector.sds`, and the admin API.
pub fn app(state: KonnektorState) -> axum::Router {
    let routes = http::routes(&state).merge(admin::routes());
    sim_kit::admin::finish(routes, state)
}

/// Serve over TLS (optionally requiring client certificates, see [`sim_kit::tls::server_config`]) until
/// `shutdown` resolves. connector.sds then says `TLSMandatory` true and names `https` endpoints.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    state: KonnektorState,
    tls: sim_kit::tls::TlsServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    sim_kit::tls::serve_tls(listener, app(state), tls, shutdown).await
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: KonnektorState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    sim_kit::serve::serve(listener, app(state), shutdown).await
}

/// Entry point for the `soap_envelope` fuzz target (`fuzz/fuzz_targets/soap_envelope.rs`): parse an
/// envelope with the server's limits and, when it holds a known operation, validate and execute it against
/// a simulator with a verified default card. Must never panic, whatever the input.
#[doc(hidden)]
#[allow(clippy::expect_used)]
pub fn fuzz_soap_envelope(data: &[u8]) {
    use std::sync::{Arc, OnceLock};
    static STATE: OnceLock<KonnektorState> = OnceLock::new();
    let st = STATE.get_or_init(|| {
        let pki = ti_core::pki::TestPki::generate(&ti_core::pki::PkiOptions::default())
            .expect("test PKI");
        let cfg = KonnektorConfig {
            pin_initially_verified: true,
            ..KonnektorConfig::default()
        };
        KonnektorState::new(cfg, Arc::new(pki)).expect("default config")
    });
    let limits = st.config().limits;
    let Ok(doc) = xml::parse(
        data,
        xml::Limits {
            max_depth: limits.max_depth,
            max_elements: limits.max_elements,
        },
    ) else {
        return;
    };
    let Ok(el) = soap::payload(&doc) else { return };
    let Ok(op) = soap::resolve(None, None, &el) else {
        return;
    };
    let env = ops::OpEnv {
        now: std::time::SystemTime::now(),
        corrupt_signature: false,
    };
    if let Ok(ok) = ops::execute(st, op, &el, &env) {
        // The answer must be well-formed XML.
        let answer = write::envelope(&ok.body);
        xml::parse(answer.as_bytes(), xml::Limits::default()).expect("responses are well-formed");
    }
}
