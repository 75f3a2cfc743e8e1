//! An action as an HTTP call into the vendor's test harness, for clients that are libraries or services
//! rather than command-line programs. Same JSON in and out as a command:
//!
//! - request: `METHOD url` (default `POST`), the given headers, `Content-Type: application/json`, body
//!   `{"action": "vst.submit_vitalstatus", "input": {…}, "env": {"KONFORM_VST_URL": "…", …}}` —
//!   `input` is what a command finds in `$KONFORM_INPUT`, `env` the runner's `KONFORM_*` variables plus
//!   the adapter's and the action's `env:`;
//! - answer: `200` with `{"exit_code": 0, "output": {…}, "stdout": "…", "stderr": "…"}` (`exit_code`
//!   required, the rest optional) — judged exactly like a command's exit code and output file. Any
//!   other status, or a body that is not this JSON, means the harness is broken: the step errors.

use crate::http::Http;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpAction {
    /// `${VAR}` is expanded (see `adapter::env`).
    pub url: String,
    #[serde(default = "post")]
    pub method: String,
    /// Values may use `${VAR}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn post() -> String {
    "POST".into()
}

/// What the harness answers.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HarnessAnswer {
    pub exit_code: i32,
    #[serde(default)]
    pub output: Option<Value>,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error(transparent)]
    Env(#[from] super::env::EnvError),
    #[error("calling the harness at {url}: {source}")]
    Http {
        url: String,
        #[source]
        source: crate::http::HttpError,
    },
    #[error("the harness at {url} answered {status}, not 200: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("the harness at {url} answered no `{{\"exit_code\": …}}` JSON: {source}")]
    Answer {
        url: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The request body the harness receives.
pub fn request_body(action: &str, input: &Value, env: &BTreeMap<String, String>) -> Value {
    json!({ "action": action, "input": input, "env": env })
}

/// Call the harness. `expand_env` resolves `${VAR}` in the URL and headers; `body` is
/// [`request_body`]. Blocking (run it on a blocking thread).
pub fn call(
    a: &HttpAction,
    expand_env: &BTreeMap<String, String>,
    body: &Value,
    timeout: Duration,
) -> Result<HarnessAnswer, HarnessError> {
    let url = super::env::expand(&a.url, expand_env)?;
    let headers: Vec<(String, String)> = a
        .headers
        .iter()
        .map(|(k, v)| Ok((k.clone(), super::env::expand(v, expand_env)?)))
        .collect::<Result<_, HarnessError>>()?;
    let mut h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    h.push(("Content-Type", "application/json"));
    let http_err = |source| HarnessError::Http {
        url: url.clone(),
        source,
    };
    let resp = Http::new(timeout, None)
        .and_then(|c| {
            c.request(
                &a.method.to_ascii_uppercase(),
                &url,
                &h,
                body.to_string().as_bytes(),
            )
        })
        .map_err(http_err)?;
    if resp.status != 200 {
        return Err(HarnessError::Status {
            url,
            status: resp.status,
            body: resp.text().chars().take(500).collect(),
        });
    }
    serde_json::from_slice(&resp.body).map_err(|source| HarnessError::Answer { url, source })
}
