//! HTTP and HTTPS for the XTA client: plain via the shared HTTP client, HTTPS with rustls and the
//! account's client certificate (TLS 1.2/1.3, the test PKI's TLS CA as the only trust anchor); and reading
//! MTOM answers (XOP-decoded, as a receiving toolkit does).

use super::{Xta, collect};
use crate::client::ClientError;
use crate::http::{self, HttpError, Response};
use mock_xta::mime::multipart::Multipart;
use mock_xta::xml::{ContentRef, Element};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;

fn tls_config(x: &Xta<'_>) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let setup = |m: String| ClientError::Setup(m);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(&x.ca).map_err(|e| setup(format!("TLS CA {}: {e}", x.ca.display())))?;
    for c in CertificateDer::pem_slice_iter(&ca) {
        let c = c.map_err(|e| setup(format!("TLS CA {}: {e}", x.ca.display())))?;
        roots.add(c).map_err(|e| setup(format!("TLS CA: {e}")))?;
    }
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(e.to_string()))?
        .with_root_certificates(roots);
    let cfg = match &x.cert {
        Some((cert, key)) => {
            let pem = std::fs::read(cert)
                .map_err(|e| setup(format!("client certificate {}: {e}", cert.display())))?;
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<_, _>>()
                .map_err(|e| setup(format!("client certificate {}: {e}", cert.display())))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| setup(format!("client key {}: {e}", key.display())))?;
            b.with_client_auth_cert(chain, key)
                .map_err(|e| setup(format!("client certificate: {e}")))?
        }
        None => b.with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

/// One request; `https://` URLs over TLS with the client certificate.
pub fn request(
    x: &Xta<'_>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, ClientError> {
    let timeout = x.env.timeout;
    let Some(rest) = url.strip_prefix("https://") else {
        return Ok(http::request(method, url, headers, body, timeout)?);
    };
    let (authority, path) = http::split_url(&format!("http://{rest}"))?;
    let host = authority
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(&authority)
        .trim_matches(['[', ']'])
        .to_string();
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| HttpError::Connect(authority.clone(), e))?
        .next()
        .ok_or_else(|| HttpError::Url(url.to_string()))?;
    let tcp = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| HttpError::Connect(authority.clone(), e))?;
    tcp.set_read_timeout(Some(timeout)).map_err(HttpError::Io)?;
    tcp.set_write_timeout(Some(timeout))
        .map_err(HttpError::Io)?;
    let name = ServerName::try_from(host.clone())
        .map_err(|e| ClientError::Setup(format!("server name {host}: {e}")))?;
    let conn = rustls::ClientConnection::new(tls_config(x)?, name)
        .map_err(|e| ClientError::Setup(format!("TLS: {e}")))?;
    let stream = rustls::StreamOwned::new(conn, tcp);
    Ok(http::exchange(
        stream, method, &authority, &path, headers, body,
    )?)
}

/// Split an MTOM answer and hand back the envelope and the content of each content element in order.
pub fn xop_decode(content_type: &str, raw: &[u8]) -> Result<(Element, Vec<Vec<u8>>), String> {
    let ct = mock_xta::mime::ContentType::parse(content_type).ok_or("unreadable Content-Type")?;
    let boundary = ct.param("boundary").ok_or("multipart without boundary")?;
    let start = ct.param("start").map(mock_xta::mime::strip_angle);
    let mut mp = Multipart::new(raw, boundary);
    let mut root: Option<Vec<u8>> = None;
    let mut parts = std::collections::HashMap::new();
    while let Some(h) = mp.next_part().map_err(|e| e.to_string())? {
        let mut data = Vec::new();
        mp.part()
            .read_to_end(&mut data)
            .map_err(|e| e.to_string())?;
        let is_root = root.is_none()
            && start
                .as_ref()
                .is_none_or(|s| h.content_id.as_ref() == Some(s));
        if is_root {
            root = Some(data);
        } else if let Some(cid) = h.content_id {
            parts.insert(cid, data);
        }
    }
    let root = root.ok_or("no root part")?;
    let mut sink = mock_xta::xml::reader::MemorySink::default();
    let env = mock_xta::xml::reader::parse(&root[..], Default::default(), &mut sink)
        .map_err(|e| e.to_string())?;
    let mut contents = Vec::new();
    let mut missing = None;
    collect(&env, &mut |c| match c {
        ContentRef::Xop { cid } => match parts.get(cid) {
            Some(d) => contents.push(d.clone()),
            None => missing = Some(cid.clone()),
        },
        ContentRef::Inline { slot } => {
            contents.push(sink.slots.get(*slot).cloned().unwrap_or_default())
        }
    });
    if let Some(cid) = missing {
        return Err(format!("xop:Include refers to no part <{cid}>"));
    }
    Ok((env, contents))
}
