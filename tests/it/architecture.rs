//! Tidy tests (rust-analyzer's style): the invariants `ARCHITECTURE.md` states, checked against the source
//! tree. Each test reads files relative to the workspace root and fails with the file and line to fix.
//!
//! - [`architecture_md_names_every_crate_and_module`]: the code map is complete;
//! - [`protocol_cores_do_no_io`]: ti-core and the modules documented as pure use no I/O, clock or env;
//! - [`crate_dependencies_follow_the_layers`]: no simulator depends on another (or on the runner);
//! - [`every_rule_name_is_documented`]: each diagnosis rule a simulator emits appears in `docs/`;
//! - [`long_files_say_why`]: a source file over 600 lines gives its reason in its module comment.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let path = root().join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every `.rs` file under `rel` (a file or a directory), as paths relative to the root, sorted.
fn rust_files(rel: &str) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let base = root();
    let start = base.join(rel);
    let mut found = Vec::new();
    if start.is_file() {
        found.push(start);
    } else {
        walk(&start, &mut found);
    }
    let mut rel: Vec<String> = found
        .iter()
        .map(|p| {
            p.strip_prefix(&base)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    rel.sort();
    rel
}

/// The lines of a file up to (not including) its first `#[cfg(test)]`, numbered from 1. A `#[cfg(test)]`
/// that only declares a test module in another file (`mod tests;`) is skipped, not the end.
fn non_test_lines(text: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().starts_with("#[cfg(test)]") {
            let next = lines.get(i + 1).map_or("", |l| l.trim());
            if next.starts_with("mod ") && next.ends_with(';') {
                i += 2;
                continue;
            }
            break;
        }
        out.push((i + 1, lines[i]));
        i += 1;
    }
    out
}

/// The `members` of the root `Cargo.toml`'s `[workspace]`.
fn workspace_members() -> Vec<String> {
    let toml = read("Cargo.toml");
    let start = toml
        .find("members")
        .expect("root Cargo.toml has no `members`");
    let open = start + toml[start..].find('[').expect("members = [");
    let close = open + toml[open..].find(']').expect("members = [ … ]");
    toml[open + 1..close]
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `true` when `word` occurs in `text` not as part of a longer name (`[A-Za-z0-9_]`, plus `.` and `-`
/// when `dotted` — rule names and crate names contain them).
fn contains_word(text: &str, word: &str, dotted: bool) -> bool {
    let is_name =
        |c: char| c.is_ascii_alphanumeric() || c == '_' || (dotted && (c == '.' || c == '-'));
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        // A trailing `.` ends a sentence, not a name.
        let after_ok = match after {
            None => true,
            Some('.') if dotted => {
                !text[i + word.len() + 1..].starts_with(|c: char| c.is_ascii_alphanumeric())
            }
            Some(c) => !is_name(c),
        };
        before.is_none_or(|c| !is_name(c)) && after_ok
    })
}

// ---------------------------------------------------------------------------------------------------
// 1. ARCHITECTURE.md names every crate and every top-level module
// ---------------------------------------------------------------------------------------------------

/// The backticked tokens of a Markdown text outside fenced code blocks, with their line numbers.
fn backticked(md: &str) -> Vec<(usize, String)> {
    let mut tokens = Vec::new();
    let mut fenced = false;
    for (i, line) in md.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(token), Some(_)) = (parts.next(), parts.next()) {
            tokens.push((i + 1, token.to_string()));
        }
    }
    tokens
}

/// The `### \`<dir>/\`` sections of ARCHITECTURE.md: directory → (heading line, backticked tokens).
fn sections(md: &str) -> BTreeMap<String, (usize, Vec<String>)> {
    let headings: Vec<(usize, String)> = md
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("## ") || l.starts_with("### "))
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect();
    let tokens = backticked(md);
    let mut out = BTreeMap::new();
    for (k, (line, heading)) in headings.iter().enumerate() {
        let Some(dir) = heading
            .strip_prefix("### `")
            .and_then(|h| h.split('`').next())
        else {
            continue;
        };
        let end = headings.get(k + 1).map_or(usize::MAX, |(l, _)| *l);
        let inside = tokens
            .iter()
            .filter(|(l, _)| l > line && *l < end)
            .map(|(_, t)| t.clone())
            .collect();
        out.insert(dir.trim_end_matches('/').to_string(), (*line, inside));
    }
    out
}

/// The top-level modules of a crate: each `src/X.rs` and `src/X/` except the crate roots.
fn top_level_modules(src: &Path) -> Vec<String> {
    let mut modules = BTreeSet::new();
    for entry in fs::read_dir(src).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        if path.is_dir() || path.extension().is_some_and(|e| e == "rs") {
            modules.insert(name);
        }
    }
    for root in ["lib", "main", "mod"] {
        modules.remove(root);
    }
    modules.into_iter().collect()
}

#[test]
fn architecture_md_names_every_crate_and_module() {
    let md = read("ARCHITECTURE.md");
    let all_tokens: Vec<String> = backticked(&md).into_iter().map(|(_, t)| t).collect();
    let sections = sections(&md);
    let mut problems = String::new();

    let mut crates: Vec<(String, String, String)> = workspace_members()
        .into_iter()
        .map(|m| (m.clone(), format!("{m}/src"), m))
        .collect();
    // The root package: its commands are its modules.
    crates.push(("konform".into(), "src/cmd".into(), "src".into()));

    for (name, src, section) in &crates {
        let named = all_tokens.iter().any(|t| {
            contains_word(t, name, true) || contains_word(t, &name.replace('-', "_"), true)
        });
        if !named {
            let _ = writeln!(
                problems,
                "ARCHITECTURE.md: crate `{name}` is not named in any backticked token"
            );
        }
        let modules = top_level_modules(&root().join(src));
        let Some((line, tokens)) = sections.get(section.as_str()) else {
            let _ = writeln!(
                problems,
                "ARCHITECTURE.md: no section `### `{section}/`` for crate `{name}` (modules: {})",
                modules.join(", ")
            );
            continue;
        };
        for module in modules {
            if !tokens.iter().any(|t| contains_word(t, &module, false)) {
                let _ = writeln!(
                    problems,
                    "ARCHITECTURE.md:{line}: section `{section}/` does not name module `{module}` ({src}/{module})"
                );
            }
        }
    }
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md's code map is incomplete:\n{problems}"
    );
}

// ---------------------------------------------------------------------------------------------------
// 2. Protocol cores do no I/O, read no clock and no environment
// ---------------------------------------------------------------------------------------------------

/// Modules documented as pure (no I/O, no clock, no environment), as paths: a file, or a directory
/// checked whole. Sources: ARCHITECTURE.md's code map ("no I/O", "without I/O", "pure") and the crates'
/// module comments (`lib.rs`, and each module's own `//!`).
const PURE: &[&str] = &[
    // ti-core: "no I/O" for the whole crate.
    "ti-core/src",
    // mock-vst: lib.rs — `process` "no I/O"; `json`, `wellknown` say "No I/O" in their own comments.
    "mock-vst/src/json.rs",
    "mock-vst/src/model.rs",
    "mock-vst/src/process",
    "mock-vst/src/wellknown.rs",
    // mock-konnektor: "`xml`, `schema`, `soap`, `services`, `ops`, `cards`, `fault`, `sds` and `write` do no
    // I/O and read no clock".
    "mock-konnektor/src/xml",
    "mock-konnektor/src/schema.rs",
    "mock-konnektor/src/soap.rs",
    "mock-konnektor/src/services.rs",
    "mock-konnektor/src/ops",
    "mock-konnektor/src/cards.rs",
    "mock-konnektor/src/fault.rs",
    "mock-konnektor/src/sds.rs",
    "mock-konnektor/src/write.rs",
    // mock-xta: "Protocol cores without I/O: `xml`, `mime`, `soap`, `fault`, `model`, `profile`, `report`,
    // `wire`".
    "mock-xta/src/xml",
    "mock-xta/src/mime",
    "mock-xta/src/soap.rs",
    "mock-xta/src/fault.rs",
    "mock-xta/src/model",
    "mock-xta/src/profile",
    "mock-xta/src/report.rs",
    "mock-xta/src/wire.rs",
    // mock-osci: "Protocol core without I/O or clock: `mime`, `xml`, `c14n`, `crypto`, `outer`, `request`,
    // `dialog`, `sigcheck`, `feedback`, `laufzettel`, `profile`, `recipient`, `write`, `ops`, `client`".
    "mock-osci/src/mime.rs",
    "mock-osci/src/xml.rs",
    "mock-osci/src/c14n.rs",
    "mock-osci/src/crypto.rs",
    "mock-osci/src/outer.rs",
    "mock-osci/src/request.rs",
    "mock-osci/src/dialog.rs",
    "mock-osci/src/sigcheck.rs",
    "mock-osci/src/feedback.rs",
    "mock-osci/src/laufzettel.rs",
    "mock-osci/src/profile.rs",
    "mock-osci/src/recipient.rs",
    "mock-osci/src/write.rs",
    "mock-osci/src/ops.rs",
    "mock-osci/src/client.rs",
    // mock-melderegister: "Cores with no I/O: `search`, `register`, `xmeld`, `soap`, `bundle`, `codes`".
    "mock-melderegister/src/search",
    "mock-melderegister/src/register",
    "mock-melderegister/src/xmeld",
    "mock-melderegister/src/soap.rs",
    "mock-melderegister/src/bundle.rs",
    "mock-melderegister/src/codes.rs",
    // conformance: "the pure expectation matching (`expect.rs`, unit-tested, no I/O)".
    "conformance/src/runner/expect.rs",
];

/// What a pure module must not use: I/O (`std::fs`, `std::net`, the async runtime and HTTP stack), the
/// clock and the environment.
const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::net",
    "tokio",
    "axum",
    "SystemTime::now",
    "Instant::now",
    "OffsetDateTime::now_utc",
    "OffsetDateTime::now_local",
    "std::env",
];

/// Known uses that stay, each with its reason: (file, forbidden name, why).
const PURE_EXCEPTIONS: &[(&str, &str, &str)] = &[(
    "mock-konnektor/src/cards.rs",
    "std::net",
    "`std::net::Ipv4Addr` only parses a card terminal's configured IP address (a value type, no socket)",
)];

/// The forbidden names a line of code uses, including `use std::{fs, …}` groups.
fn forbidden_in(line: &str) -> Vec<&'static str> {
    let code = line.split("//").next().unwrap_or("");
    let mut hits: Vec<&'static str> = FORBIDDEN
        .iter()
        .copied()
        .filter(|f| contains_word(code, f, false))
        .collect();
    if let Some(group) = code.split("std::{").nth(1) {
        for (name, full) in [("fs", "std::fs"), ("net", "std::net"), ("env", "std::env")] {
            if contains_word(group, name, false) && !hits.contains(&full) {
                hits.push(full);
            }
        }
    }
    hits
}

#[test]
fn protocol_cores_do_no_io() {
    let mut problems = String::new();
    let mut used_exceptions = BTreeSet::new();
    let mut scanned = 0;
    for pure in PURE {
        let files = rust_files(pure);
        scanned += files.len();
        if files.is_empty() {
            let _ = writeln!(
                problems,
                "{pure}: listed in PURE but does not exist (update the list)"
            );
        }
        for file in files {
            let text = read(&file);
            for (n, line) in non_test_lines(&text) {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for hit in forbidden_in(line) {
                    if let Some(e) = PURE_EXCEPTIONS
                        .iter()
                        .find(|(f, h, _)| *f == file && *h == hit)
                    {
                        used_exceptions.insert(*e);
                        continue;
                    }
                    let _ = writeln!(
                        problems,
                        "{file}:{n}: `{hit}` in a protocol core: {}",
                        line.trim()
                    );
                }
            }
        }
    }
    eprintln!(
        "{scanned} files of protocol cores scanned ({} entries in PURE)",
        PURE.len()
    );
    for e in PURE_EXCEPTIONS {
        if !used_exceptions.contains(e) {
            let _ = writeln!(
                problems,
                "PURE_EXCEPTIONS: ({}, {}) no longer needed; remove it",
                e.0, e.1
            );
        }
    }
    assert!(
        problems.is_empty(),
        "protocol cores must take time and data as parameters (ARCHITECTURE.md, \"Protocol cores do no \
         I/O\"):\n{problems}"
    );
}

// ---------------------------------------------------------------------------------------------------
// 3. Crate layers
// ---------------------------------------------------------------------------------------------------

/// The package name of a member crate.
fn package_name(member: &str) -> String {
    let toml = read(&format!("{member}/Cargo.toml"));
    toml.lines()
        .skip_while(|l| l.trim() != "[package]")
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "name").then(|| v.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| member.to_string())
}

/// The normal and build dependencies of a member crate: (name, line).
fn dependencies(member: &str) -> Vec<(String, usize)> {
    let toml = read(&format!("{member}/Cargo.toml"));
    let mut deps = Vec::new();
    let mut in_deps = false;
    for (i, line) in toml.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            let table = t.trim_matches(|c| c == '[' || c == ']');
            let last = table.rsplit('.').next().unwrap_or(table);
            // `[dependencies]`, `[build-dependencies]`, `[target.'…'.dependencies]`, `[dependencies.x]`.
            if table == "dependencies" || table == "build-dependencies" || last == "dependencies" {
                in_deps = true;
            } else if let Some(name) = table
                .strip_prefix("dependencies.")
                .or_else(|| table.strip_prefix("build-dependencies."))
            {
                deps.push((name.to_string(), i + 1));
                in_deps = false;
            } else {
                in_deps = false;
            }
            continue;
        }
        if in_deps
            && !t.starts_with('#')
            && let Some((key, _)) = t.split_once('=')
        {
            let name = key.trim().split('.').next().unwrap_or("").trim_matches('"');
            deps.push((name.to_string(), i + 1));
        }
    }
    deps
}

#[test]
fn crate_dependencies_follow_the_layers() {
    let members = workspace_members();
    let workspace: BTreeSet<String> = members
        .iter()
        .map(|m| package_name(m))
        .chain(["konform".into()])
        .collect();
    let mut problems = String::new();
    for member in &members {
        let name = package_name(member);
        // The workspace crates each layer may use (ARCHITECTURE.md, "Code map"): ti-core and sim-kit
        // depend on no other workspace crate; a simulator on ti-core and sim-kit only — never on another
        // simulator, the runner, the dashboard or the test helpers.
        // And no crate uses `test-support` outside `[dev-dependencies]`.
        let allowed: Option<&[&str]> = match name.as_str() {
            "ti-core" | "sim-kit" => Some(&[]),
            n if n.starts_with("mock-") => Some(&["ti-core", "sim-kit"]),
            _ => None,
        };
        for (dep, line) in dependencies(member) {
            let broken = match allowed {
                Some(allowed) => workspace.contains(&dep) && !allowed.contains(&dep.as_str()),
                None => dep == "test-support",
            };
            if broken {
                let allowed = allowed.map_or("any but test-support".to_string(), |a| {
                    if a.is_empty() {
                        "none".to_string()
                    } else {
                        a.join(", ")
                    }
                });
                let _ = writeln!(
                    problems,
                    "{member}/Cargo.toml:{line}: `{name}` depends on workspace crate `{dep}` (allowed: {allowed})"
                );
            }
        }
    }
    assert!(problems.is_empty(), "crate layering broken:\n{problems}");
}

// ---------------------------------------------------------------------------------------------------
// 4. Every rule name is documented
// ---------------------------------------------------------------------------------------------------

/// The string literals that follow `marker` (whitespace allowed in between) in `text`, with lines.
fn literals_after(text: &str, marker: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(marker) {
        // `rule: "…"`, not `limit_rule: "…"`.
        if text[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = text[at + marker.len()..].trim_start();
        let Some(rest) = rest.strip_prefix('"') else {
            continue;
        };
        let Some(end) = rest.find('"') else { continue };
        let line = text[..at].matches('\n').count() + 1;
        out.push((rest[..end].to_string(), line));
    }
    out
}

/// Every rule name used literally in the simulators' non-test code: name → first (file, line).
fn rule_names() -> BTreeMap<String, (String, usize)> {
    let mut sources: Vec<String> = vec!["sim-kit/src".into()];
    sources.extend(
        workspace_members()
            .into_iter()
            .filter(|m| m.starts_with("mock-"))
            .map(|m| format!("{m}/src")),
    );
    let mut rules = BTreeMap::new();
    for dir in sources {
        for file in rust_files(&dir) {
            let text = read(&file);
            let code: String = non_test_lines(&text)
                .iter()
                .map(|(_, l)| format!("{l}\n"))
                .collect();
            for marker in ["Diagnosis::new(", "rule: "] {
                for (rule, line) in literals_after(&code, marker) {
                    rules.entry(rule).or_insert((file.clone(), line));
                }
            }
        }
    }
    rules
}

#[test]
fn every_rule_name_is_documented() {
    let mut docs = String::new();
    for entry in fs::read_dir(root().join("docs")).expect("docs/").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push_str(&fs::read_to_string(&path).unwrap_or_default());
        }
    }
    let rules = rule_names();
    assert!(
        rules.len() > 20,
        "found only {} rule names; is the scan broken?",
        rules.len()
    );
    eprintln!(
        "{} rule names used by the simulators and sim-kit",
        rules.len()
    );
    let missing: Vec<String> = rules
        .iter()
        .filter(|(rule, _)| !contains_word(&docs, rule, true))
        .map(|(rule, (file, line))| format!("{file}:{line}: rule `{rule}` appears in no docs/*.md"))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} rule names are undocumented (add them to the simulator's Rules table in docs/):\n{}",
        missing.len(),
        rules.len(),
        missing.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------------
// 5. Long files say why
// ---------------------------------------------------------------------------------------------------

const MAX_LINES: usize = 600;

/// The marker a module comment carries when its file may exceed [`MAX_LINES`]: a line `//! Long because …`.
const LONG_MARKER: &str = "//! Long because";

/// Files over the limit that should be split (issue 9) and are not yet: (file, seam). Remove an entry when
/// the file is split; the test fails when an entry is no longer needed.
const SPLIT_PENDING: &[(&str, &str)] = &[
    (
        "mock-xta/src/profile/check.rs",
        "the header checks (`header`, `header_field`) and the attachment/compression checks into files of their own",
    ),
    (
        "mock-xta/src/xml/reader.rs",
        "the base64 content streaming (`B64`, `stream_text`) into a file of its own",
    ),
    (
        "mock-osci/src/client.rs",
        "the FIM content package (`fim_package`, `FimContent`) into a file of its own",
    ),
    (
        "mock-osci/src/ops.rs",
        "one file per operation (`store_delivery`, `fetch_delivery`, `fetch_process_card`), as `mock-xta/src/ops/`",
    ),
    (
        "conformance/src/client/vst.rs",
        "a `vst/` folder: well-known, registration, deliveries, polling",
    ),
    (
        "src/cmd/up.rs",
        "the plan (`Plan::from_args`, `read_config`, `merged`) into a file of its own",
    ),
];

#[test]
fn long_files_say_why() {
    let mut dirs: Vec<String> = workspace_members()
        .into_iter()
        .map(|m| format!("{m}/src"))
        .collect();
    dirs.push("src".into());
    let mut report = String::new();
    let mut problems = String::new();
    let mut pending_seen = BTreeSet::new();
    for dir in dirs {
        for file in rust_files(&dir) {
            let text = read(&file);
            let total = text.lines().count();
            if total <= MAX_LINES {
                continue;
            }
            let code = non_test_lines(&text).len();
            let reason = text
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .find(|l| l.starts_with(LONG_MARKER))
                .map(|l| l.trim_start_matches("//!").trim().to_string());
            let pending = SPLIT_PENDING.iter().find(|(f, _)| *f == file);
            let _ = writeln!(
                report,
                "{file}: {total} lines ({code} before #[cfg(test)]): {}",
                match (&reason, pending) {
                    (Some(r), _) => r.clone(),
                    (None, Some((_, seam))) => format!("split pending: {seam}"),
                    (None, None) => "NO REASON".into(),
                }
            );
            if let Some(p) = pending {
                pending_seen.insert(p.0);
            }
            if reason.is_none() && pending.is_none() {
                let _ = writeln!(
                    problems,
                    "{file}:1: {total} lines (limit {MAX_LINES}); split it, or add a line `{LONG_MARKER} …` \
                     to its module comment"
                );
            }
        }
    }
    for (file, _) in SPLIT_PENDING {
        if !pending_seen.contains(file) {
            let _ = writeln!(
                problems,
                "SPLIT_PENDING: {file} is no longer over {MAX_LINES} lines; remove it"
            );
        }
    }
    eprintln!("source files over {MAX_LINES} lines:\n{report}");
    assert!(
        problems.is_empty(),
        "long files without a reason:\n{problems}"
    );
}
