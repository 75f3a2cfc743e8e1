//! Running one adapter command: exactly the environment [`super::env::build`] computed, its own process
//! group (killed as a whole on timeout, and afterwards in case children still hold the pipes), stdout
//! and stderr kept up to a cap and drained beyond it, so a client that floods its output cannot stall
//! or exhaust the runner.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// What a command did.
#[derive(Debug, Clone)]
pub struct ProcessOutcome {
    pub exit_code: i32,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("empty command")]
    Empty,
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("waiting for `{program}`: {source}")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

pub const OUTPUT_CAP: usize = 64 * 1024;

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

async fn collect(h: Option<tokio::task::JoinHandle<String>>) -> String {
    match h {
        Some(h) => tokio::time::timeout(Duration::from_secs(5), h)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default(),
        None => String::new(),
    }
}

/// Run `argv` with exactly `env`, in `cwd`, bounded by `timeout`, in its own process group.
pub async fn run_command(
    argv: &[String],
    env: &BTreeMap<String, String>,
    cwd: &Path,
    timeout: Duration,
) -> Result<ProcessOutcome, CommandError> {
    let start = Instant::now();
    let (prog, args) = argv.split_first().ok_or(CommandError::Empty)?;
    let mut cmd = tokio::process::Command::new(prog);
    cmd.args(args)
        .env_clear()
        .envs(env)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|source| CommandError::Spawn {
        program: prog.clone(),
        source,
    })?;
    let pid = child.id();
    let out = child
        .stdout
        .take()
        .map(|s| tokio::spawn(read_capped(s, OUTPUT_CAP)));
    let err = child
        .stderr
        .take()
        .map(|s| tokio::spawn(read_capped(s, OUTPUT_CAP)));
    let (exit_code, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(st)) => (st.code().unwrap_or(-1), false),
        Ok(Err(source)) => {
            return Err(CommandError::Wait {
                program: prog.clone(),
                source,
            });
        }
        Err(_) => {
            kill_group(pid);
            let _ = child.kill().await;
            (-1, true)
        }
    };
    // The group may have left children holding the pipes: kill it in any case, then collect output.
    kill_group(pid);
    Ok(ProcessOutcome {
        exit_code,
        timed_out,
        stdout: collect(out).await,
        stderr: collect(err).await,
        duration: start.elapsed(),
    })
}

/// Kill the process group the child leads (it was started with `process_group(0)`).
fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw)
    {
        // ESRCH (the group is gone already) is fine.
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = pid;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    fn path_only() -> BTreeMap<String, String> {
        std::env::vars().filter(|(k, _)| k == "PATH").collect()
    }

    #[tokio::test]
    async fn timeout_kills_the_process_group() {
        let o = run_command(
            &sh("sleep 30 & sleep 30; echo never"),
            &path_only(),
            Path::new("."),
            Duration::from_millis(300),
        )
        .await
        .unwrap();
        assert!(o.timed_out);
        assert!(o.duration < Duration::from_secs(10));
        assert!(!o.stdout.contains("never"));
    }

    #[tokio::test]
    async fn floods_are_capped() {
        let o = run_command(
            &sh("head -c 5000000 /dev/zero | tr '\\0' x; exit 3"),
            &path_only(),
            Path::new("."),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
        assert_eq!(o.exit_code, 3);
        assert!(o.stdout.len() < OUTPUT_CAP + 100);
        assert!(o.stdout.contains("more bytes dropped"));
    }

    #[tokio::test]
    async fn the_command_sees_exactly_the_given_environment() {
        let mut env = path_only();
        env.insert("ONLY_THIS".into(), "yes".into());
        let o = run_command(
            &sh("env | cut -d= -f1 | sort | tr '\\n' ' '"),
            &env,
            Path::new("."),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        let names: Vec<&str> = o.stdout.split_whitespace().collect();
        assert!(names.contains(&"ONLY_THIS"), "{names:?}");
        assert!(
            names
                .iter()
                .all(|n| ["ONLY_THIS", "PATH", "PWD", "SHLVL", "_"].contains(n)),
            "{names:?}"
        );
    }

    #[tokio::test]
    async fn a_missing_program_is_a_spawn_error() {
        let e = run_command(
            &["/nonexistent/konform-test".to_string()],
            &path_only(),
            Path::new("."),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, CommandError::Spawn { .. }), "{e}");
        assert!(matches!(
            run_command(&[], &path_only(), Path::new("."), Duration::from_secs(1)).await,
            Err(CommandError::Empty)
        ));
    }
}
