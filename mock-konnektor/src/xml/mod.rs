//! A small, strict XML reader for SOAP requests: quick-xml's namespace-aware reader turned into a compact
//! element tree, with the limits a server needs and none of the features an attacker wants:
//!
//! - a `<!DOCTYPE …>` (and with it any entity declaration) is rejected, never expanded;
//! - only the five predefined entities and character references are resolved, anything else is an error;
//! - nesting depth and element count are limited;
//! - processing instructions are rejected (SOAP 1.1 §3 forbids them in an envelope);
//! - the input must be UTF-8 (declared encoding, if any, must be UTF-8 too).
//!
//! Memory: the tree borrows names, texts and attribute values from the request body wherever no entity or
//! line-end normalisation forces a copy, and keeps its elements in one arena of small nodes (reserved once
//! from a count of `<` in the input), so parsing costs the body plus a few dozen bytes per element
//! (measured in `benches/parse_memory.rs`).
//!
//! Errors read like the validator messages real Konnektors put into the tel/error `Detail`; names quoted
//! from the request are cut to [`QUOTE_MAX`] characters with their full size noted ([`quote`]).

mod parse;

pub use parse::parse;

use std::borrow::Cow;

/// Limits applied while parsing.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_elements: 100_000,
        }
    }
}

/// Longest piece of request text (a name, a value) quoted in a message or location.
pub const QUOTE_MAX: usize = 80;

/// `s` as it may appear in a diagnosis or fault: at most [`QUOTE_MAX`] characters, a longer value cut with
/// its full size noted (`abc…(4,194,304 bytes)`), so a hostile request is never echoed or stored in full.
pub fn quote(s: &str) -> Cow<'_, str> {
    cut(s, QUOTE_MAX)
}

/// `s` cut to `max` characters, a longer one with its full size noted.
pub fn cut(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((at, _)) => Cow::Owned(format!("{}…({} bytes)", &s[..at], thousands(s.len()))),
    }
}

/// `4194304` → `4,194,304`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) const NONE: u32 = u32::MAX;

/// One element in the arena.
#[derive(Debug)]
pub(crate) struct Node<'a> {
    /// Qualified name as written (for messages).
    pub(crate) name: Cow<'a, str>,
    /// Byte offset of the local part in `name`.
    pub(crate) local_at: u32,
    /// 0: no namespace; otherwise index + 1 into `Document::namespaces`.
    pub(crate) ns: u32,
    /// Range of this element's attributes in `Document::attrs`.
    pub(crate) attrs: (u32, u32),
    /// Index into `Document::texts`, or NONE.
    pub(crate) text: u32,
    pub(crate) first_child: u32,
    pub(crate) next_sibling: u32,
}

#[derive(Debug)]
pub(crate) struct AttrNode<'a> {
    pub(crate) name: Cow<'a, str>,
    pub(crate) local_at: u32,
    pub(crate) ns: u32,
    pub(crate) value: Cow<'a, str>,
}

/// A parsed document: the arena of elements, their attributes and texts, and the namespaces in use.
#[derive(Debug)]
pub struct Document<'a> {
    pub(crate) nodes: Vec<Node<'a>>,
    pub(crate) attrs: Vec<AttrNode<'a>>,
    pub(crate) texts: Vec<Cow<'a, str>>,
    pub(crate) namespaces: Vec<String>,
}

impl<'a> Document<'a> {
    /// The document element.
    pub fn root(&self) -> Element<'_> {
        Element { doc: self, i: 0 }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
    fn ns(&self, i: u32) -> Option<&str> {
        (i > 0)
            .then(|| self.namespaces.get(i as usize - 1).map(String::as_str))
            .flatten()
    }
}

/// An element of a [`Document`] (a cheap handle).
#[derive(Clone, Copy)]
pub struct Element<'d> {
    doc: &'d Document<'d>,
    i: u32,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>", quote(self.qname()))
    }
}

/// One attribute as the schema checks see it.
#[derive(Clone, Copy, Debug)]
pub struct Attr<'d> {
    pub ns: Option<&'d str>,
    pub local: &'d str,
    pub value: &'d str,
}

impl<'d> Element<'d> {
    fn node(&self) -> &'d Node<'d> {
        &self.doc.nodes[self.i as usize]
    }
    /// The qualified name as written (`ns4:SignDocument`).
    pub fn qname(&self) -> &'d str {
        &self.node().name
    }
    pub fn local(&self) -> &'d str {
        let n = self.node();
        n.name.get(n.local_at as usize..).unwrap_or("")
    }
    pub fn ns(&self) -> Option<&'d str> {
        self.doc.ns(self.node().ns)
    }
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local() == local && self.ns() == Some(ns)
    }
    /// Concatenated character data (CDATA and resolved references included).
    pub fn text(&self) -> &'d str {
        match self.node().text {
            NONE => "",
            t => self.doc.texts.get(t as usize).map_or("", |c| c.as_ref()),
        }
    }
    pub fn has_text(&self) -> bool {
        !self.text().trim().is_empty()
    }
    pub fn attributes(&self) -> impl Iterator<Item = Attr<'d>> + 'd {
        let (a, b) = self.node().attrs;
        let doc = self.doc;
        doc.attrs[a as usize..b as usize].iter().map(move |x| Attr {
            ns: doc.ns(x.ns),
            local: x.name.get(x.local_at as usize..).unwrap_or(""),
            value: &x.value,
        })
    }
    /// The value of an unqualified attribute.
    pub fn attr(&self, local: &str) -> Option<&'d str> {
        self.attributes()
            .find(|a| a.ns.is_none() && a.local == local)
            .map(|a| a.value)
    }
    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<&'d str> {
        self.attributes()
            .find(|a| a.ns == Some(ns) && a.local == local)
            .map(|a| a.value)
    }
    pub fn children(&self) -> Children<'d> {
        Children {
            doc: self.doc,
            next: self.node().first_child,
        }
    }
    pub fn first_child(&self) -> Option<Element<'d>> {
        self.children().next()
    }
    /// `{namespace}local` as validators write it.
    pub fn expanded(&self) -> String {
        match self.ns() {
            Some(ns) => format!("{{\"{ns}\":{}}}", quote(self.local())),
            None => quote(self.local()).into_owned(),
        }
    }
}

/// The child elements of an element, in document order.
pub struct Children<'d> {
    doc: &'d Document<'d>,
    next: u32,
}

impl<'d> Iterator for Children<'d> {
    type Item = Element<'d>;
    fn next(&mut self) -> Option<Element<'d>> {
        if self.next == NONE {
            return None;
        }
        let e = Element {
            doc: self.doc,
            i: self.next,
        };
        self.next = self
            .doc
            .nodes
            .get(self.next as usize)
            .map_or(NONE, |n| n.next_sibling);
        Some(e)
    }
}

/// Why a document was not accepted, with the XPath of the offending element when known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Document<'_>, XmlError> {
        parse(s.as_bytes(), Limits::default())
    }

    #[test]
    fn namespaces_text_and_entities() {
        let d = p(r#"<?xml version="1.0" encoding="UTF-8"?><a:x xmlns:a="urn:a" xmlns="urn:d" k="1&amp;2"><y>t&lt;&#65;<![CDATA[<z>]]></y><a:z/></a:x>"#).unwrap();
        let e = d.root();
        assert!(e.is("urn:a", "x"));
        assert_eq!(e.qname(), "a:x");
        assert_eq!(e.attr("k"), Some("1&2"));
        let kids: Vec<_> = e.children().collect();
        assert_eq!(kids.len(), 2);
        assert!(kids[0].is("urn:d", "y"));
        assert_eq!(kids[0].text(), "t<A<z>");
        assert!(kids[1].is("urn:a", "z"));
        assert_eq!(kids[1].text(), "");
    }

    #[test]
    fn texts_and_names_borrow_from_the_input() {
        let src = r#"<x xmlns="urn:x" a="v"><y>plain text</y></x>"#;
        let d = p(src).unwrap();
        let y = d.root().first_child().unwrap();
        let range = src.as_bytes().as_ptr_range();
        for s in [y.text(), y.qname(), d.root().attr("a").unwrap()] {
            assert!(range.contains(&s.as_ptr()), "{s} is a copy");
        }
    }

    #[test]
    fn byte_order_mark_and_declaration() {
        let mut b = b"\xEF\xBB\xBF".to_vec();
        b.extend_from_slice(
            br#"<?xml version="1.0" encoding="utf-8"?>
<x/>"#,
        );
        assert_eq!(parse(&b, Limits::default()).unwrap().root().local(), "x");
        assert_eq!(
            p("<x/><?xml version='1.0'?>").unwrap_err().rule,
            "xml.well-formed"
        );
    }

    #[test]
    fn doctype_and_entities_are_rejected() {
        let e = p(r#"<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>"#).unwrap_err();
        assert_eq!(e.rule, "xml.doctype");
        let e = p(r#"<x>&e;</x>"#).unwrap_err();
        assert_eq!(e.rule, "xml.entity");
        let e = p(r#"<x>&#0;</x>"#).unwrap_err();
        assert_eq!(e.rule, "xml.entity");
        assert_eq!(
            p("<?php x?><x/>").unwrap_err().rule,
            "xml.processing-instruction"
        );
    }

    #[test]
    fn malformed_and_limits() {
        assert_eq!(p("<x><y></x>").unwrap_err().rule, "xml.well-formed");
        assert_eq!(p("<x>").unwrap_err().rule, "xml.well-formed");
        assert_eq!(p("").unwrap_err().rule, "xml.well-formed");
        assert_eq!(p("<x/><y/>").unwrap_err().rule, "xml.well-formed");
        assert_eq!(p("x<y/>").unwrap_err().rule, "xml.well-formed");
        assert_eq!(p("<p:x/>").unwrap_err().rule, "xml.namespace");
        assert_eq!(p("<x a='1' a='2'/>").unwrap_err().rule, "xml.well-formed");
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(p(&deep).unwrap_err().rule, "xml.depth");
        let many = format!("<r>{}</r>", "<a/>".repeat(11));
        let e = parse(
            many.as_bytes(),
            Limits {
                max_depth: 8,
                max_elements: 10,
            },
        )
        .unwrap_err();
        assert_eq!(e.rule, "xml.element-count");
        assert_eq!(
            parse(&[0x3c, 0x78, 0xff, 0x2f, 0x3e], Limits::default())
                .unwrap_err()
                .rule,
            "xml.encoding"
        );
        assert_eq!(
            p(r#"<?xml version="1.0" encoding="ISO-8859-1"?><x/>"#)
                .unwrap_err()
                .rule,
            "xml.encoding"
        );
    }

    #[test]
    fn huge_names_are_quoted_short() {
        let name = "n".repeat(100_000);
        let e = p(&format!("<p:{name}/>")).unwrap_err();
        assert_eq!(e.rule, "xml.namespace");
        assert!(e.reason.len() < 400, "{}", e.reason.len());
        assert!(e.reason.contains("(100,002 bytes)"), "{}", e.reason);
        assert!(e.location.unwrap().len() < 200);
        assert_eq!(thousands(4_194_304), "4,194,304");
        assert_eq!(thousands(999), "999");
        assert_eq!(quote("short"), "short");
    }
}
