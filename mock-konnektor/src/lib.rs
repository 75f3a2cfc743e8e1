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
//! Modules with no I/O (`xml`, `schema`, `soap`, `cards`, `ops`, `fault`, `sds`) carry the protocol logic;
//! `http` and `admin` are the axum edge.

pub mod admin;
pub mod cards;
pub mod config;
pub mod fault;
pub mod http;
pub mod ops;
pub mod schema;
pub mod sds;
pub mod soap;
pub mod write;
pub mod xml;

pub use cards::{CardView, PinUpdate, VerifyAnswer};
pub use config::{
    CardConfig, ContextConfig, DEFAULT_CARD_HANDLE, KeySource, KonnektorConfig, LimitsConfig,
    PinConfig, PinStatus, TerminalConfig,
};

use sim_kit::{Kit, Simulator};
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use ti_core::pki::TestPki;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Konnektor configuration: {0}")]
    Config(String),
}

/// The simulator: configuration, cards, PIN state, journal and faults. Cheap to clone.
#[derive(Clone)]
pub struct KonnektorState {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub kit: Kit,
    pub config: KonnektorConfig,
    pub pki: Arc<TestPki>,
    pub cards: Vec<cards::Card>,
    pub state: Mutex<Vec<cards::CardState>>,
    pub job_counter: AtomicU64,
}

impl KonnektorState {
    pub fn new(config: KonnektorConfig, pki: Arc<TestPki>) -> Result<Self, Error> {
        let built = cards::build(&config, &pki).map_err(Error::Config)?;
        let state = built
            .iter()
            .map(|c| cards::CardState::initial(&c.initial_pin, c.cfg.inserted))
            .collect();
        Ok(KonnektorState {
            inner: Arc::new(Inner {
                kit: Kit::new("konnektor"),
                config,
                pki,
                cards: built,
                state: Mutex::new(state),
                job_counter: AtomicU64::new(0),
            }),
        })
    }

    pub fn config(&self) -> &KonnektorConfig {
        &self.inner.config
    }

    pub fn pki(&self) -> &Arc<TestPki> {
        &self.inner.pki
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Vec<cards::CardState>> {
        // Every state change is a single assignment under the lock, so a poisoned lock is consistent.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn index(&self, handle: &str) -> Result<usize, Error> {
        self.inner
            .cards
            .iter()
            .position(|c| c.cfg.handle == handle)
            .ok_or_else(|| Error::Config(format!("no card with handle `{handle}`")))
    }

    /// Every configured card with its current state (inserted or not).
    pub fn cards(&self) -> Vec<CardView> {
        let st = self.lock();
        self.inner
            .cards
            .iter()
            .zip(st.iter())
            .map(|(c, s)| c.view(s))
            .collect()
    }

    pub fn card(&self, handle: &str) -> Option<CardView> {
        let i = self.index(handle).ok()?;
        let st = self.lock();
        Some(self.inner.cards[i].view(&st[i]))
    }

    /// Change a card's PIN state (status, left tries, scripted VerifyPin answers).
    pub fn set_pin(&self, handle: &str, update: &PinUpdate) -> Result<CardView, Error> {
        let i = self.index(handle)?;
        let mut st = self.lock();
        let mut next = st[i].clone();
        update.apply(&mut next).map_err(Error::Config)?;
        st[i] = next;
        Ok(self.inner.cards[i].view(&st[i]))
    }

    /// Shortcut: set the PIN status only.
    pub fn set_pin_status(&self, handle: &str, status: PinStatus) -> Result<CardView, Error> {
        self.set_pin(
            handle,
            &PinUpdate {
                status: Some(status),
                ..Default::default()
            },
        )
    }

    /// Append answers for the next VerifyPin calls on this card.
    pub fn queue_verify(&self, handle: &str, answers: &[VerifyAnswer]) -> Result<CardView, Error> {
        let i = self.index(handle)?;
        let mut st = self.lock();
        st[i].next_verify.extend(answers.iter().copied());
        Ok(self.inner.cards[i].view(&st[i]))
    }

    /// Insert or remove a card.
    pub fn set_inserted(&self, handle: &str, inserted: bool) -> Result<CardView, Error> {
        let i = self.index(handle)?;
        let mut st = self.lock();
        if inserted && !st[i].inserted {
            let me = &self.inner.cards[i];
            let taken =
                self.inner.cards.iter().zip(st.iter()).any(|(c, s)| {
                    s.inserted && c.cfg.ct_id == me.cfg.ct_id && c.slot_id == me.slot_id
                });
            if taken {
                return Err(Error::Config(format!(
                    "slot {} of terminal `{}` is taken by another inserted card",
                    me.slot_id, me.cfg.ct_id
                )));
            }
        }
        st[i].inserted = inserted;
        if !inserted {
            // A card pulled out loses its security state, as a real card does.
            if st[i].pin == PinStatus::Verified {
                st[i].pin = PinStatus::Verifiable;
            }
        }
        Ok(self.inner.cards[i].view(&st[i]))
    }
}

impl Simulator for KonnektorState {
    fn kit(&self) -> &Kit {
        &self.inner.kit
    }
    fn reset(&self) {
        let mut st = self.lock();
        for (s, c) in st.iter_mut().zip(self.inner.cards.iter()) {
            *s = cards::CardState::initial(&c.initial_pin, c.cfg.inserted);
        }
    }
    fn describe(&self) -> serde_json::Value {
        let ctx = &self.inner.config.context;
        serde_json::json!({
            "context": ctx,
            "pin_initially_verified": self.inner.config.pin_initially_verified,
            "cards": self.cards(),
            "terminals": self.inner.config.terminals.iter().map(|t| &t.ct_id).collect::<Vec<_>>(),
            "endpoints": sds::endpoint_paths(),
        })
    }
}

/// The router: SOAP endpoints, `connector.sds`, and the admin API.
pub fn app(state: KonnektorState) -> axum::Router {
    let routes = http::routes().merge(admin::routes());
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
pub fn fuzz_soap_envelope(data: &[u8]) {
    use std::sync::OnceLock;
    static STATE: OnceLock<KonnektorState> = OnceLock::new();
    let st = STATE.get_or_init(|| {
        let pki = TestPki::generate(&ti_core::pki::PkiOptions::default()).expect("test PKI");
        let cfg = KonnektorConfig {
            pin_initially_verified: true,
            ..KonnektorConfig::default()
        };
        KonnektorState::new(cfg, Arc::new(pki)).expect("default config")
    });
    let limits = st.config().limits;
    let parsed = soap::parse_envelope(
        data,
        xml::Limits {
            max_depth: limits.max_depth,
            max_elements: limits.max_elements,
        },
    );
    if let Ok(el) = parsed {
        if let Some(op) = soap::by_element(&el) {
            if op.implemented {
                if let Ok(ok) = ops::execute(st, op, &el, false) {
                    // The answer must be well-formed XML.
                    let env = write::envelope(&ok.body);
                    xml::parse(env.as_bytes(), xml::Limits::default())
                        .expect("responses are well-formed");
                }
            }
        }
    }
}
