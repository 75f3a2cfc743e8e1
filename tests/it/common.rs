//! Helpers shared by the root package's integration tests: run the built `konform` binary, require the
//! external tools the interop tests use (failing — not skipping — when they are missing).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const KONFORM: &str = env!("CARGO_BIN_EXE_konform");

/// `konform up` on ephemeral ports only (tests run in parallel; the ready file has the URLs).
pub const EPHEMERAL_PORTS: [&str; 14] = [
    "--vst-port",
    "0",
    "--konnektor-port",
    "0",
    "--xta-port",
    "0",
    "--osci-port",
    "0",
    "--melderegister-port",
    "0",
    "--melderegister-portal-port",
    "0",
    "--ui-port",
    "0",
];

/// The outcome of one process run, with the exit code and the output as text.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub raw: Output,
}

impl Run {
    pub fn from_output(what: &str, o: Output) -> Run {
        let r = Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            raw: o,
        };
        assert!(
            !r.stderr.contains("panicked") && !r.stdout.contains("panicked"),
            "{what} panicked:\n{}",
            r.stderr
        );
        r
    }

    pub fn expect_code(&self, code: i32, what: &str) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: exit code {:?}, expected {code}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Run `konform` with the given arguments.
pub fn konform<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let what = format!(
        "konform {}",
        args.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let o = Command::new(KONFORM)
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {KONFORM}: {e}"));
    Run::from_output(&what, o)
}

/// Run an external tool; the tool must exist (see [`require`]).
pub fn tool<I, S>(program: &str, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let what = format!(
        "{program} {}",
        args.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let o = Command::new(program)
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
    Run::from_output(&what, o)
}

/// Fail the test (never skip it) when `program probe…` does not run successfully.
pub fn require(program: &str, probe: &[&str], install: &str) {
    let ok = Command::new(program)
        .args(probe)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "this interop test needs `{program} {}` to work, and it does not here.\n\
         `.ci/run` installs it: {install}\n\
         Install it the same way (or run `.ci/run`), then rerun the tests.",
        probe.join(" ")
    );
}

pub fn require_openssl() {
    require("openssl", &["version"], "apt-get install -y openssl");
}

/// The Python interpreter with the `cryptography` package (`KONFORM_PYTHON` overrides `python3`).
pub fn python() -> String {
    let py = std::env::var("KONFORM_PYTHON").unwrap_or_else(|_| "python3".into());
    require(
        &py,
        &["-c", "import cryptography.hazmat.primitives.ciphers.aead"],
        "pip install cryptography (into .venv; `.ci/run` puts .venv/bin first on PATH)",
    );
    py
}

/// The second ECIES implementation (Python `cryptography`).
pub fn ecies_py() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/ecies.py")
}

/// Write a fresh PKI with the CLI into a new temporary directory.
pub fn fresh_pki(curve: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("pki");
    konform(["pki", "init", "--out"].map(OsStr::new).into_iter().chain([
        out.as_os_str(),
        OsStr::new("--curve"),
        OsStr::new(curve),
    ]))
    .expect_code(0, "pki init");
    dir
}

/// The `pki` directory inside a temporary directory made by [`fresh_pki`].
pub fn pki_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("pki")
}
