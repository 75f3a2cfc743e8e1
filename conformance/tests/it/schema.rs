//! Every shipped scenario file is valid against `scenarios/scenario.schema.json` (the schema editors
//! use), checked by the `jsonschema` crate — and the schema rejects what the loader rejects.

use super::scenarios_dir;
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(scenarios_dir().join("scenario.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft202012::new(&schema).expect("the schema itself is valid")
}

fn yaml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml")
            && p.file_name().is_some_and(|n| n != "obligations.yaml")
        {
            out.push(p);
        }
    }
}

#[test]
fn every_shipped_scenario_validates_against_the_schema() {
    let v = validator();
    let mut files = Vec::new();
    yaml_files(&scenarios_dir(), &mut files);
    assert!(files.len() > 50, "{} scenario files", files.len());
    let mut problems = Vec::new();
    for f in &files {
        let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        for e in v.iter_errors(&doc) {
            problems.push(format!("{}: {} at {}", f.display(), e, e.instance_path()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_schema_rejects_what_the_loader_rejects() {
    let v = validator();
    let ok: Value = serde_json::json!({
        "id": "x", "title": "t", "spec": "002",
        "when": [ { "action": "vst.poll_requests" } ],
        "then": [ { "journal": { "sim": "vst", "status": "2xx" } } ]
    });
    assert!(v.is_valid(&ok));
    for (what, patch) in [
        ("unknown top-level key", serde_json::json!({ "titel": "x" })),
        (
            "unknown action",
            serde_json::json!({ "when": [ { "action": "vst.nothing" } ] }),
        ),
        (
            "two step kinds",
            serde_json::json!({ "when": [ { "action": "vst.poll_requests", "sleep_ms": 1 } ] }),
        ),
        (
            "unknown simulator",
            serde_json::json!({ "then": [ { "journal": { "sim": "nope" } } ] }),
        ),
        (
            "bad status",
            serde_json::json!({ "then": [ { "journal": { "sim": "vst", "status": "2x" } } ] }),
        ),
        ("no steps", serde_json::json!({ "when": [] })),
    ] {
        let mut doc = ok.clone();
        conformance::merge(&mut doc, &patch);
        assert!(!v.is_valid(&doc), "{what} must be rejected: {doc}");
        // The loader agrees.
        let yaml = serde_json::to_string(&doc).unwrap();
        let loaded = conformance::model::parse_scenario(&yaml, std::path::Path::new("x.yaml"), "p");
        assert!(loaded.is_err(), "{what}: the loader must reject it too");
    }
}

#[test]
fn the_schema_names_every_action_and_simulator() {
    let text = std::fs::read_to_string(scenarios_dir().join("scenario.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let actions = schema
        .pointer("/properties/when/items/properties/action/enum")
        .unwrap();
    for a in conformance::client::action_names() {
        assert!(
            actions.as_array().unwrap().iter().any(|x| x == a),
            "schema lacks action {a}"
        );
    }
    let sims = schema
        .pointer("/$defs/journal/properties/sim/enum")
        .unwrap();
    for s in conformance::sims::names() {
        assert!(
            sims.as_array().unwrap().iter().any(|x| x == s),
            "schema lacks simulator {s}"
        );
    }
}
