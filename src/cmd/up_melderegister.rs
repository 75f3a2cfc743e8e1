//! The Melderegister part of `konform up`: the web service (HTTPS, client certificates required) and the
//! portal with the admin API (plain HTTP), sharing one state in the store under `--data-dir`.

use super::Failure;
use mock_melderegister::{MelderegisterConfig, MelderegisterState};
use serde_json::Value;
use sim_kit::limits::Limits;
use std::future::Future;
use ti_core::pki::TestPki;
use tokio::task::JoinHandle;

#[derive(clap::Args, Debug, Clone)]
pub struct MelderegisterArgs {
    /// Melderegister web service (HTTPS, client certificate required)
    #[arg(long, default_value_t = 8085)]
    pub melderegister_port: u16,
    /// Melderegister self-service portal /minca/ and admin API (plain HTTP)
    #[arg(long, default_value_t = 8086)]
    pub melderegister_portal_port: u16,
    /// Synthetic residents of the Melderegister (plus the fixed example persons)
    #[arg(long)]
    pub residents: Option<usize>,
}

fn usage(m: impl Into<String>) -> Failure {
    Failure::usage("up", m)
}

/// The configuration (`melderegister:` in `--config`, `--residents`); checked before anything is written.
pub fn config(
    a: &MelderegisterArgs,
    patch: Option<&Value>,
) -> Result<MelderegisterConfig, Failure> {
    let mut cfg = MelderegisterConfig::default();
    if let Some(p) = patch {
        let mut v = serde_json::to_value(&cfg).map_err(|e| usage(e.to_string()))?;
        conformance::runner::merge(&mut v, p);
        cfg =
            serde_json::from_value(v).map_err(|e| usage(format!("config `melderegister`: {e}")))?;
    }
    if let Some(n) = a.residents {
        cfg.residents = n;
    }
    Ok(cfg)
}

/// The state (register, store).
pub fn state(
    cfg: MelderegisterConfig,
    store: sim_kit::store::Store,
    pki: &TestPki,
) -> Result<MelderegisterState, Failure> {
    MelderegisterState::new(cfg, store, Some(pki.tls_ca.clone()))
        .map_err(|e| usage(format!("melderegister: {e}")))
}

/// Serve the web service (`sl`, TLS) and the portal (`pl`) until `stop()` resolves.
pub fn spawn<F>(
    sl: tokio::net::TcpListener,
    pl: tokio::net::TcpListener,
    st: MelderegisterState,
    pki: &TestPki,
    limits: &Limits,
    stop: impl Fn() -> F,
) -> Result<Vec<JoinHandle<std::io::Result<()>>>, Failure>
where
    F: Future<Output = ()> + Send + 'static,
{
    let tls = mock_melderegister::service_tls(pki).map_err(|e| usage(e.to_string()))?;
    Ok(vec![
        tokio::spawn(mock_melderegister::serve_service(
            sl,
            st.clone(),
            tls,
            stop(),
        )),
        tokio::spawn(sim_kit::serve::serve_with(
            pl,
            mock_melderegister::app(st),
            limits.clone(),
            stop(),
        )),
    ])
}
