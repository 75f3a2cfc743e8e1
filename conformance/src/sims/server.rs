//! Serving a simulator for one scenario, plain or over TLS, and the TLS material of a run: the test
//! PKI's TLS server certificate (trusted: its CA is `KONFORM_TLS_CA`) and, made on first use, a server
//! certificate from another CA (untrusted) for scenarios that check a client refuses it.

use axum::Router;
use sim_kit::tls::{TlsServerConfig, TlsSettings};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use ti_core::pki::{Identity, PkiOptions, TestPki};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running server; dropping it shuts the server down.
pub struct Server {
    addr: SocketAddr,
    tls: bool,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Serve `app` on an ephemeral loopback port, over TLS when `tls` is given.
    pub async fn start(app: Router, tls: Option<TlsServerConfig>) -> std::io::Result<Server> {
        let listener = TcpListener::bind(sim_kit::serve::loopback_any()).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let stop = async move {
            let _ = rx.await;
        };
        let is_tls = tls.is_some();
        let task = match tls {
            Some(cfg) => tokio::spawn(sim_kit::tls::serve_tls(listener, app, cfg, stop)),
            None => tokio::spawn(sim_kit::serve::serve(listener, app, stop)),
        };
        Ok(Server {
            addr,
            tls: is_tls,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stop accepting, finish open connections, wait for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The TLS identities of a run.
pub struct TlsMaterial {
    trusted: TlsServerConfig,
    /// The runner's own client configuration (raw requests over TLS), trusting the test TLS CA.
    pub client: Arc<rustls::ClientConfig>,
    untrusted: OnceLock<Result<TlsServerConfig, String>>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsMaterial")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("TLS material: {0}")]
pub struct TlsMaterialError(String);

fn server(id: &Identity) -> Result<TlsServerConfig, String> {
    sim_kit::tls::server_config(&TlsSettings {
        cert_chain_pem: id.cert_pem(),
        key_pem: id.key_pem(),
        client_ca_pem: None,
    })
    .map_err(|e| e.to_string())
}

impl TlsMaterial {
    /// From the test PKI: its TLS server certificate, and a client configuration trusting its TLS CA.
    pub fn from_pki(pki: &TestPki) -> Result<TlsMaterial, TlsMaterialError> {
        let trusted = server(&pki.tls_server).map_err(TlsMaterialError)?;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                pki.tls_ca.cert_der.clone(),
            ))
            .map_err(|e| TlsMaterialError(e.to_string()))?;
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsMaterialError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(TlsMaterial {
            trusted,
            client: Arc::new(client),
            untrusted: OnceLock::new(),
        })
    }

    /// The server configuration whose CA the clients are given.
    pub fn trusted(&self) -> TlsServerConfig {
        self.trusted.clone()
    }

    /// A server certificate for the same names from a CA no client is given (made once per run).
    pub fn untrusted(&self) -> Result<TlsServerConfig, TlsMaterialError> {
        self.untrusted
            .get_or_init(|| {
                let other = TestPki::generate(&PkiOptions::default()).map_err(|e| e.to_string())?;
                server(&other.tls_server)
            })
            .clone()
            .map_err(TlsMaterialError)
    }
}
