//! `docs/adapter-example-python.md` is executable: its wrapper and adapter file, extracted from the page,
//! run the Konnektor pack through `python3`.

use conformance::adapter::Adapter;
use conformance::event::Verdict;
use conformance::runner::{RunOptions, Shared};
use std::sync::Arc;
use std::time::Duration;

fn block(page: &str, opening: &str) -> String {
    let start = page
        .find(opening)
        .unwrap_or_else(|| panic!("no `{opening}` block"))
        + opening.len();
    let end = page[start..].find("\n```").expect("closed block") + start;
    page[start..end].to_string() + "\n"
}

fn python() -> bool {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 is needed (CI installs it)"
        );
        eprintln!("SKIPPED: python3 not found");
    }
    ok
}

#[tokio::test]
async fn the_python_example_passes_the_konnektor_scenarios_it_maps() {
    if !python() {
        return;
    }
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/adapter-example-python.md"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("acme_konform.py"),
        block(&page, "```python\n"),
    )
    .unwrap();
    let adapter = dir.path().join("acme-adapter.yaml");
    std::fs::write(&adapter, block(&page, "```yaml\nname: acme")).unwrap();
    // `block` cut the leading `name: acme`; put it back.
    let text = format!("name: acme{}", std::fs::read_to_string(&adapter).unwrap());
    std::fs::write(&adapter, text).unwrap();

    let (packs, errors) = conformance::model::load(&[super::scenarios_dir().join("konnektor")]);
    assert!(errors.is_empty(), "{errors:?}");
    let shared = Arc::new(Shared::create(&dir.path().join("work")).unwrap());
    let opts = RunOptions {
        adapter: Adapter::load(&adapter).unwrap(),
        jobs: 2,
        filter: None,
        step_timeout: Duration::from_secs(30),
        stop_on_failure: false,
        tls: false,
        partition: None,
        obligations: None,
    };
    let (results, _) = conformance::runner::run(&packs, &opts, shared, &mut []).await;
    let verdict = |id: &str| {
        results
            .iter()
            .find(|r| r.id == id)
            .map(|r| (r.verdict, r.failures.clone()))
            .unwrap_or_else(|| panic!("{id} not run"))
    };
    for id in [
        "konn-get-cards",
        "konn-verify-pin-unlocks",
        "konn-verify-pin-rejected-left-tries",
        "konn-configured-context-used",
    ] {
        let (v, f) = verdict(id);
        assert_eq!(v, Verdict::Passed, "{id}: {f:#?}");
    }
    assert_eq!(verdict("konn-sign-document-cms").0, Verdict::Skipped);
    assert!(
        results
            .iter()
            .all(|r| matches!(r.verdict, Verdict::Passed | Verdict::Skipped)),
        "{:#?}",
        results
            .iter()
            .filter(|r| !matches!(r.verdict, Verdict::Passed | Verdict::Skipped))
            .collect::<Vec<_>>()
    );
}
