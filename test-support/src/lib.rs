//! What konform's test suites share. Dev-dependency only (`publish = false`).
//!
//! [`shared`]: the one way tests find reference material outside the project (official schemas,
//! recorded messages, the seeds, the Java OSCI library): `KONFORM_SHARED`, else `../shared` beside the
//! workspace. Where it is absent, a test says it was skipped and why — and under `CI=true` its absence is
//! a failure, so CI can never pass by skipping.
//!
//! [`webdriver`]: headless Chromium through WebDriver for browser tests (same skip/fail rule).

pub mod shared;
pub mod webdriver;

/// The workspace root (the folder holding the root `Cargo.toml`).
pub fn workspace_root() -> std::path::PathBuf {
    // test-support/ lies directly under the workspace root.
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// `let dir = require_shared!("reference/xta/wsdl");` — the path under the shared folder, or return from
/// the calling test (after saying it was skipped; panics under `CI=true`).
#[macro_export]
macro_rules! require_shared {
    ($rel:expr) => {
        match $crate::shared::require($rel) {
            Some(p) => p,
            None => return,
        }
    };
}
