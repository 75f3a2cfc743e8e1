//! Client obligations as data: `scenarios/obligations.yaml` has one row per "muss" / "darf nicht" /
//! "ist zu …" of the seeds that a *client* has to meet — the seed passage quoted by section (or, for a
//! rule of a standard the seed only names, a passage of a reference document, `source`), what the
//! client must do, a class (for detection rates), and the scenarios that check it. `konform selftest`
//! reports obligations no scenario checks and fails when an obligation of a shipped pack is unchecked;
//! every defect of the reference client names the obligation it breaks. Format: `docs/conformance.md`,
//! "Obligations".

use crate::model::Pack;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "konform-obligations/1";

/// The file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ObligationsFile {
    /// `konform-obligations/1`.
    pub format: String,
    /// Seed id → file under the shared folder (`seeds/002_….txt`), for the quote check.
    pub seeds: BTreeMap<String, String>,
    /// The classes rows may use, with what each covers.
    pub classes: BTreeMap<String, String>,
    pub obligations: Vec<Obligation>,
}

/// One client obligation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Obligation {
    /// `<pack prefix>.<topic>.<rule>`, e.g. `vst.enc.fresh-iv`.
    pub id: String,
    /// The pack whose scenarios check it.
    pub pack: String,
    /// Seed id (key of `seeds`).
    pub seed: String,
    /// The heading the passage is under (in the seed, or in `source` when given).
    pub section: String,
    /// The passage, verbatim (whitespace and `*`/`` ` `` markup aside).
    pub quote: String,
    /// A reference document under the shared folder (`reference/xta/NOTES.md`) the section and quote
    /// come from, for a rule the seed requires only through the standard it names (seed 001: "per
    /// XTA-WS 2.1.1"). Absent: they come from the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// What a client must do, in our words.
    pub must: String,
    pub class: String,
    /// Ids of the scenarios (in `pack`) that check it.
    #[serde(default)]
    pub scenarios: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ObligationsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}{}: {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },
}

/// Load and check the file: format, unique ids, known classes and seeds.
pub fn load(path: &Path) -> Result<ObligationsFile, ObligationsError> {
    let text = std::fs::read_to_string(path).map_err(|source| ObligationsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |line: Option<u64>, message: String| ObligationsError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    };
    let file: ObligationsFile = serde_saphyr::from_str(&text).map_err(|e| {
        invalid(
            e.location().map(|l| l.line()).filter(|l| *l > 0),
            e.to_string(),
        )
    })?;
    if file.format != FORMAT {
        return Err(invalid(None, format!("format must be `{FORMAT}`")));
    }
    let mut ids = BTreeSet::new();
    for o in &file.obligations {
        let problem = if !ids.insert(o.id.as_str()) {
            Some(format!("id `{}` used twice", o.id))
        } else if !file.classes.contains_key(&o.class) {
            Some(format!("`{}`: unknown class `{}`", o.id, o.class))
        } else if !file.seeds.contains_key(&o.seed) {
            Some(format!("`{}`: unknown seed `{}`", o.id, o.seed))
        } else if o.quote.trim().is_empty() || o.must.trim().is_empty() {
            Some(format!("`{}`: quote and must are required", o.id))
        } else {
            o.source
                .as_deref()
                .filter(|s| !is_shared_path(s))
                .map(|bad| {
                    format!(
                        "`{}`: source `{bad}` must be a relative path inside the shared folder",
                        o.id
                    )
                })
        };
        if let Some(p) = problem {
            return Err(invalid(None, format!("obligation {p}")));
        }
    }
    Ok(file)
}

/// The file a row's section and quote are checked against: its `source`, else its seed's file.
pub fn quoted_file<'a>(file: &'a ObligationsFile, o: &'a Obligation) -> Option<&'a str> {
    o.source
        .as_deref()
        .or_else(|| file.seeds.get(&o.seed).map(String::as_str))
}

/// A relative path that stays inside the shared folder (no root, no `..`).
fn is_shared_path(s: &str) -> bool {
    let p = Path::new(s);
    !s.trim().is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// Find `obligations.yaml` for these pack paths: in a given folder, or beside a given pack folder.
pub fn find_for(paths: &[PathBuf]) -> Option<PathBuf> {
    paths.iter().find_map(|p| {
        [Some(p.as_path()), p.parent()]
            .into_iter()
            .flatten()
            .map(|d| d.join("obligations.yaml"))
            .find(|f| f.is_file())
    })
}

/// How the loaded packs cover the obligations.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    /// Obligations of loaded packs.
    pub total: usize,
    /// Obligations of loaded packs with at least one existing scenario.
    pub checked: usize,
    /// Obligations of loaded packs that no existing scenario checks (fails the selftest).
    pub unchecked: Vec<String>,
    /// `obligation → scenario` references to scenarios that do not exist in the pack (fails too).
    pub dangling: Vec<String>,
    /// Obligations of packs that were not loaded (reported, not judged).
    pub other_packs: usize,
}

impl Coverage {
    pub fn ok(&self) -> bool {
        self.unchecked.is_empty() && self.dangling.is_empty()
    }
}

pub fn coverage(file: &ObligationsFile, packs: &[Pack]) -> Coverage {
    let loaded: BTreeSet<&str> = packs.iter().map(|p| p.name.as_str()).collect();
    // A scenario in any loaded pack may check an obligation (a delivery scenario of the VST pack
    // checks Konnektor obligations too).
    let scenarios: BTreeSet<&str> = packs
        .iter()
        .flat_map(|p| p.scenarios.iter().map(|s| s.id.as_str()))
        .collect();
    let mut c = Coverage::default();
    for o in &file.obligations {
        if !loaded.contains(o.pack.as_str()) {
            c.other_packs += 1;
            continue;
        }
        c.total += 1;
        let mut existing = 0;
        for s in &o.scenarios {
            if scenarios.contains(s.as_str()) {
                existing += 1;
            } else {
                c.dangling.push(format!("{} → {s}", o.id));
            }
        }
        if existing > 0 {
            c.checked += 1;
        } else {
            c.unchecked.push(o.id.clone());
        }
    }
    c
}

/// Class of an obligation id, if the file has it.
pub fn class_of<'a>(file: &'a ObligationsFile, id: &str) -> Option<&'a str> {
    file.obligations
        .iter()
        .find(|o| o.id == id)
        .map(|o| o.class.as_str())
}

/// Collapse whitespace and drop markup (`*`, `` ` ``) so a quote can be found in the seed text.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '*' && *c != '`')
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_scenario;

    const FILE: &str = r#"
format: konform-obligations/1
seeds: { "002": seeds/002.txt }
classes: { json: "JSON rules" }
obligations:
  - id: a.one
    pack: p
    seed: "002"
    section: S
    quote: q
    must: m
    class: json
    scenarios: [s1, gone]
  - id: a.two
    pack: p
    seed: "002"
    section: S
    quote: q
    must: m
    class: json
  - id: b.three
    pack: other
    seed: "002"
    section: S
    quote: q
    must: m
    class: json
    scenarios: [x]
"#;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("obligations.yaml");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn coverage_reports_unchecked_dangling_and_other_packs() {
        let (_d, p) = write(FILE);
        let f = load(&p).unwrap();
        let sc = parse_scenario(
            "id: s1\ntitle: t\nspec: s\nwhen:\n  - action: vst.poll_requests\n",
            Path::new("s1.yaml"),
            "p",
        )
        .unwrap();
        let pack = Pack {
            name: "p".into(),
            dir: PathBuf::new(),
            version: "1".into(),
            scenarios: vec![sc],
        };
        let c = coverage(&f, &[pack]);
        assert_eq!((c.total, c.checked, c.other_packs), (2, 1, 1));
        assert_eq!(c.unchecked, vec!["a.two".to_string()]);
        assert_eq!(c.dangling, vec!["a.one → gone".to_string()]);
        assert!(!c.ok());
        assert_eq!(class_of(&f, "a.two"), Some("json"));
    }

    #[test]
    fn bad_files_are_refused() {
        for (bad, needle) in [
            (FILE.replace("class: json\n    scenarios: [x]", "class: nope\n    scenarios: [x]"), "unknown class"),
            (FILE.replace("id: a.two", "id: a.one"), "twice"),
            (FILE.replace("konform-obligations/1", "v0"), "format"),
            (FILE.replace("quote: q\n    must: m\n    class: json\n    scenarios: [x]", "quote: q\n    source: ../etc/passwd\n    must: m\n    class: json\n    scenarios: [x]"), "source"),
            (FILE.replace("    seed: \"002\"\n    section: S\n    quote: q\n    must: m\n    class: json\n  - id: b", "    seed: \"003\"\n    section: S\n    quote: q\n    must: m\n    class: json\n  - id: b"), "unknown seed"),
        ] {
            let (_d, p) = write(&bad);
            let e = load(&p).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle}: {e}");
        }
    }

    #[test]
    fn quotes_come_from_the_source_when_given() {
        let text = FILE.replace(
            "quote: q\n    must: m\n    class: json\n    scenarios: [x]",
            "quote: q\n    source: reference/xta/NOTES.md\n    must: m\n    class: json\n    scenarios: [x]",
        );
        let (_d, p) = write(&text);
        let f = load(&p).unwrap();
        let by_id = |id: &str| f.obligations.iter().find(|o| o.id == id).unwrap();
        assert_eq!(quoted_file(&f, by_id("a.one")), Some("seeds/002.txt"));
        assert_eq!(
            quoted_file(&f, by_id("b.three")),
            Some("reference/xta/NOTES.md")
        );
    }

    #[test]
    fn quotes_are_normalized() {
        assert_eq!(
            normalize("Die  Daten **müssen**\n in `x`"),
            "Die Daten müssen in x"
        );
    }
}
