//! Reference material from `../shared` (or `KONFORM_SHARED`).

use std::path::PathBuf;

/// Environment variable naming the shared folder (holding `seeds/` and `reference/`).
pub const ENV: &str = "KONFORM_SHARED";

/// The shared folder, if it exists: `$KONFORM_SHARED`, else `../shared` beside the workspace.
pub fn root() -> Option<PathBuf> {
    let dir = match std::env::var_os(ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => crate::workspace_root().join("..").join("shared"),
    };
    dir.is_dir().then_some(dir)
}

/// True when running under CI (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// `rel` under the shared folder (e.g. `reference/xta/wsdl`), if it exists. Otherwise: under CI a panic
/// (its absence is a failure there); elsewhere a line on stderr saying the test was skipped, what is missing
/// and how to point at it, and `None`.
pub fn require(rel: &str) -> Option<PathBuf> {
    if let Some(p) = root().map(|r| r.join(rel)).filter(|p| p.exists()) {
        return Some(p);
    }
    let msg = format!(
        "needs `{rel}` from the shared reference folder, which was not found \
         (looked at ${ENV}, else ../shared beside the checkout; set {ENV}=DIR to point at it)"
    );
    if in_ci() {
        panic!("{msg}; under CI its absence is a failure");
    }
    eprintln!("konform test SKIPPED: {msg}");
    None
}

/// Read a text file under the shared folder (see [`require`]).
pub fn read_to_string(rel: &str) -> Option<String> {
    let p = require(rel)?;
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(t),
        Err(e) => panic!("{}: {e}", p.display()),
    }
}
