//! mock-osci — an OSCI-Transport 1.2 intermediary (Intermediär) for the scenario "One-Way-Message,
//! aktiver Empfänger, Protokollierung" of the FIM-Versammlungsanzeige seed (section 4.2).
//!
//! One HTTP endpoint (plain HTTP, profile rule 8) takes the library's MIME entities: GetMessageId,
//! StoreDelivery, InitDialog, FetchDelivery, FetchProcessCard, ExitDialog. Requests are transport-encrypted
//! for the intermediary (RSA-OAEP + AES-256-GCM), answers encrypted for the client and signed with the
//! intermediary's key (RSA-SHA256 over the canonical form). Deliveries wait in durable mailboxes per
//! addressee cipher certificate with their Laufzettel. See `docs/osci.md`.
//!
//! Protocol core without I/O: `mime`, `xml`, `c14n`, `crypto`, `outer`, `request`, `dialog`, `feedback`,
//! `write`, `laufzettel`, `sigcheck`, `ops`; `p12` and `certs` read keys and certificates; `mailbox`
//! is the store; `http`/`admin` the axum edge.

pub mod admin;
pub mod c14n;
pub mod certs;
pub mod client;
pub mod config;
pub mod crypto;
pub mod dialog;
pub mod feedback;
pub mod http;
pub mod laufzettel;
pub mod mailbox;
pub mod mime;
pub mod ops;
pub mod outer;
pub mod p12;
pub mod pki;
pub mod profile;
pub mod recipient;
pub mod request;
pub mod sigcheck;
pub mod testpki;
pub mod write;
pub mod xml;

pub use config::{OsciConfig, ProfileMode};
pub use pki::{Identity, IntermediaryKeys};
pub use testpki::OsciPki;

use sim_kit::store::Store;
use sim_kit::{Kit, Simulator};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("OSCI configuration: {0}")]
    Config(String),
    #[error("OSCI store: {0}")]
    Store(#[from] sim_kit::store::StoreError),
}

/// The simulator: configuration, keys, store, open dialogs, journal and faults. Cheap to clone.
#[derive(Clone)]
pub struct OsciState {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub kit: Kit,
    pub config: OsciConfig,
    pub keys: pki::IntermediaryKeys,
    pub store: Store,
    pub dialogs: Mutex<dialog::Dialogs>,
    pub profile: profile::Profile,
}

impl OsciState {
    pub fn new(
        config: OsciConfig,
        keys: pki::IntermediaryKeys,
        store: Store,
    ) -> Result<Self, Error> {
        mailbox::migrate(&store)?;
        let profile = profile::fim().map_err(Error::Config)?;
        // ConversationIds start from the clock so that ids of an earlier run are not reused.
        let first =
            (time::OffsetDateTime::now_utc().unix_timestamp() as u64 % 1_000_000) * 1000 + 1;
        Ok(OsciState {
            inner: Arc::new(Inner {
                kit: Kit::new("osci"),
                config,
                keys,
                store,
                dialogs: Mutex::new(dialog::Dialogs::new(first)),
                profile,
            }),
        })
    }
    pub fn config(&self) -> &OsciConfig {
        &self.inner.config
    }
    pub fn keys(&self) -> &pki::IntermediaryKeys {
        &self.inner.keys
    }
    pub fn profile(&self) -> &profile::Profile {
        &self.inner.profile
    }
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    pub(crate) fn dialogs(&self) -> MutexGuard<'_, dialog::Dialogs> {
        // Every change is applied whole under the lock, so a poisoned lock is consistent.
        self.inner
            .dialogs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    /// Every Laufzettel (admin API).
    pub fn process_cards(&self) -> Result<Vec<mailbox::ProcessCard>, Error> {
        Ok(mailbox::all_cards(&self.inner.store)?)
    }
}

impl Simulator for OsciState {
    fn kit(&self) -> &Kit {
        &self.inner.kit
    }
    fn reset(&self) {
        self.dialogs().clear();
        if let Err(e) = mailbox::clear(&self.inner.store) {
            tracing::warn!("osci reset: {e}");
        }
    }
    fn describe(&self) -> serde_json::Value {
        let cards = mailbox::all_cards(&self.inner.store)
            .map(|c| c.len())
            .unwrap_or(0);
        serde_json::json!({
            "endpoint": self.inner.config.path,
            "profile": self.inner.config.profile,
            "intermediary_cipher_certificate": self.inner.keys.cipher.0.subject(),
            "intermediary_signature_certificate": self.inner.keys.signature.0.subject(),
            "trusted_cas": self.inner.keys.trust.cas.iter().map(certs::Cert::subject).collect::<Vec<_>>(),
            "sign_responses": self.inner.config.sign_responses,
            "deliveries": cards,
            "open_dialogs": self.dialogs().len(),
        })
    }
}

/// The router: the OSCI endpoint and the admin API.
pub fn app(state: OsciState) -> axum::Router {
    let routes = http::routes(&state.inner.config.path).merge(admin::routes());
    sim_kit::admin::finish(routes, state)
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: OsciState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    sim_kit::serve::serve(listener, app(state), shutdown).await
}

/// Entry point of the `osci_mime` fuzz target: the MIME parser must never panic, and every part it
/// returns must lie inside the input.
#[doc(hidden)]
pub fn fuzz_mime(data: &[u8]) {
    if let Ok(m) = mime::parse(data, mime::Limits::default()) {
        for p in &m.parts {
            assert!(p.body.start <= p.body.end && p.body.end <= data.len());
        }
    }
}

/// Entry point of the `osci_envelope` fuzz target: read an (inner) SOAP envelope as a request, check
/// its signature, its profile and the canonical form of every Id-bearing part. Must never panic.
#[doc(hidden)]
pub fn fuzz_envelope(data: &[u8]) {
    let Ok(doc) = xml::parse(data, xml::Limits::default()) else {
        return;
    };
    if let Ok(req) = request::parse(&doc) {
        let _ = sigcheck::verify(&doc, &req, |_| None);
        if let Ok(p) = profile::fim() {
            let _ = profile::content(&req, &doc, data.len(), &p.parameters);
        }
        for id in &req.ids {
            if let Some(path) = c14n::path_to_id(&doc.root, id) {
                let canonical = c14n::canonicalize(doc.src, &path);
                // The canonical form is itself well-formed XML.
                assert!(
                    xml::parse(
                        &canonical,
                        xml::Limits {
                            max_depth: 64,
                            max_elements: usize::MAX
                        }
                    )
                    .is_ok()
                );
            }
        }
    }
}
