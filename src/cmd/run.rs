//! `konform run`: replay scenario packs against a client through an adapter, with reports.

use super::{CmdResult, ExitStatus, Failure};
use conformance::adapter::Adapter;
use conformance::client::Defect;
use conformance::event::Reporter;
use conformance::report::{FileKind, FileReporter, console::Console};
use conformance::runner::{RunOptions, Shared};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(
    about = "Run scenario packs against a client (console, JUnit, JSON, HTML reports)",
    after_help = "Exit codes:\n  0  every scenario passed\n  1  some scenario failed or errored\n  2  usage or configuration error (bad flags, broken scenario or adapter files)"
)]
pub struct Args {
    /// Scenario files or pack folders (default: the shipped packs under scenarios/)
    pub packs: Vec<PathBuf>,
    /// `reference` (built-in, in-process), `reference-process` (as subprocesses), or an adapter YAML file
    #[arg(long, default_value = "reference")]
    pub client: String,
    /// With the reference client: make this deliberate mistake
    #[arg(long)]
    pub defect: Option<String>,
    /// With the reference client: its second correct mode, validating everything it can before sending
    #[arg(long, conflicts_with = "defect")]
    pub strict: bool,
    #[arg(long)]
    pub junit: Option<PathBuf>,
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Also write the HTML report where the dashboard of `konform up` lists it (DATA_DIR/reports, default .konform)
    #[arg(long, value_name = "DATA_DIR", num_args = 0..=1, default_missing_value = ".konform")]
    pub serve_report: Option<PathBuf>,
    /// Only scenarios whose id matches this glob (e.g. `vst-json-*`)
    #[arg(long)]
    pub filter: Option<String>,
    /// Scenarios in parallel (default: number of CPUs)
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Per-step timeout for client commands, in seconds
    #[arg(long, default_value_t = 60)]
    pub step_timeout: u64,
    /// Run only shard K of N (`hash:K/N`): deterministic by scenario id, for CI matrices; join the shards'
    /// JSON reports with `konform report merge`
    #[arg(long)]
    pub partition: Option<conformance::runner::partition::Partition>,
    /// The obligations file whose hash the report records (default: obligations.yaml in or beside the packs)
    #[arg(long)]
    pub obligations: Option<PathBuf>,
    /// Serve every simulator over TLS (test PKI's TLS certificate); clients get the CA as KONFORM_TLS_CA
    #[arg(long)]
    pub tls: bool,
    /// Keep the work directory (inputs, outputs, PKI) instead of deleting it
    #[arg(long)]
    pub keep: bool,
    /// Print every scenario's details, not only failures
    #[arg(long, short)]
    pub verbose: bool,
}

/// The shipped packs: `scenarios/` in the current directory, else beside the sources.
pub fn default_packs() -> Vec<PathBuf> {
    let here = PathBuf::from("scenarios");
    if here.is_dir() {
        return vec![here];
    }
    vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")]
}

pub fn work_dir(prefix: &str) -> Result<PathBuf, Failure> {
    let d = std::env::temp_dir().join(format!(
        "konform-{prefix}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&d)
        .map_err(|e| Failure::usage("run", format!("{}: {e}", d.display())))?;
    Ok(d)
}

pub fn jobs(j: Option<usize>) -> usize {
    j.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(std::num::NonZero::get)
            .unwrap_or(2)
    })
    .max(1)
}

pub fn run(a: Args) -> CmdResult {
    let defect = match &a.defect {
        Some(d) => Some(Defect::from_name(d).ok_or_else(|| {
            Failure::usage(
                "run",
                format!("unknown defect `{d}` (see `konform client x --list-defects`)"),
            )
        })?),
        None => None,
    };
    let adapter = match a.client.as_str() {
        "reference" => Adapter::Reference {
            defect,
            strict: a.strict,
        },
        "reference-process" => Adapter::reference_process(defect, a.strict),
        path => {
            if defect.is_some() || a.strict {
                return Err(Failure::usage(
                    "run",
                    "--defect and --strict only work with the reference client",
                ));
            }
            Adapter::load(&PathBuf::from(path)).map_err(|e| Failure::usage("run", e.to_string()))?
        }
    };
    let paths = if a.packs.is_empty() {
        default_packs()
    } else {
        a.packs.clone()
    };
    let (packs, errors) = conformance::model::load(&paths);
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("error: {e}");
        }
        return Err(Failure::usage(
            "run",
            format!("{} scenario file error(s)", errors.len()),
        ));
    }
    if packs.iter().all(|p| p.scenarios.is_empty()) {
        return Err(Failure::usage("run", "no scenarios found"));
    }
    let dir = work_dir("run")?;
    let shared = Arc::new(Shared::create(&dir).map_err(|e| Failure::usage("run", e.to_string()))?);
    let opts = RunOptions {
        adapter,
        jobs: jobs(a.jobs),
        filter: a.filter.clone(),
        step_timeout: Duration::from_secs(a.step_timeout),
        stop_on_failure: false,
        tls: a.tls,
        partition: a.partition,
        obligations: a
            .obligations
            .clone()
            .or_else(|| conformance::obligations::find_for(&paths)),
    };
    let mut reporters: Vec<Box<dyn Reporter>> =
        vec![Box::new(Console::new(std::io::stdout(), a.verbose))];
    if let Some(p) = &a.junit {
        reporters.push(Box::new(FileReporter::new(p.clone(), FileKind::Junit)));
    }
    if let Some(p) = &a.json {
        reporters.push(Box::new(FileReporter::new(p.clone(), FileKind::Json)));
    }
    if let Some(p) = &a.html {
        reporters.push(Box::new(FileReporter::new(p.clone(), FileKind::Html)));
    }
    if let Some(d) = &a.serve_report {
        let p = super::run_report::path(d);
        super::run_report::announce(&p);
        reporters.push(Box::new(FileReporter::new(p, FileKind::Html)));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage("run", e.to_string()))?;
    let (_, summary) = rt.block_on(conformance::runner::run(
        &packs,
        &opts,
        shared,
        &mut reporters,
    ));
    if a.keep {
        eprintln!("work directory kept: {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if summary.total == 0 && a.partition.is_none() {
        return Err(Failure::usage("run", "the filter matched no scenario"));
    }
    if summary.all_passed() {
        Ok(())
    } else {
        Err(Failure {
            status: ExitStatus::Invalid,
            message: String::new(),
            command: "run",
        })
    }
}
