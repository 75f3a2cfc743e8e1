//! mock-xta — an XTA 2.1.1 server (XTA-WS, SOAP 1.2 with WS-Addressing, inline base64 and MTOM/XOP) with
//! transport profiles as data, durable mailboxes and explained faults. The first profile is
//! FIM-Versammlungsanzeige 1.4 from seed `001_9f056f430192a776.txt`. See `docs/xta.md`.
//!
//! Protocol cores without I/O: [`xml`] (streaming envelope reader, message scan), [`mime`] (Content-Type,
//! streaming multipart), [`soap`] (envelope and addressing checks, response envelopes), [`fault`] (the XTA
//! code list), [`model`] (transport order, parties, content attributes), [`profile`] (profile files and
//! their checks), [`report`] (transport report status). The edge: [`ops`] (one file per operation: parse a
//! typed request, apply it to the state), [`http`] (endpoints, MTOM in and out, streaming), [`admin`],
//! [`wsdl`]; the state lives in the shared store ([`db`]).

pub mod admin;
pub mod auth;
pub mod config;
pub mod db;
pub mod fault;
pub mod http;
pub mod mime;
pub mod model;
pub mod ns;
pub mod ops;
pub mod pki;
pub mod profile;
pub mod report;
pub mod soap;
pub mod wire;
pub mod wsdl;
pub mod xml;

pub use config::{AccountConfig, XtaConfig};

use sim_kit::store::{Store, StoreError};
use sim_kit::{Kit, Simulator};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use ti_core::pki::TestPki;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("XTA configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Profile(#[from] profile::ProfileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("XTA certificates: {0}")]
    Pki(#[from] ti_core::Error),
}

/// The simulator: configuration, profiles, accounts, the store. Cheap to clone.
#[derive(Clone)]
pub struct XtaState {
    inner: Arc<Inner>,
}

struct Inner {
    kit: Kit,
    config: XtaConfig,
    profiles: profile::Profiles,
    store: Store,
    pki: Arc<TestPki>,
    /// Accounts as configured, changed at run time through the admin API (lock, add); reset restores them.
    accounts: RwLock<Vec<AccountConfig>>,
    /// Encryption certificate (DER) per organisation offering a service (lookupService).
    enc_certs: RwLock<HashMap<String, Vec<u8>>>,
    /// Seconds added to the wall clock (admin API), to test NotBefore and iterator expiry.
    clock_offset: AtomicI64,
}

/// Load the built-in profiles, the configured files, and apply the switches.
pub fn load_profiles(config: &XtaConfig) -> Result<profile::Profiles, Error> {
    let mut list: Vec<profile::Profile> = profile::Profiles::builtin()?.all().to_vec();
    for path in &config.profile_files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("profile file {}: {e}", path.display())))?;
        let p = profile::parse(&text, &path.display().to_string())?;
        list.retain(|x| x.id != p.id);
        list.push(p);
    }
    for (id, sw) in &config.profile_switches {
        let p = list.iter_mut().find(|p| p.id == *id).ok_or_else(|| {
            Error::Config(format!("profile_switches: no transport profile `{id}`"))
        })?;
        sw.apply(p);
    }
    profile::Profiles::new(list).map_err(Error::Config)
}

impl XtaState {
    /// Build the simulator on `store` (its `xta_*` tables are created or migrated).
    pub fn new(config: XtaConfig, pki: Arc<TestPki>, store: Store) -> Result<XtaState, Error> {
        config.validate().map_err(Error::Config)?;
        let profiles = load_profiles(&config)?;
        store.migrate(db::COMPONENT, db::MIGRATIONS)?;
        let st = XtaState {
            inner: Arc::new(Inner {
                kit: Kit::new("xta"),
                accounts: RwLock::new(config.accounts.clone()),
                config,
                profiles,
                store,
                pki,
                enc_certs: RwLock::new(HashMap::new()),
                clock_offset: AtomicI64::new(0),
            }),
        };
        st.issue_enc_certs()?;
        Ok(st)
    }

    /// An in-memory simulator (tests, the scenario runner).
    pub fn ephemeral(config: XtaConfig, pki: Arc<TestPki>) -> Result<XtaState, Error> {
        XtaState::new(config, pki, Store::ephemeral()?)
    }

    fn issue_enc_certs(&self) -> Result<(), Error> {
        let now = std::time::SystemTime::now();
        let mut map = HashMap::new();
        for a in self.accounts().iter().filter(|a| !a.offers.is_empty()) {
            map.insert(
                a.id.clone(),
                pki::issue_encryption_cert(&self.inner.pki, a, now)?,
            );
        }
        *self
            .inner
            .enc_certs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = map;
        Ok(())
    }

    pub fn kit(&self) -> &Kit {
        &self.inner.kit
    }
    pub fn config(&self) -> &XtaConfig {
        &self.inner.config
    }
    pub fn profiles(&self) -> &profile::Profiles {
        &self.inner.profiles
    }
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    pub fn pki(&self) -> &Arc<TestPki> {
        &self.inner.pki
    }

    /// The accounts as they are now.
    pub fn accounts(&self) -> Vec<AccountConfig> {
        self.inner
            .accounts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn account(&self, id: &str) -> Option<AccountConfig> {
        self.inner
            .accounts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|a| a.id == id)
            .cloned()
    }

    /// Add or replace an account (admin API). Its encryption certificate is issued if it offers services.
    pub fn put_account(&self, a: AccountConfig) -> Result<(), Error> {
        let mut all = self.accounts();
        all.retain(|x| x.id != a.id);
        all.push(a.clone());
        let mut cfg = self.inner.config.clone();
        cfg.accounts = all.clone();
        cfg.validate().map_err(Error::Config)?;
        if !a.offers.is_empty() {
            let cert =
                pki::issue_encryption_cert(&self.inner.pki, &a, std::time::SystemTime::now())?;
            self.inner
                .enc_certs
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(a.id.clone(), cert);
        }
        *self
            .inner
            .accounts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = all;
        Ok(())
    }

    pub fn enc_cert(&self, id: &str) -> Option<Vec<u8>> {
        self.inner
            .enc_certs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// The simulator's clock (wall clock plus the admin offset).
    pub fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
            + time::Duration::seconds(self.inner.clock_offset.load(Ordering::Relaxed))
    }

    pub fn set_clock_offset(&self, secs: i64) {
        self.inner.clock_offset.store(secs, Ordering::Relaxed);
    }

    pub fn clock_offset(&self) -> i64 {
        self.inner.clock_offset.load(Ordering::Relaxed)
    }

    /// Back to the configuration: accounts, clock, and an empty store (messages, reports, iterators).
    pub fn reset_state(&self) -> Result<(), Error> {
        *self
            .inner
            .accounts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            self.inner.config.accounts.clone();
        self.set_clock_offset(0);
        self.issue_enc_certs()?;
        db::clear(&self.inner.store)?;
        Ok(())
    }
}

impl Simulator for XtaState {
    fn kit(&self) -> &Kit {
        &self.inner.kit
    }
    fn reset(&self) {
        if let Err(e) = self.reset_state() {
            tracing::error!("xta reset failed: {e}");
        }
    }
    fn describe(&self) -> serde_json::Value {
        let counts = self.inner.store.read(db::counts).unwrap_or((0, 0));
        serde_json::json!({
            "accounts": self.accounts().iter().map(|a| serde_json::json!({
                "id": a.id, "name": a.name, "locked": a.locked,
                "books": a.books, "offers": a.offers.iter().map(|o| &o.service).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "profiles": self.inner.profiles.all().iter().map(|p| serde_json::json!({"id": p.id, "service": p.service.uri})).collect::<Vec<_>>(),
            "messages": counts.0,
            "open_messages": counts.1,
            "durable": !self.inner.store.is_ephemeral(),
            "clock_offset_secs": self.clock_offset(),
            "endpoints": ns::Port::ALL.iter().map(|p| serde_json::json!({"port": p.wsdl_name(), "path": p.path()})).collect::<Vec<_>>(),
            "wsdl": "/xta.wsdl",
        })
    }
}

/// The router: the three port endpoints, `GET /xta.wsdl`, and the admin API.
pub fn app(state: XtaState) -> axum::Router {
    let routes = http::routes().merge(admin::routes());
    sim_kit::admin::finish(routes, state)
}

/// Serve plain HTTP until `shutdown` resolves (identity from the Author header, with a diagnosis saying so).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: XtaState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    sim_kit::serve::serve(listener, app(state), shutdown).await
}

/// Serve HTTPS until `shutdown` resolves; with client authentication the certificate identifies the account.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    state: XtaState,
    tls: sim_kit::tls::TlsServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    sim_kit::tls::serve_tls(listener, app(state), tls, shutdown).await
}

/// TLS settings for the XTA server from the test PKI: the server certificate (127.0.0.1 and localhost),
/// client certificates required from the TLS CA.
pub fn tls_settings(pki: &TestPki) -> sim_kit::tls::TlsSettings {
    sim_kit::tls::TlsSettings {
        cert_chain_pem: pki.tls_server.cert_pem() + &pki.tls_ca.cert_pem(),
        key_pem: pki.tls_server.key_pem(),
        client_ca_pem: Some(pki.tls_ca.cert_pem()),
    }
}
