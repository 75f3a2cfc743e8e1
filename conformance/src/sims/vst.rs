//! mock-vst as a runner plugin: `given.vst` (environment, profile, registration, queued requests and
//! anonymizations, processing errors, faults), `KONFORM_VST_URL` and `KONFORM_ENVIRONMENT`, and the
//! `auth: true` header of raw requests.

use super::Server;
use super::{BoxFuture, RunningSim, SimError, SimPlugin, StartContext, parse_given};
use crate::merge;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_kit::{FaultRule, Kit};
use std::sync::Arc;
use std::time::Duration;
use ti_core::ids::Environment;
use ti_core::pki::TestPki;

pub struct Vst;

/// `given.vst`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VstGiven {
    #[serde(default)]
    pub environment: Option<Environment>,
    /// Profile switches to change (merged over the defaults), as in `docs/vst.md`.
    #[serde(default)]
    pub profile: Option<Value>,
    /// Other configuration keys (merged over the defaults), e.g. `kvnr: { reserved: [...] }`.
    #[serde(default)]
    pub config: Option<Value>,
    /// Whether the default insurer is registered (default true).
    #[serde(default)]
    pub registered: Option<bool>,
    /// Vital status requests to queue, by plaintext KVNR.
    #[serde(default)]
    pub requests: Vec<String>,
    /// Anonymization notifications to queue, by plaintext KVNR.
    #[serde(default)]
    pub anonymizations: Vec<String>,
    #[serde(default)]
    pub processing_errors: Vec<ProcessingErrorGiven>,
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// Serve over TLS: `trusted` (the test PKI's TLS certificate, whose CA is `KONFORM_TLS_CA`) or
    /// `untrusted` (a certificate from another CA: a client must refuse the connection). Without it the
    /// VST serves plain HTTP, or TLS under `konform run --tls`.
    #[serde(default)]
    pub tls: Option<TlsGiven>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsGiven {
    Trusted,
    Untrusted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamName {
    Vitalstatus,
    Insuranceupdate,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingErrorGiven {
    pub stream: StreamName,
    #[serde(rename = "IdDatenlieferung")]
    pub id_datenlieferung: String,
    #[serde(rename = "IdDatensatz")]
    pub id_datensatz: String,
    #[serde(rename = "Code")]
    pub code: String,
}

fn given_err(message: impl ToString) -> SimError {
    SimError::Given {
        sim: "vst",
        message: message.to_string(),
    }
}

/// The configuration `given` asks for: defaults, then environment, config, profile, registration.
fn config(g: &VstGiven) -> Result<mock_vst::VstConfig, SimError> {
    let mut cfg = serde_json::to_value(mock_vst::VstConfig::default()).map_err(given_err)?;
    if let Some(env) = g.environment {
        cfg["environment"] = serde_json::to_value(env).map_err(given_err)?;
    }
    if let Some(c) = &g.config {
        merge(&mut cfg, c);
    }
    if let Some(p) = &g.profile {
        merge(&mut cfg["profile"], p);
    }
    if g.registered == Some(false) {
        cfg["register_default_insurer"] = Value::Bool(false);
    }
    serde_json::from_value(cfg).map_err(given_err)
}

fn state(g: &VstGiven, pki: &Arc<TestPki>) -> Result<mock_vst::VstState, SimError> {
    let store = sim_kit::store::Store::ephemeral().map_err(given_err)?;
    let vst = mock_vst::VstState::new(config(g)?, pki.clone(), store).map_err(given_err)?;
    for k in &g.requests {
        vst.queue_request(k)
            .map_err(|e| given_err(format!("requests: {e}")))?;
    }
    for k in &g.anonymizations {
        vst.queue_anonymization(k)
            .map_err(|e| given_err(format!("anonymizations: {e}")))?;
    }
    for e in &g.processing_errors {
        let stream = match e.stream {
            StreamName::Vitalstatus => mock_vst::ErrorStream::VitalStatus,
            StreamName::Insuranceupdate => mock_vst::ErrorStream::InsuranceUpdate,
        };
        vst.inject_processing_error(stream, &e.id_datenlieferung, &e.id_datensatz, &e.code)
            .map_err(|e| given_err(format!("processing_errors: {e}")))?;
    }
    for f in &g.faults {
        vst.kit()
            .faults()
            .add(f.clone())
            .map_err(|e| given_err(format!("faults: {e}")))?;
    }
    Ok(vst)
}

impl SimPlugin for Vst {
    fn name(&self) -> &'static str {
        "vst"
    }

    fn needs(&self) -> &'static [&'static str] {
        &["konnektor"]
    }

    fn check_given(&self, given: &Value) -> Result<(), SimError> {
        let g: VstGiven = parse_given("vst", given)?;
        config(&g).map(|_| ())
    }

    fn start<'a>(
        &'a self,
        given: &'a Value,
        ctx: &'a StartContext<'a>,
    ) -> BoxFuture<'a, Result<Box<dyn RunningSim>, SimError>> {
        Box::pin(async move {
            let g: VstGiven = parse_given("vst", given)?;
            let state = state(&g, ctx.pki)?;
            let tls = match g.tls {
                Some(TlsGiven::Trusted) => Some(ctx.tls.trusted()),
                Some(TlsGiven::Untrusted) => {
                    Some(ctx.tls.untrusted().map_err(|e| SimError::Given {
                        sim: "vst",
                        message: e.to_string(),
                    })?)
                }
                None => ctx.server_tls(),
            };
            let server = Server::start(mock_vst::app(state.clone()), tls)
                .await
                .map_err(|source| SimError::Start { sim: "vst", source })?;
            Ok(Box::new(RunningVst {
                state,
                server,
                environment: g.environment.unwrap_or_default(),
                pki: ctx.pki.clone(),
            }) as Box<dyn RunningSim>)
        })
    }
}

struct RunningVst {
    state: mock_vst::VstState,
    server: Server,
    environment: Environment,
    pki: Arc<TestPki>,
}

impl RunningSim for RunningVst {
    fn name(&self) -> &'static str {
        "vst"
    }

    fn url(&self) -> String {
        self.server.url()
    }

    fn kit(&self) -> &Kit {
        self.state.kit()
    }

    fn env(&self) -> Vec<(String, String)> {
        let environment = match self.environment {
            Environment::Reference => "reference",
            Environment::Production => "production",
        };
        vec![
            ("KONFORM_VST_URL".into(), self.url()),
            ("KONFORM_ENVIRONMENT".into(), environment.into()),
        ]
    }

    /// A valid `Authorization` header of the default insurer (ExternalAuthenticate over SHA-256 of
    /// `TelematikId|HauptIK`, made with the AUT key directly).
    fn auth_headers(&self) -> Result<Vec<(String, String)>, SimError> {
        let ins = &self.pki.insurer;
        let input = ti_core::sig_input::registration_input(&ins.telematik_id, &ins.ik);
        let sig = self
            .pki
            .insurer_aut
            .key
            .sign_prehash_der(&ti_core::sha256(&input))
            .map_err(|e| SimError::Unsupported {
                sim: "vst",
                message: format!("signing the Authorization header: {e}"),
            })?;
        Ok(vec![(
            "Authorization".into(),
            mock_vst::auth_header(&ins.telematik_id, &ins.ik, &sig),
        )])
    }

    fn settle(&self, bound: Duration) -> BoxFuture<'_, bool> {
        Box::pin(self.state.settle(bound))
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(self.server.stop())
    }
}
