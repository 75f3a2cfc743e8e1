//! `konform report merge` (join the JSON reports of a partitioned run) and `konform report verify`
//! (recompute the pack and obligations hashes a report names).

use super::{CmdResult, ExitStatus, Failure};
use conformance::event::{Event, Reporter};
use conformance::report::merge::{self, Report};
use conformance::report::provenance;
use conformance::report::{FileKind, FileReporter};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(about = "Reports: merge shard reports into one, verify a report against pack folders")]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Join the JSON reports of a partitioned run (`konform run --partition hash:K/N --json …`)
    #[command(
        after_help = "Exit codes:\n  0  merged, every scenario passed\n  1  merged, some scenario failed or errored\n  2  the reports cannot be merged (different client, packs or konform; overlapping or missing shards)"
    )]
    Merge(MergeArgs),
    /// Check that a report was made with unmodified packs: recompute the SHA-256 of every scenario file
    /// and of the obligations file
    #[command(
        after_help = "Exit codes:\n  0  every hash matches\n  1  some file differs, is missing or was added\n  2  usage error (unreadable report)"
    )]
    Verify(VerifyArgs),
}

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// JSON reports, one per shard
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long)]
    pub junit: Option<PathBuf>,
    #[arg(long)]
    pub html: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// A JSON report (`konform run --json`, `konform report merge --json`)
    pub report: PathBuf,
    /// Pack folders, or folders holding them (the obligations file is looked for in and beside them)
    #[arg(long, num_args = 1.., required = true)]
    pub packs: Vec<PathBuf>,
}

pub fn run(a: Args) -> CmdResult {
    match a.command {
        Sub::Merge(m) => merge_reports(m),
        Sub::Verify(v) => verify(v),
    }
}

fn merge_reports(a: MergeArgs) -> CmdResult {
    const CMD: &str = "report merge";
    let reports: Vec<Report> = a
        .reports
        .iter()
        .map(|p| merge::read(p))
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::usage(CMD, e.to_string()))?;
    let merged = merge::merge(reports).map_err(|e| Failure::usage(CMD, e.to_string()))?;
    let mut outputs: Vec<FileReporter> = Vec::new();
    for (path, kind) in [
        (&a.json, FileKind::Json),
        (&a.junit, FileKind::Junit),
        (&a.html, FileKind::Html),
    ] {
        if let Some(p) = path {
            outputs.push(FileReporter::new(p.clone(), kind));
        }
    }
    for out in &mut outputs {
        let mut events = vec![Event::RunStarted(merged.run.clone())];
        events.extend(
            merged
                .scenarios
                .iter()
                .map(|r| Event::ScenarioFinished(Box::new(r.clone()))),
        );
        events.push(Event::RunFinished {
            summary: merged.summary.clone(),
        });
        for e in &events {
            out.event(e)
                .map_err(|e| Failure::usage(CMD, format!("writing the report: {e}")))?;
        }
    }
    let s = &merged.summary;
    println!(
        "merged {} reports ({}): {} passed, {} failed, {} errors, {} skipped of {}",
        a.reports.len(),
        merged.run.merged_from.join(", "),
        s.passed,
        s.failed,
        s.errors,
        s.skipped,
        s.total
    );
    if s.all_passed() {
        Ok(())
    } else {
        Err(Failure {
            status: ExitStatus::Invalid,
            message: String::new(),
            command: CMD,
        })
    }
}

fn verify(a: VerifyArgs) -> CmdResult {
    const CMD: &str = "report verify";
    let report = merge::read(&a.report).map_err(|e| Failure::usage(CMD, e.to_string()))?;
    let v = provenance::verify(&report.run, &a.packs);
    let packs: Vec<String> = report
        .run
        .packs
        .iter()
        .map(|p| format!("{} {} ({} files)", p.name, p.version, p.files.len()))
        .collect();
    println!(
        "report: konform {}, client `{}`, {}; packs {}{}",
        report.run.konform_version,
        report.run.client,
        report.run.started,
        packs.join(", "),
        report
            .run
            .obligations
            .as_ref()
            .map(|o| format!("; obligations {}", o.file))
            .unwrap_or_default()
    );
    for p in &v.problems {
        println!("  DIFFERS: {p}");
    }
    if v.ok() {
        println!("verified: {} files match the report", v.matching);
        Ok(())
    } else {
        Err(Failure::invalid(
            CMD,
            format!(
                "the report was not made with these packs ({} problems, {} files match)",
                v.problems.len(),
                v.matching
            ),
        ))
    }
}
