//! The reference client: implements every abstract action of the scenario packs correctly, against the
//! simulators or, in principle, a real endpoint. It is the proof that each scenario is passable.
//!
//! It can also be told to make one specific mistake ([`Defect`]); the packs must catch every such defect.
//! Actions take a neutral JSON input (plaintext data) and produce a neutral JSON output; see
//! `docs/conformance.md` for the formats.

mod defect;
pub mod konnektor;
pub mod melderegister;
pub mod osci;
pub mod soap;
pub mod strict;
pub mod vst;
pub mod xta;

pub use defect::{Defect, DefectInfo};

use crate::http::{Http, HttpError};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Where the client finds the services and its credentials.
#[derive(Clone, Debug)]
pub struct ClientEnv {
    pub vst_url: String,
    pub konnektor_url: String,
    pub pki_dir: PathBuf,
    pub card_handle: Option<String>,
    pub mandant_id: String,
    pub client_system_id: String,
    pub workplace_id: String,
    pub user_id: String,
    pub telematik_id: Option<String>,
    pub haupt_ik: Option<String>,
    pub timeout: Duration,
    pub defect: Option<Defect>,
    /// CA certificate(s) (PEM) an `https://` service must chain to (`KONFORM_TLS_CA`).
    pub tls_ca: Option<PathBuf>,
    /// The second correct mode: validate everything checkable before sending (`KONFORM_STRICT=1`).
    pub strict: bool,
    /// Every `KONFORM_*` variable the client was given.
    pub vars: BTreeMap<String, String>,
}

impl ClientEnv {
    /// From the `KONFORM_*` variables of this process (what an adapter passes), with defaults.
    pub fn from_env() -> ClientEnv {
        let vars: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("KONFORM_"))
            .collect();
        ClientEnv::from_vars(vars)
    }

    /// From `KONFORM_*` variables (the runner passes them in-process), with defaults for what is absent.
    pub fn from_vars(vars: BTreeMap<String, String>) -> ClientEnv {
        let var = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
        ClientEnv {
            vst_url: var("KONFORM_VST_URL").unwrap_or_else(|| "http://127.0.0.1:8081".into()),
            konnektor_url: var("KONFORM_KONNEKTOR_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8082".into()),
            pki_dir: var("KONFORM_PKI_DIR")
                .unwrap_or_else(|| ".konform/pki".into())
                .into(),
            card_handle: var("KONFORM_CARD_HANDLE"),
            mandant_id: var("KONFORM_MANDANT_ID").unwrap_or_else(|| "Mandant1".into()),
            client_system_id: var("KONFORM_CLIENT_SYSTEM_ID").unwrap_or_else(|| "ClientID1".into()),
            workplace_id: var("KONFORM_WORKPLACE_ID").unwrap_or_else(|| "Workplace1".into()),
            user_id: var("KONFORM_USER_ID").unwrap_or_else(|| "User1".into()),
            telematik_id: var("KONFORM_TELEMATIK_ID"),
            haupt_ik: var("KONFORM_IK"),
            timeout: Duration::from_millis(
                var("KONFORM_HTTP_TIMEOUT_MS")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(10_000),
            ),
            defect: var("KONFORM_DEFECT").and_then(|d| Defect::from_name(&d)),
            tls_ca: var("KONFORM_TLS_CA").map(PathBuf::from),
            strict: var("KONFORM_STRICT").is_some_and(|v| v == "1" || v == "true"),
            vars,
        }
    }

    /// A `KONFORM_*` variable (simulators added later read their URLs here: `KONFORM_XTA_URL`, …).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The HTTP client for this action (timeout, TLS CA).
    pub fn http(&self) -> Result<Http, ClientError> {
        let timeout = if self.has(Defect::ShortTimeout) {
            Duration::from_secs(1)
        } else {
            self.timeout
        };
        Ok(Http::with_verification(
            timeout,
            self.tls_ca.as_deref(),
            !self.has(Defect::TlsAcceptAnyCertificate),
        )?)
    }

    pub fn has(&self, d: Defect) -> bool {
        self.defect == Some(d)
    }
}

/// How an action failed. Exit code 1 for the service's answers, 2 for bad input or setup.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("input: {0}")]
    Input(String),
    #[error("setup: {0}")]
    Setup(String),
    #[error("HTTP: {0}")]
    Http(#[from] HttpError),
    #[error("{service} answered {status}{}", .diagnosis.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Status {
        service: &'static str,
        status: u16,
        diagnosis: Option<String>,
    },
    #[error("Konnektor: {0}")]
    Soap(String),
    #[error("refused: {0}")]
    Refused(String),
}

impl ClientError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Input(_) | ClientError::Setup(_) => 2,
            _ => 1,
        }
    }
}

/// One abstract action of the reference client: its name (`<simulator>.<verb>`) and what performs it.
#[derive(Clone, Copy)]
pub struct Action {
    pub name: &'static str,
    pub run: fn(&ClientEnv, &Value) -> Result<Value, ClientError>,
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Every simulator's action table. A new simulator's client module (`client/<sim>.rs`) declares
/// `pub const ACTIONS: &[Action]` and adds it here (one line).
const ACTION_TABLES: &[&[Action]] = &[
    vst::ACTIONS,
    konnektor::ACTIONS,
    osci::ACTIONS,
    xta::ACTIONS,
    melderegister::ACTIONS,
];

/// Every action, in table order.
pub fn actions() -> impl Iterator<Item = &'static Action> {
    ACTION_TABLES.iter().flat_map(|t| t.iter())
}

/// The action named `name`.
pub fn action(name: &str) -> Option<&'static Action> {
    actions().find(|a| a.name == name)
}

/// The names of every action, for messages and adapters.
pub fn action_names() -> Vec<&'static str> {
    actions().map(|a| a.name).collect()
}

/// Run one action. `input` is the neutral JSON input (`Null` for actions without input).
pub fn run_action(action_name: &str, env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    match action(action_name) {
        Some(a) => (a.run)(env, input),
        None => Err(ClientError::Input(format!(
            "unknown action `{action_name}` (known: {})",
            action_names().join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_unique_and_name_their_simulator() {
        let names = action_names();
        let set: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(set.len(), names.len(), "{names:?}");
        for n in names {
            let sim = n.split('.').next().unwrap_or("");
            assert!(crate::sims::find(sim).is_some(), "`{n}` names no simulator");
        }
        assert!(action("vst.submit_vitalstatus").is_some());
        assert!(action("vst.nothing").is_none());
    }
}
