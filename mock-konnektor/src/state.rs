//! The simulator's state: the configuration, the cards (fixed at start) and their mutable state (PIN,
//! inserted, scripted VerifyPin answers), the job counter, and the shared kit (journal, faults).
//!
//! Card states live in memory and in the store (`crate::persist`): every change is written to the store
//! first, under the lock, and only then assigned in memory — so what a client was answered is what a
//! restart (or a `kill -9`) finds.

use crate::cards::{
    self, Card, CardState, CardView, PinResult, PinUpdate, PinUpdateError, VerifyAnswer,
};
use crate::config::{ConfigError, KonnektorConfig, PinStatus};
use crate::persist;
use sim_kit::store::{Store, StoreError};
use sim_kit::{Kit, Simulator};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;
use ti_core::pki::TestPki;

/// What the in-process API and the admin routes can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Konnektor configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("no card with handle `{0}`")]
    UnknownCard(String),
    #[error(transparent)]
    PinUpdate(#[from] PinUpdateError),
    #[error("slot {slot} of terminal `{ct_id}` is taken by another inserted card")]
    SlotTaken { slot: u32, ct_id: String },
    #[error("Konnektor state")]
    Store(#[from] StoreError),
}

/// Why VerifyPin cannot answer with a PinResult.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the card still has its transport PIN")]
    TransportPin,
    #[error("the PIN state could not be stored")]
    Store(#[from] StoreError),
}

/// Where a CardHandle leads.
#[derive(Debug)]
pub enum CardLookup {
    Inserted(usize),
    NotInserted,
    /// No card has this handle; the handles of the inserted cards, for the hint.
    Unknown {
        inserted: Vec<String>,
    },
}

/// The simulator: configuration, cards, PIN state, journal and faults. Cheap to clone.
#[derive(Clone)]
pub struct KonnektorState {
    inner: Arc<Inner>,
}

struct Inner {
    kit: Kit,
    config: KonnektorConfig,
    pki: Arc<TestPki>,
    cards: Vec<Card>,
    state: Mutex<Vec<CardState>>,
    store: Store,
}

impl KonnektorState {
    /// Build the cards of `config` (keys from `pki`), with the card states `store` kept from an earlier
    /// run (`Store::ephemeral()` for a simulator that forgets everything when dropped).
    pub fn new(config: KonnektorConfig, pki: Arc<TestPki>, store: Store) -> Result<Self, Error> {
        let built = cards::build(&config, &pki, SystemTime::now())?;
        let state = persist::load(&store, &config, &built)?;
        persist::save_all(&store, &config, &built, &state)?;
        Ok(KonnektorState {
            inner: Arc::new(Inner {
                kit: Kit::new("konnektor"),
                config,
                pki,
                cards: built,
                state: Mutex::new(state),
                store,
            }),
        })
    }

    /// Store card `i`'s next state, then take it over in memory (the caller holds the lock).
    fn commit(&self, st: &mut [CardState], i: usize, next: CardState) -> Result<(), StoreError> {
        persist::save(
            &self.inner.store,
            &self.inner.config,
            &self.inner.cards[i],
            &next,
        )?;
        st[i] = next;
        Ok(())
    }

    pub fn config(&self) -> &KonnektorConfig {
        &self.inner.config
    }

    pub fn pki(&self) -> &Arc<TestPki> {
        &self.inner.pki
    }

    fn lock(&self) -> MutexGuard<'_, Vec<CardState>> {
        // Every state change is a single assignment under the lock, so a poisoned lock is consistent.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn index(&self, handle: &str) -> Result<usize, Error> {
        self.inner
            .cards
            .iter()
            .position(|c| c.cfg.handle == handle)
            .ok_or_else(|| Error::UnknownCard(handle.to_string()))
    }

    /// The card at index `i` (as configured). Indices come from [`Self::lookup_inserted`].
    pub(crate) fn card_at(&self, i: usize) -> &Card {
        &self.inner.cards[i]
    }

    /// The current state of card `i`.
    pub(crate) fn pin_state(&self, i: usize) -> CardState {
        self.lock()[i].clone()
    }

    /// Every card with a snapshot of its state.
    pub(crate) fn cards_with_state(&self) -> Vec<(&Card, CardState)> {
        let st = self.lock().clone();
        self.inner.cards.iter().zip(st).collect()
    }

    pub(crate) fn lookup_inserted(&self, handle: &str) -> CardLookup {
        let st = self.lock();
        match self.inner.cards.iter().position(|c| c.cfg.handle == handle) {
            Some(i) if st[i].inserted => CardLookup::Inserted(i),
            Some(_) => CardLookup::NotInserted,
            None => CardLookup::Unknown {
                inserted: self
                    .inner
                    .cards
                    .iter()
                    .zip(st.iter())
                    .filter(|(_, s)| s.inserted)
                    .map(|(c, _)| c.cfg.handle.clone())
                    .collect(),
            },
        }
    }

    /// VerifyPin on card `i`: the next scripted answer moves the PIN state machine.
    pub(crate) fn verify_pin(&self, i: usize) -> Result<PinResult, VerifyError> {
        let mut st = self.lock();
        if st[i].pin == PinStatus::TransportPin {
            return Err(VerifyError::TransportPin);
        }
        let mut next = st[i].clone();
        let result = next.verify();
        self.commit(&mut st, i, next)?;
        Ok(result)
    }

    /// The next GetJobNumber counter value.
    pub(crate) fn next_job_number(&self) -> Result<u64, StoreError> {
        persist::next_job_number(&self.inner.store)
    }

    /// Every configured card with its current state (inserted or not).
    pub fn cards(&self) -> Vec<CardView> {
        self.cards_with_state()
            .into_iter()
            .map(|(c, s)| c.view(&s))
            .collect()
    }

    pub fn card(&self, handle: &str) -> Option<CardView> {
        let i = self.index(handle).ok()?;
        Some(self.inner.cards[i].view(&self.pin_state(i)))
    }

    /// Change a card's PIN state (status, left tries, scripted VerifyPin answers).
    pub fn set_pin(&self, handle: &str, update: &PinUpdate) -> Result<CardView, Error> {
        let i = self.index(handle)?;
        let mut st = self.lock();
        let mut next = st[i].clone();
        update.apply(&mut next)?;
        self.commit(&mut st, i, next)?;
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
        let mut next = st[i].clone();
        next.next_verify.extend(answers.iter().copied());
        self.commit(&mut st, i, next)?;
        Ok(self.inner.cards[i].view(&st[i]))
    }

    /// Insert or remove a card. A card pulled out loses its security state (VERIFIED → VERIFIABLE).
    pub fn set_inserted(&self, handle: &str, inserted: bool) -> Result<CardView, Error> {
        let i = self.index(handle)?;
        let mut st = self.lock();
        let me = &self.inner.cards[i];
        if inserted && !st[i].inserted {
            let taken =
                self.inner.cards.iter().zip(st.iter()).any(|(c, s)| {
                    s.inserted && c.cfg.ct_id == me.cfg.ct_id && c.slot_id == me.slot_id
                });
            if taken {
                return Err(Error::SlotTaken {
                    slot: me.slot_id,
                    ct_id: me.cfg.ct_id.clone(),
                });
            }
        }
        let mut next = st[i].clone();
        next.set_inserted(inserted);
        self.commit(&mut st, i, next)?;
        Ok(me.view(&st[i]))
    }
}

impl Simulator for KonnektorState {
    fn kit(&self) -> &Kit {
        &self.inner.kit
    }
    fn reset(&self) {
        let mut st = self.lock();
        if let Err(e) = persist::clear(&self.inner.store) {
            // Memory is reset regardless; the store is read again only at the next start.
            tracing::error!("konnektor reset: clearing the stored card states failed: {e}");
        }
        for (s, c) in st.iter_mut().zip(self.inner.cards.iter()) {
            *s = c.initial_state();
        }
    }
    fn describe(&self) -> serde_json::Value {
        let ctx = &self.inner.config.context;
        serde_json::json!({
            "context": ctx,
            "pin_initially_verified": self.inner.config.pin_initially_verified,
            "cards": self.cards(),
            "terminals": self.inner.config.terminals.iter().map(|t| &t.ct_id).collect::<Vec<_>>(),
            "endpoints": crate::sds::endpoint_paths(&self.inner.config.endpoints),
        })
    }
}
