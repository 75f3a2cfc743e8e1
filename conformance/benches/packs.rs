//! Wall time of the shipped packs with the reference client (in-process), scenarios per second, scaling
//! with `--jobs`, and the whole selftest. Target (issue 5): the packs in ≤ 10 s on a 2-core machine.
//!
//! `cargo bench -p conformance --bench packs`

use conformance::adapter::Adapter;
use conformance::runner::{RunOptions, Shared};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let packs_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let (packs, errors) = conformance::model::load(&[packs_dir]);
    assert!(errors.is_empty(), "{errors:?}");
    let n: usize = packs.iter().map(|p| p.scenarios.len()).sum();
    let work = std::env::temp_dir().join(format!("konform-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let shared = Arc::new(Shared::create(&work).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cores = std::thread::available_parallelism()
        .map(std::num::NonZero::get)
        .unwrap_or(1);
    println!("conformance bench: {n} scenarios, {cores} cores");
    println!(
        "{:<28} {:>10} {:>14} {:>8}",
        "run", "wall s", "scenarios/s", "passed"
    );
    let mut best = f64::MAX;
    for jobs in [1, 2, 4, 8] {
        let opts = RunOptions {
            adapter: Adapter::Reference {
                defect: None,
                strict: false,
            },
            jobs,
            filter: None,
            step_timeout: Duration::from_secs(60),
            stop_on_failure: false,
            tls: false,
            partition: None,
            obligations: None,
        };
        let t = Instant::now();
        let (_, summary) = rt.block_on(conformance::runner::run(
            &packs,
            &opts,
            shared.clone(),
            &mut [],
        ));
        let s = t.elapsed().as_secs_f64();
        best = best.min(s);
        println!(
            "{:<28} {:>10.2} {:>14.1} {:>8}",
            format!("packs, --jobs {jobs}"),
            s,
            n as f64 / s,
            summary.passed
        );
    }
    let t = Instant::now();
    let report = rt.block_on(conformance::selftest::selftest(
        &packs,
        None,
        shared.clone(),
        cores,
        &mut [],
        &mut |_| {},
    ));
    println!(
        "{:<28} {:>10.2} {:>14} {:>8}   (defects caught {}/{})",
        format!("selftest, --jobs {cores}"),
        t.elapsed().as_secs_f64(),
        "-",
        report.reference.passed,
        report
            .defects
            .iter()
            .filter(|d| d.caught_by.is_some())
            .count(),
        report.defects.len()
    );
    println!(
        "target: packs in <= 10 s; best {:.2} s -> {}",
        best,
        if best <= 10.0 { "met" } else { "NOT met" }
    );
    let _ = std::fs::remove_dir_all(&work);
}
