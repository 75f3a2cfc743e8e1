//! The parser behind [`parse`](super::parse): quick-xml's namespace-aware reader, event by event, into the
//! arena of a [`Document`].

use super::{AttrNode, Document, Limits, NONE, Node, XmlError, quote};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use sim_kit::xml_escape::is_xml_char;
use std::borrow::Cow;

/// The arena under construction.
struct Builder<'a> {
    input: &'a str,
    doc: Document<'a>,
    /// Open elements: (node, last child so far).
    stack: Vec<(u32, u32)>,
    /// Character data of each open element so far.
    texts: Vec<Option<Cow<'a, str>>>,
    limits: Limits,
    seen_decl: bool,
}

impl<'a> Builder<'a> {
    fn path(&self, extra: Option<&str>) -> String {
        let mut s = String::new();
        for (n, _) in &self.stack {
            s.push('/');
            s.push_str(&quote(&self.doc.nodes[*n as usize].name));
        }
        if let Some(x) = extra {
            s.push('/');
            s.push_str(&quote(x));
        }
        if s.is_empty() { "/".into() } else { s }
    }

    /// A slice of the input when `bytes` lies inside it, else an owned copy.
    fn borrow(&self, text: &str) -> Cow<'a, str> {
        let base = self.input.as_ptr() as usize;
        let start = (text.as_ptr() as usize).wrapping_sub(base);
        if let Some(s) = start
            .checked_add(text.len())
            .and_then(|end| self.input.get(start..end))
            .filter(|s| s.as_ptr() == text.as_ptr())
        {
            return Cow::Borrowed(s);
        }
        Cow::Owned(text.to_string())
    }

    fn intern(&mut self, ns: &str) -> u32 {
        match self.doc.namespaces.iter().position(|n| n == ns) {
            Some(i) => i as u32 + 1,
            None => {
                self.doc.namespaces.push(ns.to_string());
                self.doc.namespaces.len() as u32
            }
        }
    }

    fn check_limits(&self) -> Result<(), XmlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(XmlError::new(
                "xml.depth",
                format!(
                    "Maximum element depth of {} exceeded",
                    self.limits.max_depth
                ),
            )
            .at(self.path(None)));
        }
        if self.doc.nodes.len() >= self.limits.max_elements {
            return Err(XmlError::new(
                "xml.element-count",
                format!("More than {} elements", self.limits.max_elements),
            ));
        }
        if self.stack.is_empty() && !self.doc.nodes.is_empty() {
            return Err(XmlError::new(
                "xml.well-formed",
                "The markup in the document following the root element must be well-formed.",
            ));
        }
        Ok(())
    }

    /// A new element (start or empty tag), linked under the open parent.
    fn element(
        &mut self,
        reader: &NsReader<&'a [u8]>,
        e: &BytesStart<'a>,
    ) -> Result<u32, XmlError> {
        self.check_limits()?;
        let raw = e.name();
        let name = self.borrow(raw.as_ref());
        let (res, local) = reader.resolver().resolve_element(raw);
        let local_at = (raw.as_ref().len() - local.as_ref().len()) as u32;
        let ns = match res {
            ResolveResult::Bound(ns) => self.intern(ns.as_ref()),
            ResolveResult::Unbound => 0,
            ResolveResult::Unknown(p) => {
                return Err(XmlError::new(
                    "xml.namespace",
                    format!(
                        "The prefix \"{}\" for element \"{}\" is not bound.",
                        quote(&p.to_string()),
                        quote(&name)
                    ),
                )
                .at(self.path(Some(&name))));
            }
        };
        let first_attr = self.doc.attrs.len() as u32;
        for a in e.attributes().with_checks(true) {
            let a = a.map_err(|err| {
                XmlError::new(
                    "xml.well-formed",
                    format!("Malformed attribute in element \"{}\": {err}", quote(&name)),
                )
                .at(self.path(Some(&name)))
            })?;
            let key = a.key.as_ref();
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            let (res, alocal) = reader.resolver().resolve_attribute(a.key);
            let ans = match res {
                ResolveResult::Bound(ns) => self.intern(ns.as_ref()),
                ResolveResult::Unbound => 0,
                ResolveResult::Unknown(p) => {
                    return Err(XmlError::new(
                        "xml.namespace",
                        format!(
                            "The prefix \"{}\" for attribute \"{}\" associated with an element type \"{}\" is not bound.",
                            quote(&p.to_string()),
                            quote(key),
                            quote(&name)
                        ),
                    )
                    .at(self.path(Some(&name))));
                }
            };
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| {
                    XmlError::new(
                        "xml.entity",
                        format!(
                            "Invalid value of attribute \"{}\" in element \"{}\": {}",
                            quote(key),
                            quote(&name),
                            quote(&err.to_string())
                        ),
                    )
                    .at(self.path(Some(&name)))
                })?;
            let value = match value {
                Cow::Borrowed(v) => self.borrow(v),
                Cow::Owned(v) => Cow::Owned(v),
            };
            let akey = self.borrow(key);
            self.doc.attrs.push(AttrNode {
                local_at: (key.len() - alocal.as_ref().len()) as u32,
                name: akey,
                ns: ans,
                value,
            });
        }
        let idx = self.doc.nodes.len() as u32;
        self.doc.nodes.push(Node {
            name,
            local_at,
            ns,
            attrs: (first_attr, self.doc.attrs.len() as u32),
            text: NONE,
            first_child: NONE,
            next_sibling: NONE,
        });
        if let Some((parent, last)) = self.stack.last_mut() {
            if *last == NONE {
                self.doc.nodes[*parent as usize].first_child = idx;
            } else {
                self.doc.nodes[*last as usize].next_sibling = idx;
            }
            *last = idx;
        }
        Ok(idx)
    }

    fn open(&mut self, idx: u32) {
        self.stack.push((idx, NONE));
        self.texts.push(None);
    }

    fn close(&mut self) -> Result<(), XmlError> {
        let (idx, _) = self
            .stack
            .pop()
            .ok_or_else(|| XmlError::new("xml.well-formed", "Unexpected end tag"))?;
        if let Some(Some(t)) = self.texts.pop() {
            self.doc.nodes[idx as usize].text = self.doc.texts.len() as u32;
            self.doc.texts.push(t);
        }
        Ok(())
    }

    /// Append character data to the open element; outside the root only whitespace is allowed.
    fn text(&mut self, s: Cow<'a, str>, what: &'static str) -> Result<(), XmlError> {
        let Some(slot) = self.texts.last_mut() else {
            if s.trim().is_empty() && what == "text" {
                return Ok(());
            }
            return Err(XmlError::new(
                "xml.well-formed",
                "Content is not allowed in prolog or after the root element.",
            ));
        };
        match slot {
            None => *slot = Some(s),
            Some(t) => t.to_mut().push_str(&s),
        }
        Ok(())
    }
}

/// Count of element start tags (an upper bound: `<` not followed by `/`), to reserve the arena once.
fn estimate_elements(input: &str) -> usize {
    let b = input.as_bytes();
    b.iter()
        .enumerate()
        .filter(|(i, c)| **c == b'<' && b.get(i + 1) != Some(&b'/'))
        .count()
}

/// Parse a complete document.
pub fn parse(input: &[u8], limits: Limits) -> Result<Document<'_>, XmlError> {
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
    let mut b = Builder {
        input: text,
        doc: Document {
            nodes: Vec::with_capacity(estimate_elements(text).min(limits.max_elements)),
            attrs: Vec::new(),
            texts: Vec::new(),
            namespaces: Vec::new(),
        },
        stack: Vec::new(),
        texts: Vec::new(),
        limits,
        seen_decl: false,
    };
    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| {
            XmlError::new(
                "xml.well-formed",
                format!(
                    "The document is not well-formed XML (near byte {}): {}",
                    reader.error_position().max(pos),
                    quote(&e.to_string())
                ),
            )
            .at(b.path(None))
        })?;
        if matches!(ev, Event::Eof) {
            break;
        }
        b.event(&reader, ev, pos)?;
    }
    b.finish()
}

impl<'a> Builder<'a> {
    /// One event of the document.
    fn event(
        &mut self,
        reader: &NsReader<&'a [u8]>,
        ev: Event<'a>,
        pos: u64,
    ) -> Result<(), XmlError> {
        match ev {
            Event::Decl(d) => self.declaration(&d, pos),
            Event::DocType(_) => Err(XmlError::new(
                "xml.doctype",
                "DOCTYPE is disallowed: a SOAP message must not contain a document type declaration (SOAP 1.1 §3); entity declarations are never processed",
            )),
            Event::PI(_) => Err(XmlError::new(
                "xml.processing-instruction",
                "Processing instructions are not allowed in a SOAP message (SOAP 1.1 §3)",
            )
            .at(self.path(None))),
            Event::Start(e) => {
                let idx = self.element(reader, &e)?;
                self.open(idx);
                Ok(())
            }
            Event::Empty(e) => self.element(reader, &e).map(|_| ()),
            Event::End(_) => self.close(),
            Event::Text(t) => self.text(t.xml10_content(), "text"),
            Event::CData(c) => self.text(c.xml10_content(), "CDATA"),
            Event::GeneralRef(r) => {
                let ch = resolve_reference(&r).map_err(|e| e.at(self.path(None)))?;
                self.text(Cow::Owned(ch.to_string()), "reference")
            }
            Event::Comment(_) | Event::Eof => Ok(()),
        }
    }

    /// `<?xml …?>`: only at the very start, and only UTF-8.
    fn declaration(
        &mut self,
        d: &quick_xml::events::BytesDecl<'_>,
        pos: u64,
    ) -> Result<(), XmlError> {
        if self.seen_decl || !self.doc.nodes.is_empty() || pos != 0 {
            return Err(XmlError::new(
                "xml.well-formed",
                "The processing instruction target matching \"[xX][mM][lL]\" is not allowed (XML declaration not at the start of the document).",
            ));
        }
        self.seen_decl = true;
        if let Some(Ok(enc)) = d.encoding() {
            let enc = enc.to_ascii_lowercase();
            if enc != "utf-8" && enc != "utf8" {
                return Err(XmlError::new(
                    "xml.encoding",
                    format!(
                        "Unsupported encoding \"{}\" in the XML declaration: requests must be UTF-8",
                        quote(&enc)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The end of the input: every element closed, a root present.
    fn finish(self) -> Result<Document<'a>, XmlError> {
        if let Some((n, _)) = self.stack.last() {
            let name = quote(&self.doc.nodes[*n as usize].name).into_owned();
            return Err(XmlError::new(
                "xml.well-formed",
                format!(
                    "XML document structures must start and end within the same entity (element \"{name}\" is not closed)."
                ),
            )
            .at(self.path(None)));
        }
        if self.doc.nodes.is_empty() {
            return Err(XmlError::new(
                "xml.well-formed",
                "Premature end of file: no root element.",
            ));
        }
        Ok(self.doc)
    }
}

/// `&lt;` and friends and character references; nothing else (no entity declarations exist).
fn resolve_reference(r: &quick_xml::events::BytesRef<'_>) -> Result<char, XmlError> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) if is_xml_char(c) => Ok(c),
            _ => Err(XmlError::new(
                "xml.entity",
                format!(
                    "Character reference \"&{};\" is an invalid XML character.",
                    quote(&r.xml10_content())
                ),
            )),
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
                "The entity \"{}\" was referenced, but not declared (entity declarations are not supported).",
                quote(other)
            ),
        )),
    }
}
