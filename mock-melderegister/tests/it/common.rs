//! A running simulator (service over mTLS, portal over HTTP) and a minimal HTTP/1.1 client over rustls.

use mock_melderegister::{MelderegisterConfig, MelderegisterState};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sim_kit::store::Store;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use ti_core::pki::{PkiOptions, TestPki};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn pki() -> &'static TestPki {
    static P: OnceLock<TestPki> = OnceLock::new();
    P.get_or_init(|| TestPki::generate(&PkiOptions::default()).expect("test PKI"))
}

pub struct Sim {
    pub st: MelderegisterState,
    pub service: SocketAddr,
    pub portal: SocketAddr,
    _stop: Vec<tokio::sync::oneshot::Sender<()>>,
}

pub async fn start_with(store: Store, residents: usize) -> Sim {
    let cfg = MelderegisterConfig {
        residents,
        ..MelderegisterConfig::default()
    };
    let st = MelderegisterState::new(cfg, store, Some(pki().tls_ca.clone())).expect("state");
    let sl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (service, portal) = (sl.local_addr().unwrap(), pl.local_addr().unwrap());
    let (t1, r1) = tokio::sync::oneshot::channel::<()>();
    let (t2, r2) = tokio::sync::oneshot::channel::<()>();
    let tls = mock_melderegister::service_tls(pki()).expect("tls");
    tokio::spawn(mock_melderegister::serve_service(
        sl,
        st.clone(),
        tls,
        async move {
            let _ = r1.await;
        },
    ));
    tokio::spawn(mock_melderegister::serve(pl, st.clone(), async move {
        let _ = r2.await;
    }));
    Sim {
        st,
        service,
        portal,
        _stop: vec![t1, t2],
    }
}

pub async fn start() -> Sim {
    start_with(Store::ephemeral().expect("store"), 500).await
}

pub struct Resp {
    pub status: u16,
    pub headers: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn parse_response(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[nl + 2 + n + 2..];
        }
        body = out;
    }
    Resp {
        status,
        headers: head,
        body,
    }
}

pub fn request_bytes(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    let mut b = r.into_bytes();
    b.extend_from_slice(body);
    b
}

/// POST over TLS, presenting `client` (cert PEM, key PEM) if given. `Err` when the handshake fails.
pub async fn post_tls(
    addr: SocketAddr,
    client: Option<(&str, &str)>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Resp, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki().tls_ca.cert_pem().as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let cfg = match client {
        Some((c, k)) => b
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(c.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(k.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    let conn = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let mut tls = conn
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let mut headers = headers.to_vec();
    headers.push(("Content-Type", "text/xml; charset=utf-8"));
    headers.push(("SOAPAction", "\"\""));
    // The server may answer (413-style refusal) and close before the whole body is written.
    let w = tls
        .write_all(&request_bytes(
            "POST",
            mock_melderegister::soap::PATH,
            &headers,
            body,
        ))
        .await;
    let mut raw = Vec::new();
    let r = tls.read_to_end(&mut raw).await;
    if raw.is_empty() {
        w.map_err(|e| e.to_string())?;
        r.map_err(|e| e.to_string())?;
    }
    if raw.is_empty() {
        return Err("connection closed without an answer".into());
    }
    Ok(parse_response(&raw))
}

/// Plain HTTP to the portal.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(&request_bytes(method, path, headers, body))
        .await
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    parse_response(&raw)
}
