//! HTTP and HTTPS for the XTA client: plain via the shared HTTP client, HTTPS with rustls and the
//! account's client certificate (TLS 1.2/1.3, the test PKI's TLS CA as the only trust anchor); and reading
//! MTOM answers (XOP-decoded, as a receiving toolkit does).

use super::{Xta, collect};
use crate::client::ClientError;
use crate::http::Response;
use mock_xta::mime::multipart::Multipart;
use mock_xta::xml::{ContentRef, Element};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};
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
pub fn request(x: &Xta<'_>, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Response, ClientError> {
    let timeout = x.env.timeout;
    let Some(rest) = url.strip_prefix("https://") else {
        return Ok(x.env.http()?.request(method, url, headers, body)?);
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = if authority.contains(':') { authority.to_string() } else { format!("{authority}:443") };
    let host = authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(&authority).trim_matches(['[', ']']).to_string();
    let io = |e: std::io::Error| ClientError::Refused(format!("connection to {url}: {e}"));
    let addr = authority.to_socket_addrs().map_err(io)?.next().ok_or_else(|| ClientError::Setup(format!("no address for {authority}")))?;
    let tcp = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
    tcp.set_read_timeout(Some(timeout)).map_err(io)?;
    tcp.set_write_timeout(Some(timeout)).map_err(io)?;
    let name = ServerName::try_from(host.clone()).map_err(|e| ClientError::Setup(format!("server name {host}: {e}")))?;
    let conn = rustls::ClientConnection::new(tls_config(x)?, name).map_err(|e| ClientError::Setup(format!("TLS: {e}")))?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        if v.contains(['\r', '\n']) {
            return Err(ClientError::Input(format!("header {k} contains a line break")));
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.write_all(body).map_err(io)?;
    stream.flush().map_err(io)?;
    let mut raw = Vec::new();
    // A server closing without TLS close_notify still delivered a complete answer if it is framed.
    if let Err(e) = (&mut stream).take(MAX_ANSWER + 1).read_to_end(&mut raw) {
        if raw.is_empty() {
            return Err(io(e));
        }
    }
    if raw.len() as u64 > MAX_ANSWER {
        return Err(ClientError::Refused(format!("the answer from {url} exceeds {MAX_ANSWER} bytes")));
    }
    parse_response(&raw).map_err(|m| ClientError::Refused(format!("malformed HTTP answer from {url}: {m}")))
}

/// Largest answer read over TLS (a 40 MB message, base64-encoded, with room for the envelope).
const MAX_ANSWER: u64 = 64 << 20;

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let split = memchr_find(raw, b"\r\n\r\n").ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| format!("status line `{status_line}`"))?;
    let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let rest = &raw[split + 4..];
    let get = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.clone());
    let body = if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        let mut out = Vec::new();
        let mut r = rest;
        loop {
            let e = memchr_find(r, b"\r\n").ok_or("chunk size line")?;
            let size = usize::from_str_radix(std::str::from_utf8(&r[..e]).map_err(|e| e.to_string())?.split(';').next().unwrap_or("").trim(), 16).map_err(|e| e.to_string())?;
            r = &r[e + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(r.get(..size).ok_or("short chunk")?);
            r = r.get(size + 2..).ok_or("short chunk")?;
        }
        out
    } else if let Some(len) = get("content-length") {
        let n: usize = len.parse().map_err(|_| format!("content-length `{len}`"))?;
        rest.get(..n).ok_or("body shorter than its Content-Length")?.to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response { status, headers, body })
}

fn memchr_find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
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
