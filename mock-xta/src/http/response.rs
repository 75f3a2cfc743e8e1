//! Writing answers: SOAP 1.2 envelopes with WS-Addressing headers, inline (`application/soap+xml`) or as
//! MTOM (`multipart/related; type="application/xop+xml"`, CXF's layout) when the request came as MTOM.
//! Stored content is streamed from its blob files — base64-encoded on the fly for inline answers, as raw
//! parts for MTOM — so fetching a 40 MB message holds a few chunks in memory, not the message.

use crate::ops::{Answer, BodyOut, ContentOut, Source};
use crate::soap::{ENVELOPE_TAIL, envelope_head, uuid};
use crate::xml::W;
use crate::{XtaState, ns};
use axum::body::Body;
use base64::Engine;
use bytes::Bytes;
use std::io::Read;

/// One piece of a response body.
pub enum Seg {
    Bytes(Bytes),
    Blob { id: String, len: u64, base64: bool },
}

impl Seg {
    fn len(&self) -> u64 {
        match self {
            Seg::Bytes(b) => b.len() as u64,
            Seg::Blob {
                len, base64: false, ..
            } => *len,
            Seg::Blob {
                len, base64: true, ..
            } => len.div_ceil(3) * 4,
        }
    }
}

/// A response body ready to stream.
pub struct Out {
    pub content_type: String,
    pub segs: Vec<Seg>,
}

impl Out {
    pub fn len(&self) -> u64 {
        self.segs.iter().map(Seg::len).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn soap_type(action: &str) -> String {
    format!("application/soap+xml; charset=utf-8; action=\"{action}\"")
}

fn content_element_open(tag: &str, c: &ContentOut) -> String {
    let mut attrs = c.attrs.clone();
    let n = c.src.len();
    attrs.size = (n > 0).then_some(n);
    let list = attrs.xml_attrs();
    let refs: Vec<(&str, &str)> = list.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut w = W::new();
    w.open(tag, &refs);
    w.buf
}

/// Render an answer.
pub fn render(action: &str, relates_to: Option<&str>, a: &Answer, mtom: bool) -> Out {
    let mut xml = envelope_head(action, relates_to, &a.headers);
    let mut segs: Vec<Seg> = Vec::new();
    // MTOM parts after the root: (cid, source)
    let mut parts: Vec<(String, Source)> = Vec::new();
    match &a.body {
        BodyOut::Empty => {}
        BodyOut::Xml(s) => xml.push_str(s),
        BodyOut::Encrypted(x) => {
            xml.push_str(&format!(
                "<xta:GenericContentContainer xmlns:xta=\"{}\">{x}</xta:GenericContentContainer>",
                ns::XTA
            ));
        }
        BodyOut::Container {
            message,
            attachments,
        } => {
            xml.push_str(&format!(
                "<xta:GenericContentContainer xmlns:xta=\"{}\"><xta:ContentContainer>",
                ns::XTA
            ));
            let all = std::iter::once(("xta:Message", message))
                .chain(attachments.iter().map(|c| ("xta:Attachment", c)));
            for (i, (tag, c)) in all.enumerate() {
                xml.push_str(&content_element_open(tag, c));
                if mtom {
                    let cid = format!("{i}-{}@konform.xta", uuid());
                    xml.push_str(&format!(
                        "<xop:Include xmlns:xop=\"{}\" href=\"cid:{}\"/>",
                        ns::XOP,
                        cid.replace('@', "%40")
                    ));
                    parts.push((cid, c.src.clone()));
                } else {
                    match &c.src {
                        Source::Bytes(b) => {
                            xml.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
                        }
                        Source::Blob { id, len } => {
                            segs.push(Seg::Bytes(Bytes::from(std::mem::take(&mut xml))));
                            segs.push(Seg::Blob {
                                id: id.clone(),
                                len: *len,
                                base64: true,
                            });
                        }
                    }
                }
                xml.push_str(&format!("</{tag}>"));
            }
            xml.push_str("</xta:ContentContainer></xta:GenericContentContainer>");
        }
    }
    xml.push_str(ENVELOPE_TAIL);
    if !mtom {
        segs.push(Seg::Bytes(Bytes::from(xml)));
        return Out {
            content_type: soap_type(action),
            segs,
        };
    }
    let boundary = format!("uuid:{}", uuid());
    let start = format!("root.message@konform.xta.{}", &uuid()[..8]);
    let mut head = format!(
        "--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"; action=\"{action}\"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{start}>\r\n\r\n"
    );
    head.push_str(&xml);
    segs.push(Seg::Bytes(Bytes::from(head)));
    for (cid, src) in parts {
        segs.push(Seg::Bytes(Bytes::from(format!(
            "\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{cid}>\r\n\r\n"
        ))));
        match src {
            Source::Bytes(b) => segs.push(Seg::Bytes(Bytes::from(b))),
            Source::Blob { id, len } => segs.push(Seg::Blob {
                id,
                len,
                base64: false,
            }),
        }
    }
    segs.push(Seg::Bytes(Bytes::from(format!("\r\n--{boundary}--\r\n"))));
    Out {
        content_type: format!(
            "multipart/related; type=\"application/xop+xml\"; boundary=\"{boundary}\"; start=\"<{start}>\"; start-info=\"application/soap+xml\"; action=\"{action}\""
        ),
        segs,
    }
}

const CHUNK: usize = 48 * 1024;

/// Fill `buf` as far as the reader allows (a short read only at the end).
fn fill(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn produce(
    st: &XtaState,
    segs: Vec<Seg>,
    tx: &tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
) -> std::io::Result<()> {
    for s in segs {
        match s {
            Seg::Bytes(b) => {
                if tx.blocking_send(Ok(b)).is_err() {
                    return Ok(());
                }
            }
            Seg::Blob { id, base64, .. } => {
                let mut f = st
                    .store()
                    .open_blob(&id)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                let mut buf = vec![0u8; CHUNK * 4];
                loop {
                    let n = fill(&mut f, &mut buf)?;
                    if n == 0 {
                        break;
                    }
                    let chunk = if base64 {
                        Bytes::from(base64::engine::general_purpose::STANDARD.encode(&buf[..n]))
                    } else {
                        Bytes::copy_from_slice(&buf[..n])
                    };
                    if tx.blocking_send(Ok(chunk)).is_err() {
                        return Ok(());
                    }
                    if n < buf.len() {
                        break;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The body: small answers at once, stored content streamed by a blocking task through a bounded channel.
pub fn body(st: &XtaState, out: Out) -> Body {
    if out.segs.iter().all(|s| matches!(s, Seg::Bytes(_))) {
        let mut v = Vec::with_capacity(out.len() as usize);
        for s in out.segs {
            if let Seg::Bytes(b) = s {
                v.extend_from_slice(&b);
            }
        }
        return Body::from(v);
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    let st = st.clone();
    let segs = out.segs;
    tokio::task::spawn_blocking(move || {
        if let Err(e) = produce(&st, segs, &tx) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Body::from_stream(stream)
}
