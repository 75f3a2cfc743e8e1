//! Fair to careful clients: a step with `may_refuse` passes a client that refuses locally (exit non-zero,
//! nothing sent) — and still judges a client that sends.

use conformance::adapter::Adapter;
use conformance::event::Verdict;
use conformance::runner::{RunOptions, Shared};
use std::sync::Arc;
use std::time::Duration;

const SCENARIO: &str = r#"
id: refusable
title: a production KVNR in the reference environment
spec: '002 Fußnote 2'
when:
  - action: vst.submit_vitalstatus
    input: { IdDatenlieferung: "f-1", Meldungen: [ { IdDatensatz: "1", IdVersicherter: A123456780, Vitalstatus: "01" } ] }
    expect: { exit: fail }
    may_refuse: { sim: vst, method: POST, path: /notify/api/v1/vitalstatusnotification }
then:
  - journal: { sim: vst, method: POST, path: /notify/api/v1/vitalstatusnotification, status: 403 }
"#;

async fn run(
    dir: &std::path::Path,
    adapter: Adapter,
    text: &str,
) -> conformance::event::ScenarioResult {
    let p = dir.join("pack");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("a.yaml"), text).unwrap();
    let (packs, errors) = conformance::model::load(&[p]);
    assert!(errors.is_empty(), "{errors:?}");
    let shared = Arc::new(Shared::create(&dir.join("work")).unwrap());
    let opts = RunOptions {
        adapter,
        jobs: 1,
        filter: None,
        step_timeout: Duration::from_secs(30),
        stop_on_failure: false,
        tls: false,
        partition: None,
        obligations: None,
    };
    conformance::runner::run(&packs, &opts, shared, &mut [])
        .await
        .0
        .remove(0)
}

#[tokio::test]
async fn a_local_refusal_passes_and_a_sent_request_is_still_judged() {
    let dir = tempfile::tempdir().unwrap();
    let strict = run(
        dir.path(),
        Adapter::Reference {
            defect: None,
            strict: true,
        },
        SCENARIO,
    )
    .await;
    assert_eq!(strict.verdict, Verdict::Passed, "{strict:#?}");
    assert_eq!(strict.refused_at, Some(0));
    assert!(
        strict.steps[0].message.contains("refused locally"),
        "{:?}",
        strict.steps[0]
    );

    let sending = run(
        dir.path(),
        Adapter::Reference {
            defect: None,
            strict: false,
        },
        SCENARIO,
    )
    .await;
    assert_eq!(sending.verdict, Verdict::Passed, "{sending:#?}");
    assert_eq!(sending.refused_at, None);

    // Sent, but the check does not hold: the refusal rule does not excuse it.
    let wrong = SCENARIO.replace("status: 403", "status: 400");
    let r = run(
        dir.path(),
        Adapter::Reference {
            defect: None,
            strict: false,
        },
        &wrong,
    )
    .await;
    assert_eq!(r.verdict, Verdict::Failed);

    // Without may_refuse a local refusal fails the scenario (the seed requires sending).
    let required = SCENARIO.replace("    may_refuse: { sim: vst, method: POST, path: /notify/api/v1/vitalstatusnotification }\n", "");
    let r = run(
        dir.path(),
        Adapter::Reference {
            defect: None,
            strict: true,
        },
        &required,
    )
    .await;
    assert_eq!(r.verdict, Verdict::Failed, "{r:#?}");
}
