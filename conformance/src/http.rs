//! The reference client's HTTP: `ureq` (blocking, rustls on the ring provider), one agent per action.
//! Plain `http://` for the simulators as `konform up` serves them; `https://` with the CA named by
//! `KONFORM_TLS_CA` (the test PKI's TLS CA under `konform run --tls`). No redirects are followed, 4xx/5xx
//! are answers (not errors), response bodies are bounded.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use ureq::tls::{Certificate, ClientCert, PemItem, RootCerts, TlsConfig};

/// Largest response body the client reads (the VST's lists are small; a bigger body is an error).
pub const MAX_BODY: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The request could not be built: a bad URL, a header value with CR/LF, …
    #[error("invalid request to `{url}`: {message}")]
    Invalid { url: String, message: String },
    /// TLS is configured wrongly (unreadable CA file, `https://` without a CA).
    #[error("TLS setup: {0}")]
    TlsSetup(String),
    /// No connection: refused, unreachable, name not resolved.
    #[error("connection to {url} failed: {source}")]
    Connect {
        url: String,
        #[source]
        source: ureq::Error,
    },
    /// The connection broke before a complete answer (closed, reset, timed out).
    #[error("connection closed or failed before a complete response: {0}")]
    Io(#[source] ureq::Error),
    /// The answer was not valid HTTP, or larger than [`MAX_BODY`].
    #[error("malformed HTTP response: {0}")]
    Malformed(#[source] ureq::Error),
}

impl HttpError {
    /// Worth retrying: the server may not have processed the request, or failed transiently.
    pub fn is_transient(&self) -> bool {
        matches!(self, HttpError::Connect { .. } | HttpError::Io(_))
    }

    fn from_ureq(url: &str, e: ureq::Error) -> HttpError {
        use ureq::Error as E;
        match e {
            E::ConnectionFailed | E::HostNotFound => HttpError::Connect {
                url: url.to_string(),
                source: e,
            },
            E::Io(ref io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                HttpError::Connect {
                    url: url.to_string(),
                    source: e,
                }
            }
            E::Io(_) | E::Timeout(_) => HttpError::Io(e),
            E::Http(_) | E::BadUri(_) => HttpError::Invalid {
                url: url.to_string(),
                message: e.to_string(),
            },
            E::Tls(_) | E::Pem(_) | E::Rustls(_) => HttpError::TlsSetup(e.to_string()),
            _ => HttpError::Malformed(e),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn headers_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One plain request with a fresh client (no TLS CA): for tools and tests that talk to `konform up`.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<Response, HttpError> {
    Http::new(timeout, None)?.request(method, url, headers, body)
}

/// Join a base URL and a path.
pub fn join(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}

/// An HTTP client for one action: a timeout per request and, for `https://`, the trusted TLS CA.
#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
    has_ca: bool,
    max_body: u64,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("has_ca", &self.has_ca)
            .finish()
    }
}

impl Http {
    /// `tls_ca`: PEM file with the CA certificate(s) a `https://` server must chain to.
    pub fn new(timeout: Duration, tls_ca: Option<&Path>) -> Result<Http, HttpError> {
        Http::with_verification(timeout, tls_ca, true)
    }

    /// [`Http::new`]; `verify: false` accepts any server certificate — only the reference client's
    /// `tls-accept-any-certificate` defect does that.
    pub fn with_verification(
        timeout: Duration,
        tls_ca: Option<&Path>,
        verify: bool,
    ) -> Result<Http, HttpError> {
        Http::build(timeout, tls_ca, verify, None, MAX_BODY)
    }

    /// HTTPS with a client certificate (`cert`: PEM chain, `key`: PEM private key) for servers that
    /// require one (XTA, the Melderegister); answers up to `max_body` bytes.
    pub fn mtls(
        timeout: Duration,
        tls_ca: &Path,
        client: Option<(&Path, &Path)>,
        max_body: u64,
    ) -> Result<Http, HttpError> {
        let cert = match client {
            Some((cert, key)) => Some(client_cert(cert, key)?),
            None => None,
        };
        Http::build(timeout, Some(tls_ca), true, cert, max_body)
    }

    fn build(
        timeout: Duration,
        tls_ca: Option<&Path>,
        verify: bool,
        client_cert: Option<ClientCert>,
        max_body: u64,
    ) -> Result<Http, HttpError> {
        let mut tls = TlsConfig::builder()
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .client_cert(client_cert);
        if let Some(p) = tls_ca {
            let pem = std::fs::read(p)
                .map_err(|e| HttpError::TlsSetup(format!("{}: {e}", p.display())))?;
            let certs = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<Vec<Certificate<'static>>, _>>()
                .map_err(|e| HttpError::TlsSetup(format!("{}: {e}", p.display())))?;
            if certs.is_empty() {
                return Err(HttpError::TlsSetup(format!(
                    "{}: no CERTIFICATE in the PEM",
                    p.display()
                )));
            }
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        tls = tls.disable_verification(!verify);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .tls_config(tls.build())
            .build()
            .new_agent();
        Ok(Http {
            agent,
            has_ca: tls_ca.is_some(),
            max_body,
        })
    }

    /// Send one request and read the whole answer (at most [`MAX_BODY`] bytes).
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, HttpError> {
        if url.starts_with("https://") && !self.has_ca {
            return Err(HttpError::TlsSetup(format!(
                "`{url}` is https: set KONFORM_TLS_CA to the CA certificate (PEM) the server chains to"
            )));
        }
        let invalid = |e: ureq::http::Error| HttpError::Invalid {
            url: url.to_string(),
            message: e.to_string(),
        };
        let mut req = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let sent = if body.is_empty() && matches!(method, "GET" | "HEAD" | "DELETE" | "OPTIONS") {
            self.agent.run(req.body(()).map_err(invalid)?)
        } else {
            self.agent.run(req.body(body).map_err(invalid)?)
        };
        let mut resp = sent.map_err(|e| HttpError::from_ureq(url, e))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = if method == "HEAD" {
            Vec::new()
        } else {
            resp.body_mut()
                .with_config()
                .limit(self.max_body)
                .read_to_vec()
                .map_err(|e| match e {
                    ureq::Error::BodyExceedsLimit(_) => HttpError::Malformed(e),
                    other => HttpError::from_ureq(url, other),
                })?
        };
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// A client certificate chain and its key from PEM files.
fn client_cert(cert: &Path, key: &Path) -> Result<ClientCert, HttpError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| HttpError::TlsSetup(format!("{}: {e}", p.display())))
    };
    let bad = |p: &Path, m: String| HttpError::TlsSetup(format!("{}: {m}", p.display()));
    let chain = ureq::tls::parse_pem(&read(cert)?)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(Ok(c)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<Vec<Certificate<'static>>, _>>()
        .map_err(|e| bad(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(bad(cert, "no CERTIFICATE in the PEM".into()));
    }
    let private = ureq::tls::parse_pem(&read(key)?)
        .find_map(|item| match item {
            Ok(PemItem::PrivateKey(k)) => Some(k),
            _ => None,
        })
        .ok_or_else(|| bad(key, "no PRIVATE KEY in the PEM".into()))?;
    Ok(ClientCert::new_with_certs(&chain, private))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_urls() {
        assert_eq!(join("http://a:1/", "/b"), "http://a:1/b");
        assert_eq!(join("http://a:1", "/b"), "http://a:1/b");
    }

    #[test]
    fn header_values_with_line_breaks_are_refused_before_sending() {
        let h = Http::new(Duration::from_secs(1), None).unwrap();
        let e = h
            .request("GET", "http://127.0.0.1:9/", &[("X-A", "a\r\nX-B: b")], b"")
            .unwrap_err();
        assert!(matches!(e, HttpError::Invalid { .. }), "{e}");
    }

    #[test]
    fn https_needs_a_ca() {
        let h = Http::new(Duration::from_secs(1), None).unwrap();
        let e = h
            .request("GET", "https://127.0.0.1:9/", &[], b"")
            .unwrap_err();
        assert!(e.to_string().contains("KONFORM_TLS_CA"), "{e}");
        let e = Http::new(
            Duration::from_secs(1),
            Some(Path::new("/nonexistent/ca.pem")),
        )
        .unwrap_err();
        assert!(matches!(e, HttpError::TlsSetup(_)), "{e}");
    }

    #[test]
    fn refused_connections_are_transient() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let h = Http::new(Duration::from_secs(2), None).unwrap();
        let e = h
            .request("GET", &format!("http://{addr}/"), &[], b"")
            .unwrap_err();
        assert!(e.is_transient(), "{e:?}");
    }
}
