//! What every konform simulator shares, so the next one (mock-xta) reuses it instead of rewriting it:
//!
//! - [`Diagnosis`]: why a request was rejected — rule, location (JSON pointer / XPath), message, hint,
//!   seed passage. Sent in `X-Konform-Diagnosis` and journaled; never instead of the real answer.
//! - [`Journal`]: every request with verdict, status, diagnoses and simulator data, bounded, awaitable.
//! - [`faults`]: fault injection for the next N calls of a path or operation (status, delay, dropped
//!   connection, simulator-specific faults such as a bad response signature or a SOAP fault code).
//! - [`kit_layer`]: the middleware that applies path faults, journals the outcome and sets the header.
//! - [`exchange`]: bounded copies of each request's and answer's headers and body, beside the journal.
//! - [`admin`]: the `/__konform/` conventions (journal, faults, reset, health) and a JSON extractor whose
//!   rejections are ours.
//! - [`serve`](mod@serve): `serve(listener, router, shutdown)` with real connection drops, and
//!   [`serve::spawn`] for embedding a simulator in-process on an ephemeral port.
//! - [`config`]: YAML loading with file, line and column in errors.
//! - [`store`]: the one embedded store (SQLite, WAL) for what a real service keeps; in memory with `--ephemeral`.

pub mod admin;
pub mod body;
pub mod config;
pub mod diagnosis;
pub mod exchange;
pub mod faults;
pub mod journal;
pub mod layer;
pub mod serve;
pub mod store;
pub mod style;
pub mod tls;

pub use diagnosis::Diagnosis;
pub use faults::{FaultAction, FaultInjector, FaultRule, InjectedFault};
pub use journal::{Journal, JournalEntry, Verdict};
pub use layer::{DropConnection, Outcome, kit_layer};

use std::sync::Arc;

/// Prefix of every admin route. Requests under it are neither journaled nor fault-injected.
pub const ADMIN_PREFIX: &str = "/__konform";
/// Response header carrying diagnoses (one header line per diagnosis).
pub const DIAGNOSIS_HEADER: &str = "x-konform-diagnosis";

/// The shared per-instance machinery of one simulator.
#[derive(Clone)]
pub struct Kit {
    inner: Arc<KitInner>,
}

struct KitInner {
    name: &'static str,
    journal: Journal,
    faults: FaultInjector,
    exchanges: exchange::Exchanges,
}

impl Kit {
    pub fn new(name: &'static str) -> Kit {
        Kit {
            inner: Arc::new(KitInner {
                name,
                journal: Journal::new(name, journal::DEFAULT_CAPACITY),
                faults: FaultInjector::default(),
                exchanges: exchange::Exchanges::default(),
            }),
        }
    }
    pub fn name(&self) -> &'static str {
        self.inner.name
    }
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }
    pub fn faults(&self) -> &FaultInjector {
        &self.inner.faults
    }
    /// Bounded copies of requests and answers, by journal sequence number ([`exchange`]).
    pub fn exchanges(&self) -> &exchange::Exchanges {
        &self.inner.exchanges
    }
}

/// A simulator as the shared admin API sees it.
pub trait Simulator: Clone + Send + Sync + 'static {
    fn kit(&self) -> &Kit;
    /// Reset simulator-specific state to its configured start (journal and faults are reset by the kit).
    fn reset(&self);
    /// A JSON description for `GET /__konform/health` (configuration summary, counts).
    fn describe(&self) -> serde_json::Value;
}

/// Current time as RFC 3339 (UTC), always with exactly three fractional digits, so that timestamps
/// sort as strings (the runner orders journal entries of different simulators by them).
pub fn now_rfc3339() -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_have_fixed_width() {
        let a = super::now_rfc3339();
        assert_eq!(a.len(), "2026-11-25T12:00:00.000Z".len(), "{a}");
        assert!(a.ends_with('Z') && a.as_bytes()[19] == b'.');
    }
}
