//! What every konform simulator shares, so the next one (mock-xta) reuses it instead of rewriting it:
//!
//! - [`Diagnosis`]: why a request was rejected — rule, location (JSON pointer / XPath), message, hint,
//!   seed passage. Sent in `X-Konform-Diagnosis` and journaled; never instead of the real answer.
//! - [`Journal`]: every request with verdict, status, diagnoses and simulator data, bounded, awaitable.
//! - [`faults`]: fault injection for the next N calls of a path or operation (status, delay, dropped
//!   connection, simulator-specific faults such as a bad response signature or a SOAP fault code).
//! - [`kit_layer`]: the middleware that applies path faults, journals the outcome and sets the header.
//! - [`admin`]: the `/__konform/` conventions (journal, faults, reset, health) and a JSON extractor whose
//!   rejections are ours.
//! - [`serve`](mod@serve): `serve(listener, router, shutdown)` with real connection drops, and
//!   [`serve::spawn`] for embedding a simulator in-process on an ephemeral port.
//! - [`config`]: YAML loading with file, line and column in errors.

pub mod admin;
pub mod body;
pub mod config;
pub mod diagnosis;
pub mod faults;
pub mod journal;
pub mod layer;
pub mod serve;
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
}

impl Kit {
    pub fn new(name: &'static str) -> Kit {
        Kit {
            inner: Arc::new(KitInner {
                name,
                journal: Journal::new(name, journal::DEFAULT_CAPACITY),
                faults: FaultInjector::default(),
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
}

/// A simulator as the shared admin API sees it.
pub trait Simulator: Clone + Send + Sync + 'static {
    fn kit(&self) -> &Kit;
    /// Reset simulator-specific state to its configured start (journal and faults are reset by the kit).
    fn reset(&self);
    /// A JSON description for `GET /__konform/health` (configuration summary, counts).
    fn describe(&self) -> serde_json::Value;
}

/// Current time as RFC 3339 (UTC, milliseconds).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
