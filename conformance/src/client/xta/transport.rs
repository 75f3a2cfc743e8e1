//! HTTP and HTTPS for the XTA client (the shared HTTP client; HTTPS with the account's client
//! certificate), and reading MTOM answers (XOP-decoded, as a receiving toolkit does).

use super::{Xta, collect};
use crate::client::ClientError;
use crate::http::Response;
use mock_xta::mime::multipart::Multipart;
use mock_xta::xml::{ContentRef, Element};
use std::io::Read;

/// One request; `https://` URLs with the account's client certificate (the test PKI's TLS CA as the
/// only trust anchor), through the shared HTTP client.
pub fn request(
    x: &Xta<'_>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, ClientError> {
    if !url.starts_with("https://") {
        return Ok(x.env.http()?.request(method, url, headers, body)?);
    }
    let client = x.cert.as_ref().map(|(c, k)| (c.as_path(), k.as_path()));
    let http = crate::http::Http::mtls(x.env.timeout, &x.ca, client, MAX_ANSWER)?;
    Ok(http.request(method, url, headers, body)?)
}

/// Largest answer read (a 40 MB message, base64-encoded, with room for the envelope).
const MAX_ANSWER: u64 = 64 << 20;

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
            contents.push(sink.slots.get(*slot).cloned().unwrap_or_default());
        }
    });
    if let Some(cid) = missing {
        return Err(format!("xop:Include refers to no part <{cid}>"));
    }
    Ok((env, contents))
}
