//! One scenario, start to finish: start its simulators, run the steps, evaluate the checks (waiting
//! on the journals' notifications where a check allows time), collect the diagnoses, stop.

use super::expect::{self, diag_lines};
use super::steps::{self, ActionOutcome};
use super::{RunOptions, Shared};
use crate::event::{Failure, ScenarioResult, StepRecord, Verdict};
use crate::model::{Check, ExitExpect, Scenario, Step};
use crate::sims::{SimSet, StartContext};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) fn base_result(sc: &Scenario) -> ScenarioResult {
    ScenarioResult {
        id: sc.id.clone(),
        title: sc.title.clone(),
        spec: sc.spec.clone(),
        pack: sc.pack.clone(),
        file: sc.file.display().to_string(),
        tags: sc.tags.clone(),
        verdict: Verdict::Passed,
        duration_ms: 0.0,
        steps: vec![],
        failures: vec![],
        diagnoses: vec![],
        refused_at: None,
    }
}

pub(super) fn error_result(sc: &Scenario, msg: String) -> ScenarioResult {
    let mut r = base_result(sc);
    r.verdict = Verdict::Error;
    r.failures.push(Failure {
        check: "setup".into(),
        expected: "the scenario to run".into(),
        actual: msg,
        diagnoses: vec![],
    });
    r
}

/// The environment every client command receives from the runner itself; the simulators add theirs.
fn runner_env(sc: &Scenario, shared: &Shared) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "KONFORM_PKI_DIR".to_string(),
            shared.pki_dir.display().to_string(),
        ),
        (
            "KONFORM_TELEMATIK_ID".to_string(),
            shared.pki.insurer.telematik_id.clone(),
        ),
        ("KONFORM_IK".to_string(), shared.pki.insurer.ik.clone()),
        ("KONFORM_SCENARIO".to_string(), sc.id.clone()),
        (
            "KONFORM_SCENARIO_DIR".to_string(),
            sc.file
                .parent()
                .map(|d| {
                    std::fs::canonicalize(d)
                        .unwrap_or_else(|_| d.to_path_buf())
                        .display()
                        .to_string()
                })
                .unwrap_or_default(),
        ),
        (
            "KONFORM_TLS_CA".to_string(),
            shared.pki_dir.join("tls/ca.pem").display().to_string(),
        ),
    ])
}

pub(super) async fn run_scenario(
    sc: &Scenario,
    opts: &RunOptions,
    shared: &Shared,
    index: usize,
) -> ScenarioResult {
    let start = Instant::now();
    let mut r = base_result(sc);
    // Skip early when the adapter lacks an action.
    if let Some(missing) = sc
        .when
        .iter()
        .filter_map(|s| s.action.as_deref())
        .find(|a| !opts.adapter.supports(a))
    {
        r.verdict = Verdict::Skipped;
        r.failures.push(Failure {
            check: "adapter".into(),
            expected: format!("the adapter to implement `{missing}`"),
            actual: "not mapped in the adapter file".into(),
            diagnoses: vec![],
        });
        return r;
    }
    let ctx = StartContext {
        pki: &shared.pki,
        pki_dir: &shared.pki_dir,
        tls: &shared.tls,
        tls_everywhere: opts.tls,
    };
    let sims = match SimSet::start(&sc.simulators(), &sc.given, &ctx).await {
        Ok(s) => s,
        Err(e) => return error_result(sc, e.to_string()),
    };
    let dir = shared
        .work_dir
        .join("scenarios")
        .join(format!("{index:04}-{}", sanitize(&sc.id)));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        sims.stop().await;
        return error_result(sc, format!("{}: {e}", dir.display()));
    }
    let mut vars = runner_env(sc, shared);
    vars.extend(sims.env());
    let cx = StepCx {
        opts,
        vars: &vars,
        dir: &dir,
        sims: &sims,
        tls_client: &shared.tls.client,
    };
    let mut outputs: Vec<Option<Value>> = Vec::new();
    for (i, step) in sc.when.iter().enumerate() {
        let (rec, flow) = run_step(i, step, &cx, &mut r).await;
        outputs.push(rec.output.clone());
        r.steps.push(rec);
        if flow == Flow::RefusedLocally {
            r.refused_at = Some(i);
            break;
        }
    }
    if r.refused_at.is_none() {
        for (i, c) in sc.then.iter().enumerate() {
            if let Err(f) = evaluate(c, i, &sc.when, &sims, &outputs).await {
                r.failures.push(f);
            }
        }
    }
    let journal: Vec<_> = sims.journals().into_values().flatten().collect();
    r.diagnoses = diag_lines(&journal);
    if r.verdict == Verdict::Passed && !r.failures.is_empty() {
        r.verdict = Verdict::Failed;
    }
    // Attach the simulators' explanations to every failure: that is what makes a failure actionable.
    for f in &mut r.failures {
        if f.diagnoses.is_empty() {
            f.diagnoses = r.diagnoses.iter().take(8).cloned().collect();
        }
    }
    sims.stop().await;
    r.duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    r
}

fn step_label(step: &Step) -> String {
    step.name
        .clone()
        .or_else(|| step.action.clone())
        .or_else(|| {
            step.request
                .as_ref()
                .map(|q| format!("{} {} {}", q.target, q.method, q.path))
        })
        .unwrap_or_else(|| format!("sleep {} ms", step.sleep_ms.unwrap_or(0)))
}

/// Whether the scenario goes on after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Next,
    /// The client refused the step before sending, as the step's `may_refuse` allows.
    RefusedLocally,
}

/// Did the simulators journal an entry matching `m` after `before` (last sequence numbers)?
fn sent_since(
    m: &crate::model::JournalCheck,
    sims: &SimSet,
    before: &BTreeMap<String, u64>,
) -> bool {
    let from = before.get(&m.sim).copied().unwrap_or(0);
    sims.journals().get(&m.sim).is_some_and(|es| {
        es.iter()
            .any(|e| e.seq > from && expect::journal_matches(m, e))
    })
}

/// What every step of a scenario runs with.
struct StepCx<'a> {
    opts: &'a RunOptions,
    vars: &'a BTreeMap<String, String>,
    dir: &'a Path,
    sims: &'a SimSet,
    tls_client: &'a Arc<rustls::ClientConfig>,
}

/// Run one step; failures go to `r`.
async fn run_step(
    i: usize,
    step: &Step,
    cx: &StepCx<'_>,
    r: &mut ScenarioResult,
) -> (StepRecord, Flow) {
    let StepCx {
        opts,
        vars,
        dir,
        sims,
        tls_client,
    } = *cx;
    let t = Instant::now();
    let mut rec = StepRecord {
        index: i,
        label: step_label(step),
        ok: true,
        exit_code: None,
        status: None,
        duration_ms: 0.0,
        message: String::new(),
        stdout: String::new(),
        stderr: String::new(),
        output: None,
    };
    if let Some(ms) = step.sleep_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    } else if let Some(action) = &step.action {
        let before = sims.last_seqs();
        let res = steps::run_action(action, step.input.as_ref(), opts, vars, dir, i).await;
        let refused = step.may_refuse.as_ref().is_some_and(|m| {
            matches!(&res, Ok(o) if o.exit_code != 0) && !sent_since(m, sims, &before)
        });
        action_result(i, action, step, res, &mut rec, r);
        if refused {
            // The step's own expectation is moot: the client stopped before the request.
            r.failures
                .retain(|f| f.check != format!("when[{i}] {action}"));
            rec.ok = true;
            rec.message = format!(
                "refused locally, nothing sent ({}); allowed by may_refuse",
                rec.message
            );
            rec.duration_ms = t.elapsed().as_secs_f64() * 1000.0;
            return (rec, Flow::RefusedLocally);
        }
    } else if let Some(req) = &step.request {
        let expected = step.expect.as_ref().and_then(|e| e.status.as_ref());
        match steps::raw_request(req, sims, tls_client).await {
            Ok(resp) => {
                rec.status = Some(resp.status);
                if let Some(p) = expected.filter(|p| !p.matches(resp.status)) {
                    rec.ok = false;
                    r.failures.push(Failure {
                        check: format!("when[{i}] {} {} {}", req.target, req.method, req.path),
                        expected: format!("status {}", p.0),
                        actual: format!("status {}", resp.status),
                        diagnoses: resp
                            .headers_all("x-konform-diagnosis")
                            .iter()
                            .map(std::string::ToString::to_string)
                            .collect(),
                    });
                }
            }
            Err(e) => {
                rec.ok = false;
                rec.message = e.to_string();
                if expected.is_some() {
                    r.failures.push(Failure {
                        check: format!("when[{i}] {} {}", req.method, req.path),
                        expected: "an HTTP answer".into(),
                        actual: e.to_string(),
                        diagnoses: vec![],
                    });
                }
            }
        }
    }
    rec.duration_ms = t.elapsed().as_secs_f64() * 1000.0;
    (rec, Flow::Next)
}

fn action_result(
    i: usize,
    action: &str,
    step: &Step,
    res: Result<ActionOutcome, steps::StepError>,
    rec: &mut StepRecord,
    r: &mut ScenarioResult,
) {
    match res {
        Ok(o) => {
            let code = o.exit_code;
            rec.exit_code = Some(code);
            rec.stdout = o.stdout;
            rec.stderr = o.stderr;
            rec.message = o.note;
            rec.output = o.output;
            let expect = step
                .expect
                .as_ref()
                .and_then(|e| e.exit.clone())
                .unwrap_or(ExitExpect::Ok);
            if !expect.matches(code) {
                rec.ok = false;
                let note = if rec.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", rec.message)
                };
                r.failures.push(Failure {
                    check: format!("when[{i}] {action}"),
                    expected: expect.to_string(),
                    actual: format!("exit {code}{note}"),
                    diagnoses: vec![],
                });
            }
        }
        Err(e) => {
            rec.ok = false;
            rec.message = e.to_string();
            r.verdict = Verdict::Error;
            r.failures.push(Failure {
                check: format!("when[{i}] {action}"),
                expected: "the client command to run".into(),
                actual: e.to_string(),
                diagnoses: vec![],
            });
        }
    }
}

/// Evaluate a check; with `within_ms`, re-evaluate whenever a journal it reads gets a new entry, until
/// it holds or the time is up.
async fn evaluate(
    c: &Check,
    i: usize,
    when: &[Step],
    sims: &SimSet,
    outputs: &[Option<Value>],
) -> Result<(), Failure> {
    let deadline = Instant::now() + Duration::from_millis(c.within_ms.unwrap_or(0));
    let watched: BTreeSet<String> = c.journal_checks().map(|j| j.sim.clone()).collect();
    loop {
        let since = sims.last_seqs();
        let res = expect::check(c, i, when, &sims.journals(), outputs);
        let left = deadline.saturating_duration_since(Instant::now());
        match res {
            Err(_) if !left.is_zero() && !watched.is_empty() => {
                sims.journal_changed(&watched, &since, left).await;
            }
            res => return res,
        }
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
