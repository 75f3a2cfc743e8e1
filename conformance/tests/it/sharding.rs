//! A partitioned run merges into the report of an unpartitioned one, and the report verifies against
//! the packs it was made with — and not against modified ones.

use conformance::adapter::Adapter;
use conformance::report::merge::{self, Report};
use conformance::report::provenance;
use conformance::runner::partition::Partition;
use conformance::runner::{RunOptions, Shared};
use std::sync::Arc;
use std::time::Duration;

fn scenario(i: usize) -> String {
    format!(
        "id: s{i}\ntitle: t\nspec: s\nwhen:\n  - action: konnektor.get_cards\nthen:\n  - output: {{ pointer: /cards/0/CardType, equals: SMC-B }}\n"
    )
}

async fn report(dir: &std::path::Path, partition: Option<Partition>) -> Report {
    let (packs, errors) = conformance::model::load(&[dir.join("pack")]);
    assert!(errors.is_empty(), "{errors:?}");
    let shared = Arc::new(Shared::create(&dir.join("work")).unwrap());
    let opts = RunOptions {
        adapter: Adapter::Reference {
            defect: None,
            strict: false,
        },
        jobs: 2,
        filter: None,
        step_timeout: Duration::from_secs(30),
        stop_on_failure: false,
        tls: false,
        partition,
        obligations: Some(dir.join("obligations.yaml")),
    };
    let json = dir.join(format!(
        "r-{}.json",
        partition.map(|p| p.shard).unwrap_or(0)
    ));
    let mut reporters: Vec<Box<dyn conformance::event::Reporter>> = vec![Box::new(
        conformance::report::FileReporter::new(json.clone(), conformance::report::FileKind::Json),
    )];
    conformance::runner::run(&packs, &opts, shared, &mut reporters).await;
    merge::read(&json).unwrap()
}

#[tokio::test]
async fn shards_merge_into_the_whole_and_the_report_verifies() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pack")).unwrap();
    for i in 0..9 {
        std::fs::write(dir.path().join(format!("pack/{i:03}.yaml")), scenario(i)).unwrap();
    }
    std::fs::write(dir.path().join("obligations.yaml"), "format: x\n").unwrap();
    let whole = report(dir.path(), None).await;
    let mut shards = Vec::new();
    for k in 1..=3 {
        shards.push(report(dir.path(), Some(Partition { shard: k, total: 3 })).await);
    }
    assert_eq!(shards.iter().map(|r| r.scenarios.len()).sum::<usize>(), 9);
    let merged = merge::merge(shards.clone()).unwrap();
    let ids = |r: &Report| r.scenarios.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&merged),
        ids(&whole),
        "same scenarios in the same order"
    );
    assert_eq!(merged.summary.passed, 9);
    assert_eq!(
        merged.run.merged_from,
        vec!["hash:1/3", "hash:2/3", "hash:3/3"]
    );
    assert_eq!(merged.run.packs[0].digest, whole.run.packs[0].digest);

    // Incomplete, overlapping or foreign shards are refused.
    assert!(
        merge::merge(shards[..2].to_vec()).is_err(),
        "a missing shard"
    );
    assert!(
        merge::merge(vec![
            shards[0].clone(),
            shards[0].clone(),
            shards[1].clone(),
            shards[2].clone()
        ])
        .is_err()
    );
    let mut other = shards[1].clone();
    other.run.client = "someone else".into();
    assert!(merge::merge(vec![shards[0].clone(), other, shards[2].clone()]).is_err());

    // The report names every file's hash; verify recomputes them.
    let dirs = vec![dir.path().join("pack")];
    let v = provenance::verify(&merged.run, &dirs);
    assert!(v.ok(), "{v:?}");
    assert_eq!(v.matching, 10, "9 scenario files and the obligations file");
    std::fs::write(
        dir.path().join("pack/004.yaml"),
        scenario(4).replace("title: t", "title: changed"),
    )
    .unwrap();
    std::fs::write(dir.path().join("pack/009.yaml"), scenario(9)).unwrap();
    let v = provenance::verify(&merged.run, &dirs);
    assert!(!v.ok());
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("004.yaml") && p.contains("differs")),
        "{v:?}"
    );
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("009.yaml") && p.contains("not in the report")),
        "{v:?}"
    );
    std::fs::write(dir.path().join("obligations.yaml"), "format: y\n").unwrap();
    let v = provenance::verify(&merged.run, &dirs);
    assert!(
        v.problems.iter().any(|p| p.contains("obligations.yaml")),
        "{v:?}"
    );
}
