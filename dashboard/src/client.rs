//! The dashboard's only way to a simulator: HTTP(S) requests to its admin API (`/__konform/…`), with the
//! Host header of the target (the admin API refuses others), `Content-Type: application/json` on every body
//! and, when configured, the admin token as a bearer token. One connection per call (admin calls are few;
//! the journal is long-polled), a timeout on every call and a limit on every answer.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;

/// Answers larger than this are refused (a journal page or a state view is far smaller).
pub const MAX_ANSWER: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("bad simulator URL `{0}` (expected http://host:port or https://host:port)")]
    Url(String),
    #[error("cannot connect to {0}: {1}")]
    Connect(String, #[source] std::io::Error),
    #[error("TLS with {0} failed: {1}")]
    Tls(String, #[source] std::io::Error),
    #[error("https URL `{0}` but no TLS trust configured for the dashboard")]
    NoTls(String),
    #[error("HTTP exchange with {0} failed: {1}")]
    Http(String, #[source] hyper::Error),
    #[error("{0} did not answer within {1:?}")]
    Timeout(String, Duration),
    #[error("the answer of {0} is larger than {MAX_ANSWER} bytes or broke off")]
    Body(String),
    #[error("bad request for {0}: {1}")]
    Request(String, String),
}

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[derive(Clone)]
pub struct AdminClient {
    base: String,
    https: bool,
    host: String,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
    token: Option<String>,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("base", &self.base)
            .finish()
    }
}

impl AdminClient {
    pub fn new(
        base_url: &str,
        tls: Option<Arc<rustls::ClientConfig>>,
        token: Option<String>,
    ) -> Result<AdminClient, ClientError> {
        let bad = || ClientError::Url(base_url.to_string());
        let (https, rest) = if let Some(r) = base_url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = base_url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(bad());
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h.to_string(), p.parse::<u16>().map_err(|_| bad())?)
            }
            _ => (authority.to_string(), if https { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(AdminClient {
            base: format!("{}://{authority}", if https { "https" } else { "http" }),
            https,
            host,
            port,
            tls,
            token,
        })
    }

    /// `http://host:port` of the simulator.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// One request; `path` starts with `/` (e.g. `/__konform/health`).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Reply, ClientError> {
        let what = format!("{}{}", self.base, path.split('?').next().unwrap_or(path));
        match tokio::time::timeout(timeout, self.exchange(method, path, body, &what)).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout(what, timeout)),
        }
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        what: &str,
    ) -> Result<Reply, ClientError> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let tcp = tokio::net::TcpStream::connect((host, self.port))
            .await
            .map_err(|e| ClientError::Connect(self.base.clone(), e))?;
        let _ = tcp.set_nodelay(true);
        let req = self.request(method, path, body, what)?;
        if self.https {
            let cfg = self
                .tls
                .clone()
                .ok_or_else(|| ClientError::NoTls(self.base.clone()))?;
            let name = rustls::pki_types::ServerName::try_from(host.to_string())
                .map_err(|_| ClientError::Url(self.base.clone()))?;
            let tls = tokio_rustls::TlsConnector::from(cfg)
                .connect(name, tcp)
                .await
                .map_err(|e| ClientError::Tls(self.base.clone(), e))?;
            send(TokioIo::new(tls), req, what).await
        } else {
            send(TokioIo::new(tcp), req, what).await
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        what: &str,
    ) -> Result<hyper::Request<Full<Bytes>>, ClientError> {
        let default_port = if self.https { 443 } else { 80 };
        let host_header = if self.port == default_port {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let mut b = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", host_header)
            .header("accept", "application/json")
            .header(
                "user-agent",
                concat!("konform-dashboard/", env!("CARGO_PKG_VERSION")),
            );
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        if let Some(t) = &self.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b.body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| ClientError::Request(what.to_string(), e.to_string()))
    }
}

async fn send<IO>(
    io: IO,
    req: hyper::Request<Full<Bytes>>,
    what: &str,
) -> Result<Reply, ClientError>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| ClientError::Http(what.to_string(), e))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| ClientError::Http(what.to_string(), e));
    let result = match resp {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            match Limited::new(resp.into_body(), MAX_ANSWER).collect().await {
                Ok(b) => Ok(Reply {
                    status,
                    content_type,
                    body: b.to_bytes(),
                }),
                Err(_) => Err(ClientError::Body(what.to_string())),
            }
        }
        Err(e) => Err(e),
    };
    driver.abort();
    result
}

/// A TLS client configuration trusting `ca_pem` and, when given, presenting a client certificate.
pub fn tls_config(
    ca_pem: &str,
    client: Option<(&str, &str)>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let c = c.map_err(|e| format!("TLS CA: {e}"))?;
        roots.add(c).map_err(|e| format!("TLS CA: {e}"))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let cfg = match client {
        Some((cert, key)) => {
            let chain: Vec<_> = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("client certificate: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|e| format!("client key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate: {e}"))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base_urls() {
        let c = AdminClient::new("http://127.0.0.1:8081", None, None).unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.https),
            ("127.0.0.1", 8081, false)
        );
        let c = AdminClient::new("https://localhost:8443/", None, None).unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.https),
            ("localhost", 8443, true)
        );
        assert_eq!(c.base(), "https://localhost:8443");
        let c = AdminClient::new("http://[::1]:9000", None, None).unwrap();
        assert_eq!((c.host.as_str(), c.port), ("[::1]", 9000));
        assert!(AdminClient::new("ftp://x", None, None).is_err());
        assert!(AdminClient::new("http://:80", None, None).is_err());
        assert!(AdminClient::new("http://h:notaport", None, None).is_err());
    }
}
