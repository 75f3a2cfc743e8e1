//! A strict XML reader for OSCI envelopes: quick-xml's namespace-aware reader turned into an element tree
//! that remembers where every element and text lies in the source (the intermediary passes the
//! ContentPackage and certificate headers on byte for byte, and the canonical form needs the namespace
//! declarations as written). What an attacker would want is refused:
//!
//! - a `<!DOCTYPE …>` (and so any entity declaration) is rejected, never expanded;
//! - only the five predefined entities and character references are resolved;
//! - nesting depth and element count are limited; processing instructions are refused;
//! - the input must be UTF-8.
//!
//! Text is kept as a range into the source (a 40 MB base64 value is not copied).

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use std::borrow::Cow;
use std::ops::Range;

pub const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const OSCI: &str = "http://www.osci.de/2002/04/osci";
pub const OSCI2017: &str = "http://xoev.de/transport/osci12/7";
pub const OSCI128: &str = "http://xoev.de/transport/osci12/8";
pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
pub const XENC11: &str = "http://www.w3.org/2009/xmlenc11#";
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 48,
            max_elements: 200_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    /// As written (`soap:actor`).
    pub qname: String,
    pub ns: Option<String>,
    pub local: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    /// Character data: its range in the source and whether it holds references to resolve.
    Text {
        range: Range<usize>,
        escaped: bool,
    },
    /// A CDATA section's content.
    CData(Range<usize>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub ns: Option<String>,
    pub local: String,
    pub qname: String,
    pub attrs: Vec<Attr>,
    /// Namespace declarations written on this element: (prefix, "" for the default; URI).
    pub ns_decls: Vec<(String, String)>,
    pub children: Vec<Node>,
    /// From `<` of the start tag to after `>` of the end tag.
    pub span: Range<usize>,
}

impl Element {
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }
    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.as_deref() == Some(ns) && a.local == local)
            .map(|a| a.value.as_str())
    }
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }
    pub fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(ns, local))
    }
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.is(ns, local))
    }
    /// The concatenated character data of this element (not of descendants).
    pub fn text<'s>(&self, src: &'s str) -> Cow<'s, str> {
        let mut parts = self.children.iter().filter_map(|n| match n {
            Node::Text { range, escaped } => Some(text_of(src, range, *escaped)),
            Node::CData(r) => Some(Cow::Borrowed(&src[r.clone()])),
            Node::Element(_) => None,
        });
        match (parts.next(), parts.next()) {
            (None, _) => Cow::Borrowed(""),
            (Some(a), None) => a,
            (Some(a), Some(b)) => {
                let mut s = a.into_owned();
                s.push_str(&b);
                for p in parts {
                    s.push_str(&p);
                }
                Cow::Owned(s)
            }
        }
    }
    /// Depth-first search for an element with attribute `Id` = `id`.
    pub fn find_id(&self, id: &str) -> Option<&Element> {
        if self.attr("Id") == Some(id) {
            return Some(self);
        }
        self.elements().find_map(|e| e.find_id(id))
    }
    /// `/soap:Envelope/soap:Header/…` style path segment.
    pub fn path_segment(&self) -> &str {
        &self.qname
    }
}

/// Resolve the references in a text range.
pub fn text_of<'s>(src: &'s str, range: &Range<usize>, escaped: bool) -> Cow<'s, str> {
    let raw = &src[range.clone()];
    if !escaped {
        return Cow::Borrowed(raw);
    }
    match quick_xml::escape::unescape(raw) {
        Ok(c) => Cow::Owned(c.into_owned()),
        Err(_) => Cow::Borrowed(raw),
    }
}

/// A parsed document: the source and its root element.
#[derive(Debug)]
pub struct Document<'s> {
    pub src: &'s str,
    pub root: Element,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct XmlError {
    pub rule: &'static str,
    pub reason: String,
    pub location: Option<String>,
}

impl XmlError {
    fn new(rule: &'static str, reason: impl Into<String>) -> XmlError {
        XmlError {
            rule,
            reason: reason.into(),
            location: None,
        }
    }
    fn at(mut self, stack: &[Element]) -> XmlError {
        let mut s = String::new();
        for e in stack {
            s.push('/');
            s.push_str(&e.qname);
        }
        self.location = Some(if s.is_empty() { "/".into() } else { s });
        self
    }
}

fn resolve(r: ResolveResult<'_>, what: &str, qname: &str) -> Result<Option<String>, XmlError> {
    match r {
        ResolveResult::Bound(ns) => Ok(Some(ns.into_inner().to_string())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(p) => Err(XmlError::new(
            "xml.namespace",
            format!("the prefix `{p}` of {what} `{qname}` is not bound"),
        )),
    }
}

fn start_element(
    reader: &NsReader<&[u8]>,
    e: &BytesStart<'_>,
    start: usize,
) -> Result<Element, XmlError> {
    let qname = e.name().as_ref().to_string();
    let (res, local) = reader.resolver().resolve_element(e.name());
    let ns = resolve(res, "element", &qname)?;
    let mut attrs = Vec::new();
    let mut ns_decls = Vec::new();
    for a in e.attributes().with_checks(true) {
        let a = a.map_err(|err| {
            XmlError::new(
                "xml.well-formed",
                format!("malformed attribute in `{qname}`: {err}"),
            )
        })?;
        let key = a.key.as_ref().to_string();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| {
                XmlError::new(
                    "xml.entity",
                    format!("attribute `{key}` of `{qname}`: {err} (only predefined entities are allowed)"),
                )
            })?
            .into_owned();
        if key == "xmlns" {
            ns_decls.push((String::new(), value));
            continue;
        }
        if let Some(p) = key.strip_prefix("xmlns:") {
            ns_decls.push((p.to_string(), value));
            continue;
        }
        let (res, alocal) = reader.resolver().resolve_attribute(a.key);
        let ans = resolve(res, "attribute", &key)?;
        attrs.push(Attr {
            qname: key,
            ns: ans,
            local: alocal.as_ref().to_string(),
            value,
        });
    }
    Ok(Element {
        ns,
        local: local.as_ref().to_string(),
        qname,
        attrs,
        ns_decls,
        children: Vec::new(),
        span: start..start,
    })
}

fn push_node(stack: &mut [Element], node: Node, what: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(el) => {
            el.children.push(node);
            Ok(())
        }
        None => Err(XmlError::new(
            "xml.well-formed",
            format!("{what} outside the root element"),
        )),
    }
}

/// Parse a complete document (UTF-8; an XML declaration and a BOM are allowed).
pub fn parse(input: &[u8], limits: Limits) -> Result<Document<'_>, XmlError> {
    let text = std::str::from_utf8(input).map_err(|e| {
        XmlError::new(
            "xml.encoding",
            format!("not UTF-8 (invalid byte at offset {})", e.valid_up_to()),
        )
    })?;
    let mut reader = NsReader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.check_comments = true;
        cfg.expand_empty_elements = false;
        cfg.trim_text_start = false;
        cfg.trim_text_end = false;
    }
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let pos = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| {
            XmlError::new(
                "xml.well-formed",
                format!(
                    "not well-formed XML near byte {}: {e}",
                    reader.error_position()
                ),
            )
            .at(&stack)
        })?;
        let after = reader.buffer_position() as usize;
        match ev {
            Event::Decl(d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = enc.to_ascii_lowercase();
                    if enc != "utf-8" && enc != "utf8" {
                        return Err(XmlError::new(
                            "xml.encoding",
                            format!("encoding `{enc}` declared; OSCI messages are UTF-8"),
                        ));
                    }
                }
            }
            Event::DocType(_) => {
                return Err(XmlError::new(
                    "xml.doctype",
                    "a DOCTYPE is not allowed in an OSCI message (no DTDs, no entity declarations)",
                ));
            }
            Event::PI(_) => {
                return Err(XmlError::new(
                    "xml.processing-instruction",
                    "processing instructions are not allowed",
                )
                .at(&stack));
            }
            Event::Start(e) | Event::Empty(e) => {
                let empty = after >= 2 && text.as_bytes()[after - 2] == b'/';
                count += 1;
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::new(
                        "xml.depth",
                        format!("nesting deeper than {} elements", limits.max_depth),
                    )
                    .at(&stack));
                }
                if count > limits.max_elements {
                    return Err(XmlError::new(
                        "xml.element-count",
                        format!("more than {} elements", limits.max_elements),
                    ));
                }
                if root.is_some() {
                    return Err(XmlError::new(
                        "xml.well-formed",
                        "content after the root element",
                    ));
                }
                let mut el = start_element(&reader, &e, pos).map_err(|x| x.at(&stack))?;
                if empty {
                    el.span = pos..after;
                    if stack.is_empty() {
                        root = Some(el);
                    } else {
                        push_node(&mut stack, Node::Element(el), "element")?;
                    }
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let mut el = stack
                    .pop()
                    .ok_or_else(|| XmlError::new("xml.well-formed", "unexpected end tag"))?;
                el.span.end = after;
                if stack.is_empty() {
                    root = Some(el);
                } else {
                    push_node(&mut stack, Node::Element(el), "element")?;
                }
            }
            Event::Text(t) => {
                let range = pos..after;
                if stack.is_empty() {
                    if !t.as_ref().bytes().all(|b| b.is_ascii_whitespace()) {
                        return Err(XmlError::new(
                            "xml.well-formed",
                            "text outside the root element",
                        ));
                    }
                } else {
                    push_node(
                        &mut stack,
                        Node::Text {
                            range,
                            escaped: false,
                        },
                        "text",
                    )?;
                }
            }
            Event::CData(_) => {
                // `<![CDATA[` … `]]>`
                let range = (pos + 9).min(after)..after.saturating_sub(3).max(pos);
                push_node(&mut stack, Node::CData(range), "CDATA")?;
            }
            Event::GeneralRef(r) => {
                let ok = if r.is_char_ref() {
                    matches!(r.resolve_char_ref(), Ok(Some(c)) if is_xml_char(c))
                } else {
                    matches!(r.as_ref(), "lt" | "gt" | "amp" | "apos" | "quot")
                };
                if !ok {
                    return Err(XmlError::new(
                        "xml.entity",
                        format!(
                            "the entity reference `&{};` is not allowed (only the predefined entities and character references)",
                            r.as_ref()
                        ),
                    )
                    .at(&stack));
                }
                push_node(
                    &mut stack,
                    Node::Text {
                        range: pos..after,
                        escaped: true,
                    },
                    "reference",
                )?;
            }
            Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(XmlError::new(
            "xml.well-formed",
            format!("element `{}` is not closed", open.qname),
        )
        .at(&stack));
    }
    let root = root.ok_or_else(|| XmlError::new("xml.well-formed", "no root element"))?;
    Ok(Document { src: text, root })
}

pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Escape character data for writing.
pub fn esc(s: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_text() {
        let src = r#"<?xml version="1.0"?><a xmlns:x="urn:x"><x:b Id="1">t&amp;u</x:b><c/></a>"#;
        let d = parse(src.as_bytes(), Limits::default()).unwrap();
        let b = d.root.child("urn:x", "b").unwrap();
        assert_eq!(&src[b.span.clone()], r#"<x:b Id="1">t&amp;u</x:b>"#);
        assert_eq!(b.text(d.src), "t&u");
        let c = d.root.elements().nth(1).unwrap();
        assert_eq!(&src[c.span.clone()], "<c/>");
        assert_eq!(
            d.root.ns_decls,
            vec![("x".to_string(), "urn:x".to_string())]
        );
        assert_eq!(d.root.find_id("1").unwrap().local, "b");
    }

    #[test]
    fn hostile_input_is_refused() {
        let dtd = br#"<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>"#;
        assert_eq!(
            parse(dtd, Limits::default()).unwrap_err().rule,
            "xml.doctype"
        );
        assert_eq!(
            parse(b"<a>&e;</a>", Limits::default()).unwrap_err().rule,
            "xml.entity"
        );
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(
            parse(deep.as_bytes(), Limits::default()).unwrap_err().rule,
            "xml.depth"
        );
        assert_eq!(
            parse(b"<a><b></a>", Limits::default()).unwrap_err().rule,
            "xml.well-formed"
        );
        assert_eq!(
            parse(b"<a>\xff</a>", Limits::default()).unwrap_err().rule,
            "xml.encoding"
        );
        assert!(parse(b"<a/><b/>", Limits::default()).is_err());
        assert!(parse(b"", Limits::default()).is_err());
    }
}
