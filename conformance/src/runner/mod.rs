//! Runs scenarios: each against its own in-process simulators on ephemeral ports, in parallel, with
//! results reported in a deterministic order.
//!
//! - this module: scheduling (a semaphore of `--jobs`, results awaited in order), the run's events
//! - `scenario`: one scenario — simulators up, steps, checks, diagnoses, simulators down
//! - `steps`: client actions through the adapter, raw requests
//! - `expect`: the pure matching of `then` checks against journal snapshots and outputs

pub mod expect;
pub mod partition;
mod raw_http;
mod scenario;
pub mod steps;

pub use crate::merge;

use crate::adapter::Adapter;
use crate::event::{Event, Failure, PackInfo, Reporter, RunInfo, ScenarioResult, Summary, Verdict};
use crate::model::{Pack, Scenario, glob_match};
use crate::report::provenance;
use scenario::{error_result, run_scenario};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use ti_core::pki::TestPki;

/// What a run needs besides the scenarios.
#[derive(Clone)]
pub struct RunOptions {
    pub adapter: Adapter,
    pub jobs: usize,
    /// Glob over scenario ids (`vst-*`).
    pub filter: Option<String>,
    /// Per-step bound for client commands (the adapter may set its own).
    pub step_timeout: Duration,
    /// Stop starting new scenarios after the first failure (selftest with defects).
    pub stop_on_failure: bool,
    /// Serve every simulator over TLS (`konform run --tls`); clients get the CA as `KONFORM_TLS_CA`.
    pub tls: bool,
    /// Run only this shard (`--partition hash:K/N`).
    pub partition: Option<partition::Partition>,
    /// The obligations file the packs belong to; its hash goes into the report.
    pub obligations: Option<PathBuf>,
}

/// Shared by every scenario of a run: the test PKI (in memory and on disk for external clients).
pub struct Shared {
    pub pki: Arc<TestPki>,
    pub pki_dir: PathBuf,
    pub work_dir: PathBuf,
    pub tls: crate::sims::TlsMaterial,
}

/// Why a run could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("generating the test PKI: {0}")]
    Pki(#[source] ti_core::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the test PKI: {0}")]
    Files(#[source] sim_kit::fsutil::FsError),
    #[error(transparent)]
    Tls(#[from] crate::sims::server::TlsMaterialError),
}

impl Shared {
    /// Generate a PKI and write it under `work_dir/pki`.
    pub fn create(work_dir: &Path) -> Result<Shared, SetupError> {
        let pki =
            TestPki::generate(&ti_core::pki::PkiOptions::default()).map_err(SetupError::Pki)?;
        let pki_dir = work_dir.join("pki");
        let files = sim_kit::fsutil::pem_files(pki.files());
        sim_kit::fsutil::write_dir_atomically(&pki_dir, &files, sim_kit::fsutil::Existing::Replace)
            .map_err(SetupError::Files)?;
        let tls = crate::sims::TlsMaterial::from_pki(&pki)?;
        Ok(Shared {
            tls,
            pki: Arc::new(pki),
            pki_dir,
            work_dir: work_dir.to_path_buf(),
        })
    }
}

/// The scenarios a run executes: matching `filter` and in `partition`, in pack and file order.
pub fn select<'a>(
    packs: &'a [Pack],
    filter: Option<&str>,
    partition: Option<&partition::Partition>,
) -> Vec<&'a Scenario> {
    packs
        .iter()
        .flat_map(|p| p.scenarios.iter())
        .filter(|s| selected(s, filter, partition))
        .collect()
}

fn selected(s: &Scenario, filter: Option<&str>, partition: Option<&partition::Partition>) -> bool {
    filter.is_none_or(|f| glob_match(f, &s.id)) && partition.is_none_or(|p| p.includes(&s.id))
}

/// What the report says about the run: client, date, packs with their file hashes, obligations file.
fn run_info(packs: &[Pack], opts: &RunOptions, scenarios: usize) -> RunInfo {
    RunInfo {
        client: opts.adapter.name(),
        started: sim_kit::now_rfc3339(),
        packs: packs
            .iter()
            .map(|p| {
                let files = provenance::pack_files(p);
                PackInfo {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    scenarios: p
                        .scenarios
                        .iter()
                        .filter(|s| selected(s, opts.filter.as_deref(), opts.partition.as_ref()))
                        .count(),
                    digest: provenance::pack_digest(&files),
                    files,
                }
            })
            .collect(),
        scenarios,
        jobs: opts.jobs.max(1),
        konform_version: env!("CARGO_PKG_VERSION").to_string(),
        obligations: opts
            .obligations
            .as_deref()
            .and_then(|p| provenance::file_digest(p).ok()),
        partition: opts.partition.map(|p| p.to_string()),
        merged_from: vec![],
    }
}

/// Run the selected scenarios; reporters see the events in order. Returns the results in order.
pub async fn run(
    packs: &[Pack],
    opts: &RunOptions,
    shared: Arc<Shared>,
    reporters: &mut [Box<dyn Reporter>],
) -> (Vec<ScenarioResult>, Summary) {
    let started = Instant::now();
    let scenarios: Vec<Scenario> = select(packs, opts.filter.as_deref(), opts.partition.as_ref())
        .into_iter()
        .cloned()
        .collect();
    let info = run_info(packs, opts, scenarios.len());
    emit(reporters, &Event::RunStarted(info));

    let sem = Arc::new(tokio::sync::Semaphore::new(opts.jobs.max(1)));
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for (i, sc) in scenarios.into_iter().enumerate() {
        let sem = sem.clone();
        let stop = stop.clone();
        let shared = shared.clone();
        let opts = opts.clone();
        handles.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await.ok()?;
            if stop.load(Ordering::SeqCst) {
                return None;
            }
            let bound = Duration::from_millis(sc.timeout_ms.unwrap_or(60_000));
            let result =
                match tokio::time::timeout(bound, run_scenario(&sc, &opts, &shared, i)).await {
                    Ok(r) => r,
                    Err(_) => error_result(
                        &sc,
                        format!("scenario exceeded its bound of {} ms", bound.as_millis()),
                    ),
                };
            if opts.stop_on_failure
                && result.verdict != Verdict::Passed
                && result.verdict != Verdict::Skipped
            {
                stop.store(true, Ordering::SeqCst);
            }
            Some(result)
        }));
    }
    let mut results = Vec::new();
    for h in handles {
        // Awaiting in order gives the deterministic report order.
        match h.await {
            Ok(Some(r)) => {
                emit(reporters, &Event::ScenarioFinished(Box::new(r.clone())));
                results.push(r);
            }
            Ok(None) => {}
            Err(e) => {
                let r = ScenarioResult {
                    id: "?".into(),
                    title: String::new(),
                    spec: String::new(),
                    pack: String::new(),
                    file: String::new(),
                    tags: vec![],
                    verdict: Verdict::Error,
                    duration_ms: 0.0,
                    steps: vec![],
                    failures: vec![Failure {
                        check: "runner".into(),
                        expected: "the scenario task to finish".into(),
                        actual: format!("it panicked: {e}"),
                        diagnoses: vec![],
                    }],
                    diagnoses: vec![],
                    refused_at: None,
                };
                emit(reporters, &Event::ScenarioFinished(Box::new(r.clone())));
                results.push(r);
            }
        }
    }
    let summary = Summary::from_results(&results, started.elapsed().as_secs_f64() * 1000.0);
    emit(
        reporters,
        &Event::RunFinished {
            summary: summary.clone(),
        },
    );
    (results, summary)
}

fn emit(reporters: &mut [Box<dyn Reporter>], e: &Event) {
    for r in reporters.iter_mut() {
        if let Err(err) = r.event(e) {
            eprintln!("konform: reporter failed: {err}");
        }
    }
}
