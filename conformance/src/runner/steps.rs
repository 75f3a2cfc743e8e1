//! The steps of a scenario: client actions through the adapter (the in-process reference client or a
//! vendor's commands) and raw requests the runner sends itself.

use super::{RunOptions, raw_http};
use crate::adapter::{self, Adapter, run_command};
use crate::client::{self, ClientEnv};
use crate::http;
use crate::model::RawRequest;
use crate::sims::{SimError, SimSet};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What an action step did.
#[derive(Debug, Default)]
pub struct ActionOutcome {
    /// -1 when the command was killed (timeout, signal).
    pub exit_code: i32,
    pub output: Option<Value>,
    pub stdout: String,
    pub stderr: String,
    /// A note for the report (timeout, unreadable output).
    pub note: String,
}

/// Why a step could not be run as written (the scenario's verdict becomes `error`).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("adapter: {0}")]
    Adapter(String),
    #[error("reference client panicked: {0}")]
    Panicked(String),
    #[error("no simulator `{0}` is running in this scenario")]
    NoSuchSim(String),
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error("request: {0}")]
    Request(String),
}

fn write_json(path: &Path, v: &Value) -> Result<(), StepError> {
    let bytes = serde_json::to_vec_pretty(v).map_err(|e| StepError::Request(e.to_string()))?;
    std::fs::write(path, bytes).map_err(|source| StepError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Run action step `index` with `input`; its files live in `dir`. An action without input gets `{}`.
pub async fn run_action(
    action: &str,
    input: Option<&Value>,
    opts: &RunOptions,
    vars: &BTreeMap<String, String>,
    dir: &Path,
    index: usize,
) -> Result<ActionOutcome, StepError> {
    let input_path = dir.join(format!("step{index}.input.json"));
    let output_path = dir.join(format!("step{index}.output.json"));
    let input = input
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    write_json(&input_path, &input)?;
    match &opts.adapter {
        Adapter::Reference { defect, strict } => {
            let mut env = ClientEnv::from_vars(vars.clone());
            env.defect = *defect;
            env.strict = *strict;
            let action = action.to_string();
            let res =
                tokio::task::spawn_blocking(move || client::run_action(&action, &env, &input))
                    .await
                    .map_err(|e| StepError::Panicked(e.to_string()))?;
            Ok(match res {
                Ok(out) => {
                    write_json(&output_path, &out)?;
                    ActionOutcome {
                        exit_code: 0,
                        output: Some(out),
                        ..ActionOutcome::default()
                    }
                }
                Err(e) => ActionOutcome {
                    exit_code: e.exit_code(),
                    stderr: e.to_string(),
                    note: e.to_string(),
                    ..ActionOutcome::default()
                },
            })
        }
        Adapter::Commands { file, base_dir } => {
            let cmd = file
                .actions
                .get(action)
                .ok_or_else(|| StepError::Adapter(format!("lacks `{action}`")))?;
            let mut runner = vars.clone();
            runner.insert("KONFORM_ACTION".into(), action.to_string());
            runner.insert("KONFORM_INPUT".into(), input_path.display().to_string());
            runner.insert("KONFORM_OUTPUT".into(), output_path.display().to_string());
            let env = adapter::env::build(std::env::vars(), &runner, &file.env, &cmd.env)
                .map_err(|e| StepError::Adapter(e.to_string()))?;
            let timeout = cmd
                .timeout_ms
                .or(file.timeout_ms)
                .map(Duration::from_millis)
                .unwrap_or(opts.step_timeout);
            if let Some(h) = &cmd.http {
                // The harness is told the runner's variables and the adapter's own, not the inherited ones.
                let mut sent = runner;
                for k in file.env.keys().chain(cmd.env.keys()) {
                    if let Some(v) = env.get(k) {
                        sent.insert(k.clone(), v.clone());
                    }
                }
                return call_harness(action, h, env, sent, input, timeout).await;
            }
            let cwd = base_dir.join(file.cwd.clone().unwrap_or_default());
            let cwd = if cwd.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                cwd
            };
            let argv: Vec<String> = match (&cmd.run, &cmd.shell) {
                (Some(run), _) => run
                    .iter()
                    .map(|a| adapter::expand(a, &env))
                    .collect::<Result<_, _>>()
                    .map_err(|e| StepError::Adapter(e.to_string()))?,
                (None, Some(sh)) => vec!["sh".into(), "-c".into(), sh.clone()],
                (None, None) => {
                    return Err(StepError::Adapter(format!(
                        "action `{action}` has no command"
                    )));
                }
            };
            run_command_action(&argv, &env, &cwd, timeout, &output_path).await
        }
    }
}

async fn run_command_action(
    argv: &[String],
    env: &BTreeMap<String, String>,
    cwd: &Path,
    timeout: Duration,
    output_path: &Path,
) -> Result<ActionOutcome, StepError> {
    let o = run_command(argv, env, cwd, timeout)
        .await
        .map_err(|e| StepError::Adapter(e.to_string()))?;
    let mut note = String::new();
    if o.timed_out {
        note = format!(
            "timed out after {} ms; process group killed",
            timeout.as_millis()
        );
    }
    let output = match std::fs::read(output_path) {
        Ok(b) if !b.is_empty() => match serde_json::from_slice::<Value>(&b) {
            Ok(v) => Some(v),
            Err(e) => {
                if note.is_empty() {
                    note = format!("output file is not JSON: {e}");
                }
                None
            }
        },
        _ => None,
    };
    Ok(ActionOutcome {
        exit_code: if o.timed_out { -1 } else { o.exit_code },
        output,
        stdout: o.stdout,
        stderr: o.stderr,
        note,
    })
}

/// An `http:` action: the harness gets the action, its input and `sent` (the runner's variables plus
/// the adapter's `env:`), and answers like a command.
async fn call_harness(
    action: &str,
    h: &adapter::http::HttpAction,
    env: BTreeMap<String, String>,
    sent: BTreeMap<String, String>,
    input: Value,
    timeout: Duration,
) -> Result<ActionOutcome, StepError> {
    let body = adapter::http::request_body(action, &input, &sent);
    let h = h.clone();
    let answer = tokio::task::spawn_blocking(move || adapter::http::call(&h, &env, &body, timeout))
        .await
        .map_err(|e| StepError::Panicked(e.to_string()))?
        .map_err(|e| StepError::Adapter(e.to_string()))?;
    Ok(ActionOutcome {
        exit_code: answer.exit_code,
        output: answer.output,
        stdout: answer.stdout,
        stderr: answer.stderr,
        note: String::new(),
    })
}

/// Send a raw request to the simulator it names.
pub async fn raw_request(
    req: &RawRequest,
    sims: &SimSet,
    tls: &std::sync::Arc<rustls::ClientConfig>,
) -> Result<http::Response, StepError> {
    let sim = sims
        .get(&req.target)
        .ok_or_else(|| StepError::NoSuchSim(req.target.clone()))?;
    let url = http::join(&sim.url(), &req.path);
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let body = match (&req.body, &req.json, &req.body_base64) {
        (_, _, Some(b64)) => {
            ti_core::b64_decode(b64).map_err(|e| StepError::Request(e.to_string()))?
        }
        (Some(b), _, _) => b.clone().into_bytes(),
        (None, Some(j), _) => {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            serde_json::to_vec(j).map_err(|e| StepError::Request(e.to_string()))?
        }
        (None, None, None) => Vec::new(),
    };
    if req.auth {
        headers.extend(sim.auth_headers()?);
    }
    let method = req.method.to_ascii_uppercase();
    let tls = tls.clone();
    tokio::task::spawn_blocking(move || {
        raw_http::send(
            &method,
            &url,
            &headers,
            &body,
            Duration::from_secs(30),
            &tls,
        )
        .map_err(|e| StepError::Request(e.to_string()))
    })
    .await
    .map_err(|e| StepError::Panicked(e.to_string()))?
}
