//! One closed event type feeds every reporter (console, JUnit, JSON, HTML), as nextest's reporter does.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    /// The scenario could not be run as written (setup failure, broken adapter, timeout of the runner).
    Error,
    /// The client adapter does not implement an action the scenario needs.
    Skipped,
}

/// What one step did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub index: usize,
    pub label: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub duration_ms: f64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
}

/// A failed expectation: what was expected, what happened, and the simulators' explanation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    pub check: String,
    pub expected: String,
    pub actual: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub id: String,
    pub title: String,
    pub spec: String,
    pub pack: String,
    pub file: String,
    pub tags: Vec<String>,
    pub verdict: Verdict,
    pub duration_ms: f64,
    pub steps: Vec<StepRecord>,
    pub failures: Vec<Failure>,
    /// Every diagnosis the simulators journaled during the scenario (`rule at location: message`).
    pub diagnoses: Vec<String>,
    /// The step the client refused locally, before sending (allowed by the step's `may_refuse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_at: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
    pub duration_ms: f64,
}

impl Summary {
    pub fn from_results(results: &[ScenarioResult], duration_ms: f64) -> Summary {
        let c = |v| results.iter().filter(|r| r.verdict == v).count();
        Summary {
            total: results.len(),
            passed: c(Verdict::Passed),
            failed: c(Verdict::Failed),
            errors: c(Verdict::Error),
            skipped: c(Verdict::Skipped),
            duration_ms,
        }
    }
    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.errors == 0
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackInfo {
    pub name: String,
    pub version: String,
    /// Scenarios of the pack in this run (after `--filter` and `--partition`).
    pub scenarios: usize,
    /// SHA-256 over the pack's file list (`report::provenance::pack_digest`).
    #[serde(default)]
    pub digest: String,
    /// Every scenario file of the pack, with its SHA-256, whether it ran or not.
    #[serde(default)]
    pub files: Vec<FileDigest>,
}

/// A file and its SHA-256 (hex), named relative to its pack folder (or, for the obligations file, by
/// its file name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    pub client: String,
    pub started: String,
    pub packs: Vec<PackInfo>,
    pub scenarios: usize,
    pub jobs: usize,
    pub konform_version: String,
    /// The obligations file the packs were checked against, when one was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligations: Option<FileDigest>,
    /// `hash:K/N` when this run is one shard of a partitioned run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// For a merged report: the partitions it joins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
}

/// Everything a reporter can be told. Scenario results arrive in a deterministic order (pack, then file
/// order), whatever order they finished in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted(RunInfo),
    ScenarioFinished(Box<ScenarioResult>),
    RunFinished { summary: Summary },
}

/// A consumer of events.
pub trait Reporter: Send {
    fn event(&mut self, e: &Event) -> std::io::Result<()>;
}
