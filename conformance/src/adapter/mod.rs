//! Client adapters: how the runner drives a vendor's client. An adapter file (YAML) maps each abstract
//! action to a command line or to an HTTP call into the vendor's test harness; the runner passes the
//! simulators' URLs, the PKI directory and the input/output as described in `docs/conformance.md`.
//!
//! ```yaml
//! name: acme-ird-client
//! timeout_ms: 30000
//! env: { ACME_HOME: /opt/acme, ACME_LOG: "${HOME}/acme.log" }
//! actions:
//!   vst.submit_vitalstatus:
//!     run: [/opt/acme/bin/ird, submit, --in, "${KONFORM_INPUT}", --out, "${KONFORM_OUTPUT}"]
//!   vst.poll_requests:
//!     shell: /opt/acme/bin/ird poll requests > "$KONFORM_OUTPUT"
//!   konnektor.get_cards:
//!     http: { url: "http://127.0.0.1:9000/konform", headers: { X-Token: "${ACME_TOKEN}" } }
//! ```
//!
//! - [`env`](mod@env): the command environment — what is inherited, what is set, what `${VAR}` expands from
//! - [`command`]: running a command in its own process group, bounded in time and output
//! - [`http`]: an action as an HTTP call with the same JSON input and output

pub mod command;
pub mod env;
pub mod http;

pub use command::{OUTPUT_CAP, ProcessOutcome, run_command};
pub use env::expand;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterFile {
    pub name: String,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Extra variables for every command (values may use `${VAR}`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory of commands, relative to the adapter file.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    pub actions: BTreeMap<String, ActionCommand>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionCommand {
    /// argv; `${VAR}` is expanded (see [`env`](mod@env)).
    #[serde(default)]
    pub run: Option<Vec<String>>,
    /// A command line for `sh -c` (the shell expands `$VAR` itself).
    #[serde(default)]
    pub shell: Option<String>,
    /// An HTTP call into the vendor's test harness instead of a command.
    #[serde(default)]
    pub http: Option<http::HttpAction>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Extra variables for this action (values may use `${VAR}`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// How the runner drives the client.
#[derive(Debug, Clone)]
pub enum Adapter {
    /// The built-in reference client, in-process: optionally with one defect, or in its second
    /// correct mode `strict` (validates everything it can before sending).
    Reference {
        defect: Option<crate::client::Defect>,
        strict: bool,
    },
    /// Commands from an adapter file (or the reference client as a subprocess).
    Commands {
        file: AdapterFile,
        base_dir: PathBuf,
    },
}

/// An adapter file that cannot be used; the message names the file, line when known, and field.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}{}: {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
    Yaml {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },
    #[error("{path}: field `actions.{action}`: {message}")]
    Action {
        path: PathBuf,
        action: String,
        message: String,
    },
}

impl Adapter {
    pub fn name(&self) -> String {
        match self {
            Adapter::Reference {
                defect: None,
                strict: false,
            } => "reference".into(),
            Adapter::Reference {
                defect: None,
                strict: true,
            } => "reference --strict".into(),
            Adapter::Reference {
                defect: Some(d), ..
            } => format!("reference --defect {}", d.name()),
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
    pub fn load(path: &Path) -> Result<Adapter, AdapterError> {
        let text = std::fs::read_to_string(path).map_err(|source| AdapterError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: AdapterFile = serde_saphyr::from_str(&text).map_err(|e| AdapterError::Yaml {
            path: path.to_path_buf(),
            line: e.location().map(|l| l.line()).filter(|l| *l > 0),
            message: e.to_string(),
        })?;
        for k in file.env.keys() {
            env::check_name(k).map_err(|message| AdapterError::Yaml {
                path: path.to_path_buf(),
                line: None,
                message: format!("field `env.{k}`: {message}"),
            })?;
        }
        for (name, a) in &file.actions {
            check_action(name, a).map_err(|message| AdapterError::Action {
                path: path.to_path_buf(),
                action: name.clone(),
                message,
            })?;
        }
        Ok(Adapter::Commands {
            file,
            base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        })
    }

    /// An adapter that runs this executable's `konform client` as a subprocess for every action.
    pub fn reference_process(defect: Option<crate::client::Defect>, strict: bool) -> Adapter {
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
            if strict {
                argv.push("--strict".into());
            }
            actions.insert(
                a.to_string(),
                ActionCommand {
                    run: Some(argv),
                    shell: None,
                    http: None,
                    timeout_ms: None,
                    env: BTreeMap::new(),
                },
            );
        }
        Adapter::Commands {
            file: AdapterFile {
                name: if strict {
                    "reference --strict (subprocess)".into()
                } else {
                    "reference (subprocess)".into()
                },
                timeout_ms: None,
                env: BTreeMap::new(),
                cwd: None,
                actions,
            },
            base_dir: PathBuf::from("."),
        }
    }
}

fn check_action(name: &str, a: &ActionCommand) -> Result<(), String> {
    if crate::client::action(name).is_none() {
        return Err(format!(
            "unknown action (known: {})",
            crate::client::action_names().join(", ")
        ));
    }
    let kinds = a.run.is_some() as u8 + a.shell.is_some() as u8 + a.http.is_some() as u8;
    if kinds != 1 {
        return Err(
            "give exactly one of `run` (argv list), `shell` (command line) or `http` (a call into your test harness)"
                .into(),
        );
    }
    if a.run.as_ref().is_some_and(std::vec::Vec::is_empty) {
        return Err("`run` is an empty command".into());
    }
    for k in a.env.keys() {
        env::check_name(k)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Adapter, AdapterError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yaml");
        std::fs::write(&p, text).unwrap();
        Adapter::load(&p)
    }

    #[test]
    fn adapter_files_are_checked_with_file_line_and_field() {
        let ok = "name: x\nactions:\n  vst.poll_requests: { run: [echo] }\n  konnektor.get_cards: { http: { url: 'http://h/x' } }\n";
        assert!(load_text(ok).is_ok());
        let e = load_text("name: x\nactoins: {}\n").unwrap_err();
        assert!(matches!(e, AdapterError::Yaml { line: Some(2), .. }), "{e}");
        let e = load_text("name: x\nactions:\n  vst.nothing: { run: [echo] }\n").unwrap_err();
        assert!(e.to_string().contains("actions.vst.nothing"), "{e}");
        let e = load_text("name: x\nactions:\n  vst.poll_requests: { run: [echo], shell: echo }\n")
            .unwrap_err();
        assert!(e.to_string().contains("exactly one"), "{e}");
        let e = load_text("name: x\nactions:\n  vst.poll_requests: { run: [] }\n").unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = load_text(
            "name: x\nactions:\n  vst.poll_requests: { run: [echo], env: { KONFORM_VST_URL: x } }\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("KONFORM_"), "{e}");
    }
}
