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
//! - [`store`]: the one embedded store (SQLite, WAL) for what a real service keeps; in memory with `--ephemeral`.
//!
//! Hardening every simulator gets without code of its own (docs/operations.md):
//!
//! - [`clip`]: quoted request values are cut to a small length with their full size noted; [`Diagnosis`]
//!   constructors and the journal apply it, and simulators use [`clip::quote`] in their own fault bodies.
//! - [`limits::Limits`]: one struct for every bound — body deadline and minimum rate (`408`), request-body
//!   bytes in flight per simulator (`503` + `Retry-After`), connections per listener, journal entries and
//!   bytes. Give it to [`Kit::set_limits`] and to [`serve::serve_with`] / [`tls::serve_tls_with`].
//! - [`guard`]: the body guard [`kit_layer`] puts around every request body.
//! - [`access`]: who may use the admin API (loopback Host, JSON content type, optional bearer token);
//!   set with [`Kit::set_admin_access`].
//! - [`kit_layer`] emits one `tracing` event per request (target `konform::request`: simulator, method,
//!   path, operation, status, verdict, rule), so `konform up` logs every simulator alike.

pub mod access;
pub mod admin;
pub mod body;
pub mod clip;
pub mod config;
pub mod diagnosis;
pub mod exchange;
pub mod faults;
pub mod fsutil;
pub mod guard;
pub mod journal;
pub mod journal_file;
pub mod layer;
pub mod limits;
pub mod serve;
pub mod store;
pub mod style;
pub mod tls;
pub mod xml_escape;
pub mod xmltree;

pub use diagnosis::Diagnosis;
pub use faults::{FaultAction, FaultInjector, FaultRule, InjectedFault};
pub use journal::{Journal, JournalEntry, Verdict};
pub use layer::{DropConnection, Outcome, kit_layer};

use access::AdminAccess;
use limits::Limits;
use std::sync::{Arc, RwLock};
use tokio::sync::Semaphore;

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
    settings: RwLock<Arc<Settings>>,
}

/// What the layer needs per request, swapped as a whole when changed.
pub(crate) struct Settings {
    pub(crate) limits: Limits,
    pub(crate) admin: AdminAccess,
    /// Request-body bytes in flight (one permit per byte).
    pub(crate) in_flight: Arc<Semaphore>,
}

impl Settings {
    fn new(limits: Limits, admin: AdminAccess) -> Settings {
        let permits = usize::try_from(limits.max_body_bytes_in_flight)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Settings {
            limits,
            admin,
            in_flight: Arc::new(Semaphore::new(permits)),
        }
    }
}

impl Kit {
    pub fn new(name: &'static str) -> Kit {
        let limits = Limits::default();
        Kit {
            inner: Arc::new(KitInner {
                name,
                journal: Journal::with_budget(
                    name,
                    limits.journal_max_entries,
                    limits.journal_max_bytes,
                ),
                faults: FaultInjector::default(),
                exchanges: exchange::Exchanges::default(),
                settings: RwLock::new(Arc::new(Settings::new(limits, AdminAccess::default()))),
            }),
        }
    }

    /// Apply `limits` to the requests of this simulator and its journal (connection limits are the
    /// serve call's: [`serve::serve_with`]).
    pub fn set_limits(&self, limits: &Limits) {
        self.inner
            .journal
            .set_budget(limits.journal_max_entries, limits.journal_max_bytes);
        let admin = self.settings().admin.clone();
        self.replace_settings(Settings::new(limits.clone(), admin));
    }

    pub fn limits(&self) -> Limits {
        self.settings().limits.clone()
    }

    /// Who may use the admin API ([`access`]).
    pub fn set_admin_access(&self, admin: AdminAccess) {
        let s = self.settings();
        self.replace_settings(Settings {
            limits: s.limits.clone(),
            admin,
            in_flight: s.in_flight.clone(),
        });
    }

    pub fn admin_access(&self) -> AdminAccess {
        self.settings().admin.clone()
    }

    pub(crate) fn settings(&self) -> Arc<Settings> {
        self.inner
            .settings
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn replace_settings(&self, s: Settings) {
        *self
            .inner
            .settings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(s);
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
