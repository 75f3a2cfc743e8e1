//! A streaming `multipart/related` reader (RFC 2046 §5.1, RFC 2387) for MTOM requests: parts are read
//! through a fixed window, so a 40 MB attachment passes in chunks and is never held whole. Strict where it
//! matters: CRLF line ends, a closing delimiter, bounded part headers, and a part's `Content-Length` (when
//! a client sends one) checked against its real length.

use std::io::{self, BufRead, Read};

const WINDOW: usize = 64 * 1024;
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// What is wrong with the multipart structure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MimeError {
    pub rule: &'static str,
    pub message: String,
}

fn mime_err(rule: &'static str, message: impl Into<String>) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        MimeError {
            rule,
            message: message.into(),
        },
    )
}

/// The MIME error inside an I/O error, if that is what it is.
pub fn as_mime_error(e: &io::Error) -> Option<&MimeError> {
    e.get_ref().and_then(|i| i.downcast_ref::<MimeError>())
}

/// Headers of one part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartHeaders {
    /// `Content-ID` without angle brackets.
    pub content_id: Option<String>,
    pub content_type: Option<String>,
    pub transfer_encoding: Option<String>,
    pub content_length: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Start,
    InPart,
    /// The current part's delimiter has been found; headers of the next part follow.
    AtDelimiter,
    Done,
}

pub struct Multipart<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    delim: Vec<u8>,
    finder: memchr::memmem::Finder<'static>,
    state: State,
    part_len: u64,
    part_declared: Option<u64>,
    parts: usize,
}

impl<R: Read> Multipart<R> {
    pub fn new(inner: R, boundary: &str) -> Multipart<R> {
        let mut delim = b"\r\n--".to_vec();
        delim.extend_from_slice(boundary.as_bytes());
        let finder = memchr::memmem::Finder::new(&delim).into_owned();
        // A virtual CRLF in front lets the first delimiter start the body without one.
        let mut buf = vec![0u8; WINDOW + delim.len() + 2];
        buf[0] = b'\r';
        buf[1] = b'\n';
        Multipart {
            inner,
            buf,
            pos: 0,
            end: 2,
            eof: false,
            delim,
            finder,
            state: State::Start,
            part_len: 0,
            part_declared: None,
            parts: 0,
        }
    }

    /// Parts seen so far.
    pub fn parts(&self) -> usize {
        self.parts
    }

    /// Read more input into the window (compacting first); false at end of input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            return Ok(true);
        }
        let n = self.inner.read(&mut self.buf[self.end..])?;
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        self.end += n;
        Ok(true)
    }

    /// Make at least `n` bytes available (fewer only at end of input).
    fn want(&mut self, n: usize) -> io::Result<()> {
        while self.end - self.pos < n {
            if !self.fill()? {
                break;
            }
        }
        Ok(())
    }

    /// The next part's headers; `None` after the closing delimiter. Unread content of the current part
    /// is skipped.
    pub fn next_part(&mut self) -> io::Result<Option<PartHeaders>> {
        match self.state {
            State::Done => return Ok(None),
            State::InPart => {
                io::copy(&mut self.part(), &mut io::sink())?;
            }
            State::Start => {
                // Skip the preamble up to the first delimiter.
                loop {
                    self.want(self.delim.len())?;
                    if let Some(i) = self.finder.find(&self.buf[self.pos..self.end]) {
                        self.pos += i + self.delim.len();
                        break;
                    }
                    if self.eof {
                        return Err(mime_err(
                            "mime.boundary",
                            "the multipart body contains no delimiter for its boundary",
                        ));
                    }
                    self.pos = self.end.saturating_sub(self.delim.len() - 1).max(self.pos);
                }
                self.state = State::AtDelimiter;
            }
            State::AtDelimiter => {}
        }
        // After a delimiter: `--` closes, otherwise optional padding and CRLF, then headers.
        self.want(2)?;
        if self.buf[self.pos..self.end].starts_with(b"--") {
            self.state = State::Done;
            return Ok(None);
        }
        loop {
            self.want(1)?;
            match self.buf.get(self.pos).filter(|_| self.pos < self.end) {
                Some(b' ') | Some(b'\t') => self.pos += 1,
                _ => break,
            }
        }
        self.want(2)?;
        if !self.buf[self.pos..self.end].starts_with(b"\r\n") {
            return Err(mime_err(
                "mime.boundary",
                "a boundary delimiter is not followed by CRLF (broken multipart structure)",
            ));
        }
        self.pos += 2;
        let headers = self.read_headers()?;
        self.state = State::InPart;
        self.part_len = 0;
        self.part_declared = headers.content_length;
        self.parts += 1;
        Ok(Some(headers))
    }

    fn read_headers(&mut self) -> io::Result<PartHeaders> {
        let mut raw = Vec::new();
        loop {
            self.want(4)?;
            let avail = &self.buf[self.pos..self.end];
            if let Some(i) = memchr::memmem::find(avail, b"\r\n\r\n") {
                raw.extend_from_slice(&avail[..i]);
                self.pos += i + 4;
                break;
            }
            if raw.is_empty() && avail.starts_with(b"\r\n") {
                // No headers at all.
                self.pos += 2;
                break;
            }
            if self.eof {
                return Err(mime_err(
                    "mime.headers",
                    "the input ends inside a part's headers",
                ));
            }
            let take = avail.len().saturating_sub(3);
            raw.extend_from_slice(&avail[..take]);
            self.pos += take;
            if raw.len() > MAX_HEADER_BYTES {
                return Err(mime_err(
                    "mime.headers",
                    format!("a part's headers exceed {MAX_HEADER_BYTES} bytes"),
                ));
            }
        }
        if raw.len() > MAX_HEADER_BYTES {
            return Err(mime_err(
                "mime.headers",
                format!("a part's headers exceed {MAX_HEADER_BYTES} bytes"),
            ));
        }
        let text = String::from_utf8_lossy(&raw);
        let mut h = PartHeaders::default();
        let mut lines: Vec<String> = Vec::new();
        for line in text.split("\r\n") {
            if line.starts_with([' ', '\t'])
                && let Some(last) = lines.last_mut()
            {
                last.push(' ');
                last.push_str(line.trim());
                continue;
            }
            lines.push(line.to_string());
        }
        for line in lines.iter().filter(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once(':') else {
                return Err(mime_err(
                    "mime.headers",
                    format!("malformed part header line `{line}`"),
                ));
            };
            let value = value.trim().to_string();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-id" => h.content_id = Some(super::strip_angle(&value)),
                "content-type" => h.content_type = Some(value),
                "content-transfer-encoding" => {
                    h.transfer_encoding = Some(value.to_ascii_lowercase());
                }
                "content-length" => {
                    h.content_length = Some(value.parse().map_err(|_| {
                        mime_err(
                            "mime.length",
                            format!("part Content-Length `{value}` is not a number"),
                        )
                    })?);
                }
                _ => {}
            }
        }
        Ok(h)
    }

    /// The current part's content (empty at its end).
    pub fn part(&mut self) -> PartReader<'_, R> {
        PartReader { mp: self }
    }
}

/// Reads one part's content up to its delimiter.
pub struct PartReader<'a, R> {
    mp: &'a mut Multipart<R>,
}

impl<R: Read> PartReader<'_, R> {
    fn available(&mut self) -> io::Result<usize> {
        let mp = &mut *self.mp;
        if mp.state != State::InPart {
            return Ok(0);
        }
        let dl = mp.delim.len();
        loop {
            let window = &mp.buf[mp.pos..mp.end];
            if let Some(i) = mp.finder.find(window) {
                if i == 0 {
                    mp.pos += dl;
                    mp.state = State::AtDelimiter;
                    if let Some(d) = mp.part_declared
                        && d != mp.part_len
                    {
                        return Err(mime_err(
                            "mime.length",
                            format!(
                                "a part announced Content-Length {d} but holds {} bytes",
                                mp.part_len
                            ),
                        ));
                    }
                }
                return Ok(i);
            }
            // Everything except a possible partial delimiter at the end is content.
            let safe = window.len().saturating_sub(dl - 1);
            if mp.eof {
                if safe > 0 {
                    return Ok(safe);
                }
                return Err(mime_err(
                    "mime.boundary",
                    "the multipart body ends without its closing boundary delimiter",
                ));
            }
            if safe > 0 && window.len() >= WINDOW / 2 {
                return Ok(safe);
            }
            mp.fill()?;
        }
    }
}

impl<R: Read> Read for PartReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for PartReader<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let n = self.available()?;
        let mp = &*self.mp;
        if mp.state != State::InPart {
            return Ok(&[]);
        }
        Ok(&mp.buf[mp.pos..mp.pos + n])
    }
    fn consume(&mut self, amt: usize) {
        self.mp.pos += amt;
        self.mp.part_len += amt as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[(&str, &[u8])], boundary: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for (h, c) in parts {
            b.extend_from_slice(format!("--{boundary}\r\n{h}\r\n\r\n").as_bytes());
            b.extend_from_slice(c);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        b
    }

    /// A reader that returns at most `n` bytes per call, to cross every window edge.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn read_all(
        data: &[u8],
        boundary: &str,
        step: usize,
    ) -> io::Result<Vec<(PartHeaders, Vec<u8>)>> {
        let mut mp = Multipart::new(Trickle(data, step), boundary);
        let mut out = Vec::new();
        while let Some(h) = mp.next_part()? {
            let mut c = Vec::new();
            mp.part().read_to_end(&mut c)?;
            out.push((h, c));
        }
        Ok(out)
    }

    #[test]
    fn parts_survive_any_chunking() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let data = body(
            &[
                (
                    "Content-Type: application/xop+xml; type=\"application/soap+xml\"\r\nContent-ID: <root@x>",
                    b"<Envelope/>",
                ),
                (
                    "Content-ID: <a1@x>\r\nContent-Transfer-Encoding: binary",
                    &big,
                ),
                ("Content-ID: <a2@x>", b"--b not a boundary\r\n-b"),
            ],
            "b",
        );
        for step in [1, 7, 4096, 1 << 20] {
            let parts = read_all(&data, "b", step).unwrap();
            assert_eq!(parts.len(), 3, "step {step}");
            assert_eq!(parts[0].0.content_id.as_deref(), Some("root@x"));
            assert_eq!(parts[0].1, b"<Envelope/>");
            assert_eq!(parts[1].1, big);
            assert_eq!(parts[1].0.transfer_encoding.as_deref(), Some("binary"));
            assert_eq!(parts[2].1, b"--b not a boundary\r\n-b");
        }
    }

    #[test]
    fn broken_structures_are_errors() {
        let mut truncated = body(&[("Content-ID: <a>", b"abc")], "b");
        truncated.truncate(truncated.len() - 8);
        let e = read_all(&truncated, "b", 3).unwrap_err();
        assert_eq!(as_mime_error(&e).unwrap().rule, "mime.boundary");
        let e = read_all(b"no boundary here", "b", 5).unwrap_err();
        assert_eq!(as_mime_error(&e).unwrap().rule, "mime.boundary");
        let e = read_all(&body(&[("Content-Length: 5", b"abc")], "b"), "b", 2).unwrap_err();
        assert_eq!(as_mime_error(&e).unwrap().rule, "mime.length");
        assert_eq!(
            read_all(&body(&[("Content-Length: 3", b"abc")], "b"), "b", 2)
                .unwrap()
                .len(),
            1
        );
        let e = read_all(b"--b\r\nContent-ID", "b", 4).unwrap_err();
        assert_eq!(as_mime_error(&e).unwrap().rule, "mime.headers");
        let e = read_all(b"--bX\r\n\r\nabc\r\n--b--", "b", 4).unwrap_err();
        assert_eq!(as_mime_error(&e).unwrap().rule, "mime.boundary");
    }
}
