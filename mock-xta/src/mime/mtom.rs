//! Reading an MTOM/XOP request (W3C SOAP MTOM, XOP): the root part (`start`, else the first part) is the
//! SOAP envelope as `application/xop+xml`, parsed as it streams; every other part goes to the content sink
//! under its Content-ID, so binary attachments pass through in chunks. Apache CXF (action as a separate
//! parameter, the Message itself also as a part) and Metro (action inside `start-info`) both arrive here.

use super::multipart::{MimeError, Multipart, as_mime_error};
use super::{ContentType, Mtom};
use crate::xml::reader::{B64, ContentSink, Limits, ParseError, XmlError};
use crate::xml::{self, Element};
use std::collections::HashMap;
use std::io::{BufRead, Read};

/// What an MTOM request consisted of.
#[derive(Debug)]
pub struct MtomRequest {
    pub root: Element,
    /// Content-ID → sink slot of every non-root part.
    pub parts: HashMap<String, usize>,
    /// The root part's Content-Type.
    pub root_type: String,
}

fn mime<E>(rule: &'static str, message: impl Into<String>) -> ParseError<E> {
    ParseError::Xml(XmlError::new(rule, message))
}

/// Check the root part's type: `application/xop+xml` with `type="application/soap+xml"`.
fn check_root_type<E>(ct: Option<&str>) -> Result<(), ParseError<E>> {
    let Some(raw) = ct else {
        return Err(mime(
            "mtom.root-type",
            "the MTOM root part has no Content-Type (application/xop+xml expected)",
        ));
    };
    let Some(t) = ContentType::parse(raw) else {
        return Err(mime(
            "mtom.root-type",
            format!("unreadable root part Content-Type `{raw}`"),
        ));
    };
    if t.mime != "application/xop+xml" {
        return Err(mime(
            "mtom.root-type",
            format!(
                "the MTOM root part is `{}`; XOP requires application/xop+xml",
                t.mime
            ),
        ));
    }
    let inner = t.param("type").and_then(ContentType::parse).map(|c| c.mime);
    match inner.as_deref() {
        Some("application/soap+xml") | None => Ok(()),
        Some("text/xml") => Err(mime(
            "mtom.root-type",
            "the MTOM root part carries text/xml (SOAP 1.1); XTA-WS 2.1.1 binds SOAP 1.2 (type=\"application/soap+xml\")",
        )),
        Some(other) => Err(mime(
            "mtom.root-type",
            format!("the MTOM root part's type is `{other}`, not application/soap+xml"),
        )),
    }
}

/// Turn an I/O error from the multipart layer into the parse error it stands for.
pub fn lift<E>(e: std::io::Error) -> ParseError<E> {
    match as_mime_error(&e) {
        Some(MimeError { rule, message }) => ParseError::Xml(XmlError::new(rule, message.clone())),
        None => ParseError::Io(e),
    }
}

fn lift_xml<E>(e: ParseError<E>) -> ParseError<E> {
    match e {
        ParseError::Io(io) => lift(io),
        other => other,
    }
}

/// Read a whole MTOM request.
pub fn read<R: Read, S: ContentSink>(
    input: R,
    m: &Mtom,
    limits: Limits,
    sink: &mut S,
) -> Result<MtomRequest, ParseError<S::Error>> {
    let mut mp = Multipart::new(input, &m.boundary);
    let mut root: Option<(Element, String)> = None;
    let mut parts = HashMap::new();
    while let Some(h) = mp.next_part().map_err(lift)? {
        let is_root = root.is_none()
            && match &m.start {
                Some(s) => h.content_id.as_deref() == Some(s.as_str()),
                None => true,
            };
        if is_root {
            check_root_type(h.content_type.as_deref())?;
            let mut part = mp.part();
            let el = xml::reader::parse(&mut part, limits, sink).map_err(lift_xml)?;
            // Whatever follows the document in the root part must be whitespace.
            let mut rest = Vec::new();
            part.take(4096).read_to_end(&mut rest).map_err(lift)?;
            if rest.iter().any(|b| !b.is_ascii_whitespace()) {
                return Err(mime(
                    "xml.well-formed",
                    "content after the envelope in the MTOM root part",
                ));
            }
            root = Some((el, h.content_type.unwrap_or_default()));
            continue;
        }
        let Some(cid) = h.content_id.clone() else {
            return Err(mime(
                "mtom.content-id",
                format!(
                    "MTOM part {} has no Content-ID, so no xop:Include can refer to it",
                    mp.parts()
                ),
            ));
        };
        if parts.contains_key(&cid) {
            return Err(mime(
                "mtom.content-id",
                format!("two MTOM parts with Content-ID <{cid}>"),
            ));
        }
        let slot = sink.create().map_err(ParseError::Sink)?;
        let base64 = match h.transfer_encoding.as_deref() {
            None | Some("binary") | Some("8bit") | Some("7bit") => false,
            Some("base64") => true,
            Some(other) => {
                return Err(mime(
                    "mtom.transfer-encoding",
                    format!(
                        "part <{cid}>: Content-Transfer-Encoding `{other}` is not supported (binary expected)"
                    ),
                ));
            }
        };
        copy_part(&mut mp.part(), slot, base64, sink)?;
        sink.close(slot).map_err(ParseError::Sink)?;
        parts.insert(cid, slot);
    }
    let Some((root, root_type)) = root else {
        return Err(mime(
            "mtom.start",
            match &m.start {
                Some(s) => format!("no MTOM part has the start Content-ID <{s}>"),
                None => "the MTOM request has no parts".to_string(),
            },
        ));
    };
    Ok(MtomRequest {
        root,
        parts,
        root_type,
    })
}

fn copy_part<R: BufRead, S: ContentSink>(
    part: &mut R,
    slot: usize,
    base64: bool,
    sink: &mut S,
) -> Result<(), ParseError<S::Error>> {
    let mut dec = B64::default();
    loop {
        let buf = part.fill_buf().map_err(lift)?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        if base64 {
            dec.feed(buf, |d| sink.write(slot, d))
                .map_err(|e| match e {
                    Ok(s) => ParseError::Sink(s),
                    Err(m) => mime("mtom.base64", m),
                })?;
        } else {
            sink.write(slot, buf).map_err(ParseError::Sink)?;
        }
        part.consume(n);
    }
    if base64 {
        dec.finish(|d| sink.write(slot, d)).map_err(|e| match e {
            Ok(s) => ParseError::Sink(s),
            Err(m) => mime("mtom.base64", m),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::ContentRef;
    use crate::xml::reader::MemorySink;

    const ENV: &str = r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><x:GenericContentContainer xmlns:x="http://xoev.de/transport/xta/211"><x:ContentContainer><x:Message contentType="text/xml"><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:m%40x"/></x:Message><x:Attachment contentType="application/pdf" filename="a.pdf">QUJD</x:Attachment></x:ContentContainer></x:GenericContentContainer></e:Body></e:Envelope>"#;

    fn request(root_first: bool) -> Vec<u8> {
        let root = format!(
            "--b\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\nContent-ID: <root@x>\r\n\r\n{ENV}\r\n"
        );
        let part = "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <m@x>\r\n\r\n<Antrag/>\r\n";
        let mut s = if root_first {
            root.clone() + part
        } else {
            part.to_string() + &root
        };
        s.push_str("--b--\r\n");
        s.into_bytes()
    }

    #[test]
    fn root_and_parts_in_any_order() {
        for first in [true, false] {
            let m = Mtom {
                boundary: "b".into(),
                start: Some("root@x".into()),
                start_info: None,
                action: None,
            };
            let mut sink = MemorySink::default();
            let r = read(&request(first)[..], &m, Limits::default(), &mut sink).unwrap();
            let cc = &r.root.children[0].children[0].children[0];
            assert_eq!(
                cc.children[0].content,
                Some(ContentRef::Xop { cid: "m@x".into() })
            );
            let Some(ContentRef::Inline { slot }) = cc.children[1].content else {
                panic!()
            };
            assert_eq!(sink.slots[slot], b"ABC");
            assert_eq!(sink.slots[r.parts["m@x"]], b"<Antrag/>");
        }
    }

    #[test]
    fn broken_requests() {
        let m = Mtom {
            boundary: "b".into(),
            start: Some("nope".into()),
            start_info: None,
            action: None,
        };
        let e = read(
            &request(true)[..],
            &m,
            Limits::default(),
            &mut MemorySink::default(),
        )
        .unwrap_err();
        assert!(matches!(e, ParseError::Xml(x) if x.rule == "mtom.start"));
        let m = Mtom {
            boundary: "b".into(),
            start: None,
            start_info: None,
            action: None,
        };
        let soap11 = String::from_utf8(request(true))
            .unwrap()
            .replace("application/soap+xml", "text/xml");
        let e = read(
            soap11.as_bytes(),
            &m,
            Limits::default(),
            &mut MemorySink::default(),
        )
        .unwrap_err();
        assert!(matches!(e, ParseError::Xml(x) if x.rule == "mtom.root-type"));
        let mut cut = request(true);
        cut.truncate(cut.len() - 20);
        let e = read(&cut[..], &m, Limits::default(), &mut MemorySink::default()).unwrap_err();
        assert!(
            matches!(&e, ParseError::Xml(x) if x.rule.starts_with("mime.")),
            "{e:?}"
        );
    }
}
