//! mock-osci as a runner plugin: `given.osci` (configuration patch, faults), `KONFORM_OSCI_URL` (the
//! endpoint a client POSTs to) and `KONFORM_OSCI_PKI_DIR` (the OSCI test PKI as PEM files: the
//! intermediary's cipher certificate, the sender's and the recipient's keys — `docs/osci.md`).

use super::{BoxFuture, RunningSim, SimError, SimPlugin, StartContext, parse_given};
use crate::merge;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_kit::serve::{self, RunningSim as Server};
use sim_kit::{FaultRule, Kit, Simulator};
use std::sync::OnceLock;

pub struct Osci;

/// `given.osci`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OsciGiven {
    /// mock-osci configuration keys to change (merged over the defaults), as in `docs/osci.md`.
    #[serde(default)]
    pub config: Option<Value>,
    #[serde(default)]
    pub faults: Vec<FaultRule>,
}

fn given_err(message: impl ToString) -> SimError {
    SimError::Given {
        sim: "osci",
        message: message.to_string(),
    }
}

fn config(g: &OsciGiven) -> Result<mock_osci::OsciConfig, SimError> {
    let mut cfg = serde_json::to_value(mock_osci::OsciConfig::default()).map_err(given_err)?;
    if let Some(c) = &g.config {
        merge(&mut cfg, c);
    }
    serde_json::from_value(cfg).map_err(given_err)
}

/// The OSCI test PKI of this process (RSA key generation is slow: once per run) and its PEM files.
fn pki() -> Result<&'static (mock_osci::OsciPki, tempfile::TempDir), SimError> {
    static P: OnceLock<Result<(mock_osci::OsciPki, tempfile::TempDir), String>> = OnceLock::new();
    P.get_or_init(|| {
        let pki = mock_osci::OsciPki::generate(2048).map_err(|e| e.to_string())?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        for (name, text) in pki.files().map_err(|e| e.to_string())? {
            std::fs::write(dir.path().join(name), text).map_err(|e| e.to_string())?;
        }
        Ok((pki, dir))
    })
    .as_ref()
    .map_err(|e| given_err(format!("OSCI test PKI: {e}")))
}

impl SimPlugin for Osci {
    fn name(&self) -> &'static str {
        "osci"
    }

    fn check_given(&self, given: &Value) -> Result<(), String> {
        let g: OsciGiven = parse_given(given)?;
        config(&g).map_err(|e| e.to_string())?;
        Ok(())
    }

    fn start<'a>(
        &'a self,
        given: &'a Value,
        _ctx: &'a StartContext<'a>,
    ) -> BoxFuture<'a, Result<Box<dyn RunningSim>, SimError>> {
        Box::pin(async move {
            let g: OsciGiven = parse_given(given).map_err(given_err)?;
            let (pki, dir) = pki()?;
            let store = sim_kit::store::Store::ephemeral().map_err(given_err)?;
            let state = mock_osci::OsciState::new(config(&g)?, pki.intermediary_keys(), store)
                .map_err(given_err)?;
            for f in &g.faults {
                state
                    .kit()
                    .faults()
                    .add(f.clone())
                    .map_err(|e| given_err(format!("faults: {e}")))?;
            }
            let server = serve::spawn(mock_osci::app(state.clone()), serve::loopback_any())
                .await
                .map_err(|source| SimError::Start {
                    sim: "osci",
                    source,
                })?;
            Ok(Box::new(RunningOsci {
                state,
                server,
                pki_dir: dir.path().display().to_string(),
            }) as Box<dyn RunningSim>)
        })
    }
}

struct RunningOsci {
    state: mock_osci::OsciState,
    server: Server,
    pki_dir: String,
}

impl RunningSim for RunningOsci {
    fn name(&self) -> &'static str {
        "osci"
    }

    /// The server's base URL (raw requests add their path); the endpoint is `KONFORM_OSCI_URL`.
    fn url(&self) -> String {
        self.server.url()
    }

    fn kit(&self) -> &Kit {
        self.state.kit()
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "KONFORM_OSCI_URL".into(),
                format!("{}{}", self.url(), self.state.config().path),
            ),
            ("KONFORM_OSCI_PKI_DIR".into(), self.pki_dir.clone()),
        ]
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(self.server.stop())
    }
}
