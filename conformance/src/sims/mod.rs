//! The simulators a scenario runs against, as plugins. Each simulator is one module here implementing
//! [`SimPlugin`]: it checks and applies the scenario's `given.<name>`, starts its server in-process on an
//! ephemeral loopback port, and hands the runner a [`RunningSim`] — journal and admin access (the
//! [`sim_kit::Kit`]), the `KONFORM_*` environment variables it contributes to the client, and its
//! ready URLs. Adding a simulator is a new module plus one line in [`registry`]; the runner, the
//! scenario model and the reporters need no change (recipe: `docs/conformance.md`, "Adding a simulator
//! to the runner").

pub mod konnektor;
pub mod melderegister;
pub mod osci;
pub mod server;
pub mod vst;
pub mod xta;

pub use server::{Server, TlsMaterial};

use serde_json::Value;
use sim_kit::{JournalEntry, Kit};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use ti_core::pki::TestPki;

/// A boxed future, so the traits stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Every simulator the runner knows. A new simulator adds its plugin here (one line).
pub fn registry() -> &'static [&'static dyn SimPlugin] {
    &[
        &vst::Vst,
        &konnektor::Konnektor,
        &osci::Osci,
        &xta::Xta,
        &melderegister::Melderegister,
    ]
}

/// The plugin named `name` (the key under `given:`, `sim:` in checks, `target:` in raw requests).
pub fn find(name: &str) -> Option<&'static dyn SimPlugin> {
    registry().iter().copied().find(|p| p.name() == name)
}

/// Names of all registered simulators, for error messages.
pub fn names() -> Vec<&'static str> {
    registry().iter().map(|p| p.name()).collect()
}

/// Why a simulator could not be prepared for a scenario.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// `given.<sim>` is not what the simulator accepts; the message names the field.
    #[error("given.{sim}: {message}")]
    Given { sim: &'static str, message: String },
    /// The server could not be started.
    #[error("starting mock-{sim}: {source}")]
    Start {
        sim: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A raw request asked for something the simulator does not offer (e.g. `auth: true`).
    #[error("{sim}: {message}")]
    Unsupported { sim: &'static str, message: String },
}

impl SimError {
    /// The explanation without the `given.<sim>:` prefix.
    pub fn message(&self) -> String {
        match self {
            SimError::Given { message, .. } | SimError::Unsupported { message, .. } => {
                message.clone()
            }
            other => other.to_string(),
        }
    }
}

/// What every simulator of a run shares: the test PKI, in memory and on disk, and the TLS material.
pub struct StartContext<'a> {
    pub pki: &'a Arc<TestPki>,
    pub pki_dir: &'a Path,
    pub tls: &'a TlsMaterial,
    /// `konform run --tls`: every simulator serves TLS with the test PKI's TLS server certificate.
    pub tls_everywhere: bool,
}

impl StartContext<'_> {
    /// The TLS configuration a simulator serves with by default: `Some` under `--tls`.
    pub fn server_tls(&self) -> Option<sim_kit::tls::TlsServerConfig> {
        self.tls_everywhere.then(|| self.tls.trusted())
    }
}

/// One simulator the runner can start for a scenario.
pub trait SimPlugin: Send + Sync {
    /// The name scenarios use: `given.<name>`, `sim: <name>`, `target: <name>`, actions `<name>.*`.
    fn name(&self) -> &'static str;

    /// Other simulators the client actions of this one need (the VST client signs via the Konnektor).
    fn needs(&self) -> &'static [&'static str] {
        &[]
    }

    /// Check `given.<name>` when the scenario is loaded, so a typo is a file:line error, not a failed run.
    fn check_given(&self, given: &Value) -> Result<(), SimError>;

    /// Apply `given.<name>` (`Value::Null` when absent) and start the server.
    fn start<'a>(
        &'a self,
        given: &'a Value,
        ctx: &'a StartContext<'a>,
    ) -> BoxFuture<'a, Result<Box<dyn RunningSim>, SimError>>;
}

/// A started simulator, as the runner sees it.
pub trait RunningSim: Send + Sync {
    fn name(&self) -> &'static str;

    /// Base URL (`http://127.0.0.1:PORT`).
    fn url(&self) -> String;

    /// Journal, fault injector: the runner's admin access.
    fn kit(&self) -> &Kit;

    /// The `KONFORM_*` variables this simulator contributes to the client's environment.
    fn env(&self) -> Vec<(String, String)>;

    /// Entries for a ready file (`{"vst": URL}`); by default the name and the base URL.
    fn ready_urls(&self) -> Vec<(String, String)> {
        vec![(self.name().to_string(), self.url())]
    }

    /// Headers for a raw request with `auth: true`; simulators without an authentication scheme refuse.
    fn auth_headers(&self) -> Result<Vec<(String, String)>, SimError> {
        Err(SimError::Unsupported {
            sim: self.name(),
            message: "`auth: true` is not supported by this simulator".into(),
        })
    }

    /// Wait until asynchronous work the simulator does after answering has finished (at most `bound`).
    fn settle(&self, _bound: Duration) -> BoxFuture<'_, bool> {
        Box::pin(async { true })
    }

    /// Stop the server and wait for it.
    fn stop(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// Parse `given.<sim>` into the plugin's typed form (JSON semantics, unknown keys are errors).
pub fn parse_given<T: serde::de::DeserializeOwned + Default>(
    sim: &'static str,
    given: &Value,
) -> Result<T, SimError> {
    if given.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(given.clone()).map_err(|e| SimError::Given {
        sim,
        message: e.to_string(),
    })
}

/// The simulators started for one scenario.
pub struct SimSet {
    sims: Vec<Box<dyn RunningSim>>,
}

impl SimSet {
    /// Start `names` (and what they need), each with its `given` entry.
    pub async fn start(
        names: &BTreeSet<String>,
        given: &BTreeMap<String, Value>,
        ctx: &StartContext<'_>,
    ) -> Result<SimSet, SimError> {
        let mut set = SimSet { sims: Vec::new() };
        for plugin in registry() {
            if !with_needs(names).contains(plugin.name()) {
                continue;
            }
            let g = given.get(plugin.name()).unwrap_or(&Value::Null);
            match plugin.start(g, ctx).await {
                Ok(s) => set.sims.push(s),
                Err(e) => {
                    set.stop().await;
                    return Err(e);
                }
            }
        }
        Ok(set)
    }

    pub fn get(&self, name: &str) -> Option<&dyn RunningSim> {
        self.sims
            .iter()
            .find(|s| s.name() == name)
            .map(std::convert::AsRef::as_ref)
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn RunningSim> {
        self.sims.iter().map(std::convert::AsRef::as_ref)
    }

    /// A snapshot of every journal, by simulator name.
    pub fn journals(&self) -> BTreeMap<String, Vec<JournalEntry>> {
        self.sims
            .iter()
            .map(|s| (s.name().to_string(), s.kit().journal().all()))
            .collect()
    }

    /// The variables every started simulator contributes.
    pub fn env(&self) -> BTreeMap<String, String> {
        self.sims.iter().flat_map(|s| s.env()).collect()
    }

    /// Resolve when any of the named simulators journals an entry after `since` (name → last seq), or
    /// when `bound` passes. Event-driven: the journals' own notifications, no polling.
    pub async fn journal_changed(
        &self,
        names: &BTreeSet<String>,
        since: &BTreeMap<String, u64>,
        bound: Duration,
    ) {
        let mut waits: Vec<BoxFuture<'_, Option<JournalEntry>>> = self
            .sims
            .iter()
            .filter(|s| names.contains(s.name()))
            .map(|s| {
                let from = since.get(s.name()).copied().unwrap_or(0);
                Box::pin(s.kit().journal().wait_for(from, bound, |_| true))
                    as BoxFuture<'_, Option<JournalEntry>>
            })
            .collect();
        if waits.is_empty() {
            tokio::time::sleep(bound).await;
            return;
        }
        std::future::poll_fn(|cx| {
            for w in &mut waits {
                if w.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
            }
            Poll::Pending
        })
        .await;
    }

    /// The last sequence number of every journal.
    pub fn last_seqs(&self) -> BTreeMap<String, u64> {
        self.sims
            .iter()
            .map(|s| (s.name().to_string(), s.kit().journal().last_seq()))
            .collect()
    }

    pub async fn stop(self) {
        for s in self.sims {
            s.stop().await;
        }
    }
}

/// `names` plus everything they need, transitively.
fn with_needs(names: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = names.clone();
    loop {
        let more: Vec<String> = out
            .iter()
            .filter_map(|n| find(n))
            .flat_map(|p| p.needs().iter().map(std::string::ToString::to_string))
            .filter(|n| !out.contains(n))
            .collect();
        if more.is_empty() {
            return out;
        }
        out.extend(more);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique_and_needs_resolve() {
        let names = names();
        let set: BTreeSet<_> = names.iter().collect();
        assert_eq!(set.len(), names.len(), "{names:?}");
        for p in registry() {
            for n in p.needs() {
                assert!(find(n).is_some(), "{} needs unknown `{n}`", p.name());
            }
        }
        let vst_only: BTreeSet<String> = ["vst".to_string()].into();
        assert!(with_needs(&vst_only).contains("konnektor"));
    }
}
