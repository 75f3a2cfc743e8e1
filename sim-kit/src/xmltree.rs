//! A small, strict XML reader shared by the XML simulators (first user: mock-melderegister; mock-konnektor
//! has its own copy in `mock-konnektor/src/xml.rs` and can switch): quick-xml's namespace-aware reader
//! turned into a compact element tree, with the limits a server needs and none of the features an attacker
//! wants:
//!
//! - a `<!DOCTYPE …>` (and with it any entity declaration) is rejected, never expanded;
//! - only the five predefined entities and character references are resolved, anything else is an error;
//! - nesting depth and element count are limited;
//! - processing instructions are rejected;
//! - the input must be UTF-8 (declared encoding, if any, must be UTF-8 too).

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

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

/// One attribute: namespace (None for unqualified), local name, value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    pub ns: Option<String>,
    pub local: String,
    pub value: String,
}

/// One element with its resolved namespace, the qualified name as written (for messages), attributes,
/// concatenated character data and child elements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    pub ns: Option<String>,
    pub local: String,
    pub qname: String,
    pub attrs: Vec<Attr>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }
    /// The value of an unqualified attribute.
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
    /// `{namespace}local` as validators write it.
    pub fn expanded(&self) -> String {
        match &self.ns {
            Some(ns) => format!("{{\"{ns}\":{}}}", self.local),
            None => self.local.clone(),
        }
    }
    pub fn has_text(&self) -> bool {
        !self.text.trim().is_empty()
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

fn path_of(stack: &[Element], extra: Option<&str>) -> String {
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

fn start_element(
    reader: &NsReader<&[u8]>,
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
    for a in e.attributes().with_checks(true) {
        let a = a.map_err(|err| {
            XmlError::new(
                "xml.well-formed",
                format!("Malformed attribute in element \"{qname}\": {err}"),
            )
            .at(path_of(stack, Some(&qname)))
        })?;
        let key = a.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
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
                        "The prefix \"{p}\" for attribute \"{key}\" associated with an element type \"{qname}\" is not bound."
                    ),
                )
                .at(path_of(stack, Some(&qname))));
            }
        };
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| {
                XmlError::new(
                    "xml.entity",
                    format!("Invalid value of attribute \"{key}\" in element \"{qname}\": {err}"),
                )
                .at(path_of(stack, Some(&qname)))
            })?;
        attrs.push(Attr {
            ns: ans,
            local: alocal.as_ref().to_string(),
            value: value.into_owned(),
        });
    }
    Ok(Element {
        ns,
        local: local.as_ref().to_string(),
        qname,
        attrs,
        text: String::new(),
        children: Vec::new(),
    })
}

/// Parse a complete document into its root element.
pub fn parse(input: &[u8], limits: Limits) -> Result<Element, XmlError> {
    // A UTF-8 byte order mark is allowed before the XML declaration.
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|e| {
        XmlError::new(
            "xml.encoding",
            format!(
                "Invalid byte sequence at offset {}: the document is not UTF-8",
                e.valid_up_to()
            ),
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
    let mut seen_decl = false;
    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| {
            XmlError::new(
                "xml.well-formed",
                format!(
                    "The document is not well-formed XML (near byte {}): {e}",
                    reader.error_position().max(pos)
                ),
            )
            .at(path_of(&stack, None))
        })?;
        match ev {
            Event::Decl(d) => {
                if seen_decl || root.is_some() || !stack.is_empty() || pos != 0 {
                    return Err(XmlError::new(
                        "xml.well-formed",
                        "The processing instruction target matching \"[xX][mM][lL]\" is not allowed (XML declaration not at the start of the document).",
                    ));
                }
                seen_decl = true;
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = enc.to_ascii_lowercase();
                    if enc != "utf-8" && enc != "utf8" {
                        return Err(XmlError::new(
                            "xml.encoding",
                            format!(
                                "Unsupported encoding \"{enc}\" in the XML declaration: requests must be UTF-8"
                            ),
                        ));
                    }
                }
            }
            Event::DocType(_) => {
                return Err(XmlError::new(
                    "xml.doctype",
                    "DOCTYPE is disallowed: messages must not contain a document type declaration; entity declarations are never processed",
                ));
            }
            Event::PI(_) => {
                return Err(XmlError::new(
                    "xml.processing-instruction",
                    "Processing instructions are not allowed in a message",
                )
                .at(path_of(&stack, None)));
            }
            Event::Start(e) => {
                count += 1;
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::new(
                        "xml.depth",
                        format!("Maximum element depth of {} exceeded", limits.max_depth),
                    )
                    .at(path_of(&stack, None)));
                }
                if count > limits.max_elements {
                    return Err(XmlError::new(
                        "xml.element-count",
                        format!("More than {} elements", limits.max_elements),
                    ));
                }
                if root.is_some() {
                    return Err(XmlError::new(
                        "xml.well-formed",
                        "The markup in the document following the root element must be well-formed.",
                    ));
                }
                let el = start_element(&reader, &e, &stack)?;
                stack.push(el);
            }
            Event::Empty(e) => {
                count += 1;
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::new(
                        "xml.depth",
                        format!("Maximum element depth of {} exceeded", limits.max_depth),
                    )
                    .at(path_of(&stack, None)));
                }
                if count > limits.max_elements {
                    return Err(XmlError::new(
                        "xml.element-count",
                        format!("More than {} elements", limits.max_elements),
                    ));
                }
                let el = start_element(&reader, &e, &stack)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => {
                        if root.is_some() {
                            return Err(XmlError::new(
                                "xml.well-formed",
                                "The markup in the document following the root element must be well-formed.",
                            ));
                        }
                        root = Some(el);
                    }
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| XmlError::new("xml.well-formed", "Unexpected end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None => {
                        if !s.trim().is_empty() {
                            return Err(XmlError::new(
                                "xml.well-formed",
                                "Content is not allowed in prolog or after the root element.",
                            ));
                        }
                    }
                }
            }
            Event::CData(c) => {
                let s = c.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None => {
                        return Err(XmlError::new(
                            "xml.well-formed",
                            "CDATA is not allowed outside the root element.",
                        ));
                    }
                }
            }
            Event::GeneralRef(r) => {
                let ch = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) if is_xml_char(c) => c,
                        _ => {
                            return Err(XmlError::new(
                                "xml.entity",
                                format!(
                                    "Character reference \"&{};\" is an invalid XML character.",
                                    r.xml10_content()
                                ),
                            )
                            .at(path_of(&stack, None)));
                        }
                    }
                } else {
                    let name = r.xml10_content();
                    match name.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(XmlError::new(
                                "xml.entity",
                                format!(
                                    "The entity \"{other}\" was referenced, but not declared (entity declarations are not supported)."
                                ),
                            )
                            .at(path_of(&stack, None)));
                        }
                    }
                };
                match stack.last_mut() {
                    Some(el) => el.text.push(ch),
                    None => {
                        return Err(XmlError::new(
                            "xml.well-formed",
                            "Content is not allowed in prolog or after the root element.",
                        ));
                    }
                }
            }
            Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::new(
            "xml.well-formed",
            format!(
                "XML document structures must start and end within the same entity (element \"{}\" is not closed).",
                stack.last().map(|e| e.qname.as_str()).unwrap_or("")
            ),
        )
        .at(path_of(&stack, None)));
    }
    root.ok_or_else(|| XmlError::new("xml.well-formed", "Premature end of file: no root element."))
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element, XmlError> {
        parse(s.as_bytes(), Limits::default())
    }

    #[test]
    fn namespaces_text_and_entities() {
        let e = p(r#"<?xml version="1.0" encoding="UTF-8"?><a:x xmlns:a="urn:a" xmlns="urn:d" k="1&amp;2"><y>t&lt;&#65;<![CDATA[<z>]]></y><a:z/></a:x>"#).unwrap();
        assert!(e.is("urn:a", "x"));
        assert_eq!(e.attr("k"), Some("1&2"));
        assert!(e.children[0].is("urn:d", "y"));
        assert_eq!(e.children[0].text, "t<A<z>");
        assert!(e.children[1].is("urn:a", "z"));
    }

    #[test]
    fn byte_order_mark_and_declaration() {
        let mut b = b"\xEF\xBB\xBF".to_vec();
        b.extend_from_slice(
            br#"<?xml version="1.0" encoding="utf-8"?>
<x/>"#,
        );
        assert_eq!(parse(&b, Limits::default()).unwrap().local, "x");
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
        assert_eq!(p("<p:x/>").unwrap_err().rule, "xml.namespace");
        assert_eq!(p("<x a='1' a='2'/>").unwrap_err().rule, "xml.well-formed");
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(p(&deep).unwrap_err().rule, "xml.depth");
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
}
