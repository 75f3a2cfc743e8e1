//! Raw requests for `request:` steps. Scenarios send malformed requests on purpose (a `Content-Length`
//! that lies, bodies that are not UTF-8), which a regular HTTP client refuses to produce, so the request
//! is written byte for byte as the scenario gives it. The answer is parsed with `httparse`, with bounds
//! on the head, the declared length and every chunk.

use crate::http::{MAX_BODY, Response};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

const MAX_HEAD: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RawHttpError {
    #[error("bad URL `{0}` (expected http://host:port/path)")]
    Url(String),
    #[error("header `{0}` contains a line break")]
    HeaderLineBreak(String),
    #[error("connection to {addr} failed: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("connection closed or failed before a complete response: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed HTTP response: {0}")]
    Malformed(String),
}

/// Split `http://host:port/path` (or `https://`) into (tls, host:port, path).
fn split_url(url: &str) -> Result<(bool, String, String), RawHttpError> {
    let (tls, rest) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
        (Some(r), _) => (false, r),
        (None, Some(r)) => (true, r),
        _ => return Err(RawHttpError::Url(url.to_string())),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(RawHttpError::Url(url.to_string()));
    }
    let authority = if authority.contains(':') {
        authority.to_string()
    } else if tls {
        format!("{authority}:443")
    } else {
        format!("{authority}:80")
    };
    Ok((tls, authority, path.to_string()))
}

/// The request bytes: request line, `Host`, `Connection: close`, the given headers verbatim, a
/// `Content-Length` unless one is given, the body.
fn request_bytes(
    method: &str,
    authority: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Vec<u8>, RawHttpError> {
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    let mut has_len = false;
    for (k, v) in headers {
        if [k, v].iter().any(|s| s.contains(['\r', '\n'])) {
            return Err(RawHttpError::HeaderLineBreak(k.clone()));
        }
        has_len |= k.eq_ignore_ascii_case("content-length");
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has_len && (!body.is_empty() || method == "POST" || method == "PUT") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    Ok(bytes)
}

/// Send the request and read the answer; `https://` with `tls` (trusting the test TLS CA).
pub fn send(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Response, RawHttpError> {
    let (is_tls, authority, path) = split_url(url)?;
    let bytes = request_bytes(method, &authority, &path, headers, body)?;
    let connect_err = |source| RawHttpError::Connect {
        addr: authority.clone(),
        source,
    };
    let addr = authority
        .to_socket_addrs()
        .map_err(connect_err)?
        .next()
        .ok_or_else(|| RawHttpError::Url(url.to_string()))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(connect_err)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    if is_tls {
        let host = authority
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(&authority)
            .trim_matches(['[', ']']);
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|_| RawHttpError::Url(url.to_string()))?;
        let conn = rustls::ClientConnection::new(tls.clone(), name)
            .map_err(|e| RawHttpError::Io(std::io::Error::other(e)))?;
        let mut tls_stream = rustls::StreamOwned::new(conn, stream);
        let _ = tls_stream
            .write_all(&bytes)
            .and_then(|()| tls_stream.flush());
        return read_response(tls_stream, method == "HEAD");
    }
    // The server may answer (413) and close before the body is written: still read its answer.
    let _ = stream.write_all(&bytes).and_then(|()| stream.flush());
    read_response(stream, method == "HEAD")
}

fn read_response(mut r: impl Read, head_only: bool) -> Result<Response, RawHttpError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (status, headers, head_len) = loop {
        let n = r.read(&mut chunk)?;
        if n == 0 {
            return Err(RawHttpError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut hs);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let headers: Vec<(String, String)> = resp
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).trim().to_string(),
                        )
                    })
                    .collect();
                break (resp.code.unwrap_or(0), headers, len);
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(RawHttpError::Malformed("response head too large".into()));
            }
            Err(e) => return Err(RawHttpError::Malformed(e.to_string())),
        }
    };
    let rest = buf.split_off(head_len);
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let no_body = head_only || status == 204 || status == 304 || (100..200).contains(&status);
    let body = if no_body {
        Vec::new()
    } else if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        dechunk(rest, r)?
    } else if let Some(len) = get("content-length") {
        let len: u64 = len
            .parse()
            .map_err(|_| RawHttpError::Malformed(format!("content-length `{len}`")))?;
        if len > MAX_BODY {
            return Err(RawHttpError::Malformed(format!(
                "content-length {len} exceeds {MAX_BODY}"
            )));
        }
        let mut body = rest;
        r.take(len.saturating_sub(body.len() as u64))
            .read_to_end(&mut body)?;
        if (body.len() as u64) < len {
            return Err(RawHttpError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        body.truncate(len as usize);
        body
    } else {
        let mut body = rest;
        r.take(MAX_BODY).read_to_end(&mut body)?;
        body
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Decode a chunked body; every chunk size is checked against what is left of [`MAX_BODY`].
fn dechunk(mut pending: Vec<u8>, mut r: impl Read) -> Result<Vec<u8>, RawHttpError> {
    let mut body = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut fill = |pending: &mut Vec<u8>| -> Result<(), RawHttpError> {
        let n = r.read(&mut chunk)?;
        if n == 0 {
            return Err(RawHttpError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        pending.extend_from_slice(&chunk[..n]);
        Ok(())
    };
    loop {
        let (start, size) = match httparse::parse_chunk_size(&pending) {
            Ok(httparse::Status::Complete(x)) => x,
            Ok(httparse::Status::Partial) if pending.len() < MAX_HEAD => {
                fill(&mut pending)?;
                continue;
            }
            _ => return Err(RawHttpError::Malformed("bad chunk size".into())),
        };
        if size == 0 {
            return Ok(body);
        }
        if size > MAX_BODY - body.len() as u64 {
            return Err(RawHttpError::Malformed(format!(
                "chunked body exceeds {MAX_BODY}"
            )));
        }
        // Chunk data and its CRLF.
        let need = start + size as usize + 2;
        while pending.len() < need {
            fill(&mut pending)?;
        }
        body.extend_from_slice(&pending[start..start + size as usize]);
        pending.drain(..need);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            split_url("http://127.0.0.1:8081/a/b").unwrap(),
            (false, "127.0.0.1:8081".into(), "/a/b".into())
        );
        assert_eq!(
            split_url("http://localhost").unwrap(),
            (false, "localhost:80".into(), "/".into())
        );
        assert_eq!(
            split_url("https://localhost/x").unwrap(),
            (true, "localhost:443".into(), "/x".into())
        );
        assert!(split_url("ftp://x").is_err());
        assert!(split_url("http:///x").is_err());
    }

    #[test]
    fn requests_are_written_verbatim_and_line_breaks_refused() {
        let h = vec![("Content-Length".to_string(), "99".to_string())];
        let b = request_bytes("POST", "a:1", "/p", &h, b"{}").unwrap();
        let text = String::from_utf8(b).unwrap();
        assert!(text.contains("Content-Length: 99\r\n\r\n{}"), "{text}");
        assert_eq!(text.matches("Content-Length").count(), 1);
        let bad = vec![("X".to_string(), "a\nb".to_string())];
        assert!(request_bytes("GET", "a:1", "/", &bad, b"").is_err());
    }

    #[test]
    fn responses_are_bounded() {
        let r = read_response(
            &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"[..],
            false,
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hi"[..]));
        let huge = b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\nhi";
        assert!(matches!(
            read_response(&huge[..], false),
            Err(RawHttpError::Malformed(_))
        ));
        let short = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi";
        assert!(matches!(
            read_response(&short[..], false),
            Err(RawHttpError::Io(_))
        ));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n3\r\n yo\r\n0\r\n\r\n";
        assert_eq!(read_response(&chunked[..], false).unwrap().body, b"hi yo");
        let big_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\nhi";
        assert!(read_response(&big_chunk[..], false).is_err());
        let r = read_response(&b"HTTP/1.1 204 No Content\r\n\r\n"[..], false).unwrap();
        assert!(r.body.is_empty());
        assert!(read_response(&b"garbage\r\n\r\n"[..], false).is_err());
    }
}
