//! The scenario format (YAML). Unknown keys are errors; every error names the file, the line and the
//! field. The JSON Schema in `scenarios/scenario.schema.json` describes the same format for editors.
//!
//! ```yaml
//! id: vst-accepts-valid-delivery
//! title: A correct vital status delivery is accepted
//! spec: '002 "API für die Übertragung von Vitalstatusmeldungen"'
//! tags: [vst, happy-path]
//! given:
//!   vst: { environment: reference }
//! when:
//!   - action: vst.submit_vitalstatus
//!     input: { IdDatenlieferung: "2024-01", Meldungen: [ { IdDatensatz: "1", IdVersicherter: A111100008, Vitalstatus: "01" } ] }
//! then:
//!   - journal: { sim: vst, path: /notify/api/v1/vitalstatusnotification, status: 200 }
//! ```

mod load;
mod parse;

pub use load::{Pack, load};
pub use parse::{ScenarioError, parse_scenario};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    /// The seed passage the scenario checks, e.g. `002 "Festlegungen zu den JSON-Daten"`.
    pub spec: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Simulator state before the steps, per simulator (`given.vst`, `given.konnektor`, …); each
    /// simulator's plugin checks and applies its own entry (`crate::sims`).
    #[serde(default)]
    pub given: BTreeMap<String, Value>,
    #[serde(default)]
    pub when: Vec<Step>,
    #[serde(default)]
    pub then: Vec<Check>,
    /// Bound for the whole scenario (default 60 s).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(skip)]
    pub file: PathBuf,
    #[serde(skip)]
    pub pack: String,
    /// SHA-256 (hex) of the file as loaded, for the report's provenance.
    #[serde(skip)]
    pub sha256: String,
}

impl Scenario {
    /// The simulators the scenario talks about: `given` keys, action prefixes (`vst.` → `vst`), request
    /// targets and the simulators its checks name. The runner starts these (and what they need).
    pub fn simulators(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.given.keys().cloned().collect();
        for s in &self.when {
            if let Some(a) = &s.action {
                out.insert(a.split('.').next().unwrap_or(a).to_string());
            }
            if let Some(r) = &s.request {
                out.insert(r.target.clone());
            }
        }
        for c in &self.then {
            out.extend(c.journal_checks().map(|j| j.sim.clone()));
        }
        out
    }
}

/// One step: a client action, a raw request the runner sends itself, or a pause.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub name: Option<String>,
    /// Abstract action (`vst.submit_vitalstatus`, …) the client adapter maps to a command.
    #[serde(default)]
    pub action: Option<String>,
    /// Neutral JSON input for the action (written to `$KONFORM_INPUT`).
    #[serde(default)]
    pub input: Option<Value>,
    #[serde(default)]
    pub request: Option<RawRequest>,
    #[serde(default)]
    pub sleep_ms: Option<u64>,
    #[serde(default)]
    pub expect: Option<StepExpect>,
    /// Actions only: a careful client may refuse this step locally. When the action exits non-zero and
    /// no journal entry matching this was recorded during the step, the client refused before sending:
    /// the scenario passes there (remaining steps and checks are not run). Leave it out where the seed
    /// requires the request to be sent, and quote that passage in `spec`.
    #[serde(default)]
    pub may_refuse: Option<JournalCheck>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    /// The simulator the request goes to (`vst`, `konnektor`, …).
    pub target: String,
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body as text (sent as is).
    #[serde(default)]
    pub body: Option<String>,
    /// Body as JSON (serialised; Content-Type application/json unless given).
    #[serde(default)]
    pub json: Option<Value>,
    /// Body as base64 (for bytes YAML cannot hold, e.g. invalid UTF-8).
    #[serde(default)]
    pub body_base64: Option<String>,
    /// Add a valid authentication header (VST: the default insurer's `Authorization`).
    #[serde(default)]
    pub auth: bool,
}

fn get() -> String {
    "GET".into()
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StepExpect {
    /// For actions: `ok` (exit 0), `fail` (non-zero), or an exit code.
    #[serde(default)]
    pub exit: Option<ExitExpect>,
    /// For raw requests: the HTTP status (`400`) or class (`4xx`).
    #[serde(default)]
    pub status: Option<StatusPattern>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ExitExpect {
    Ok,
    Fail,
    Code(i32),
}

impl<'de> Deserialize<'de> for ExitExpect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i32),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ExitExpect::Code(n)),
            Raw::S(s) if s == "ok" => Ok(ExitExpect::Ok),
            Raw::S(s) if s == "fail" => Ok(ExitExpect::Fail),
            Raw::S(s) => Err(serde::de::Error::custom(format!(
                "exit must be `ok`, `fail` or a number, not `{s}`"
            ))),
        }
    }
}

impl ExitExpect {
    pub fn matches(&self, code: i32) -> bool {
        match self {
            ExitExpect::Ok => code == 0,
            ExitExpect::Fail => code != 0,
            ExitExpect::Code(c) => *c == code,
        }
    }
}

impl std::fmt::Display for ExitExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitExpect::Ok => f.write_str("exit 0"),
            ExitExpect::Fail => f.write_str("a non-zero exit"),
            ExitExpect::Code(c) => write!(f, "exit {c}"),
        }
    }
}

/// `400`, `4xx`, or `2xx`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusPattern(pub String);

impl<'de> Deserialize<'de> for StatusPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u16),
            S(String),
        }
        let s = match Raw::deserialize(d)? {
            Raw::N(n) => n.to_string(),
            Raw::S(s) => s,
        };
        let ok = s.len() == 3
            && s.as_bytes()[0].is_ascii_digit()
            && s[1..].bytes().all(|b| b.is_ascii_digit() || b == b'x');
        if !ok {
            return Err(serde::de::Error::custom(format!(
                "status must be like 400 or 4xx, not `{s}`"
            )));
        }
        Ok(StatusPattern(s))
    }
}

impl StatusPattern {
    pub fn matches(&self, status: u16) -> bool {
        let st = status.to_string();
        st.len() == 3
            && self
                .0
                .bytes()
                .zip(st.bytes())
                .all(|(p, c)| p == b'x' || p == c)
    }
}

/// One assertion after the steps ran.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// At least one (or `count`/`min`/`max`) journal entries match.
    #[serde(default)]
    pub journal: Option<JournalCheck>,
    /// No journal entry matches.
    #[serde(default)]
    pub no_journal: Option<JournalCheck>,
    /// A value in an action's JSON output.
    #[serde(default)]
    pub output: Option<OutputCheck>,
    /// These journal entries occur in this order (across simulators, by time; other entries may come
    /// in between).
    #[serde(default)]
    pub sequence: Option<Vec<JournalCheck>>,
    /// Wait up to this long for the check to hold (asynchronous effects).
    #[serde(default)]
    pub within_ms: Option<u64>,
}

impl Check {
    /// Every journal matcher of the check (`journal`, `no_journal`, each `sequence` entry).
    pub fn journal_checks(&self) -> impl Iterator<Item = &JournalCheck> {
        self.journal
            .iter()
            .chain(self.no_journal.iter())
            .chain(self.sequence.iter().flatten())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JournalCheck {
    /// The simulator whose journal is searched (`vst`, `konnektor`, …).
    pub sim: String,
    #[serde(default)]
    pub method: Option<String>,
    /// Exact path, or a prefix ending in `*`; the query string is ignored.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub status: Option<StatusPattern>,
    /// accepted | rejected | failed | injected
    #[serde(default)]
    pub verdict: Option<sim_kit::Verdict>,
    /// A diagnosis rule: exact, or a prefix ending in `*`.
    #[serde(default)]
    pub diagnosis: Option<String>,
    /// The entry's data contains this JSON (subset match).
    #[serde(default)]
    pub data: Option<Value>,
    #[serde(default)]
    pub count: Option<usize>,
    #[serde(default)]
    pub min: Option<usize>,
    #[serde(default)]
    pub max: Option<usize>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputCheck {
    /// Index of the step (0-based) whose output is checked; default: the last action step.
    #[serde(default)]
    pub step: Option<usize>,
    /// JSON pointer into the output.
    pub pointer: String,
    #[serde(default)]
    pub equals: Option<Value>,
    /// For arrays: the number of elements.
    #[serde(default)]
    pub len: Option<usize>,
}

/// Simple glob: exact, or a prefix ending in `*`, or `*` anywhere as "any run of characters".
pub fn glob_match(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("kvnr.*", "kvnr.check-digit"));
        assert!(glob_match("*", "x"));
        assert!(!glob_match("kvnr.*", "ik.pattern"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(glob_match("/notify/*", "/notify/api"));
    }
}
