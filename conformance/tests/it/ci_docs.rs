//! `docs/ci.md`: its GitHub Actions and GitLab CI examples parse, shard completely, merge exactly the
//! shards' reports, and call `konform` only with flags it has.

use conformance::runner::partition::Partition;
use serde_json::Value;

fn page() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ci.md"))
        .unwrap()
}

/// The ```yaml blocks of the page, parsed.
fn yaml_blocks(page: &str) -> Vec<Value> {
    page.split("```yaml\n")
        .skip(1)
        .map(|b| {
            let text = &b[..b.find("\n```").expect("closed block")];
            serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("invalid YAML: {e}\n{text}"))
        })
        .collect()
}

/// Every `konform …` command in a list of script lines / run strings, whitespace-joined.
fn konform_commands(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
            if let Some(i) = joined.find("konform ")
                && !joined[..i].contains("install")
            {
                out.push(joined[i..].to_string());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| konform_commands(x, out)),
        Value::Object(m) => m.values().for_each(|x| konform_commands(x, out)),
        _ => {}
    }
}

/// Flags per subcommand, as `konform run --help` and `konform report … --help` list them.
fn check_flags(cmd: &str) {
    let words: Vec<&str> = cmd.split(' ').collect();
    let known: &[&str] = match (words.get(1), words.get(2)) {
        (Some(&"run"), _) => &[
            "--client",
            "--partition",
            "--json",
            "--junit",
            "--html",
            "--tls",
            "--filter",
            "--jobs",
        ],
        (Some(&"report"), Some(&"merge")) => &["--json", "--junit", "--html"],
        (Some(&"report"), Some(&"verify")) => &["--packs"],
        other => panic!("unexpected konform command {other:?}: {cmd}"),
    };
    for w in words.iter().filter(|w| w.starts_with("--")) {
        assert!(known.contains(w), "`{w}` is no flag of `{cmd}`");
    }
}

fn partition_of(cmd: &str, shard: &str, total: &str) -> Partition {
    let concrete = cmd
        .replace("${{ matrix.shard }}", shard)
        .replace("${CI_NODE_INDEX}", shard)
        .replace("${CI_NODE_TOTAL}", total);
    let arg = concrete
        .split(' ')
        .skip_while(|w| *w != "--partition")
        .nth(1)
        .unwrap_or_else(|| panic!("no --partition in {cmd}"));
    arg.trim_matches('"')
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn github_actions_example() {
    let docs = yaml_blocks(&page());
    let gh = docs
        .iter()
        .find(|d| d.get("jobs").is_some())
        .expect("a GitHub workflow");
    let shards = gh
        .pointer("/jobs/packs/strategy/matrix/shard")
        .and_then(Value::as_array)
        .unwrap();
    let mut cmds = Vec::new();
    konform_commands(gh, &mut cmds);
    cmds.iter().for_each(|c| check_flags(c));
    let run = cmds.iter().find(|c| c.starts_with("konform run")).unwrap();
    let total = shards.len().to_string();
    let mut seen = Vec::new();
    for s in shards {
        let p = partition_of(run, &s.to_string(), &total);
        assert_eq!(
            p.total as usize,
            shards.len(),
            "the matrix covers every shard"
        );
        seen.push(p.shard);
    }
    seen.sort();
    assert_eq!(seen, (1..=shards.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        gh.pointer("/jobs/report/needs"),
        Some(&Value::String("packs".into()))
    );
    let merge = cmds
        .iter()
        .find(|c| c.starts_with("konform report merge"))
        .unwrap();
    for k in 1..=shards.len() {
        assert!(merge.contains(&format!("shard-{k}.json")), "{merge}");
    }
    assert!(merge.contains("--junit report.xml") && merge.contains("--html report.html"));
    let text = serde_json::to_string(gh).unwrap();
    assert!(
        text.contains("report_paths") && text.contains("report.xml"),
        "JUnit is published"
    );
    assert!(cmds.iter().any(|c| c.starts_with("konform report verify")));
}

#[test]
fn gitlab_ci_example() {
    let docs = yaml_blocks(&page());
    let gl = docs
        .iter()
        .find(|d| d.get("stages").is_some())
        .expect("a GitLab pipeline");
    let n = gl
        .pointer("/conformance/parallel")
        .and_then(Value::as_u64)
        .unwrap();
    let mut cmds = Vec::new();
    konform_commands(gl, &mut cmds);
    cmds.iter().for_each(|c| check_flags(c));
    let run = cmds.iter().find(|c| c.starts_with("konform run")).unwrap();
    for k in 1..=n {
        let p = partition_of(run, &k.to_string(), &n.to_string());
        assert_eq!((p.shard, p.total), (k, n));
    }
    assert_eq!(
        gl.pointer("/conformance-report/needs/0"),
        Some(&Value::String("conformance".into()))
    );
    assert_eq!(
        gl.pointer("/conformance-report/artifacts/reports/junit"),
        Some(&Value::String("report.xml".into()))
    );
    assert!(
        cmds.iter()
            .any(|c| c.starts_with("konform report merge shard-*.json"))
    );
}
