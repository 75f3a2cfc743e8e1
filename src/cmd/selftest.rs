//! `konform selftest`: the shipped packs pass with the reference client and catch every defect.

use super::{CmdResult, ExitStatus, Failure};
use conformance::event::Reporter;
use conformance::report::console::Console;
use conformance::runner::Shared;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
#[command(
    about = "Run every shipped pack with the reference client (all must pass) and with each defect (each must be caught)",
    after_help = "Exit codes:\n  0  all scenarios pass and every defect is caught\n  1  a scenario fails with the reference client, or a defect goes uncaught\n  2  usage or configuration error"
)]
pub struct Args {
    /// Pack folders (default: the shipped packs under scenarios/)
    pub packs: Vec<PathBuf>,
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Write the selftest result as JSON
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The obligations file (default: obligations.yaml in or beside the pack folders)
    #[arg(long)]
    pub obligations: Option<PathBuf>,
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(a: Args) -> CmdResult {
    let paths = if a.packs.is_empty() {
        super::run::default_packs()
    } else {
        a.packs.clone()
    };
    let (packs, errors) = conformance::model::load(&paths);
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("error: {e}");
        }
        return Err(Failure::usage(
            "selftest",
            format!("{} scenario file error(s)", errors.len()),
        ));
    }
    let obligations_path = a
        .obligations
        .clone()
        .or_else(|| conformance::obligations::find_for(&paths));
    let obligations = match &obligations_path {
        Some(p) => Some(
            conformance::obligations::load(p)
                .map_err(|e| Failure::usage("selftest", e.to_string()))?,
        ),
        None => None,
    };
    let dir = super::run::work_dir("selftest")?;
    let shared =
        Arc::new(Shared::create(&dir).map_err(|e| Failure::usage("selftest", e.to_string()))?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage("selftest", e.to_string()))?;
    let mut reporters: Vec<Box<dyn Reporter>> =
        vec![Box::new(Console::new(std::io::stdout(), a.verbose))];
    println!("== reference client");
    let report = rt.block_on(conformance::selftest::selftest(
        &packs,
        obligations.as_ref(),
        shared,
        super::run::jobs(a.jobs),
        &mut reporters,
        &mut |o| match &o.caught_by {
            Some(s) => println!(
                "caught    {:<30} by {s} ({} scenarios run)",
                o.defect, o.scenarios_run
            ),
            None => println!(
                "MISSED    {:<30} {} ({} scenarios run)",
                o.defect, o.description, o.scenarios_run
            ),
        },
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let caught = report
        .defects
        .iter()
        .filter(|d| d.caught_by.is_some())
        .count();
    println!(
        "\nreference client: {}/{} scenarios pass; defects caught: {}/{} (detection rate {:.0}%); {:.1} s",
        report.reference.passed,
        report.reference.total,
        caught,
        report.defects.len(),
        report.detection_rate * 100.0,
        report.duration_ms / 1000.0
    );
    println!("detection rate per obligation class:");
    for c in &report.classes {
        println!(
            "  {:<16} {:>3}/{:<3} {:.0}%",
            c.class,
            c.caught,
            c.defects,
            100.0 * c.caught as f64 / c.defects.max(1) as f64
        );
    }
    match (&report.obligations, &obligations_path) {
        (Some(c), Some(p)) => {
            println!(
                "obligations ({}): {}/{} of the loaded packs checked by a scenario{}",
                p.display(),
                c.checked,
                c.total,
                if c.other_packs > 0 {
                    format!("; {} belong to packs not loaded", c.other_packs)
                } else {
                    String::new()
                }
            );
            for o in &c.unchecked {
                println!("  UNCHECKED obligation: {o}");
            }
            for d in &c.dangling {
                println!("  obligation names a scenario that does not exist: {d}");
            }
        }
        _ => println!("obligations: no obligations.yaml found (--obligations FILE)"),
    }
    for d in report.defects.iter().filter(|d| d.caught_by.is_none()) {
        println!("  not caught: {} — {}", d.defect, d.description);
    }
    println!(
        "reference client --strict: {}/{} scenarios pass",
        report.strict.passed, report.strict.total
    );
    for s in &report.reference_not_passing {
        println!("  fails with the reference client: {s}");
    }
    println!(
        "reference client over TLS (--tls): {}/{} scenarios pass",
        report.tls.passed, report.tls.total
    );
    for s in &report.strict_not_passing {
        println!("  fails with the reference client --strict: {s}");
    }
    for s in &report.tls_not_passing {
        println!("  fails with the reference client over TLS: {s}");
    }
    if let Some(p) = &a.json {
        std::fs::write(
            p,
            serde_json::to_string_pretty(&report).expect("serialisable"),
        )
        .map_err(|e| Failure::usage("selftest", format!("{}: {e}", p.display())))?;
    }
    if report.ok() {
        Ok(())
    } else {
        Err(Failure {
            status: ExitStatus::Invalid,
            message: String::new(),
            command: "selftest",
        })
    }
}
