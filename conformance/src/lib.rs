//! Conformance: the scenario model, the runner that replays scenarios against any client through an
//! adapter, the reporters, the reference client and the selftest.
//!
//! - [`model`]: scenario files (YAML) with file/line/field errors
//! - [`adapter`]: how a vendor's client is driven (commands, environment, timeouts, process groups)
//! - [`runner`]: each scenario against its own in-process simulators, in parallel, ordered results
//! - [`sims`]: the simulators as runner plugins (one module per simulator)
//! - [`event`], [`report`]: one closed event type; console, JUnit, JSON and HTML reporters
//! - [`client`]: the reference client (and its deliberate defects)
//! - [`selftest`]: the packs pass with the reference client and catch every defect

pub mod adapter;
pub mod client;
pub mod event;
pub mod http;
pub mod model;
pub mod obligations;
pub mod report;
pub mod runner;
pub mod selftest;
pub mod sims;

/// Documented exit codes of `konform run` and `konform selftest`.
pub mod exit_codes {
    /// Every scenario passed (selftest: and every defect was caught).
    pub const OK: i32 = 0;
    /// Some scenario failed or errored (selftest: or a defect went uncaught).
    pub const FAILURES: i32 = 1;
    /// Usage or configuration error: bad arguments, unreadable scenario or adapter files.
    pub const USAGE: i32 = 2;
}

/// JSON merge: objects merge key by key, everything else replaces (scenario `given` over defaults).
pub fn merge(base: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p.clone(),
    }
}
