//! The OSCI part of `konform up` and `konform pki init`: the intermediary's keys (the test PKI's RSA
//! "DOI-CA" under `pki/osci/`, generated on first use, or the library's sample keys with
//! `--osci-sample-certs DIR`), its configuration (`osci:` in `--config`) and its store.

use super::Failure;
use mock_osci::{IntermediaryKeys, OsciConfig, OsciPki, OsciState, ProfileMode};
use std::path::{Path, PathBuf};

/// RSA modulus of the generated OSCI test keys.
pub const TEST_KEY_BITS: usize = 2048;

#[derive(clap::Args, Debug, Clone)]
pub struct OsciArgs {
    /// Port of the OSCI-Transport 1.2 intermediary (endpoint http://127.0.0.1:PORT/osci)
    #[arg(long, default_value_t = 8084)]
    pub osci_port: u16,
    /// Use the Java OSCI library's sample keys (…/samples/zertifikate) instead of the test PKI, so its
    /// samples run unchanged against the endpoint; the FIM profile is then reported, not enforced
    #[arg(long, value_name = "DIR")]
    pub osci_sample_certs: Option<PathBuf>,
}

fn usage(m: impl Into<String>) -> Failure {
    Failure::usage("up", m)
}

/// Write the OSCI test PKI into `dir` (`pki/osci` of a data dir); returns the file names.
pub fn write_osci_pki(dir: &Path, pki: &OsciPki) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let mut names = Vec::new();
    for (name, text) in pki.files().map_err(|e| e.to_string())? {
        let path = dir.join(&name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text.as_bytes())
            .and_then(|_| restrict(&tmp, name.ends_with(".key.pem")))
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        names.push(name);
    }
    Ok(names)
}

fn restrict(path: &Path, secret: bool) -> std::io::Result<()> {
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    let _ = (path, secret);
    Ok(())
}

pub fn load_osci_pki(dir: &Path) -> Result<OsciPki, String> {
    OsciPki::from_files(&|n| std::fs::read_to_string(dir.join(n)).map_err(|e| e.to_string()))
        .map_err(|e| format!("{}: {e}", dir.display()))
}

/// Load `pki/osci` or generate it there.
pub fn load_or_create_osci_pki(dir: &Path) -> Result<OsciPki, Failure> {
    if dir.join("ca.cert.pem").exists() {
        return load_osci_pki(dir).map_err(usage);
    }
    let pki = OsciPki::generate(TEST_KEY_BITS).map_err(|e| usage(e.to_string()))?;
    write_osci_pki(dir, &pki).map_err(usage)?;
    eprintln!(
        "konform up: generated the OSCI test PKI (RSA-{TEST_KEY_BITS}) in {}",
        dir.display()
    );
    Ok(pki)
}

/// The intermediary for `konform up`.
pub fn state(
    a: &OsciArgs,
    pki_dir: &Path,
    data_dir: &Path,
    cfg: Option<&serde_json::Value>,
) -> Result<OsciState, Failure> {
    let mut config: OsciConfig = match cfg {
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|e| usage(format!("config `osci`: {e}")))?
        }
        None => OsciConfig::default(),
    };
    let keys = match &a.osci_sample_certs {
        Some(dir) => {
            if cfg.and_then(|c| c.get("profile")).is_none() {
                config.profile = ProfileMode::Report;
            }
            IntermediaryKeys::from_sample_dir(dir)
                .map_err(|e| usage(format!("--osci-sample-certs: {e}")))?
        }
        None => load_or_create_osci_pki(&pki_dir.join("osci"))?.intermediary_keys(),
    };
    let store = sim_kit::store::Store::open(&data_dir.join("store"))
        .map_err(|e| usage(format!("store: {e}")))?;
    OsciState::new(config, keys, store).map_err(|e| usage(format!("osci: {e}")))
}

/// `konform pki init`: a fresh OSCI test PKI under `DIR/osci` (file names relative to `DIR`).
pub fn write_new_osci_pki(dir: &Path) -> Result<Vec<String>, String> {
    let pki = OsciPki::generate(TEST_KEY_BITS).map_err(|e| e.to_string())?;
    let names = write_osci_pki(&dir.join("osci"), &pki)?;
    Ok(names.into_iter().map(|n| format!("osci/{n}")).collect())
}
