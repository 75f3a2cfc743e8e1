//! `konform report merge A.json B.json …`: join the JSON reports of a partitioned run (one per CI job)
//! into one report, written as JSON, JUnit and HTML like a single run's. The shards must come from the
//! same konform, client, packs (same file hashes) and obligations file, must not overlap, and — when
//! they name their partitions — must be complete (`hash:1/N` … `hash:N/N`).

use crate::event::{RunInfo, ScenarioResult, Summary};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "konform-report/1";

/// A JSON report as `--json` writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub run: RunInfo,
    pub summary: Summary,
    pub scenarios: Vec<ScenarioResult>,
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a konform JSON report: {message}")]
    NotAReport { path: PathBuf, message: String },
    #[error("cannot merge: {0}")]
    Mismatch(String),
}

/// Read a JSON report.
pub fn read(path: &Path) -> Result<Report, MergeError> {
    let bytes = std::fs::read(path).map_err(|source| MergeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let r: Report = serde_json::from_slice(&bytes).map_err(|e| MergeError::NotAReport {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if r.format != FORMAT {
        return Err(MergeError::NotAReport {
            path: path.to_path_buf(),
            message: format!("format `{}`, expected `{FORMAT}`", r.format),
        });
    }
    Ok(r)
}

fn same_run(a: &RunInfo, b: &RunInfo) -> Result<(), MergeError> {
    let differ = |what: &str, x: &dyn std::fmt::Debug, y: &dyn std::fmt::Debug| {
        Err(MergeError::Mismatch(format!(
            "{what} differs: {x:?} vs {y:?}"
        )))
    };
    if a.client != b.client {
        return differ("the client", &a.client, &b.client);
    }
    if a.konform_version != b.konform_version {
        return differ(
            "the konform version",
            &a.konform_version,
            &b.konform_version,
        );
    }
    if a.obligations != b.obligations {
        return differ("the obligations file", &a.obligations, &b.obligations);
    }
    let packs = |r: &RunInfo| {
        r.packs
            .iter()
            .map(|p| (p.name.clone(), p.version.clone(), p.digest.clone()))
            .collect::<Vec<_>>()
    };
    if packs(a) != packs(b) {
        return differ("the packs (name, version, digest)", &packs(a), &packs(b));
    }
    Ok(())
}

/// Partitions named by the reports must be `hash:1/N` … `hash:N/N`, each once.
fn check_partitions(parts: &[Option<String>]) -> Result<(), MergeError> {
    let named: Vec<&String> = parts.iter().flatten().collect();
    if named.is_empty() {
        return Ok(());
    }
    let parsed: Vec<crate::runner::partition::Partition> = named
        .iter()
        .map(|p| p.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| MergeError::Mismatch(format!("{e}")))?;
    let total = parsed[0].total;
    for k in 1..=total {
        let n = parsed
            .iter()
            .filter(|p| p.total == total && p.shard == k)
            .count();
        if n != 1 {
            return Err(MergeError::Mismatch(format!(
                "partition hash:{k}/{total} is given {n} times (each shard exactly once)"
            )));
        }
    }
    if parsed.len() as u64 != total || named.len() != parts.len() {
        return Err(MergeError::Mismatch(
            "mixed partitioned and unpartitioned reports, or shards of different N".into(),
        ));
    }
    Ok(())
}

/// Join `reports` into one.
pub fn merge(reports: Vec<Report>) -> Result<Report, MergeError> {
    let Some(first) = reports.first() else {
        return Err(MergeError::Mismatch("no reports given".into()));
    };
    for r in &reports[1..] {
        same_run(&first.run, &r.run)?;
    }
    check_partitions(
        &reports
            .iter()
            .map(|r| r.run.partition.clone())
            .collect::<Vec<_>>(),
    )?;
    let mut info = first.run.clone();
    let mut results: Vec<ScenarioResult> = Vec::new();
    let mut duration_ms: f64 = 0.0;
    for r in &reports {
        duration_ms = duration_ms.max(r.summary.duration_ms);
        if r.run.started < info.started {
            info.started = r.run.started.clone();
        }
        info.merged_from.push(
            r.run
                .partition
                .clone()
                .unwrap_or_else(|| format!("run started {}", r.run.started)),
        );
        for s in &r.scenarios {
            if results.iter().any(|x| x.pack == s.pack && x.id == s.id) {
                return Err(MergeError::Mismatch(format!(
                    "scenario `{}` of pack `{}` is in two reports (overlapping shards?)",
                    s.id, s.pack
                )));
            }
            results.push(s.clone());
        }
    }
    // The order a single run reports in: pack order, then file.
    let pack_index = |name: &str| info.packs.iter().position(|p| p.name == name);
    results.sort_by(|a, b| {
        pack_index(&a.pack)
            .cmp(&pack_index(&b.pack))
            .then(a.file.cmp(&b.file))
    });
    for p in &mut info.packs {
        p.scenarios = results.iter().filter(|r| r.pack == p.name).count();
    }
    info.scenarios = results.len();
    info.jobs = reports.iter().map(|r| r.run.jobs).sum();
    info.partition = None;
    let summary = Summary::from_results(&results, duration_ms);
    Ok(Report {
        format: FORMAT.into(),
        run: info,
        summary,
        scenarios: results,
    })
}
