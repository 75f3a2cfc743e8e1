//! MIME multipart as OSCI 1.2 puts it on the wire: the MIME headers (`MIME-Version`, `Content-Type:
//! Multipart/Related; boundary=…`) are the first lines of the HTTP *body*, followed by the parts. Every part
//! carries `Content-Type` and `Content-ID` (the Java library's `MIMEParser` refuses a part without them);
//! a part ends at CRLF `--boundary`. No I/O: parsing borrows from the body, writing appends to a buffer.

use std::ops::Range;

/// Limits on a multipart entity (the body size itself is limited at the HTTP edge).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_parts: usize,
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_parts: 1000,
            max_header_bytes: 16 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MimeError {
    #[error("MIME header block: {0}")]
    Header(String),
    #[error("the MIME entity has no boundary parameter in its Content-Type")]
    NoBoundary,
    #[error("MIME-Version must be 1.0, found `{0}`")]
    Version(String),
    #[error("the body does not start with the boundary delimiter `--{0}`")]
    NoFirstBoundary(String),
    #[error(
        "part {0} is not terminated by a boundary delimiter (wrong boundary or truncated body)"
    )]
    Unterminated(usize),
    #[error("part {index} has no {header} header")]
    MissingHeader { index: usize, header: &'static str },
    #[error("part {index}: charset `{charset}` is not UTF-8")]
    Charset { index: usize, charset: String },
    #[error("more than {0} MIME parts")]
    TooManyParts(usize),
    #[error("Content-ID `{0}` occurs more than once")]
    DuplicateContentId(String),
    #[error("the closing delimiter `--{0}--` is missing")]
    NoCloseDelimiter(String),
}

/// One part: its headers (names lower-cased) and its body's range in the entity.
#[derive(Clone, Debug)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub content_type: String,
    /// Without the angle brackets.
    pub content_id: String,
    pub transfer_encoding: Option<String>,
    pub body: Range<usize>,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    /// Whether the body is base64 (`Content-Transfer-Encoding: base64` or the library's `text/base64`).
    pub fn is_base64(&self) -> bool {
        self.transfer_encoding
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("base64"))
            || self.content_type.eq_ignore_ascii_case("text/base64")
    }
}

/// A parsed multipart entity.
#[derive(Clone, Debug)]
pub struct Multipart {
    pub boundary: String,
    pub content_type: String,
    pub parts: Vec<Part>,
}

impl Multipart {
    pub fn part(&self, content_id: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.content_id == content_id)
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Read a header block starting at `pos` (leading blank lines skipped); returns headers and the offset
/// after the blank line that ends the block. Folded lines are joined.
fn header_block(
    body: &[u8],
    mut pos: usize,
    limit: usize,
) -> Result<(Vec<(String, String)>, usize), MimeError> {
    while body[pos..].starts_with(b"\r\n") {
        pos += 2;
    }
    let end = find(body, b"\r\n\r\n", pos)
        .ok_or_else(|| MimeError::Header("no blank line ends the header block".into()))?;
    if end - pos > limit {
        return Err(MimeError::Header(format!(
            "header block longer than {limit} bytes"
        )));
    }
    let text = std::str::from_utf8(&body[pos..end])
        .map_err(|_| MimeError::Header("header block is not UTF-8".into()))?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            match headers.last_mut() {
                Some((_, v)) => v.push_str(line.trim()),
                None => {
                    return Err(MimeError::Header(
                        "continuation line before any header".into(),
                    ));
                }
            }
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| MimeError::Header(format!("header line without a colon: `{line}`")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok((headers, end + 4))
}

/// The main value and the parameters of a header such as `Content-Type` (parameter names lower-cased,
/// quotes removed), split as the library does: on `;` and spaces.
pub fn params(value: &str) -> (String, Vec<(String, String)>) {
    let mut it = value
        .split([';', ' ', '\t'])
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let main = it.next().unwrap_or("").to_string();
    let ps = it
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            Some((k.trim().to_ascii_lowercase(), v.to_string()))
        })
        .collect();
    (main, ps)
}

fn get<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Parse an OSCI MIME entity (headers in the body).
pub fn parse(body: &[u8], limits: Limits) -> Result<Multipart, MimeError> {
    let (top, mut pos) = header_block(body, 0, limits.max_header_bytes)?;
    if let Some(v) = get(&top, "mime-version")
        && v != "1.0"
    {
        return Err(MimeError::Version(v.into()));
    }
    let ct = get(&top, "content-type").ok_or(MimeError::NoBoundary)?;
    let (content_type, ps) = params(ct);
    let boundary = ps
        .iter()
        .find(|(k, _)| k == "boundary")
        .map(|(_, v)| v.clone())
        .filter(|b| !b.is_empty())
        .ok_or(MimeError::NoBoundary)?;
    let dash = format!("--{boundary}");
    let delim = format!("\r\n--{boundary}");
    while body[pos..].starts_with(b"\r\n") {
        pos += 2;
    }
    if !body[pos..].starts_with(dash.as_bytes()) {
        return Err(MimeError::NoFirstBoundary(boundary));
    }
    pos += dash.len();
    let mut parts: Vec<Part> = Vec::new();
    loop {
        if body[pos..].starts_with(b"--") {
            break;
        }
        if !body[pos..].starts_with(b"\r\n") {
            return Err(MimeError::NoFirstBoundary(boundary));
        }
        let index = parts.len() + 1;
        if parts.len() >= limits.max_parts {
            return Err(MimeError::TooManyParts(limits.max_parts));
        }
        let (headers, start) = header_block(body, pos + 2, limits.max_header_bytes)?;
        let end = find(body, delim.as_bytes(), start).ok_or(MimeError::Unterminated(index))?;
        let ct = get(&headers, "content-type").ok_or(MimeError::MissingHeader {
            index,
            header: "Content-Type",
        })?;
        let (content_type, ps) = params(ct);
        if let Some((_, cs)) = ps.iter().find(|(k, _)| k == "charset")
            && !cs.eq_ignore_ascii_case("utf-8")
        {
            return Err(MimeError::Charset {
                index,
                charset: cs.clone(),
            });
        }
        let cid = get(&headers, "content-id").ok_or(MimeError::MissingHeader {
            index,
            header: "Content-ID",
        })?;
        let cid = cid
            .strip_prefix('<')
            .and_then(|c| c.strip_suffix('>'))
            .unwrap_or(cid)
            .to_string();
        if parts.iter().any(|p| p.content_id == cid) {
            return Err(MimeError::DuplicateContentId(cid));
        }
        let transfer_encoding = get(&headers, "content-transfer-encoding").map(str::to_string);
        parts.push(Part {
            headers,
            content_type,
            content_id: cid,
            transfer_encoding,
            body: start..end,
        });
        pos = end + delim.len();
        if pos >= body.len() {
            return Err(MimeError::NoCloseDelimiter(boundary));
        }
    }
    Ok(Multipart {
        boundary,
        content_type,
        parts,
    })
}

/// How a part's body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `Content-Transfer-Encoding: 8bit` (the SOAP part).
    EightBit,
    /// `application/octet-stream`, `binary`.
    Binary,
}

/// Writes an OSCI MIME entity into a buffer.
pub struct Writer {
    pub out: Vec<u8>,
    boundary: String,
}

impl Writer {
    /// Start an entity: the top-level headers as the library writes them.
    pub fn new(boundary: &str, capacity: usize) -> Writer {
        let mut out = Vec::with_capacity(capacity + 512);
        out.extend_from_slice(
            format!(
                "MIME-Version: 1.0\r\nContent-Type: Multipart/Related; boundary={boundary}; type=text/xml\r\n\r\n"
            )
            .as_bytes(),
        );
        Writer {
            out,
            boundary: boundary.to_string(),
        }
    }

    /// Start a part (headers written); append its body to `self.out` next.
    pub fn part(&mut self, content_type: &str, encoding: Encoding, content_id: &str) {
        let te = match encoding {
            Encoding::EightBit => "8bit",
            Encoding::Binary => "binary",
        };
        self.out.extend_from_slice(
            format!(
                "--{}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: {te}\r\nContent-ID: <{content_id}>\r\n\r\n",
                self.boundary
            )
            .as_bytes(),
        );
    }

    /// A part with its raw headers (as stored) and body.
    pub fn raw_part(&mut self, headers: &[(String, String)], body: &[u8]) {
        self.out
            .extend_from_slice(format!("--{}\r\n", self.boundary).as_bytes());
        for (n, v) in headers {
            self.out
                .extend_from_slice(format!("{}: {v}\r\n", canonical_name(n)).as_bytes());
        }
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(body);
        self.end_part();
    }

    /// End the current part's body.
    pub fn end_part(&mut self) {
        self.out.extend_from_slice(b"\r\n");
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        self.out
    }
}

/// `content-id` → `Content-ID` etc., for writing stored headers back.
fn canonical_name(n: &str) -> String {
    match n {
        "content-id" => "Content-ID".into(),
        "content-type" => "Content-Type".into(),
        "content-transfer-encoding" => "Content-Transfer-Encoding".into(),
        "content-length" => "Content-Length".into(),
        other => other
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                    None => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = Writer::new("MIME_boundary_x", 0);
        w.part(
            "text/xml; charset=UTF-8",
            Encoding::EightBit,
            "osci@message",
        );
        w.out.extend_from_slice(b"<a/>");
        w.end_part();
        w.part("application/octet-stream", Encoding::Binary, "osci_enc");
        w.out.extend_from_slice(b"\x00\r\n--MIME_boundar\xff");
        w.end_part();
        w.finish()
    }

    #[test]
    fn round_trip() {
        let b = sample();
        let m = parse(&b, Limits::default()).unwrap();
        assert_eq!(m.boundary, "MIME_boundary_x");
        assert_eq!(m.parts.len(), 2);
        assert_eq!(&b[m.parts[0].body.clone()], b"<a/>");
        assert_eq!(m.parts[0].content_id, "osci@message");
        assert_eq!(&b[m.parts[1].body.clone()], b"\x00\r\n--MIME_boundar\xff");
        assert!(!m.parts[1].is_base64());
    }

    #[test]
    fn broken_entities_are_refused() {
        let b = sample();
        let wrong =
            String::from_utf8_lossy(&b).replace("boundary=MIME_boundary_x", "boundary=other");
        assert!(matches!(
            parse(wrong.as_bytes(), Limits::default()),
            Err(MimeError::NoFirstBoundary(_))
        ));
        let cut = &b[..b.len() - 25];
        assert!(parse(cut, Limits::default()).is_err());
        let no_cid = String::from_utf8_lossy(&b).replacen("Content-ID: <osci@message>\r\n", "", 1);
        assert_eq!(
            parse(no_cid.as_bytes(), Limits::default()).unwrap_err(),
            MimeError::MissingHeader {
                index: 1,
                header: "Content-ID"
            }
        );
        let latin = String::from_utf8_lossy(&b).replacen("UTF-8", "ISO-8859-1", 1);
        assert!(matches!(
            parse(latin.as_bytes(), Limits::default()),
            Err(MimeError::Charset { .. })
        ));
        assert!(parse(b"", Limits::default()).is_err());
        assert!(parse(b"\r\n\r\n", Limits::default()).is_err());
    }

    #[test]
    fn params_are_split_like_the_library() {
        let (m, p) = params("Multipart/Related; boundary=\"b1\"; type=text/xml");
        assert_eq!(m, "Multipart/Related");
        assert_eq!(p[0], ("boundary".into(), "b1".into()));
    }
}
