//! The simulator's per-instance state ([`VstState`]): registrations, mailboxes (requests, anonymizations,
//! processing errors per insurer), accepted deliveries, reuse fingerprints. One mutex guards the data, so a
//! delivery is committed whole or not at all, and a concurrent poll never sees half of it.
//!
//! No HTTP and no async runtime here: the edge (`http`, `admin`, `worker`) extracts what a request
//! carries and calls in.
//!
//! - [`auth`]: the login token
//! - [`registry`]: the registered insurers
//! - [`mailbox`]: what an insurer polls
//! - [`deliveries`]: checking and committing a delivery
//! - [`pending`]: bookkeeping of the asynchronous checks

pub mod auth;
pub mod deliveries;
pub mod mailbox;
pub mod pending;
mod persist;
pub mod registry;

pub use auth::Credentials;
pub use deliveries::{Committed, StoredDelivery};
pub use mailbox::{ListKind, Polled, ProcessingError};
pub use pending::PendingJob;
pub use registry::{
    Insurer, InsurerView, RegistrationError, default_registration, parse_certificate,
    verify_registration,
};

use crate::config::{InvalidConfig, Profile, SignatureEncoding, VstConfig, WellknownSigner};
use crate::process::{InsurerId, ReuseIndex};
use deliveries::DeliveryKey;
use mailbox::Mailbox;
use sim_kit::Kit;
use sim_kit::store::{Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use ti_core::b64_encode;
use ti_core::ids::{Environment, KvnrError};
use ti_core::pki::TestPki;
use tokio::sync::watch;
use x509_cert::Certificate;

/// Errors of the in-process API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(#[from] InvalidConfig),
    #[error("registration refused: {0}")]
    Registration(#[from] RegistrationError),
    #[error("KVNR `{kvnr}` {source}")]
    Kvnr {
        kvnr: String,
        #[source]
        source: KvnrError,
    },
    #[error("insurer {0} was registered without an encryption certificate")]
    NoEncryptionKey(String),
    #[error("no registered insurer with Telematik-ID `{0}`")]
    UnknownInsurer(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the untrusted .well-known signer could not be made: {0}")]
    UntrustedSigner(#[source] ti_core::Error),
}

struct Data {
    profile: Profile,
    environment: Environment,
    insurers: Vec<Insurer>,
    mailboxes: HashMap<String, Mailbox>,
    deliveries: Vec<StoredDelivery>,
    next_seq: u64,
    reuse: ReuseIndex,
    delivery_ids: HashSet<DeliveryKey>,
    /// Bumped by reset: asynchronous jobs of an older generation are discarded.
    generation: u64,
}

impl Data {
    /// The state as stored (or, for a fresh store, as configured).
    fn loaded(config: &VstConfig, l: persist::Loaded) -> Data {
        let mut d = Data::new(config, 1, 0);
        if let Some(m) = l.meta {
            d.profile = m.profile;
            d.environment = m.environment;
            d.next_seq = m.next_seq;
        }
        d.insurers = l.insurers;
        d.mailboxes = l.mailboxes;
        for (delivery, fingerprints) in l.deliveries {
            d.reuse.remember(&fingerprints);
            d.delivery_ids.insert(DeliveryKey {
                telematik_id: delivery.telematik_id.clone(),
                stream: delivery.stream,
                id_datenlieferung: delivery.id_datenlieferung.clone(),
            });
            d.next_seq = d.next_seq.max(delivery.seq + 1);
            d.deliveries.push(delivery);
        }
        d
    }

    fn meta(&self) -> persist::Meta {
        persist::Meta {
            profile: self.profile.clone(),
            environment: self.environment,
            next_seq: self.next_seq,
        }
    }

    fn new(config: &VstConfig, next_seq: u64, generation: u64) -> Data {
        Data {
            profile: config.profile.clone(),
            environment: config.environment,
            insurers: Vec::new(),
            mailboxes: HashMap::new(),
            deliveries: Vec::new(),
            next_seq,
            reuse: ReuseIndex::default(),
            delivery_ids: HashSet::new(),
            generation,
        }
    }
}

/// How long a built `.well-known` token is served before it is built again.
const WELLKNOWN_CACHE: Duration = Duration::from_secs(60);

struct Inner {
    kit: Kit,
    config: VstConfig,
    /// Where everything the VST keeps is stored (changes go there first).
    store: Store,
    /// Deliveries stored with their asynchronous checks still to run, until the edge resumes them.
    unfinished: Mutex<Vec<persist::Unfinished>>,
    pki: Arc<TestPki>,
    anchors: Vec<Certificate>,
    data: Mutex<Data>,
    /// Asynchronous jobs not yet finished.
    pending: watch::Sender<usize>,
    /// Authorization header value → insurer, for logins that verified.
    logins: Mutex<HashMap<String, InsurerId>>,
    /// SHA-256 of a signer certificate → when its chain verified.
    trusted: Mutex<HashMap<[u8; 32], Instant>>,
    wellknown: Mutex<Option<(Instant, String)>>,
    /// The signer outside the TI for `wellknown_signer: untrusted` (the profile may change at run time).
    untrusted_signer: crate::wellknown::UntrustedSigner,
}

/// The VST simulator. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct VstState {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl VstState {
    /// The simulator with its state in `store` (read back when the store holds some: registrations,
    /// mailboxes, deliveries, profile and environment survive a restart). The runner and tests pass
    /// `Store::ephemeral()`.
    pub fn new(config: VstConfig, pki: Arc<TestPki>, store: Store) -> Result<Self, Error> {
        config.validate()?;
        persist::migrate(&store)?;
        let mut loaded = persist::load(&store)?;
        let fresh = loaded.meta.is_none();
        let unfinished = std::mem::take(&mut loaded.unfinished);
        let data = Data::loaded(&config, loaded);
        let meta = data.meta();
        if fresh {
            store.write(|tx| persist::put_meta(tx, &meta))?;
        }
        let anchors = vec![pki.ca.cert()];
        let untrusted_signer = crate::wellknown::UntrustedSigner::generate(&pki, SystemTime::now())
            .map_err(Error::UntrustedSigner)?;
        let s = VstState {
            inner: Arc::new(Inner {
                kit: Kit::new("vst"),
                config,
                store,
                unfinished: Mutex::new(unfinished),
                pki,
                anchors,
                data: Mutex::new(data),
                pending: watch::channel(0).0,
                logins: Mutex::new(HashMap::new()),
                trusted: Mutex::new(HashMap::new()),
                wellknown: Mutex::new(None),
                untrusted_signer,
            }),
        };
        s.register_configured()?;
        Ok(s)
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        lock(&self.inner.data)
    }

    pub fn kit(&self) -> &Kit {
        &self.inner.kit
    }
    pub fn config(&self) -> &VstConfig {
        &self.inner.config
    }
    pub fn pki(&self) -> &TestPki {
        &self.inner.pki
    }

    /// The store the state lives in.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Store a new profile and environment, then use them.
    fn put_meta(&self, profile: Profile, environment: Environment) -> Result<(), Error> {
        let mut d = self.data();
        let meta = persist::Meta {
            profile,
            environment,
            next_seq: d.next_seq,
        };
        self.inner.store.write(|tx| persist::put_meta(tx, &meta))?;
        d.profile = meta.profile;
        d.environment = meta.environment;
        Ok(())
    }

    pub fn set_profile(&self, p: Profile) -> Result<(), Error> {
        p.validate()?;
        self.put_meta(p, self.environment())?;
        *lock(&self.inner.wellknown) = None;
        self.forget_logins();
        Ok(())
    }
    pub fn profile(&self) -> Profile {
        self.data().profile.clone()
    }
    pub fn set_environment(&self, e: Environment) -> Result<(), Error> {
        self.put_meta(self.profile(), e)
    }
    pub fn environment(&self) -> Environment {
        self.data().environment
    }

    /// Sign a response's signature input with the VST's key (profile `response_signature`).
    pub fn sign_response(&self, input: &[u8], corrupt: bool) -> String {
        let key = &self.inner.pki.vst_sig.key;
        let mut sig = match self.data().profile.response_signature {
            SignatureEncoding::Der => key.sign_sha256_der(input),
            SignatureEncoding::Raw => key.sign_sha256_raw(input).to_vec(),
        };
        if corrupt {
            // Flip a bit in the last byte (part of s): still well-formed, no longer valid.
            if let Some(b) = sig.last_mut() {
                *b ^= 0x01;
            }
        }
        b64_encode(&sig)
    }

    /// The `.well-known` token (built again after a minute), as the profile asks: signer and validity.
    pub fn wellknown_token(&self) -> String {
        let mut c = lock(&self.inner.wellknown);
        if let Some((at, t)) = c.as_ref()
            && at.elapsed() < WELLKNOWN_CACHE
        {
            return t.clone();
        }
        let p = self.profile();
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let validity = crate::wellknown::Validity::from_offset(
            secs,
            p.wellknown_valid_from_offset_secs,
            p.wellknown_validity_secs,
        );
        let pki = &self.inner.pki;
        let signer = match p.wellknown_signer {
            WellknownSigner::Aut => crate::wellknown::aut_signer(pki),
            WellknownSigner::Untrusted => self.inner.untrusted_signer.signer(),
        };
        let t = crate::wellknown::build(pki, &signer, validity);
        *c = Some((Instant::now(), t.clone()));
        t
    }

    /// Back to the configured state: registrations, profile, environment; empty mailboxes and no
    /// deliveries, in the store as in memory.
    pub fn reset_state(&self) -> Result<(), Error> {
        {
            let mut d = self.data();
            let (next_seq, generation) = (d.next_seq, d.generation + 1);
            let fresh = Data::new(&self.inner.config, next_seq, generation);
            let meta = fresh.meta();
            self.inner.store.write(|tx| {
                persist::clear(tx)?;
                persist::put_meta(tx, &meta)
            })?;
            *d = fresh;
            lock(&self.inner.unfinished).clear();
        }
        self.forget_logins();
        *lock(&self.inner.wellknown) = None;
        // The configured registrations were valid at start; they still are.
        self.register_configured()
    }

    pub fn describe_state(&self) -> serde_json::Value {
        let d = self.data();
        serde_json::json!({
            "environment": d.environment,
            "profile": d.profile,
            "insurers": d.insurers.iter().map(|i| &i.id.telematik_id).collect::<Vec<_>>(),
            "deliveries": d.deliveries.len(),
            "pending_async_checks": *self.inner.pending.borrow(),
            "curve": self.inner.pki.curve,
            "body_limit": self.inner.config.body_limit,
            "endpoints": crate::paths::ENDPOINTS,
        })
    }
}
