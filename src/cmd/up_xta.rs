//! The XTA part of `konform up` (and of `konform pki init`): the simulator's configuration (`xta:` in the
//! `--config` file), its durable store under the data directory, the account certificates in the test PKI
//! (`xta/<prefix>_<key>.pem` + `.key.pem`), and serving HTTPS with client certificates — or plain HTTP
//! with `--xta-plain`.

use super::Failure;
use mock_xta::{XtaConfig, XtaState};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use ti_core::pki::TestPki;

#[derive(clap::Args, Debug, Default, Clone)]
pub struct XtaArgs {
    /// Serve XTA over plain HTTP for local debugging: no client certificates, the account is taken from
    /// the Author header (every answer says so in a diagnosis). Default: HTTPS with client certificates
    #[arg(long)]
    pub xta_plain: bool,
    /// Keep the XTA mailboxes in memory only (gone at exit), whatever --ephemeral says; default: the one store
    #[arg(long)]
    pub xta_ephemeral: bool,
}

fn usage(m: impl Into<String>) -> Failure {
    Failure::usage("up", m)
}

/// A ready XTA simulator.
pub struct Prepared {
    pub state: XtaState,
    pub tls: Option<sim_kit::tls::TlsServerConfig>,
}

impl Prepared {
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// The XTA configuration: defaults with the `xta:` section of the config file laid over them.
pub fn config(patch: Option<&Value>) -> Result<XtaConfig, Failure> {
    let base = XtaConfig::default();
    let Some(patch) = patch else { return Ok(base) };
    let mut v = serde_json::to_value(base).map_err(|e| usage(e.to_string()))?;
    conformance::merge(&mut v, patch);
    serde_json::from_value(v).map_err(|e| usage(format!("config `xta`: {e}")))
}

/// Build the simulator: configuration, store, account certificates in the PKI directory.
pub fn prepare(
    args: &XtaArgs,
    cfg: XtaConfig,
    store: sim_kit::store::Store,
    pki_dir: &Path,
    pki: &Arc<TestPki>,
) -> Result<Prepared, Failure> {
    let written = write_client_certs(pki_dir, pki, &cfg.accounts, false).map_err(usage)?;
    if !written.is_empty() {
        eprintln!(
            "konform up: wrote XTA account certificates {}",
            written.join(", ")
        );
    }
    let state = XtaState::new(cfg, pki.clone(), store).map_err(|e| usage(format!("xta: {e}")))?;
    let tls = if args.xta_plain {
        None
    } else {
        Some(
            sim_kit::tls::server_config(&mock_xta::tls_settings(pki))
                .map_err(|e| usage(format!("xta: {e}")))?,
        )
    };
    Ok(Prepared { state, tls })
}

/// Write each account's TLS client certificate and key under `dir` (`xta/<prefix>_<key>.pem`, key mode
/// 0600, each file written to a temporary name and renamed). Existing files are kept unless `overwrite`.
/// Returns the relative paths written.
pub fn write_client_certs(
    dir: &Path,
    pki: &TestPki,
    accounts: &[mock_xta::AccountConfig],
    overwrite: bool,
) -> Result<Vec<String>, String> {
    let missing: Vec<mock_xta::AccountConfig> = accounts
        .iter()
        .filter(|a| {
            overwrite
                || !dir.join(mock_xta::pki::client_cert_file(&a.id)).exists()
                || !dir.join(mock_xta::pki::client_key_file(&a.id)).exists()
        })
        .cloned()
        .collect();
    let files = mock_xta::pki::client_cert_files(pki, &missing, std::time::SystemTime::now())
        .map_err(|e| format!("XTA account certificates: {e}"))?;
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(&rel);
        write_atomic(&path, text.as_bytes(), rel.ends_with(".key.pem"))
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        written.push(rel);
    }
    Ok(written)
}

fn write_atomic(path: &Path, data: &[u8], secret: bool) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.konform-tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
