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

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_kit::FaultRule;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    /// The seed passage the scenario checks, e.g. `002 "Festlegungen zu den JSON-Daten"`.
    pub spec: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub given: Given,
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
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Given {
    #[serde(default)]
    pub vst: VstGiven,
    #[serde(default)]
    pub konnektor: KonnektorGiven,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VstGiven {
    #[serde(default)]
    pub environment: Option<ti_core::ids::Environment>,
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

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KonnektorGiven {
    /// Konnektor configuration keys to change (merged over the defaults), as in `docs/konnektor.md`.
    #[serde(default)]
    pub config: Option<Value>,
    /// PIN status of the default card at the start: VERIFIABLE, VERIFIED, TRANSPORT_PIN, BLOCKED, …
    #[serde(default)]
    pub pin_status: Option<String>,
    /// How the next VerifyPin on the default card answers: OK, REJECTED, ERROR, …
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Vst,
    Konnektor,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    pub target: Target,
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
    /// VST only: add a valid Authorization header for the default insurer.
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

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JournalCheck {
    pub sim: Target,
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

/// A scenario file error: file, line/column when known, and what is wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}{}: {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<u64>,
    pub message: String,
}

fn line_of_key(text: &str, needle: &str, nth: usize) -> Option<u64> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with(needle)
        })
        .nth(nth)
        .map(|(i, _)| i as u64 + 1)
}

/// Parse a scenario from text; `file` names it in errors.
pub fn parse_scenario(text: &str, file: &Path, pack: &str) -> Result<Scenario, ScenarioError> {
    let fname = file.display().to_string();
    let mut sc: Scenario = serde_saphyr::from_str(text).map_err(|e| ScenarioError {
        file: fname.clone(),
        line: None,
        message: e.to_string(),
    })?;
    sc.file = file.to_path_buf();
    sc.pack = pack.to_string();
    let err = |line: Option<u64>, message: String| ScenarioError {
        file: fname.clone(),
        line,
        message,
    };
    if sc.id.trim().is_empty() || sc.id.contains(char::is_whitespace) {
        return Err(err(
            line_of_key(text, "id:", 0),
            "field `id`: must be non-empty without spaces".into(),
        ));
    }
    if sc.spec.trim().is_empty() {
        return Err(err(
            line_of_key(text, "spec:", 0),
            "field `spec`: name the seed passage this scenario checks".into(),
        ));
    }
    for t in &sc.tags {
        if let Some(d) = t.strip_prefix("defect:") {
            if crate::client::Defect::from_name(d).is_none() {
                return Err(err(
                    line_of_key(text, "tags:", 0),
                    format!(
                        "field `tags`: `{t}` names no defect of the reference client (see `konform client x --list-defects`)"
                    ),
                ));
            }
        }
    }
    if sc.when.is_empty() {
        return Err(err(
            line_of_key(text, "when:", 0),
            "field `when`: at least one step is needed".into(),
        ));
    }
    let mut nth_action = 0;
    let mut nth_request = 0;
    for (i, st) in sc.when.iter().enumerate() {
        let kinds =
            st.action.is_some() as u8 + st.request.is_some() as u8 + st.sleep_ms.is_some() as u8;
        let line = if st.action.is_some() {
            nth_action += 1;
            line_of_key(text, "action:", nth_action - 1)
        } else if st.request.is_some() {
            nth_request += 1;
            line_of_key(text, "request:", nth_request - 1)
        } else {
            line_of_key(text, "when:", 0)
        };
        if kinds != 1 {
            return Err(err(
                line,
                format!(
                    "field `when[{i}]`: a step has exactly one of `action`, `request`, `sleep_ms`"
                ),
            ));
        }
        if let Some(a) = &st.action {
            if !crate::client::ACTIONS.contains(&a.as_str()) {
                return Err(err(
                    line,
                    format!(
                        "field `when[{i}].action`: unknown action `{a}` (known: {})",
                        crate::client::ACTIONS.join(", ")
                    ),
                ));
            }
        }
        if st.input.is_some() && st.action.is_none() {
            return Err(err(
                line,
                format!("field `when[{i}].input`: only actions take an input"),
            ));
        }
        if let Some(r) = &st.request {
            if r.body.is_some() as u8 + r.json.is_some() as u8 + r.body_base64.is_some() as u8 > 1 {
                return Err(err(
                    line,
                    format!("field `when[{i}].request`: one of `body`, `json`, `body_base64`"),
                ));
            }
            if let Some(b) = &r.body_base64 {
                if ti_core::b64_decode(b).is_err() {
                    return Err(err(
                        line,
                        format!("field `when[{i}].request.body_base64`: not valid base64"),
                    ));
                }
            }
            if !r.path.starts_with('/') {
                return Err(err(
                    line,
                    format!("field `when[{i}].request.path`: must start with `/`"),
                ));
            }
        }
        if let Some(e) = &st.expect {
            if e.status.is_some() && st.request.is_none() {
                return Err(err(
                    line,
                    format!("field `when[{i}].expect.status`: only for raw requests"),
                ));
            }
            if e.exit.is_some() && st.action.is_none() {
                return Err(err(
                    line,
                    format!("field `when[{i}].expect.exit`: only for actions"),
                ));
            }
        }
    }
    for (i, c) in sc.then.iter().enumerate() {
        let kinds = c.journal.is_some() as u8
            + c.no_journal.is_some() as u8
            + c.output.is_some() as u8
            + c.sequence.is_some() as u8;
        if kinds != 1 {
            return Err(err(
                line_of_key(text, "then:", 0),
                format!(
                    "field `then[{i}]`: a check has exactly one of `journal`, `no_journal`, `output`, `sequence`"
                ),
            ));
        }
        if c.sequence.as_ref().is_some_and(|q| q.len() < 2) {
            return Err(err(
                line_of_key(text, "sequence:", 0),
                format!("field `then[{i}].sequence`: name at least two entries"),
            ));
        }
        if let Some(o) = &c.output {
            if let Some(s) = o.step {
                if s >= sc.when.len() || sc.when[s].action.is_none() {
                    return Err(err(
                        line_of_key(text, "output:", 0),
                        format!("field `then[{i}].output.step`: step {s} is not an action step"),
                    ));
                }
            }
            if !o.pointer.is_empty() && !o.pointer.starts_with('/') {
                return Err(err(
                    line_of_key(text, "pointer:", 0),
                    format!("field `then[{i}].output.pointer`: a JSON pointer starts with `/`"),
                ));
            }
        }
    }
    Ok(sc)
}

/// A pack: a folder of scenario files (`*.yaml`), named after the folder.
#[derive(Debug, Clone)]
pub struct Pack {
    pub name: String,
    pub dir: PathBuf,
    pub version: String,
    pub scenarios: Vec<Scenario>,
}

/// Load scenarios from files and folders (recursively). Errors are collected, not fatal one by one.
pub fn load(paths: &[PathBuf]) -> (Vec<Pack>, Vec<ScenarioError>) {
    let mut packs: BTreeMap<String, Pack> = BTreeMap::new();
    let mut errors = Vec::new();
    for p in paths {
        let mut files = Vec::new();
        if p.is_dir() {
            collect_yaml(p, &mut files);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            errors.push(ScenarioError {
                file: p.display().to_string(),
                line: None,
                message: "no such file or folder".into(),
            });
            continue;
        }
        files.sort();
        for f in files {
            let dir = f.parent().map(Path::to_path_buf).unwrap_or_default();
            let pack_name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenarios".into());
            let text = match std::fs::read_to_string(&f) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(ScenarioError {
                        file: f.display().to_string(),
                        line: None,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            let pack = packs.entry(pack_name.clone()).or_insert_with(|| Pack {
                name: pack_name.clone(),
                version: std::fs::read_to_string(dir.join("VERSION"))
                    .map(|v| v.trim().to_string())
                    .unwrap_or_else(|_| env!("CARGO_PKG_VERSION").to_string()),
                dir: dir.clone(),
                scenarios: Vec::new(),
            });
            match parse_scenario(&text, &f, &pack_name) {
                Ok(s) => {
                    if pack.scenarios.iter().any(|o| o.id == s.id) {
                        errors.push(ScenarioError {
                            file: f.display().to_string(),
                            line: line_of_key(&text, "id:", 0),
                            message: format!(
                                "field `id`: `{}` is used twice in pack `{pack_name}`",
                                s.id
                            ),
                        });
                    } else {
                        pack.scenarios.push(s);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
    }
    (packs.into_values().collect(), errors)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_yaml(&p, out);
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("yaml") | Some("yml")
        ) {
            out.push(p);
        }
    }
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

    const OK: &str = r#"
id: x
title: t
spec: '002 "X"'
when:
  - action: vst.poll_requests
    expect: { exit: ok }
  - request: { target: vst, path: /x }
    expect: { status: 4xx }
then:
  - journal: { sim: vst, status: 204 }
"#;

    #[test]
    fn parses_and_validates() {
        let s = parse_scenario(OK, Path::new("a.yaml"), "p").unwrap();
        assert_eq!(s.when.len(), 2);
        assert!(
            s.when[1]
                .expect
                .as_ref()
                .unwrap()
                .status
                .as_ref()
                .unwrap()
                .matches(404)
        );
    }

    #[test]
    fn unknown_key_names_file_line_and_field() {
        let bad = OK.replace("title: t", "title: t\ntitel: u");
        let e = parse_scenario(&bad, Path::new("s/a.yaml"), "p").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("s/a.yaml"), "{msg}");
        assert!(msg.contains("titel"), "{msg}");
        assert!(msg.contains('4'), "line expected: {msg}");
    }

    #[test]
    fn semantic_errors_point_at_lines() {
        let bad = OK.replace("vst.poll_requests", "vst.poll_nothing");
        let e = parse_scenario(&bad, Path::new("a.yaml"), "p").unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        assert!(e.message.contains("when[0].action"), "{e}");
    }

    #[test]
    fn globs() {
        assert!(glob_match("kvnr.*", "kvnr.check-digit"));
        assert!(glob_match("*", "x"));
        assert!(!glob_match("kvnr.*", "ik.pattern"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(glob_match("/notify/*", "/notify/api"));
    }
}
