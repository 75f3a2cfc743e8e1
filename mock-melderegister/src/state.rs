//! The simulator's state: configuration, the register with its index, the embedded store (certificates,
//! Kundennummern, orders, outbox, Identifikationsmerkmale, added residents) and a clock that scenarios can
//! move forward.

use crate::config::{MandantConfig, MelderegisterConfig};
use crate::register::Register;
use crate::register::model::Einwohner;
use serde::{Deserialize, Serialize};
use sim_kit::store::{Store, StoreError, kv};
use sim_kit::{Kit, Simulator};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use ti_core::pki::Identity;

pub const NS_ZERTIFIKAT: &str = "melderegister.zertifikat";
pub const NS_KUNDE: &str = "melderegister.kundennummer";
pub const NS_MERKMAL: &str = "melderegister.merkmal";
pub const NS_OUTBOX: &str = "melderegister.outbox";
pub const NS_BESTELLUNG: &str = "melderegister.bestellung";
pub const NS_EINWOHNER: &str = "melderegister.einwohner";

/// A client certificate the mirror stores for a Mandant (seed: "hinterlegt den öffentlichen Teil").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zertifikat {
    pub mandant: String,
    /// SHA-256 of the DER certificate, lower-case hex.
    pub fingerprint: String,
    pub serial: String,
    pub subject: String,
    pub not_after: String,
    pub ordered_at: String,
    #[serde(default)]
    pub revoked: bool,
}

/// An Identifikationsmerkmal issued to a Mandant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkmalEintrag {
    pub mandant: String,
    pub ordnungsmerkmal: String,
    /// Unix seconds (simulator clock).
    pub gueltig_bis: i64,
}

#[derive(Clone)]
pub struct MelderegisterState {
    inner: Arc<Inner>,
}

struct Inner {
    kit: Kit,
    config: MelderegisterConfig,
    register: RwLock<Register>,
    store: Store,
    /// Issues the ordered client certificates (the test PKI's TLS CA, trusted by the service listener).
    ca: Option<Identity>,
    /// Seconds added to the system clock (scenarios move time forward to expire Merkmale).
    offset: AtomicI64,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("melderegister configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MelderegisterState {
    /// Build the register (generated + stored additions) and open the state over `store`.
    pub fn new(
        config: MelderegisterConfig,
        store: Store,
        ca: Option<Identity>,
    ) -> Result<MelderegisterState, StateError> {
        config.validate().map_err(StateError::Config)?;
        let mut register = Register::synthetic(config.seed, config.residents);
        let added: Vec<(String, Einwohner)> = store.read(|c| kv::list(c, NS_EINWOHNER))?;
        register.add_all(added.into_iter().map(|(_, e)| e));
        Ok(MelderegisterState {
            inner: Arc::new(Inner {
                kit: Kit::new("melderegister"),
                config,
                register: RwLock::new(register),
                store,
                ca,
                offset: AtomicI64::new(0),
            }),
        })
    }

    pub fn config(&self) -> &MelderegisterConfig {
        &self.inner.config
    }
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    pub fn ca(&self) -> Option<&Identity> {
        self.inner.ca.as_ref()
    }
    pub fn register(&self) -> RwLockReadGuard<'_, Register> {
        // Additions are single pushes under the write lock; a poisoned lock is still consistent.
        self.inner
            .register
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    pub fn mandant(&self, id: &str) -> Option<&MandantConfig> {
        self.inner.config.mandant(id)
    }

    /// The simulator clock.
    pub fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
            + time::Duration::seconds(self.inner.offset.load(Ordering::Relaxed))
    }
    pub fn advance(&self, seconds: i64) -> i64 {
        self.inner.offset.fetch_add(seconds, Ordering::Relaxed) + seconds
    }
    pub fn offset(&self) -> i64 {
        self.inner.offset.load(Ordering::Relaxed)
    }

    /// Add residents (admin API, scenarios); stored so they survive a restart.
    pub fn add_einwohner(&self, v: Vec<Einwohner>) -> Result<usize, StateError> {
        let mut reg = self
            .inner
            .register
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let base = reg.len();
        self.inner.store.write(|tx| {
            for (i, e) in v.iter().enumerate() {
                kv::put(tx, NS_EINWOHNER, &format!("{:010}", base + i), e)?;
            }
            Ok(())
        })?;
        reg.add_all(v);
        Ok(reg.len())
    }

    pub fn zertifikat(&self, fingerprint: &str) -> Result<Option<Zertifikat>, StoreError> {
        self.inner
            .store
            .read(|c| kv::get(c, NS_ZERTIFIKAT, fingerprint))
    }
    pub fn zertifikate(&self) -> Result<Vec<Zertifikat>, StoreError> {
        Ok(self
            .inner
            .store
            .read(|c| kv::list::<Zertifikat>(c, NS_ZERTIFIKAT))?
            .into_iter()
            .map(|(_, z)| z)
            .collect())
    }
    /// The Kundennummer issued to a Mandant (after an order), if any.
    pub fn kundennummer(&self, mandant: &str) -> Result<Option<String>, StoreError> {
        self.inner.store.read(|c| kv::get(c, NS_KUNDE, mandant))
    }
    pub fn set_revoked(&self, fingerprint: &str, revoked: bool) -> Result<bool, StoreError> {
        self.inner.store.write(|tx| {
            let Some(mut z): Option<Zertifikat> = kv::get(tx, NS_ZERTIFIKAT, fingerprint)? else {
                return Ok(false);
            };
            z.revoked = revoked;
            kv::put(tx, NS_ZERTIFIKAT, fingerprint, &z)?;
            Ok(true)
        })
    }
}

impl Simulator for MelderegisterState {
    fn kit(&self) -> &Kit {
        &self.inner.kit
    }
    fn reset(&self) {
        self.inner.offset.store(0, Ordering::Relaxed);
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "residents": self.register().len(),
            "fictitious": true,
            "eigene_kennung": self.inner.config.eigene_kennung,
            "kundennummer_ort": self.inner.config.kundennummer_ort,
            "mandanten": self.inner.config.mandanten.iter().map(|m| &m.id).collect::<Vec<_>>(),
            "clock_offset_seconds": self.offset(),
            "endpoints": [crate::soap::PATH, "/minca/"],
        })
    }
}
