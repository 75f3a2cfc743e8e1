//! The Melderegister part of `konform up`: the web service (HTTPS, client certificates required) and the
//! portal with the admin API (plain HTTP), sharing one state in the store under `--data-dir`.

use super::Failure;
use mock_melderegister::{MelderegisterConfig, MelderegisterState};
use serde_json::Value;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
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

pub struct Started {
    pub service_url: String,
    pub portal_url: String,
    pub tasks: Vec<JoinHandle<std::io::Result<()>>>,
}

fn usage(m: impl Into<String>) -> Failure {
    Failure::usage("up", m)
}

/// Build the state (register, store) and start both listeners.
pub async fn start<F>(
    a: &MelderegisterArgs,
    data_dir: &Path,
    pki: &TestPki,
    patch: Option<&Value>,
    stop: impl Fn() -> F,
) -> Result<Started, Failure>
where
    F: Future<Output = ()> + Send + 'static,
{
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
    let store = sim_kit::store::Store::open(&data_dir.join("store"))
        .map_err(|e| usage(format!("melderegister: {e}")))?;
    let st = MelderegisterState::new(cfg, store, Some(pki.tls_ca.clone()))
        .map_err(|e| usage(format!("melderegister: {e}")))?;
    let tls = mock_melderegister::service_tls(pki).map_err(|e| usage(e.to_string()))?;
    let bind = |port: u16| async move {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| usage(format!("cannot listen on {addr}: {e}")))
    };
    let sl = bind(a.melderegister_port).await?;
    let pl = bind(a.melderegister_portal_port).await?;
    let addr = |l: &tokio::net::TcpListener| l.local_addr().map_err(|e| usage(e.to_string()));
    let service_url = format!("https://{}", addr(&sl)?);
    let portal_url = format!("http://{}", addr(&pl)?);
    let tasks = vec![
        tokio::spawn(mock_melderegister::serve_service(
            sl,
            st.clone(),
            tls,
            stop(),
        )),
        tokio::spawn(mock_melderegister::serve(pl, st, stop())),
    ];
    Ok(Started {
        service_url,
        portal_url,
        tasks,
    })
}
