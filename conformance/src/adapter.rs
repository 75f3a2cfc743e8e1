//! Client adapters: how the runner drives a vendor's client. An adapter file (YAML) maps each abstract
//! action to a command; the runner passes the simulators' URLs, the PKI directory and the input/output
//! files as environment variables (see `docs/conformance.md`).
//!
//! ```yaml
//! name: acme-ird-client
//! timeout_ms: 30000
//! env: { ACME_HOME: /opt/acme }
//! actions:
//!   vst.submit_vitalstatus:
//!     run: [/opt/acme/bin/ird, submit, --in, "${KONFORM_INPUT}", --out, "${KONFORM_OUTPUT}"]
//!   vst.poll_requests:
//!     shell: /opt/acme/bin/ird poll requests > "$KONFORM_OUTPUT"
//! ```
//!
//! Commands run in their own process group; on timeout the whole group is killed. Output beyond a cap
//! is drained and dropped, so a client that floods stdout cannot stall or exhaust the runner.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterFile {
    pub name: String,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    pub actions: BTreeMap<String, ActionCommand>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionCommand {
    /// argv; `${VAR}` is replaced from the environment the runner passes.
    #[serde(default)]
    pub run: Option<Vec<String>>,
    /// A command line for `sh -c`.
    #[serde(default)]
    pub shell: Option<String>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// How the runner drives the client.
#[derive(Debug, Clone)]
pub enum Adapter {
    /// The built-in reference client, in-process (optionally with one defect).
    Reference {
        defect: Option<crate::client::Defect>,
    },
    /// Commands from an adapter file (or the reference client as a subprocess).
    Commands {
        file: AdapterFile,
        base_dir: PathBuf,
    },
}

impl Adapter {
    pub fn name(&self) -> String {
        match self {
            Adapter::Reference { defect: None } => "reference".into(),
            Adapter::Reference { defect: Some(d) } => format!("reference --defect {}", d.name()),
            Adapter::Commands { file, .. } => file.name.clone(),
        }
    }

    pub fn supports(&self, action: &str) -> bool {
        match self {
            Adapter::Reference { .. } => crate::client::action(action).is_some(),
            Adapter::Commands { file, .. } => file.actions.contains_key(action),
        }
    }

    /// Load an adapter file; errors name the file, line and field.
    pub fn load(path: &Path) -> Result<Adapter, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: AdapterFile =
            serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for (name, a) in &file.actions {
            if crate::client::action(name).is_none() {
                return Err(format!(
                    "{}: field `actions.{name}`: unknown action (known: {})",
                    path.display(),
                    crate::client::action_names().join(", ")
                ));
            }
            if a.run.is_some() == a.shell.is_some() {
                return Err(format!(
                    "{}: field `actions.{name}`: give exactly one of `run` (argv list) or `shell` (command line)",
                    path.display()
                ));
            }
            if a.run.as_ref().is_some_and(|r| r.is_empty()) {
                return Err(format!(
                    "{}: field `actions.{name}.run`: empty command",
                    path.display()
                ));
            }
        }
        Ok(Adapter::Commands {
            file,
            base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        })
    }

    /// An adapter that runs this executable's `konform client` as a subprocess for every action.
    pub fn reference_process(defect: Option<crate::client::Defect>) -> Adapter {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "konform".into());
        let mut actions = BTreeMap::new();
        for a in crate::client::action_names() {
            let mut argv = vec![
                exe.clone(),
                "client".into(),
                a.into(),
                "--input".into(),
                "${KONFORM_INPUT}".into(),
                "--output".into(),
                "${KONFORM_OUTPUT}".into(),
            ];
            if let Some(d) = defect {
                argv.push("--defect".into());
                argv.push(d.name());
            }
            actions.insert(
                a.to_string(),
                ActionCommand {
                    run: Some(argv),
                    shell: None,
                    timeout_ms: None,
                    env: BTreeMap::new(),
                },
            );
        }
        Adapter::Commands {
            file: AdapterFile {
                name: "reference (subprocess)".into(),
                timeout_ms: None,
                env: BTreeMap::new(),
                cwd: None,
                actions,
            },
            base_dir: PathBuf::from("."),
        }
    }
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct ProcessOutcome {
    pub exit_code: i32,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
}

/// Replace `${VAR}` from `env`.
pub fn expand(s: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(j) => {
                let name = &after[..j];
                out.push_str(env.get(name).map(String::as_str).unwrap_or(""));
                rest = &after[j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Keep the first `cap` bytes, drain the rest.
async fn read_capped<R: tokio::io::AsyncRead + Unpin>(mut r: R, cap: usize) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut dropped = 0usize;
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                dropped += n.saturating_sub(room);
            }
        }
    }
    let mut s = String::from_utf8_lossy(&kept).into_owned();
    if dropped > 0 {
        s.push_str(&format!("\n[… {dropped} more bytes dropped]"));
    }
    s
}

pub const OUTPUT_CAP: usize = 64 * 1024;

/// Run a command with a timeout in its own process group; on timeout the group is killed.
pub async fn run_command(
    argv: &[String],
    env: &BTreeMap<String, String>,
    cwd: &Path,
    timeout: Duration,
) -> Result<ProcessOutcome, String> {
    let start = Instant::now();
    let (prog, args) = argv.split_first().ok_or("empty command")?;
    let mut cmd = tokio::process::Command::new(prog);
    cmd.args(args)
        .envs(env)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{prog}`: {e}"))?;
    let pid = child.id();
    let out = tokio::spawn(read_capped(child.stdout.take().expect("piped"), OUTPUT_CAP));
    let err = tokio::spawn(read_capped(child.stderr.take().expect("piped"), OUTPUT_CAP));
    let (exit_code, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(st)) => (st.code().unwrap_or(-1), false),
        Ok(Err(e)) => return Err(format!("waiting for `{prog}`: {e}")),
        Err(_) => {
            kill_group(pid);
            let _ = child.kill().await;
            (-1, true)
        }
    };
    // The group may have left children holding the pipes: kill it in any case, then collect output.
    kill_group(pid);
    let stdout = tokio::time::timeout(Duration::from_secs(5), out)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let stderr = tokio::time::timeout(Duration::from_secs(5), err)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Ok(ProcessOutcome {
        exit_code,
        timed_out,
        stdout,
        stderr,
        duration: start.elapsed(),
    })
}

fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid {
        // SAFETY: kill(2) with a negative pid signals the process group we created for this child.
        unsafe {
            libc::kill(-(pid as i32), libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_variables() {
        let mut env = BTreeMap::new();
        env.insert("A".to_string(), "1".to_string());
        assert_eq!(expand("x${A}y${B}z${", &env), "x1yz${");
    }

    #[tokio::test]
    async fn timeout_kills_the_process_group() {
        let env = BTreeMap::new();
        let argv: Vec<String> = ["sh", "-c", "sleep 30 & sleep 30; echo never"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = run_command(&argv, &env, Path::new("."), Duration::from_millis(300))
            .await
            .unwrap();
        assert!(o.timed_out);
        assert!(o.duration < Duration::from_secs(10));
        assert!(!o.stdout.contains("never"));
    }

    #[tokio::test]
    async fn floods_are_capped() {
        let env = BTreeMap::new();
        let argv: Vec<String> = ["sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' x; exit 3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = run_command(&argv, &env, Path::new("."), Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(o.exit_code, 3);
        assert!(o.stdout.len() < OUTPUT_CAP + 100);
        assert!(o.stdout.contains("more bytes dropped"));
    }
}
