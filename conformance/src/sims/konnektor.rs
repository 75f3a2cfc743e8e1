//! mock-konnektor as a runner plugin: `given.konnektor` (configuration, PIN state of the default card,
//! the next VerifyPin answer, the expected context, faults), `KONFORM_KONNEKTOR_URL` and the context
//! variables the client is told to use.

use super::Server;
use super::{BoxFuture, RunningSim, SimError, SimPlugin, StartContext, parse_given};
use crate::merge;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_kit::{FaultRule, Kit, Simulator};
use std::sync::Arc;
use ti_core::pki::TestPki;

pub struct Konnektor;

/// `given.konnektor`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KonnektorGiven {
    /// Konnektor configuration keys to change (merged over the defaults), as in `docs/konnektor.md`.
    #[serde(default)]
    pub config: Option<Value>,
    /// PIN status of the default card at the start: VERIFIABLE, VERIFIED, TRANSPORT_PIN, BLOCKED, …
    #[serde(default)]
    pub pin_status: Option<String>,
    /// How the next VerifyPin on the default card answers: OK or REJECTED.
    #[serde(default)]
    pub next_verify_pin: Option<String>,
    /// The context the Konnektor expects; the client is told the same values.
    #[serde(default)]
    pub context: Option<ContextGiven>,
    #[serde(default)]
    pub faults: Vec<FaultRule>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContextGiven {
    #[serde(rename = "MandantId")]
    pub mandant_id: String,
    #[serde(rename = "ClientSystemId")]
    pub client_system_id: String,
    #[serde(rename = "WorkplaceId")]
    pub workplace_id: String,
    #[serde(rename = "UserId", default)]
    pub user_id: Option<String>,
}

fn given_err(message: impl ToString) -> SimError {
    SimError::Given {
        sim: "konnektor",
        message: message.to_string(),
    }
}

fn config(g: &KonnektorGiven) -> Result<mock_konnektor::KonnektorConfig, SimError> {
    let mut cfg =
        serde_json::to_value(mock_konnektor::KonnektorConfig::default()).map_err(given_err)?;
    if let Some(c) = &g.config {
        merge(&mut cfg, c);
    }
    if let Some(ctx) = &g.context {
        let mut patch = serde_json::json!({ "context": {
            "mandant_id": ctx.mandant_id, "client_system_id": ctx.client_system_id, "workplace_id": ctx.workplace_id,
        }});
        if let Some(u) = &ctx.user_id {
            patch["context"]["user_id"] = Value::String(u.clone());
        }
        merge(&mut cfg, &patch);
        // Terminals are assigned to workplaces (cards are visible per workplace): serve the given one.
        if let Some(terms) = cfg.get_mut("terminals").and_then(Value::as_array_mut) {
            for t in terms {
                if let Some(wps) = t.get_mut("workplaces").and_then(Value::as_array_mut) {
                    let wp = Value::String(ctx.workplace_id.clone());
                    if !wps.contains(&wp) {
                        wps.push(wp);
                    }
                }
            }
        }
    }
    serde_json::from_value(cfg).map_err(given_err)
}

fn pin_status(s: &str) -> Result<mock_konnektor::config::PinStatus, SimError> {
    serde_json::from_value(Value::String(s.to_string())).map_err(|_| {
        given_err(format!(
            "pin_status: `{s}` (VERIFIABLE, VERIFIED, BLOCKED, TRANSPORT_PIN)"
        ))
    })
}

fn verify_answer(s: &str) -> Result<mock_konnektor::VerifyAnswer, SimError> {
    match s.to_ascii_uppercase().as_str() {
        "OK" => Ok(mock_konnektor::VerifyAnswer::Ok),
        "REJECTED" | "WRONG" => Ok(mock_konnektor::VerifyAnswer::Wrong),
        _ => Err(given_err(format!(
            "next_verify_pin: `{s}` (OK or REJECTED)"
        ))),
    }
}

fn state(
    g: &KonnektorGiven,
    pki: &Arc<TestPki>,
) -> Result<mock_konnektor::KonnektorState, SimError> {
    let store = sim_kit::store::Store::ephemeral().map_err(given_err)?;
    let k =
        mock_konnektor::KonnektorState::new(config(g)?, pki.clone(), store).map_err(given_err)?;
    let card = mock_konnektor::DEFAULT_CARD_HANDLE;
    if let Some(s) = &g.pin_status {
        k.set_pin_status(card, pin_status(s)?)
            .map_err(|e| given_err(format!("pin_status: {e}")))?;
    }
    if let Some(s) = &g.next_verify_pin {
        k.queue_verify(card, &[verify_answer(s)?])
            .map_err(|e| given_err(format!("next_verify_pin: {e}")))?;
    }
    for f in &g.faults {
        k.kit()
            .faults()
            .add(f.clone())
            .map_err(|e| given_err(format!("faults: {e}")))?;
    }
    Ok(k)
}

impl SimPlugin for Konnektor {
    fn name(&self) -> &'static str {
        "konnektor"
    }

    fn check_given(&self, given: &Value) -> Result<(), SimError> {
        let g: KonnektorGiven = parse_given("konnektor", given)?;
        config(&g)?;
        if let Some(s) = &g.pin_status {
            pin_status(s)?;
        }
        if let Some(s) = &g.next_verify_pin {
            verify_answer(s)?;
        }
        Ok(())
    }

    fn start<'a>(
        &'a self,
        given: &'a Value,
        ctx: &'a StartContext<'a>,
    ) -> BoxFuture<'a, Result<Box<dyn RunningSim>, SimError>> {
        Box::pin(async move {
            let g: KonnektorGiven = parse_given("konnektor", given)?;
            let state = state(&g, ctx.pki)?;
            let server = Server::start(mock_konnektor::app(state.clone()), ctx.server_tls())
                .await
                .map_err(|source| SimError::Start {
                    sim: "konnektor",
                    source,
                })?;
            Ok(Box::new(RunningKonnektor {
                state,
                server,
                context: g.context,
            }) as Box<dyn RunningSim>)
        })
    }
}

struct RunningKonnektor {
    state: mock_konnektor::KonnektorState,
    server: Server,
    context: Option<ContextGiven>,
}

impl RunningSim for RunningKonnektor {
    fn name(&self) -> &'static str {
        "konnektor"
    }

    fn url(&self) -> String {
        self.server.url()
    }

    fn kit(&self) -> &Kit {
        self.state.kit()
    }

    fn env(&self) -> Vec<(String, String)> {
        let ctx = self.context.as_ref();
        let pick = |f: fn(&ContextGiven) -> Option<String>, default: &str| {
            ctx.and_then(f).unwrap_or_else(|| default.to_string())
        };
        vec![
            ("KONFORM_KONNEKTOR_URL".into(), self.url()),
            (
                "KONFORM_MANDANT_ID".into(),
                pick(|c| Some(c.mandant_id.clone()), "Mandant1"),
            ),
            (
                "KONFORM_CLIENT_SYSTEM_ID".into(),
                pick(|c| Some(c.client_system_id.clone()), "ClientID1"),
            ),
            (
                "KONFORM_WORKPLACE_ID".into(),
                pick(|c| Some(c.workplace_id.clone()), "Workplace1"),
            ),
            (
                "KONFORM_USER_ID".into(),
                pick(|c| c.user_id.clone(), "User1"),
            ),
        ]
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(self.server.stop())
    }
}
