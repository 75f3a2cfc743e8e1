//! TLS serving for simulators: rustls on the `ring` provider, server certificate from PEM, optionally
//! requiring a client certificate that chains to given CA certificates (TLS client authentication, as the
//! Konnektor's `ClientAutMandatory` and the Melderegister's Applikationskopplung use it).
//!
//! Handlers see a [`TlsInfo`] in the request extensions (client certificate, if any), so a simulator can
//! tell TLS from plain requests and who the client is.

use crate::limits::Limits;
use crate::serve::{ConnInfo, serve_connection_with};
use axum::Router;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

pub use rustls::ServerConfig;

/// Where the TLS identity comes from.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// Server certificate chain (leaf first), PEM.
    pub cert_chain_pem: String,
    /// Server private key, PEM (PKCS#8, SEC1 or PKCS#1).
    pub key_pem: String,
    /// When set, clients must present a certificate chaining to one of these CA certificates (PEM).
    pub client_ca_pem: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("TLS configuration: {0}")]
pub struct TlsError(pub String);

/// What a handler learns about the TLS connection of its request.
#[derive(Clone, Debug, Default)]
pub struct TlsInfo {
    /// DER of the client's leaf certificate, when one was presented.
    pub client_cert_der: Option<Vec<u8>>,
    /// Whether the server requires client certificates.
    pub client_auth_required: bool,
}

fn certs(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let v: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError(format!("{what}: {e}")))?;
    if v.is_empty() {
        return Err(TlsError(format!("{what}: no CERTIFICATE in the PEM")));
    }
    Ok(v)
}

/// A ready server configuration.
#[derive(Clone)]
pub struct TlsServerConfig {
    pub rustls: Arc<ServerConfig>,
    /// Clients must present a certificate.
    pub client_auth: bool,
}

/// Build a rustls server configuration (TLS 1.2 and 1.3, ring provider).
pub fn server_config(s: &TlsSettings) -> Result<TlsServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certs(&s.cert_chain_pem, "server certificate")?;
    let key = PrivateKeyDer::from_pem_slice(s.key_pem.as_bytes())
        .map_err(|e| TlsError(format!("server key: {e}")))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?;
    let builder = match &s.client_ca_pem {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(ca, "client CA")? {
                roots
                    .add(c)
                    .map_err(|e| TlsError(format!("client CA: {e}")))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| TlsError(format!("client verifier: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError(format!("server certificate/key: {e}")))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsServerConfig {
        rustls: Arc::new(cfg),
        client_auth: s.client_ca_pem.is_some(),
    })
}

/// Accept TLS connections until `shutdown` resolves, then let open connections finish (at most
/// [`crate::serve::SHUTDOWN_GRACE`]). A failed handshake (no or untrusted client certificate, plain
/// HTTP) closes that connection only. Default [`Limits`].
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    config: TlsServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_tls_with(listener, app, config, Limits::default(), shutdown).await
}

/// [`serve_tls`] with the connection limits of `limits` (the handshake must finish within the header
/// timeout).
pub async fn serve_tls_with(
    listener: TcpListener,
    app: Router,
    config: TlsServerConfig,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config.rustls.clone());
    let client_auth_required = config.client_auth;
    let l = limits.clone();
    crate::serve::accept_loop_with(listener, limits, shutdown, move |stream, stop| {
        let acceptor = acceptor.clone();
        let app = app.clone();
        let l = l.clone();
        async move {
            let conn = ConnInfo::of(&stream);
            let handshake = tokio::time::timeout(l.header_timeout(), acceptor.accept(stream));
            let tls = match handshake.await {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => {
                    tracing::info!("TLS handshake failed: {e}");
                    return;
                }
                Err(_) => return,
            };
            let info = TlsInfo {
                client_cert_der: tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.as_ref().to_vec()),
                client_auth_required,
            };
            serve_connection_with(tls, app.layer(axum::Extension(info)), stop, conn, &l).await;
        }
    })
    .await
}
