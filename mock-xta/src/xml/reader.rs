//! The streaming envelope reader: quick-xml's namespace-aware pull parser over any `BufRead`, building an
//! [`Element`] tree for everything except the base64 content of `GenericContentContainer/ContentContainer/
//! Message|Attachment`, which is decoded as it arrives and written to a [`ContentSink`] — a 40 MB inline
//! message never sits in memory. With none of the features an attacker wants:
//!
//! - a `<!DOCTYPE …>` (and with it any entity declaration) is rejected, never expanded;
//! - only the five predefined entities and character references are resolved;
//! - nesting depth, element count, text per node and the whole tree are limited;
//! - processing instructions are rejected (SOAP 1.2 Part 1 §5 forbids them in an envelope);
//! - the input must be UTF-8.

use super::{Attr, ContentRef, Element};
use crate::ns;
use base64::Engine;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use std::io::BufRead;

/// Limits applied while parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_depth: usize,
    pub max_elements: usize,
    /// Character data of one ordinary (not streamed) element.
    pub max_text_bytes: usize,
    /// Names, attributes and text of the whole tree (streamed content not counted).
    pub max_tree_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_elements: 100_000,
            max_text_bytes: 1 << 20,
            max_tree_bytes: 16 << 20,
        }
    }
}

/// Why a document was not accepted, with the XPath of the offending element when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmlError {
    pub reason: String,
    pub location: Option<String>,
    pub rule: &'static str,
}

impl XmlError {
    pub fn new(rule: &'static str, reason: impl Into<String>) -> XmlError {
        XmlError {
            reason: reason.into(),
            location: None,
            rule,
        }
    }
    pub fn at(mut self, loc: impl Into<String>) -> XmlError {
        self.location = Some(loc.into());
        self
    }
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Where streamed content goes. Slots are numbered by the sink. `before_body` runs once the SOAP Header
/// is complete and the Body starts: the server authenticates and sets limits there, before the content.
pub trait ContentSink {
    type Error;
    fn create(&mut self) -> Result<usize, Self::Error>;
    fn write(&mut self, slot: usize, data: &[u8]) -> Result<(), Self::Error>;
    fn close(&mut self, slot: usize) -> Result<(), Self::Error>;
    /// The slot turned out to hold an `xop:Include`, not inline data.
    fn discard(&mut self, slot: usize);
    fn before_body(&mut self, _root: &Element) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Errors of a sink without its own error type.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("content exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError<E> {
    #[error("{0}")]
    Xml(XmlError),
    /// Reading the input failed (truncated body, timeout, body limit: the transport's error).
    #[error("reading the request failed: {0}")]
    Io(std::io::Error),
    #[error("content sink refused the content")]
    Sink(E),
}

impl<E> From<XmlError> for ParseError<E> {
    fn from(e: XmlError) -> Self {
        ParseError::Xml(e)
    }
}

/// Content kept in memory: for tests, the fuzz targets and small documents.
#[derive(Debug, Default)]
pub struct MemorySink {
    pub slots: Vec<Vec<u8>>,
}

impl ContentSink for MemorySink {
    type Error = SinkError;
    fn create(&mut self) -> Result<usize, SinkError> {
        self.slots.push(Vec::new());
        Ok(self.slots.len() - 1)
    }
    fn write(&mut self, slot: usize, data: &[u8]) -> Result<(), SinkError> {
        if let Some(s) = self.slots.get_mut(slot) {
            s.extend_from_slice(data);
        }
        Ok(())
    }
    fn close(&mut self, _slot: usize) -> Result<(), SinkError> {
        Ok(())
    }
    fn discard(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.clear();
        }
    }
}

/// Parse a small complete document (content elements end up in a throw-away memory sink).
pub fn parse_document(input: &[u8], limits: Limits) -> Result<Element, XmlError> {
    let mut sink = MemorySink::default();
    match parse(input, limits, &mut sink) {
        Ok(e) => Ok(e),
        Err(ParseError::Xml(e)) => Err(e),
        Err(ParseError::Io(e)) => Err(XmlError::new("xml.io", e.to_string())),
        Err(ParseError::Sink(e)) => Err(XmlError::new("xml.io", e.to_string())),
    }
}

pub(crate) fn path_of(stack: &[Element], extra: Option<&str>) -> String {
    let mut s = String::new();
    for e in stack {
        s.push('/');
        s.push_str(&e.qname);
    }
    if let Some(x) = extra {
        s.push('/');
        s.push_str(x);
    }
    if s.is_empty() { "/".into() } else { s }
}

/// A streamed content element: children of `GenericContentContainer/ContentContainer` inside the Body.
fn is_content_element(stack: &[Element], el: &Element) -> bool {
    let n = stack.len();
    n == 4
        && (el.is(ns::XTA, "Message") || el.is(ns::XTA, "Attachment"))
        && stack[n - 1].is(ns::XTA, "ContentContainer")
        && stack[n - 2].is(ns::XTA, "GenericContentContainer")
        && stack[n - 3].local == "Body"
}

fn start_element<R>(
    reader: &NsReader<R>,
    e: &BytesStart<'_>,
    stack: &[Element],
) -> Result<Element, XmlError> {
    let qname = e.name().as_ref().to_string();
    let (res, local) = reader.resolver().resolve_element(e.name());
    let ns = match res {
        ResolveResult::Bound(ns) => Some(ns.as_ref().to_string()),
        ResolveResult::Unbound => None,
        ResolveResult::Unknown(p) => {
            return Err(XmlError::new(
                "xml.namespace",
                format!("The prefix \"{p}\" for element \"{qname}\" is not bound."),
            )
            .at(path_of(stack, Some(&qname))));
        }
    };
    let mut attrs = Vec::new();
    let mut ns_decls = Vec::new();
    for a in e.attributes().with_checks(true) {
        let a = a.map_err(|err| {
            XmlError::new(
                "xml.well-formed",
                format!("Malformed attribute in element \"{qname}\": {err}"),
            )
            .at(path_of(stack, Some(&qname)))
        })?;
        let key = a.key.as_ref().to_string();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| {
                XmlError::new(
                    "xml.entity",
                    format!("Invalid value of attribute \"{key}\" in element \"{qname}\": {err}"),
                )
                .at(path_of(stack, Some(&qname)))
            })?
            .into_owned();
        if key == "xmlns" {
            ns_decls.push((None, value));
            continue;
        }
        if let Some(p) = key.strip_prefix("xmlns:") {
            ns_decls.push((Some(p.to_string()), value));
            continue;
        }
        let (res, alocal) = reader.resolver().resolve_attribute(a.key);
        let ans = match res {
            ResolveResult::Bound(ns) => Some(ns.as_ref().to_string()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(p) => {
                return Err(XmlError::new(
                    "xml.namespace",
                    format!(
                        "The prefix \"{p}\" for attribute \"{key}\" of element \"{qname}\" is not bound."
                    ),
                )
                .at(path_of(stack, Some(&qname))));
            }
        };
        attrs.push(Attr {
            ns: ans,
            local: alocal.as_ref().to_string(),
            qname: key,
            value,
        });
    }
    Ok(Element {
        ns,
        local: local.as_ref().to_string(),
        qname,
        ns_decls,
        attrs,
        ..Element::default()
    })
}

/// Streaming base64 decoder that skips whitespace and insists on padding only at the end.
#[derive(Default)]
pub(crate) struct B64 {
    quad: Vec<u8>,
    batch: Vec<u8>,
    out: Vec<u8>,
    ended: bool,
}

const BATCH: usize = 48 * 1024;

impl B64 {
    pub(crate) fn feed<E>(
        &mut self,
        data: &[u8],
        mut emit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), Result<E, String>> {
        for &b in data {
            if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
                continue;
            }
            if self.ended {
                return Err(Err("base64 data continues after its padding".into()));
            }
            self.batch.push(b);
            if b == b'=' && self.batch.len().is_multiple_of(4) {
                self.ended = true;
            }
            if self.batch.len() >= BATCH && self.batch.len().is_multiple_of(4) {
                self.flush_batch(&mut emit)?;
            }
        }
        Ok(())
    }

    fn flush_batch<E>(
        &mut self,
        emit: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), Result<E, String>> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.out.resize(self.batch.len() / 4 * 3 + 3, 0);
        let n = base64::engine::general_purpose::STANDARD
            .decode_slice(&self.batch, &mut self.out)
            .map_err(|e| Err(format!("invalid base64: {e}")))?;
        self.batch.clear();
        self.quad.clear();
        emit(&self.out[..n]).map_err(Ok)
    }

    /// End of the element: decode the rest; a partial quad is an error.
    pub(crate) fn finish<E>(
        &mut self,
        mut emit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), Result<E, String>> {
        if !self.batch.len().is_multiple_of(4) {
            return Err(Err(format!(
                "invalid base64: {} characters are not a multiple of 4 (missing padding?)",
                self.batch.len() % 4
            )));
        }
        self.flush_batch(&mut emit)
    }
}

/// State of a streamed content element.
struct Streaming {
    slot: usize,
    b64: B64,
    saw_data: bool,
    /// The element turned out to hold an `xop:Include`.
    xop: bool,
}

/// Read the raw character data of a content element straight from the input, up to the next `<`, and
/// decode it. Whitespace character references (Java serialisers write `&#13;`) are skipped.
fn stream_text<R: BufRead, S: ContentSink>(
    input: &mut R,
    st: &mut Streaming,
    sink: &mut S,
    path: &str,
) -> Result<(), ParseError<S::Error>> {
    loop {
        let buf = input.fill_buf().map_err(ParseError::Io)?;
        if buf.is_empty() {
            return Err(XmlError::new(
                "xml.well-formed",
                "The document ends inside a content element.",
            )
            .at(path)
            .into());
        }
        let stop = memchr::memchr2(b'<', b'&', buf);
        let stopper = stop.map(|i| buf[i]);
        let chunk = &buf[..stop.unwrap_or(buf.len())];
        let n = chunk.len();
        if chunk.iter().any(|b| !b.is_ascii_whitespace()) {
            if st.xop {
                return Err(XmlError::new(
                    "xop.include",
                    "Text next to an xop:Include in a content element",
                )
                .at(path)
                .into());
            }
            st.saw_data = true;
            let slot = st.slot;
            st.b64
                .feed(chunk, |d| sink.write(slot, d))
                .map_err(|e| b64_error(e, path))?;
        }
        input.consume(n);
        match stopper {
            None => continue,
            Some(b'<') => return Ok(()),
            Some(_) => skip_whitespace_ref(input, path)?,
        }
    }
}

fn b64_error<E>(e: Result<E, String>, path: &str) -> ParseError<E> {
    match e {
        Ok(sink) => ParseError::Sink(sink),
        Err(msg) => XmlError::new("xml.base64", msg).at(path).into(),
    }
}

/// At `&`: read a reference up to `;` and accept only whitespace character references.
fn skip_whitespace_ref<R: BufRead, E>(input: &mut R, path: &str) -> Result<(), ParseError<E>> {
    let mut r = Vec::with_capacity(8);
    while r.len() < 10 {
        let buf = input.fill_buf().map_err(ParseError::Io)?;
        let Some(&b) = buf.first() else { break };
        input.consume(1);
        r.push(b);
        if b == b';' {
            break;
        }
    }
    let s = String::from_utf8_lossy(&r);
    if matches!(
        s.as_ref(),
        "&#13;"
            | "&#xD;"
            | "&#xd;"
            | "&#10;"
            | "&#xA;"
            | "&#xa;"
            | "&#9;"
            | "&#x9;"
            | "&#32;"
            | "&#x20;"
    ) {
        return Ok(());
    }
    Err(XmlError::new(
        "xml.base64",
        format!("Reference \"{s}\" inside base64 content: only whitespace character references are allowed there"),
    )
    .at(path)
    .into())
}

fn check_limits(stack: &[Element], count: &mut usize, limits: &Limits) -> Result<(), XmlError> {
    *count += 1;
    if stack.len() >= limits.max_depth {
        return Err(XmlError::new(
            "xml.depth",
            format!("Maximum element depth of {} exceeded", limits.max_depth),
        )
        .at(path_of(stack, None)));
    }
    if *count > limits.max_elements {
        return Err(XmlError::new(
            "xml.element-count",
            format!("More than {} elements", limits.max_elements),
        ));
    }
    Ok(())
}

fn tree_cost(el: &Element) -> usize {
    el.qname.len()
        + el.attrs
            .iter()
            .map(|a| a.qname.len() + a.value.len() + 8)
            .sum::<usize>()
        + el.ns_decls.iter().map(|(_, n)| n.len() + 8).sum::<usize>()
        + 16
}

/// Parse a whole document from `input`; content elements go to `sink`.
pub fn parse<R: BufRead, S: ContentSink>(
    input: R,
    limits: Limits,
    sink: &mut S,
) -> Result<Element, ParseError<S::Error>> {
    Parser {
        reader: NsReader::from_reader(input),
        limits,
        stack: Vec::new(),
        root: None,
        count: 0,
        tree_bytes: 0,
        streaming: None,
        body_announced: false,
    }
    .run(sink)
}

struct Parser<R> {
    reader: NsReader<R>,
    limits: Limits,
    stack: Vec<Element>,
    root: Option<Element>,
    count: usize,
    tree_bytes: usize,
    streaming: Option<Streaming>,
    body_announced: bool,
}

impl<R: BufRead> Parser<R> {
    fn not_well_formed(&self, msg: impl Into<String>) -> XmlError {
        XmlError::new("xml.well-formed", msg).at(path_of(&self.stack, None))
    }

    fn run<S: ContentSink>(mut self, sink: &mut S) -> Result<Element, ParseError<S::Error>> {
        {
            let cfg = self.reader.config_mut();
            cfg.check_end_names = true;
            cfg.check_comments = true;
            cfg.expand_empty_elements = false;
            cfg.trim_text_start = false;
            cfg.trim_text_end = false;
        }
        let mut buf = Vec::new();
        let mut seen_first = false;
        loop {
            if let Some(st) = self.streaming.as_mut() {
                let path = path_of(&self.stack, None);
                stream_text(self.reader.get_mut(), st, sink, &path)?;
            }
            buf.clear();
            let ev = match self.reader.read_event_into(&mut buf) {
                Ok(ev) => ev,
                Err(quick_xml::Error::Io(e)) => {
                    // Keep the transport's own error (body limit, timeout, MIME structure) recognisable.
                    let e = std::sync::Arc::try_unwrap(e)
                        .unwrap_or_else(|a| std::io::Error::new(a.kind(), a.to_string()));
                    return Err(ParseError::Io(e));
                }
                Err(e) => {
                    return Err(self
                        .not_well_formed(format!("The document is not well-formed XML: {e}"))
                        .into());
                }
            };
            let first = !seen_first;
            seen_first = true;
            match ev {
                Event::Decl(d) => {
                    if !first {
                        return Err(self
                            .not_well_formed(
                                "The XML declaration is only allowed at the start of the document.",
                            )
                            .into());
                    }
                    if let Some(Ok(enc)) = d.encoding() {
                        let enc = enc.to_ascii_lowercase();
                        if enc != "utf-8" && enc != "utf8" {
                            return Err(XmlError::new(
                                "xml.encoding",
                                format!("Unsupported encoding \"{enc}\" in the XML declaration: requests must be UTF-8"),
                            )
                            .into());
                        }
                    }
                }
                Event::DocType(_) => {
                    return Err(XmlError::new(
                        "xml.doctype",
                        "DOCTYPE is disallowed: a SOAP message must not contain a document type declaration (SOAP 1.2 Part 1 §5); entity declarations are never processed",
                    )
                    .into());
                }
                Event::PI(_) => {
                    return Err(XmlError::new(
                        "xml.processing-instruction",
                        "Processing instructions are not allowed in a SOAP message (SOAP 1.2 Part 1 §5)",
                    )
                    .at(path_of(&self.stack, None))
                    .into());
                }
                Event::Start(e) => {
                    let el = self.open(&e)?;
                    self.enter(el, sink)?;
                }
                Event::Empty(e) => {
                    let el = self.open(&e)?;
                    self.enter(el, sink)?;
                    self.end(sink)?;
                }
                Event::End(_) => self.end(sink)?,
                Event::Text(t) => {
                    let s = t.xml10_content();
                    self.text(&s, sink)?;
                }
                Event::CData(c) => {
                    let s = c.xml10_content();
                    if self.stack.is_empty() {
                        return Err(self
                            .not_well_formed("CDATA is not allowed outside the root element.")
                            .into());
                    }
                    self.text(&s, sink)?;
                }
                Event::GeneralRef(r) => {
                    let ch = self.resolve_ref(&r)?;
                    let mut b = [0u8; 4];
                    self.text(ch.encode_utf8(&mut b), sink)?;
                }
                Event::Comment(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(top) = self.stack.last() {
            return Err(self
                .not_well_formed(format!(
                    "XML document structures must start and end within the same entity (element \"{}\" is not closed).",
                    top.qname
                ))
                .into());
        }
        self.root.ok_or_else(|| {
            XmlError::new("xml.well-formed", "Premature end of file: no root element.").into()
        })
    }

    fn open(&mut self, e: &BytesStart<'_>) -> Result<Element, XmlError> {
        check_limits(&self.stack, &mut self.count, &self.limits)?;
        if self.root.is_some() && self.stack.is_empty() {
            return Err(self.not_well_formed(
                "The markup in the document following the root element must be well-formed.",
            ));
        }
        let el = start_element(&self.reader, e, &self.stack)?;
        self.tree_bytes += tree_cost(&el);
        if self.tree_bytes > self.limits.max_tree_bytes {
            return Err(XmlError::new(
                "xml.size",
                format!(
                    "The envelope's markup exceeds {} bytes (streamed content not counted)",
                    self.limits.max_tree_bytes
                ),
            )
            .at(path_of(&self.stack, Some(&el.qname))));
        }
        Ok(el)
    }

    fn enter<S: ContentSink>(
        &mut self,
        mut el: Element,
        sink: &mut S,
    ) -> Result<(), ParseError<S::Error>> {
        if let Some(st) = self.streaming.as_mut() {
            // A content element holds base64 text or exactly one xop:Include.
            let path = path_of(&self.stack, Some(&el.qname));
            let parent = self.stack.last_mut();
            match parent {
                Some(p) if el.is(ns::XOP, "Include") && !st.saw_data && p.content.is_some() => {
                    let href = el.attr("href").unwrap_or("").trim().to_string();
                    let Some(cid) = cid_of(&href) else {
                        return Err(XmlError::new(
                            "xop.href",
                            format!("xop:Include href=\"{href}\" is not a cid: URL"),
                        )
                        .at(path)
                        .into());
                    };
                    if matches!(p.content, Some(ContentRef::Xop { .. })) {
                        return Err(XmlError::new(
                            "xop.include",
                            "More than one xop:Include in one content element",
                        )
                        .at(path)
                        .into());
                    }
                    sink.discard(st.slot);
                    st.xop = true;
                    p.content = Some(ContentRef::Xop { cid });
                }
                _ => {
                    return Err(XmlError::new(
                        "xml.content",
                        format!(
                            "Element \"{}\" inside base64 content: only text or one xop:Include is allowed there",
                            el.qname
                        ),
                    )
                    .at(path)
                    .into());
                }
            }
        }
        if self.stack.len() == 1 && el.local == "Body" && !self.body_announced {
            self.body_announced = true;
            if let Some(root) = self.stack.first() {
                sink.before_body(root).map_err(ParseError::Sink)?;
            }
        }
        if self.streaming.is_none() && is_content_element(&self.stack, &el) {
            let slot = sink.create().map_err(ParseError::Sink)?;
            el.content = Some(ContentRef::Inline { slot });
            self.stack.push(el);
            self.streaming = Some(Streaming {
                slot,
                b64: B64::default(),
                saw_data: false,
                xop: false,
            });
            return Ok(());
        }
        self.stack.push(el);
        Ok(())
    }

    fn end<S: ContentSink>(&mut self, sink: &mut S) -> Result<(), ParseError<S::Error>> {
        let el = self
            .stack
            .pop()
            .ok_or_else(|| self.not_well_formed("Unexpected end tag"))?;
        if el.content.is_some()
            && let Some(mut st) = self.streaming.take()
        {
            let path = path_of(&self.stack, Some(&el.qname));
            if matches!(el.content, Some(ContentRef::Inline { .. })) {
                let slot = st.slot;
                st.b64
                    .finish(|d| sink.write(slot, d))
                    .map_err(|e| b64_error(e, &path))?;
                sink.close(slot).map_err(ParseError::Sink)?;
            } else if st.saw_data {
                return Err(XmlError::new(
                    "xop.include",
                    "Text next to an xop:Include in a content element",
                )
                .at(path)
                .into());
            }
        }
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(el),
            None => self.root = Some(el),
        }
        Ok(())
    }

    fn text<S: ContentSink>(&mut self, s: &str, sink: &mut S) -> Result<(), ParseError<S::Error>> {
        if let Some(st) = self.streaming.as_mut() {
            // CDATA inside a content element (raw text is read by `stream_text`).
            let path = path_of(&self.stack, None);
            if s.bytes().any(|b| !b.is_ascii_whitespace()) {
                if st.xop {
                    return Err(XmlError::new(
                        "xop.include",
                        "Text next to an xop:Include in a content element",
                    )
                    .at(path)
                    .into());
                }
                st.saw_data = true;
            }
            let slot = st.slot;
            return st
                .b64
                .feed(s.as_bytes(), |d| sink.write(slot, d))
                .map_err(|e| b64_error(e, &path));
        }
        let limits = self.limits;
        match self.stack.last_mut() {
            Some(el) => {
                if el.text.len() + s.len() > limits.max_text_bytes {
                    return Err(XmlError::new(
                        "xml.text-size",
                        format!(
                            "Character data of one element exceeds {} bytes",
                            limits.max_text_bytes
                        ),
                    )
                    .at(path_of(&self.stack, None))
                    .into());
                }
                self.tree_bytes += s.len();
                if self.tree_bytes > limits.max_tree_bytes {
                    return Err(XmlError::new(
                        "xml.size",
                        format!(
                            "The envelope's markup exceeds {} bytes",
                            limits.max_tree_bytes
                        ),
                    )
                    .into());
                }
                el.text.push_str(s);
                Ok(())
            }
            None if s.trim().is_empty() => Ok(()),
            None => Err(self
                .not_well_formed("Content is not allowed in prolog or after the root element.")
                .into()),
        }
    }

    fn resolve_ref(&self, r: &quick_xml::events::BytesRef<'_>) -> Result<char, XmlError> {
        if r.is_char_ref() {
            return match r.resolve_char_ref() {
                Ok(Some(c)) if is_xml_char(c) => Ok(c),
                _ => Err(XmlError::new(
                    "xml.entity",
                    format!(
                        "Character reference \"&{};\" is an invalid XML character.",
                        r.xml10_content()
                    ),
                )
                .at(path_of(&self.stack, None))),
            };
        }
        let name = r.xml10_content();
        match name.as_ref() {
            "lt" => Ok('<'),
            "gt" => Ok('>'),
            "amp" => Ok('&'),
            "apos" => Ok('\''),
            "quot" => Ok('"'),
            other => Err(XmlError::new(
                "xml.entity",
                format!(
                    "The entity \"{other}\" was referenced, but not declared (entity declarations are not supported)."
                ),
            )
            .at(path_of(&self.stack, None))),
        }
    }
}

/// `cid:abc%40x` → `abc@x` (RFC 2392: the Content-ID without angle brackets, URL-decoded).
pub fn cid_of(href: &str) -> Option<String> {
    let rest = href
        .strip_prefix("cid:")
        .or_else(|| href.strip_prefix("CID:"))?;
    if rest.is_empty() {
        return None;
    }
    Some(percent_decode(rest))
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16);
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_xml_char(c: char) -> bool {
    matches!(c as u32, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}
