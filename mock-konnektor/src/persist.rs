//! What a Konnektor keeps across restarts, in the one store (`sim_kit::store`, JSON values by key):
//!
//! - `konnektor.card` / handle: the card's state — PIN status, left tries, inserted, and the scripted
//!   VerifyPin answers — with a fingerprint of the card's configuration. PIN retry counters, BLOCKED and
//!   TRANSPORT_PIN live on the card itself, so they survive anything; the scripted answers are test setup
//!   and are kept like injected fault rules, so a restart never changes what the next VerifyPin answers.
//!   VERIFIED does not survive a restart by default: a Konnektor that starts again resets its cards, and the
//!   SMC-B must be unlocked again (`keep_verified_on_restart: true` keeps it).
//! - `konnektor.meta` / `job_counter`: the next GetJobNumber (job numbers stay unique across restarts).
//!
//! A card whose configuration changed (another fingerprint) starts from its configured state.

use crate::cards::{Card, CardState};
use crate::config::{KonnektorConfig, PinStatus};
use serde::{Deserialize, Serialize};
use sim_kit::store::{Store, StoreError, kv};

const NS_CARD: &str = "konnektor.card";
const NS_META: &str = "konnektor.meta";
const JOB_COUNTER: &str = "job_counter";

/// One card's stored state.
#[derive(Debug, Serialize, Deserialize)]
struct StoredCard {
    fingerprint: String,
    state: CardState,
}

/// A fingerprint of what determines a card's start state (its configuration and the global PIN default).
fn fingerprint(config: &KonnektorConfig, card: &Card) -> String {
    let v = serde_json::json!([card.cfg, config.pin_initially_verified]);
    let hash = ti_core::sha256(v.to_string().as_bytes());
    hash[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// The state of every card at start: what the store kept for it, else its configured start.
pub fn load(
    store: &Store,
    config: &KonnektorConfig,
    cards: &[Card],
) -> Result<Vec<CardState>, StoreError> {
    store.read(|conn| {
        cards
            .iter()
            .map(|c| {
                let kept: Option<StoredCard> = kv::get(conn, NS_CARD, &c.cfg.handle)?;
                Ok(match kept {
                    Some(k) if k.fingerprint == fingerprint(config, c) => {
                        let mut s = k.state;
                        if s.pin == PinStatus::Verified && !config.keep_verified_on_restart {
                            s.pin = PinStatus::Verifiable;
                        }
                        s
                    }
                    _ => c.initial_state(),
                })
            })
            .collect()
    })
}

/// Store one card's state (one transaction; the caller changes its memory only when this succeeded).
pub fn save(
    store: &Store,
    config: &KonnektorConfig,
    card: &Card,
    state: &CardState,
) -> Result<(), StoreError> {
    let value = StoredCard {
        fingerprint: fingerprint(config, card),
        state: state.clone(),
    };
    store.write(|tx| kv::put(tx, NS_CARD, &card.cfg.handle, &value))
}

/// Store every card's state at once (at start, so the store reflects a changed configuration).
pub fn save_all(
    store: &Store,
    config: &KonnektorConfig,
    cards: &[Card],
    states: &[CardState],
) -> Result<(), StoreError> {
    store.write(|tx| {
        for (c, s) in cards.iter().zip(states) {
            let value = StoredCard {
                fingerprint: fingerprint(config, c),
                state: s.clone(),
            };
            kv::put(tx, NS_CARD, &c.cfg.handle, &value)?;
        }
        Ok(())
    })
}

/// Take the next job number (counting from 0), durably.
pub fn next_job_number(store: &Store) -> Result<u64, StoreError> {
    store.write(|tx| {
        let n: u64 = kv::get(tx, NS_META, JOB_COUNTER)?.unwrap_or(0);
        kv::put(tx, NS_META, JOB_COUNTER, &(n + 1))?;
        Ok(n)
    })
}

/// Forget everything (reset): the cards go back to their configured start, the job counter to 0.
pub fn clear(store: &Store) -> Result<(), StoreError> {
    store.write(|tx| {
        kv::clear(tx, NS_CARD)?;
        kv::clear(tx, NS_META)?;
        Ok(())
    })
}
