//! The dashboard in `konform up` (`dashboard` crate): `--ui-port` (default 8090, 0 = ephemeral), the
//! ready-file key `ui`, reports from `DATA_DIR/reports` and `--ui-report`. It follows the simulators of this
//! `konform up` through their admin API, like any other client of it.

use super::Failure;
use std::path::{Path, PathBuf};
use ti_core::pki::TestPki;

#[derive(clap::Args, Debug, Clone)]
pub struct UiArgs {
    /// Port of the dashboard (0 = ephemeral)
    #[arg(long, default_value_t = dashboard::DEFAULT_PORT)]
    pub ui_port: u16,
    /// Serve no dashboard
    #[arg(long)]
    pub no_ui: bool,
    /// A scenario report (`konform run --html`) file or folder for the dashboard to list (repeatable;
    /// DATA_DIR/reports is always listed)
    #[arg(long = "ui-report", value_name = "PATH")]
    pub ui_reports: Vec<PathBuf>,
    /// A host name the dashboard answers besides 127.0.0.1/localhost (repeatable)
    #[arg(long = "ui-allow-host", value_name = "NAME")]
    pub ui_allow_hosts: Vec<String>,
}

/// Serve the dashboard for `sims` (name, admin base URL) until `stop`; returns its URL and task.
pub fn spawn(
    listener: tokio::net::TcpListener,
    sims: &[(&str, &str)],
    pki: &TestPki,
    data_dir: &Path,
    a: &UiArgs,
    admin_token: Option<String>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(String, tokio::task::JoinHandle<std::io::Result<()>>), Failure> {
    let usage = |m: String| Failure::usage("up", m);
    let tls = dashboard::tls_config(
        &pki.tls_ca.cert_pem(),
        Some((&pki.tls_client.cert_pem(), &pki.tls_client.key_pem())),
    )
    .map_err(|e| usage(format!("dashboard TLS: {e}")))?;
    let mut reports = vec![data_dir.join("reports")];
    reports.extend(a.ui_reports.iter().cloned());
    let cfg = dashboard::Config {
        sims: sims
            .iter()
            .map(|(n, u)| (n.to_string(), u.to_string()))
            .collect(),
        tls: Some(tls),
        reports,
        allow_hosts: a.ui_allow_hosts.clone(),
        admin_token,
        ..dashboard::Config::default()
    };
    let state = dashboard::AppState::new(cfg).map_err(|e| usage(format!("dashboard: {e}")))?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| usage(e.to_string()))?
    );
    Ok((url, tokio::spawn(dashboard::serve(listener, state, stop))))
}
