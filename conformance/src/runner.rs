//! Runs scenarios: each against its own in-process simulators on ephemeral ports, in parallel, with
//! results reported in a deterministic order.

use crate::adapter::{Adapter, run_command};
use crate::client::{self, ClientEnv};
use crate::event::{
    Event, Failure, PackInfo, Reporter, RunInfo, ScenarioResult, StepRecord, Summary, Verdict,
};
use crate::http;
use crate::model::{
    Check, ExitExpect, JournalCheck, Pack, RawRequest, Scenario, StreamName, Target, glob_match,
};
use serde_json::Value;
use sim_kit::{JournalEntry, Simulator};
use std::collections::BTreeMap;
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
}

/// Shared by every scenario of a run: the test PKI (in memory and on disk for external clients).
pub struct Shared {
    pub pki: Arc<TestPki>,
    pub pki_dir: PathBuf,
    pub work_dir: PathBuf,
}

impl Shared {
    /// Generate a PKI and write it under `work_dir/pki`.
    pub fn create(work_dir: &Path) -> Result<Shared, String> {
        let pki =
            TestPki::generate(&ti_core::pki::PkiOptions::default()).map_err(|e| e.to_string())?;
        let pki_dir = work_dir.join("pki");
        let files = sim_kit::fsutil::pem_files(pki.files());
        sim_kit::fsutil::write_dir_atomically(&pki_dir, &files, sim_kit::fsutil::Existing::Replace)
            .map_err(|e| e.to_string())?;
        Ok(Shared {
            pki: Arc::new(pki),
            pki_dir,
            work_dir: work_dir.to_path_buf(),
        })
    }
}

pub fn select<'a>(packs: &'a [Pack], filter: Option<&str>) -> Vec<&'a Scenario> {
    packs
        .iter()
        .flat_map(|p| p.scenarios.iter())
        .filter(|s| filter.is_none_or(|f| glob_match(f, &s.id)))
        .collect()
}

/// Run the selected scenarios; reporters see the events in order. Returns the results in order.
pub async fn run(
    packs: &[Pack],
    opts: &RunOptions,
    shared: Arc<Shared>,
    reporters: &mut [Box<dyn Reporter>],
) -> (Vec<ScenarioResult>, Summary) {
    let started = Instant::now();
    let scenarios: Vec<Scenario> = select(packs, opts.filter.as_deref())
        .into_iter()
        .cloned()
        .collect();
    let info = RunInfo {
        client: opts.adapter.name(),
        started: sim_kit::now_rfc3339(),
        packs: packs
            .iter()
            .map(|p| PackInfo {
                name: p.name.clone(),
                version: p.version.clone(),
                scenarios: p
                    .scenarios
                    .iter()
                    .filter(|s| opts.filter.as_deref().is_none_or(|f| glob_match(f, &s.id)))
                    .count(),
            })
            .collect(),
        scenarios: scenarios.len(),
        jobs: opts.jobs.max(1),
        konform_version: env!("CARGO_PKG_VERSION").to_string(),
    };
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

fn base_result(sc: &Scenario) -> ScenarioResult {
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
    }
}

fn error_result(sc: &Scenario, msg: String) -> ScenarioResult {
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

/// JSON merge: objects merge key by key, everything else replaces.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// The simulators of one scenario.
pub struct Sims {
    pub vst: mock_vst::VstState,
    pub konnektor: mock_konnektor::KonnektorState,
    pub vst_server: sim_kit::serve::RunningSim,
    pub konnektor_server: sim_kit::serve::RunningSim,
}

/// Build and start the simulators for `sc.given`.
pub async fn start_sims(sc: &Scenario, shared: &Shared) -> Result<Sims, String> {
    let g = &sc.given;
    // VST
    let mut cfg =
        serde_json::to_value(mock_vst::VstConfig::default()).map_err(|e| e.to_string())?;
    if let Some(env) = g.vst.environment {
        cfg["environment"] = serde_json::to_value(env).map_err(|e| e.to_string())?;
    }
    if let Some(c) = &g.vst.config {
        merge(&mut cfg, c);
    }
    if let Some(p) = &g.vst.profile {
        merge(&mut cfg["profile"], p);
    }
    if g.vst.registered == Some(false) {
        cfg["register_default_insurer"] = Value::Bool(false);
    }
    let cfg: mock_vst::VstConfig =
        serde_json::from_value(cfg).map_err(|e| format!("given.vst: {e}"))?;
    let vst =
        mock_vst::VstState::new(cfg, shared.pki.clone()).map_err(|e| format!("given.vst: {e}"))?;
    for k in &g.vst.requests {
        vst.queue_request(k)
            .map_err(|e| format!("given.vst.requests: {e}"))?;
    }
    for k in &g.vst.anonymizations {
        vst.queue_anonymization(k)
            .map_err(|e| format!("given.vst.anonymizations: {e}"))?;
    }
    for e in &g.vst.processing_errors {
        let stream = match e.stream {
            StreamName::Vitalstatus => mock_vst::ErrorStream::VitalStatus,
            StreamName::Insuranceupdate => mock_vst::ErrorStream::InsuranceUpdate,
        };
        vst.inject_processing_error(stream, &e.id_datenlieferung, &e.id_datensatz, &e.code);
    }
    for f in &g.vst.faults {
        vst.kit()
            .faults()
            .add(f.clone())
            .map_err(|e| format!("given.vst.faults: {e}"))?;
    }
    // Konnektor
    let mut kcfg = serde_json::to_value(mock_konnektor::KonnektorConfig::default())
        .map_err(|e| e.to_string())?;
    if let Some(c) = &g.konnektor.config {
        merge(&mut kcfg, c);
    }
    if let Some(ctx) = &g.konnektor.context {
        let mut patch = serde_json::json!({ "context": {
            "mandant_id": ctx.mandant_id, "client_system_id": ctx.client_system_id, "workplace_id": ctx.workplace_id,
        }});
        if let Some(u) = &ctx.user_id {
            patch["context"]["user_id"] = Value::String(u.clone());
        }
        merge(&mut kcfg, &patch);
        // Terminals are assigned to workplaces (cards are visible per workplace): serve the given one.
        if let Some(terms) = kcfg.get_mut("terminals").and_then(Value::as_array_mut) {
            for t in terms {
                if let Some(wps) = t.get_mut("workplaces").and_then(Value::as_array_mut) {
                    let wp = Value::String(ctx.workplace_id.clone());
                    if !wps.contains(&wp) {
                        wps.push(wp);
                    }
                }
            }
        }
    }
    let kcfg: mock_konnektor::KonnektorConfig =
        serde_json::from_value(kcfg).map_err(|e| format!("given.konnektor: {e}"))?;
    let konnektor = mock_konnektor::KonnektorState::new(kcfg, shared.pki.clone())
        .map_err(|e| format!("given.konnektor: {e}"))?;
    if let Some(s) = &g.konnektor.pin_status {
        let status: mock_konnektor::config::PinStatus = serde_json::from_value(Value::String(
            s.clone(),
        ))
        .map_err(|_| {
            format!(
                "given.konnektor.pin_status: `{s}` (VERIFIABLE, VERIFIED, BLOCKED, TRANSPORT_PIN)"
            )
        })?;
        konnektor
            .set_pin_status(mock_konnektor::DEFAULT_CARD_HANDLE, status)
            .map_err(|e| format!("given.konnektor.pin_status: {e}"))?;
    }
    if let Some(s) = &g.konnektor.next_verify_pin {
        let answer = match s.to_ascii_uppercase().as_str() {
            "OK" => mock_konnektor::VerifyAnswer::Ok,
            "REJECTED" | "WRONG" => mock_konnektor::VerifyAnswer::Wrong,
            _ => {
                return Err(format!(
                    "given.konnektor.next_verify_pin: `{s}` (OK or REJECTED)"
                ));
            }
        };
        konnektor
            .queue_verify(mock_konnektor::DEFAULT_CARD_HANDLE, &[answer])
            .map_err(|e| format!("given.konnektor.next_verify_pin: {e}"))?;
    }
    for f in &g.konnektor.faults {
        konnektor
            .kit()
            .faults()
            .add(f.clone())
            .map_err(|e| format!("given.konnektor.faults: {e}"))?;
    }
    let vst_server =
        sim_kit::serve::spawn(mock_vst::app(vst.clone()), sim_kit::serve::loopback_any())
            .await
            .map_err(|e| format!("starting mock-vst: {e}"))?;
    let konnektor_server = sim_kit::serve::spawn(
        mock_konnektor::app(konnektor.clone()),
        sim_kit::serve::loopback_any(),
    )
    .await
    .map_err(|e| format!("starting mock-konnektor: {e}"))?;
    Ok(Sims {
        vst,
        konnektor,
        vst_server,
        konnektor_server,
    })
}

/// The environment a client command receives.
fn client_env_vars(sc: &Scenario, sims: &Sims, shared: &Shared) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("KONFORM_VST_URL".into(), sims.vst_server.url());
    env.insert("KONFORM_KONNEKTOR_URL".into(), sims.konnektor_server.url());
    env.insert(
        "KONFORM_PKI_DIR".into(),
        shared.pki_dir.display().to_string(),
    );
    env.insert(
        "KONFORM_TELEMATIK_ID".into(),
        shared.pki.insurer.telematik_id.clone(),
    );
    env.insert("KONFORM_IK".into(), shared.pki.insurer.ik.clone());
    env.insert("KONFORM_SCENARIO".into(), sc.id.clone());
    let ctx = sc.given.konnektor.context.as_ref();
    env.insert(
        "KONFORM_MANDANT_ID".into(),
        ctx.map(|c| c.mandant_id.clone())
            .unwrap_or_else(|| "Mandant1".into()),
    );
    env.insert(
        "KONFORM_CLIENT_SYSTEM_ID".into(),
        ctx.map(|c| c.client_system_id.clone())
            .unwrap_or_else(|| "ClientID1".into()),
    );
    env.insert(
        "KONFORM_WORKPLACE_ID".into(),
        ctx.map(|c| c.workplace_id.clone())
            .unwrap_or_else(|| "Workplace1".into()),
    );
    env.insert(
        "KONFORM_USER_ID".into(),
        ctx.and_then(|c| c.user_id.clone())
            .unwrap_or_else(|| "User1".into()),
    );
    env.insert(
        "KONFORM_ENVIRONMENT".into(),
        match sc.given.vst.environment.unwrap_or_default() {
            ti_core::ids::Environment::Reference => "reference".into(),
            ti_core::ids::Environment::Production => "production".into(),
        },
    );
    env
}

fn client_env_from(vars: &BTreeMap<String, String>, defect: Option<client::Defect>) -> ClientEnv {
    let g = |k: &str| vars.get(k).cloned().unwrap_or_default();
    ClientEnv {
        vst_url: g("KONFORM_VST_URL"),
        konnektor_url: g("KONFORM_KONNEKTOR_URL"),
        pki_dir: PathBuf::from(g("KONFORM_PKI_DIR")),
        card_handle: None,
        mandant_id: g("KONFORM_MANDANT_ID"),
        client_system_id: g("KONFORM_CLIENT_SYSTEM_ID"),
        workplace_id: g("KONFORM_WORKPLACE_ID"),
        user_id: g("KONFORM_USER_ID"),
        telematik_id: Some(g("KONFORM_TELEMATIK_ID")),
        haupt_ik: Some(g("KONFORM_IK")),
        timeout: Duration::from_secs(10),
        defect,
    }
}

fn diag_lines(entries: &[JournalEntry]) -> Vec<String> {
    entries
        .iter()
        .flat_map(|e| {
            e.diagnoses.iter().map(move |d| {
                format!(
                    "{} {} → {}: {}",
                    e.method,
                    e.path,
                    e.status,
                    d.header_value()
                )
            })
        })
        .collect()
}

async fn run_scenario(
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
    let sims = match start_sims(sc, shared).await {
        Ok(s) => s,
        Err(e) => return error_result(sc, e),
    };
    let scenario_dir = shared
        .work_dir
        .join("scenarios")
        .join(format!("{index:04}-{}", sanitize(&sc.id)));
    if let Err(e) = std::fs::create_dir_all(&scenario_dir) {
        return error_result(sc, format!("{}: {e}", scenario_dir.display()));
    }
    let vars = client_env_vars(sc, &sims, shared);
    let mut outputs: Vec<Option<Value>> = Vec::new();
    for (i, step) in sc.when.iter().enumerate() {
        let t = Instant::now();
        let mut rec = StepRecord {
            index: i,
            label: step
                .name
                .clone()
                .or_else(|| step.action.clone())
                .or_else(|| {
                    step.request
                        .as_ref()
                        .map(|q| format!("{} {} {}", target_name(q.target), q.method, q.path))
                })
                .unwrap_or_else(|| format!("sleep {} ms", step.sleep_ms.unwrap_or(0))),
            ok: true,
            exit_code: None,
            status: None,
            duration_ms: 0.0,
            message: String::new(),
            stdout: String::new(),
            stderr: String::new(),
            output: None,
        };
        let mut output = None;
        if let Some(ms) = step.sleep_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        } else if let Some(action) = &step.action {
            match run_action(action, step.input.as_ref(), opts, &vars, &scenario_dir, i).await {
                Ok((code, out, stdout, stderr, note)) => {
                    rec.exit_code = Some(code);
                    rec.stdout = stdout;
                    rec.stderr = stderr;
                    rec.message = note;
                    output = out;
                    let expect = step
                        .expect
                        .as_ref()
                        .and_then(|e| e.exit.clone())
                        .unwrap_or(ExitExpect::Ok);
                    if !expect.matches(code) {
                        rec.ok = false;
                        r.failures.push(Failure {
                            check: format!("when[{i}] {action}"),
                            expected: expect.to_string(),
                            actual: format!(
                                "exit {code}{}",
                                if rec.message.is_empty() {
                                    String::new()
                                } else {
                                    format!(": {}", rec.message)
                                }
                            ),
                            diagnoses: vec![],
                        });
                    }
                }
                Err(e) => {
                    rec.ok = false;
                    rec.message = e.clone();
                    r.verdict = Verdict::Error;
                    r.failures.push(Failure {
                        check: format!("when[{i}] {action}"),
                        expected: "the client command to run".into(),
                        actual: e,
                        diagnoses: vec![],
                    });
                }
            }
        } else if let Some(req) = &step.request {
            match raw_request(req, &sims, shared).await {
                Ok(resp) => {
                    rec.status = Some(resp.status);
                    if let Some(p) = step.expect.as_ref().and_then(|e| e.status.as_ref()) {
                        if !p.matches(resp.status) {
                            rec.ok = false;
                            r.failures.push(Failure {
                                check: format!(
                                    "when[{i}] {} {} {}",
                                    target_name(req.target),
                                    req.method,
                                    req.path
                                ),
                                expected: format!("status {}", p.0),
                                actual: format!("status {}", resp.status),
                                diagnoses: resp
                                    .headers_all("x-konform-diagnosis")
                                    .iter()
                                    .map(|s| s.to_string())
                                    .collect(),
                            });
                        }
                    }
                }
                Err(e) => {
                    rec.ok = false;
                    rec.message = e.clone();
                    let expected_status = step.expect.as_ref().and_then(|e| e.status.as_ref());
                    if expected_status.is_some() {
                        r.failures.push(Failure {
                            check: format!("when[{i}] {} {}", req.method, req.path),
                            expected: "an HTTP answer".into(),
                            actual: e,
                            diagnoses: vec![],
                        });
                    }
                }
            }
        }
        rec.output = output.clone();
        rec.duration_ms = t.elapsed().as_secs_f64() * 1000.0;
        outputs.push(output);
        r.steps.push(rec);
    }
    // Checks
    for (i, c) in sc.then.iter().enumerate() {
        if let Err(f) = evaluate(c, i, sc, &sims, &outputs).await {
            r.failures.push(f);
        }
    }
    let mut journal = sims.vst.kit().journal().all();
    journal.extend(sims.konnektor.kit().journal().all());
    r.diagnoses = diag_lines(&journal);
    if r.verdict == Verdict::Passed && !r.failures.is_empty() {
        r.verdict = Verdict::Failed;
    }
    // Attach the simulators' explanations to every failure: that is what makes a failure actionable.
    for f in r.failures.iter_mut() {
        if f.diagnoses.is_empty() {
            f.diagnoses = r.diagnoses.iter().take(8).cloned().collect();
        }
    }
    sims.vst_server.stop().await;
    sims.konnektor_server.stop().await;
    r.duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    r
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

fn target_name(t: Target) -> &'static str {
    match t {
        Target::Vst => "vst",
        Target::Konnektor => "konnektor",
    }
}

type ActionResult = (i32, Option<Value>, String, String, String);

async fn run_action(
    action: &str,
    input: Option<&Value>,
    opts: &RunOptions,
    vars: &BTreeMap<String, String>,
    dir: &Path,
    index: usize,
) -> Result<ActionResult, String> {
    let input_path = dir.join(format!("step{index}.input.json"));
    let output_path = dir.join(format!("step{index}.output.json"));
    let input_v = input.cloned().unwrap_or(Value::Null);
    std::fs::write(
        &input_path,
        serde_json::to_vec_pretty(&input_v).unwrap_or_default(),
    )
    .map_err(|e| format!("{}: {e}", input_path.display()))?;
    match &opts.adapter {
        Adapter::Reference { defect } => {
            let env = client_env_from(vars, *defect);
            let action = action.to_string();
            let res =
                tokio::task::spawn_blocking(move || client::run_action(&action, &env, &input_v))
                    .await;
            match res {
                Ok(Ok(out)) => {
                    let _ = std::fs::write(
                        &output_path,
                        serde_json::to_vec_pretty(&out).unwrap_or_default(),
                    );
                    Ok((0, Some(out), String::new(), String::new(), String::new()))
                }
                Ok(Err(e)) => Ok((
                    e.exit_code(),
                    None,
                    String::new(),
                    e.to_string(),
                    e.to_string(),
                )),
                Err(e) => Err(format!("reference client panicked: {e}")),
            }
        }
        Adapter::Commands { file, base_dir } => {
            let cmd = file
                .actions
                .get(action)
                .ok_or_else(|| format!("adapter lacks `{action}`"))?;
            let mut env = vars.clone();
            for (k, v) in &file.env {
                env.insert(k.clone(), v.clone());
            }
            for (k, v) in &cmd.env {
                env.insert(k.clone(), v.clone());
            }
            env.insert("KONFORM_ACTION".into(), action.to_string());
            env.insert("KONFORM_INPUT".into(), input_path.display().to_string());
            env.insert("KONFORM_OUTPUT".into(), output_path.display().to_string());
            let argv: Vec<String> = match (&cmd.run, &cmd.shell) {
                (Some(run), _) => run
                    .iter()
                    .map(|a| crate::adapter::expand(a, &env))
                    .collect(),
                (None, Some(sh)) => vec!["sh".into(), "-c".into(), sh.clone()],
                (None, None) => return Err(format!("adapter action `{action}` has no command")),
            };
            // Keep PATH and HOME so vendor commands resolve; everything else comes from the runner.
            for k in ["PATH", "HOME", "LANG", "TMPDIR"] {
                if let Ok(v) = std::env::var(k) {
                    env.entry(k.to_string()).or_insert(v);
                }
            }
            let cwd = file
                .cwd
                .clone()
                .map(|c| base_dir.join(c))
                .unwrap_or_else(|| base_dir.clone());
            let cwd = if cwd.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                cwd
            };
            let timeout = Duration::from_millis(
                cmd.timeout_ms
                    .or(file.timeout_ms)
                    .unwrap_or(opts.step_timeout.as_millis() as u64),
            );
            let o = run_command(&argv, &env, &cwd, timeout).await?;
            let mut note = String::new();
            if o.timed_out {
                note = format!(
                    "timed out after {} ms; process group killed",
                    timeout.as_millis()
                );
            }
            let out = match std::fs::read(&output_path) {
                Ok(b) if !b.is_empty() => match serde_json::from_slice::<Value>(&b) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        if note.is_empty() {
                            note = format!("output file is not JSON: {e}");
                        }
                        None
                    }
                },
                _ => None,
            };
            Ok((
                if o.timed_out { -1 } else { o.exit_code },
                out,
                o.stdout,
                o.stderr,
                note,
            ))
        }
    }
}

async fn raw_request(
    req: &RawRequest,
    sims: &Sims,
    shared: &Shared,
) -> Result<http::Response, String> {
    let base = match req.target {
        Target::Vst => sims.vst_server.url(),
        Target::Konnektor => sims.konnektor_server.url(),
    };
    let url = http::join(&base, &req.path);
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let body = match (&req.body, &req.json) {
        _ if req.body_base64.is_some() => {
            ti_core::b64_decode(req.body_base64.as_deref().unwrap_or(""))
                .map_err(|e| e.to_string())?
        }
        (Some(b), _) => b.clone().into_bytes(),
        (None, Some(j)) => {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            serde_json::to_vec(j).unwrap_or_default()
        }
        (None, None) => Vec::new(),
    };
    if req.auth {
        let ins = &shared.pki.insurer;
        let input = ti_core::sig_input::registration_input(&ins.telematik_id, &ins.ik);
        let sig = shared
            .pki
            .insurer_aut
            .key
            .sign_prehash_der(&ti_core::sha256(&input))
            .map_err(|e| e.to_string())?;
        headers.push((
            "Authorization".into(),
            mock_vst::auth_header(&ins.telematik_id, &ins.ik, &sig),
        ));
    }
    let method = req.method.to_ascii_uppercase();
    tokio::task::spawn_blocking(move || {
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        http::request(&method, &url, &h, &body, Duration::from_secs(30)).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

fn journal_matches(m: &JournalCheck, e: &JournalEntry) -> bool {
    if let Some(x) = &m.method {
        if !x.eq_ignore_ascii_case(&e.method) {
            return false;
        }
    }
    if let Some(p) = &m.path {
        let path = e.path.split('?').next().unwrap_or("");
        if !glob_match(p, path) {
            return false;
        }
    }
    if let Some(o) = &m.operation {
        if e.operation.as_deref() != Some(o.as_str()) {
            return false;
        }
    }
    if let Some(s) = &m.status {
        if !s.matches(e.status) {
            return false;
        }
    }
    if let Some(v) = m.verdict {
        if v != e.verdict {
            return false;
        }
    }
    if let Some(d) = &m.diagnosis {
        if !e.diagnoses.iter().any(|x| glob_match(d, &x.rule)) {
            return false;
        }
    }
    if let Some(d) = &m.data {
        match &e.data {
            Some(actual) if contains_json(actual, d) => {}
            _ => return false,
        }
    }
    true
}

/// `want` is a subset of `have`: objects by key, arrays element-wise by position, scalars equal.
pub fn contains_json(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| h.get(k).is_some_and(|hv| contains_json(hv, wv))),
        (Value::Array(h), Value::Array(w)) => {
            w.len() <= h.len() && w.iter().zip(h).all(|(wv, hv)| contains_json(hv, wv))
        }
        (h, w) => h == w,
    }
}

fn describe_journal(m: &JournalCheck) -> String {
    let mut parts = vec![target_name(m.sim).to_string()];
    if let Some(x) = &m.method {
        parts.push(x.clone());
    }
    if let Some(x) = &m.path {
        parts.push(x.clone());
    }
    if let Some(x) = &m.operation {
        parts.push(format!("operation {x}"));
    }
    if let Some(x) = &m.status {
        parts.push(format!("status {}", x.0));
    }
    if let Some(x) = &m.verdict {
        parts.push(format!("verdict {x:?}").to_lowercase());
    }
    if let Some(x) = &m.diagnosis {
        parts.push(format!("diagnosis {x}"));
    }
    if let Some(x) = &m.data {
        parts.push(format!("data ⊇ {x}"));
    }
    parts.join(" ")
}

fn summarize(entries: &[JournalEntry]) -> String {
    if entries.is_empty() {
        return "no requests".into();
    }
    entries
        .iter()
        .map(|e| {
            format!(
                "{} {} → {}",
                e.method,
                e.path.split('?').next().unwrap_or(""),
                e.status
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

async fn evaluate(
    c: &Check,
    i: usize,
    sc: &Scenario,
    sims: &Sims,
    outputs: &[Option<Value>],
) -> Result<(), Failure> {
    let deadline = Instant::now() + Duration::from_millis(c.within_ms.unwrap_or(0));
    loop {
        let res = evaluate_once(c, i, sc, sims, outputs);
        match res {
            Ok(()) => return Ok(()),
            Err(f) if Instant::now() >= deadline => return Err(f),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

fn evaluate_once(
    c: &Check,
    i: usize,
    sc: &Scenario,
    sims: &Sims,
    outputs: &[Option<Value>],
) -> Result<(), Failure> {
    let journal_of = |t: Target| match t {
        Target::Vst => sims.vst.kit().journal().all(),
        Target::Konnektor => sims.konnektor.kit().journal().all(),
    };
    if let Some(m) = &c.journal {
        let all = journal_of(m.sim);
        let n = all.iter().filter(|e| journal_matches(m, e)).count();
        let (ok, expected) = match (m.count, m.min, m.max) {
            (Some(k), _, _) => (n == k, format!("exactly {k} × {}", describe_journal(m))),
            (None, min, max) => {
                let lo = min.unwrap_or(1);
                let ok = n >= lo && max.is_none_or(|hi| n <= hi);
                let range = match max {
                    Some(hi) => format!("{lo}..={hi}"),
                    None => format!("at least {lo}"),
                };
                (ok, format!("{range} × {}", describe_journal(m)))
            }
        };
        if !ok {
            return Err(Failure {
                check: format!("then[{i}] journal"),
                expected,
                actual: format!("{n} matching; journal: {}", summarize(&all)),
                diagnoses: diag_lines(&all),
            });
        }
    }
    if let Some(m) = &c.no_journal {
        let all = journal_of(m.sim);
        let hits: Vec<JournalEntry> = all
            .iter()
            .filter(|e| journal_matches(m, e))
            .cloned()
            .collect();
        if !hits.is_empty() {
            return Err(Failure {
                check: format!("then[{i}] no_journal"),
                expected: format!("no {}", describe_journal(m)),
                actual: summarize(&hits),
                diagnoses: diag_lines(&hits),
            });
        }
    }
    if let Some(seq) = &c.sequence {
        let mut all: Vec<(String, u64, Target, JournalEntry)> = Vec::new();
        for t in [Target::Vst, Target::Konnektor] {
            all.extend(
                journal_of(t)
                    .into_iter()
                    .map(|e| (e.at.clone(), e.seq, t, e)),
            );
        }
        all.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        // Same simulator: strictly after by sequence number. Across simulators: not before by time
        // (millisecond timestamps may tie).
        let mut last: Option<(String, Target, u64)> = None;
        for (k, m) in seq.iter().enumerate() {
            let found = all.iter().find(|(at, sq, t, e)| {
                *t == m.sim
                    && journal_matches(m, e)
                    && match &last {
                        None => true,
                        Some((lat, lt, lsq)) if lt == t => sq > lsq,
                        Some((lat, _, _)) => at >= lat,
                    }
            });
            match found {
                Some((at, sq, t, _)) => last = Some((at.clone(), *t, *sq)),
                None => {
                    let order: Vec<String> = all
                        .iter()
                        .map(|(_, _, t, e)| {
                            format!(
                                "{} {}",
                                target_name(*t),
                                e.operation
                                    .clone()
                                    .unwrap_or_else(|| format!("{} {}", e.method, e.path))
                            )
                        })
                        .collect();
                    return Err(Failure {
                        check: format!("then[{i}] sequence"),
                        expected: seq
                            .iter()
                            .map(describe_journal)
                            .collect::<Vec<_>>()
                            .join(" → "),
                        actual: format!(
                            "no `{}` after step {k} of the sequence; order seen: {}",
                            describe_journal(m),
                            order.join(" → ")
                        ),
                        diagnoses: vec![],
                    });
                }
            }
        }
    }
    if let Some(o) = &c.output {
        let step = o
            .step
            .or_else(|| sc.when.iter().rposition(|s| s.action.is_some()));
        let out = step.and_then(|s| outputs.get(s).cloned().flatten());
        let Some(out) = out else {
            return Err(Failure {
                check: format!("then[{i}] output"),
                expected: format!(
                    "output of step {}",
                    step.map(|s| s.to_string()).unwrap_or_else(|| "?".into())
                ),
                actual: "the step produced no JSON output".into(),
                diagnoses: vec![],
            });
        };
        let v = out.pointer(&o.pointer);
        if let Some(want) = &o.equals {
            if v != Some(want) {
                return Err(Failure {
                    check: format!("then[{i}] output {}", o.pointer),
                    expected: want.to_string(),
                    actual: v.map(|x| x.to_string()).unwrap_or_else(|| "absent".into()),
                    diagnoses: vec![],
                });
            }
        }
        if let Some(len) = o.len {
            let actual = v.and_then(Value::as_array).map(Vec::len);
            if actual != Some(len) {
                return Err(Failure {
                    check: format!("then[{i}] output {}", o.pointer),
                    expected: format!("an array of {len}"),
                    actual: actual
                        .map(|a| format!("an array of {a}"))
                        .unwrap_or_else(|| "no array".into()),
                    diagnoses: vec![],
                });
            }
        }
    }
    Ok(())
}
