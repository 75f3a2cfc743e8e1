//! `konform selftest`: every shipped scenario must pass with the reference client, and every defect the
//! reference client can simulate must be caught by at least one scenario. The detection rate is the suite's
//! measure of strength.

use crate::adapter::Adapter;
use crate::client::Defect;
use crate::event::{Reporter, ScenarioResult, Summary, Verdict};
use crate::model::Pack;
use crate::obligations::{Coverage, ObligationsFile};
use crate::runner::{RunOptions, Shared, run};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct DefectOutcome {
    pub defect: String,
    pub description: String,
    /// The obligation (`scenarios/obligations.yaml`) the defect breaks, and its class.
    pub obligation: String,
    pub class: String,
    /// The first scenario that failed with this defect, if any.
    pub caught_by: Option<String>,
    pub scenarios_run: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SelftestReport {
    pub reference: Summary,
    pub reference_not_passing: Vec<String>,
    /// The second correct mode (`--strict`): must pass every scenario too.
    pub strict: Summary,
    pub strict_not_passing: Vec<String>,
    /// The reference client with every simulator served over TLS (`konform run --tls`).
    pub tls: Summary,
    pub tls_not_passing: Vec<String>,
    pub defects: Vec<DefectOutcome>,
    pub detection_rate: f64,
    /// Detection rate per obligation class.
    pub classes: Vec<ClassRate>,
    /// How the packs cover the obligations file (absent when no file was given).
    pub obligations: Option<Coverage>,
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassRate {
    pub class: String,
    pub defects: usize,
    pub caught: usize,
}

impl SelftestReport {
    pub fn ok(&self) -> bool {
        self.reference.all_passed()
            && self.strict.all_passed()
            && self.tls.all_passed()
            && self.defects.iter().all(|d| d.caught_by.is_some())
            && self.obligations.as_ref().is_none_or(Coverage::ok)
    }
}

/// Scenarios tagged `defect:NAME` run first for that defect (they are written to catch it), ahead of
/// every pack; the verdict still comes from the scenario failing, not from the tag.
fn ordered_for(packs: &[Pack], d: Defect) -> Vec<Pack> {
    let tag = format!("defect:{}", d.name());
    let tagged = |s: &crate::model::Scenario| s.tags.iter().any(|t| t == &tag);
    let mut first = Pack {
        name: format!("tagged {tag}"),
        dir: Default::default(),
        version: String::new(),
        scenarios: packs
            .iter()
            .flat_map(|p| p.scenarios.iter().filter(|s| tagged(s)).cloned())
            .collect(),
    };
    let mut out: Vec<Pack> = packs
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.scenarios.retain(|s| !tagged(s));
            p
        })
        .collect();
    if !first.scenarios.is_empty() {
        first.scenarios.sort_by(|a, b| a.id.cmp(&b.id));
        out.insert(0, first);
    }
    out
}

pub async fn selftest(
    packs: &[Pack],
    obligations: Option<&ObligationsFile>,
    shared: Arc<Shared>,
    jobs: usize,
    reference_reporters: &mut [Box<dyn Reporter>],
    progress: &mut dyn FnMut(&DefectOutcome),
) -> SelftestReport {
    let start = Instant::now();
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
    let (results, reference) = run(packs, &opts, shared.clone(), reference_reporters).await;
    let reference_not_passing = not_passing(&results);
    let strict_opts = RunOptions {
        adapter: Adapter::Reference {
            defect: None,
            strict: true,
        },
        ..opts.clone()
    };
    let (strict_results, strict) = run(packs, &strict_opts, shared.clone(), &mut []).await;
    let strict_not_passing = not_passing(&strict_results);
    let tls_opts = RunOptions {
        tls: true,
        partition: None,
        obligations: None,
        ..opts.clone()
    };
    let (tls_results, tls) = run(packs, &tls_opts, shared.clone(), &mut []).await;
    let tls_not_passing = not_passing(&tls_results);
    // A scenario that fails with the correct client proves nothing about a defect: leave it out.
    let trusted: Vec<Pack> = packs
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.scenarios
                .retain(|s| !reference_not_passing.contains(&s.id));
            p
        })
        .collect();
    let mut defects = Vec::new();
    for d in Defect::all() {
        let opts = RunOptions {
            adapter: Adapter::Reference {
                defect: Some(d),
                strict: false,
            },
            stop_on_failure: true,
            tls: false,
            partition: None,
            obligations: None,
            ..opts.clone()
        };
        let ordered = ordered_for(&trusted, d);
        let (results, _) = run(&ordered, &opts, shared.clone(), &mut []).await;
        let caught = first_caught(&results);
        let o = DefectOutcome {
            defect: d.name(),
            description: d.describe().to_string(),
            obligation: d.obligation().to_string(),
            class: obligations
                .and_then(|f| crate::obligations::class_of(f, d.obligation()))
                .unwrap_or("unclassified")
                .to_string(),
            caught_by: caught,
            scenarios_run: results.len(),
        };
        progress(&o);
        defects.push(o);
    }
    let caught = defects.iter().filter(|d| d.caught_by.is_some()).count();
    let mut by_class: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for d in &defects {
        let e = by_class.entry(d.class.as_str()).or_default();
        e.0 += 1;
        e.1 += d.caught_by.is_some() as usize;
    }
    let classes = by_class
        .into_iter()
        .map(|(class, (defects, caught))| ClassRate {
            class: class.to_string(),
            defects,
            caught,
        })
        .collect();
    SelftestReport {
        reference,
        reference_not_passing,
        strict,
        strict_not_passing,
        tls,
        tls_not_passing,
        detection_rate: caught as f64 / defects.len().max(1) as f64,
        defects,
        classes,
        obligations: obligations.map(|f| crate::obligations::coverage(f, packs)),
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
    }
}

fn not_passing(results: &[ScenarioResult]) -> Vec<String> {
    results
        .iter()
        .filter(|r| r.verdict != Verdict::Passed)
        .map(|r| r.id.clone())
        .collect()
}

fn first_caught(results: &[ScenarioResult]) -> Option<String> {
    results
        .iter()
        .find(|r| r.verdict == Verdict::Failed)
        .map(|r| r.id.clone())
}
