//! The four reporters from one fixed fixture, kept as snapshots (`tests/it/snapshots/`): any change to
//! what a vendor or a CI server reads shows up in review. Update with `INSTA_UPDATE=always` (or
//! `cargo insta review`) after checking the diff.

use conformance::event::{
    Event, Failure, FileDigest, PackInfo, Reporter, RunInfo, ScenarioResult, StepRecord, Summary,
    Verdict,
};
use conformance::report::console::Console;
use conformance::report::{html, json, junit};
use std::io::Write;
use std::sync::{Arc, Mutex};

fn step(index: usize, label: &str, ok: bool) -> StepRecord {
    StepRecord {
        index,
        label: label.into(),
        ok,
        exit_code: Some(if ok { 0 } else { 1 }),
        status: None,
        duration_ms: 12.5,
        message: if ok {
            String::new()
        } else {
            "VST answered 400".into()
        },
        stdout: String::new(),
        stderr: if ok {
            String::new()
        } else {
            "error: VST answered 400 (kvnr.check-digit)".into()
        },
        output: ok.then(|| serde_json::json!({ "status": 200 })),
    }
}

fn result(id: &str, verdict: Verdict, failures: Vec<Failure>) -> ScenarioResult {
    ScenarioResult {
        id: id.into(),
        title: format!("Title of {id} with <markup> & \"quotes\""),
        spec: r#"002 "Synchrone Fehlermeldungen" (400)"#.into(),
        pack: "vst-ird".into(),
        file: format!("scenarios/vst-ird/{id}.yaml"),
        tags: vec!["vst".into(), "kvnr".into()],
        verdict,
        duration_ms: 250.0,
        steps: vec![step(0, "vst.submit_vitalstatus", verdict == Verdict::Passed)],
        failures,
        diagnoses: vec!["POST /notify/api/v1/vitalstatusnotification → 400: kvnr.check-digit at /Meldungen/0/IdVersicherter: check digit 9, expected 8".into()],
        refused_at: None,
    }
}

pub fn fixture() -> (RunInfo, Vec<ScenarioResult>, Summary) {
    let info = RunInfo {
        client: "acme-ird-client 2.3".into(),
        started: "2024-05-23T10:00:00.000Z".into(),
        packs: vec![PackInfo {
            name: "vst-ird".into(),
            version: "1.2.0".into(),
            scenarios: 4,
            digest: "d".repeat(64),
            files: vec![FileDigest {
                file: "001-a.yaml".into(),
                sha256: "a".repeat(64),
            }],
        }],
        scenarios: 4,
        jobs: 2,
        konform_version: "0.1.0".into(),
        obligations: Some(FileDigest {
            file: "obligations.yaml".into(),
            sha256: "0".repeat(64),
        }),
        partition: Some("hash:1/2".into()),
        merged_from: vec![],
    };
    let failure = Failure {
        check: "then[0] journal".into(),
        expected: "at least 1 × vst POST /notify/api/v1/vitalstatusnotification status 200".into(),
        actual: "0 matching; journal: POST /notify/api/v1/vitalstatusnotification → 400".into(),
        diagnoses: vec!["POST /notify/api/v1/vitalstatusnotification → 400: kvnr.check-digit at /Meldungen/0/IdVersicherter".into()],
    };
    let results = vec![
        result("vst-a-passes", Verdict::Passed, vec![]),
        result("vst-b-fails", Verdict::Failed, vec![failure]),
        result(
            "vst-c-errors",
            Verdict::Error,
            vec![Failure {
                check: "when[0] vst.submit_vitalstatus".into(),
                expected: "the client command to run".into(),
                actual: "adapter: cannot start `/opt/acme/bin/ird`: No such file or directory (os error 2)".into(),
                diagnoses: vec![],
            }],
        ),
        result(
            "vst-d-skipped",
            Verdict::Skipped,
            vec![Failure {
                check: "adapter".into(),
                expected: "the adapter to implement `vst.register`".into(),
                actual: "not mapped in the adapter file".into(),
                diagnoses: vec![],
            }],
        ),
    ];
    let summary = Summary::from_results(&results, 1234.5);
    (info, results, summary)
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn console_report() {
    let (info, results, summary) = fixture();
    let buf = Buf::default();
    let mut c = Console::new(buf.clone(), false);
    c.event(&Event::RunStarted(info)).unwrap();
    for r in results {
        c.event(&Event::ScenarioFinished(Box::new(r))).unwrap();
    }
    c.event(&Event::RunFinished { summary }).unwrap();
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    insta::assert_snapshot!("console", text);
}

#[test]
fn junit_report() {
    let (info, results, summary) = fixture();
    insta::assert_snapshot!("junit", junit::render(&info, &results, &summary));
}

#[test]
fn json_report() {
    let (info, results, summary) = fixture();
    insta::assert_snapshot!("json", json(&info, &results, &summary));
}

#[test]
fn html_report() {
    let (info, results, summary) = fixture();
    insta::assert_snapshot!("html", html::render(&info, &results, &summary));
}
