//! Packs: folders of scenario files, loaded recursively, with every error collected.

use super::{Scenario, ScenarioError, parse_scenario};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A pack: a folder of scenario files (`*.yaml`), named after the folder.
#[derive(Debug, Clone)]
pub struct Pack {
    pub name: String,
    pub dir: PathBuf,
    pub version: String,
    pub scenarios: Vec<Scenario>,
}

fn file_error(file: &Path, line: Option<u64>, message: String) -> ScenarioError {
    ScenarioError {
        file: file.display().to_string(),
        line,
        message,
    }
}

/// Load scenarios from files and folders (recursively). Errors are collected, not fatal one by one.
pub fn load(paths: &[PathBuf]) -> (Vec<Pack>, Vec<ScenarioError>) {
    let mut packs: BTreeMap<String, Pack> = BTreeMap::new();
    let mut errors = Vec::new();
    for p in paths {
        let mut files = Vec::new();
        if p.is_dir() {
            collect_yaml(p, &mut files);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            errors.push(file_error(p, None, "no such file or folder".into()));
            continue;
        }
        files.sort();
        for f in files {
            load_file(&f, &mut packs, &mut errors);
        }
    }
    (packs.into_values().collect(), errors)
}

fn load_file(f: &Path, packs: &mut BTreeMap<String, Pack>, errors: &mut Vec<ScenarioError>) {
    let dir = f.parent().map(Path::to_path_buf).unwrap_or_default();
    let pack_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenarios".into());
    let text = match std::fs::read_to_string(f) {
        Ok(t) => t,
        Err(e) => {
            errors.push(file_error(f, None, e.to_string()));
            return;
        }
    };
    let pack = packs.entry(pack_name.clone()).or_insert_with(|| Pack {
        name: pack_name.clone(),
        version: std::fs::read_to_string(dir.join("VERSION"))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|_| env!("CARGO_PKG_VERSION").to_string()),
        dir: dir.clone(),
        scenarios: Vec::new(),
    });
    match parse_scenario(&text, f, &pack_name) {
        Ok(s) if pack.scenarios.iter().any(|o| o.id == s.id) => {
            errors.push(file_error(
                f,
                None,
                format!("field `id`: `{}` is used twice in pack `{pack_name}`", s.id),
            ));
        }
        Ok(s) => pack.scenarios.push(s),
        Err(e) => errors.push(e),
    }
}

/// YAML files beside the packs that are not scenarios.
const NOT_SCENARIOS: [&str; 1] = ["obligations.yaml"];

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_yaml(&p, out);
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("yaml") | Some("yml")
        ) && !p
            .file_name()
            .is_some_and(|n| NOT_SCENARIOS.iter().any(|x| n == *x))
        {
            out.push(p);
        }
    }
}
