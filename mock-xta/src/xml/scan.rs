//! A streaming scan of a business message (the `Message` of a ContentContainer, e.g. a FIM message) for
//! what a transport profile needs: the declared encoding, the root element, the subtree of a header
//! element found by local name at any depth (the seed binds no namespace to its `xfd` prefix), and the
//! text of elements found by local name anywhere (`F60000296` proof names). Memory stays bounded whatever
//! the message's size; DTDs are rejected and never expanded.

use super::reader::{XmlError, path_of};
use super::{Attr, Element};
use quick_xml::events::Event;
use quick_xml::reader::NsReader;
use std::collections::BTreeMap;
use std::io::BufRead;

/// What to look for.
#[derive(Clone, Debug, Default)]
pub struct ScanSpec {
    /// Local names whose first occurrence is captured as a subtree (with how often they occur).
    pub capture: Vec<String>,
    /// Local names whose text values are collected everywhere.
    pub collect: Vec<String>,
}

/// A captured subtree and where it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    pub element: Element,
    pub path: String,
    pub occurrences: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanResult {
    /// `encoding` of the XML declaration, as written.
    pub declared_encoding: Option<String>,
    /// Root element: (namespace, local name).
    pub root: Option<(Option<String>, String)>,
    pub captured: BTreeMap<String, Captured>,
    /// Local name → (trimmed text, XPath) of every occurrence.
    pub texts: BTreeMap<String, Vec<(String, String)>>,
}

const MAX_DEPTH: usize = 256;
const MAX_CAPTURE_BYTES: usize = 256 * 1024;
const MAX_VALUES: usize = 10_000;
const MAX_VALUE_CHARS: usize = 4096;

struct Frame {
    qname: String,
    local: String,
    text: Option<String>,
}

/// Scan a document. Errors: `xml.encoding` (not UTF-8, or declared otherwise — the caller decides
/// whether that is an encoding fault), `xml.doctype`, `xml.well-formed`, `xml.depth`.
pub fn scan<R: BufRead>(input: R, spec: &ScanSpec) -> Result<ScanResult, XmlError> {
    let mut reader = NsReader::from_reader(input);
    {
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.expand_empty_elements = true;
    }
    let mut out = ScanResult::default();
    let mut stack: Vec<Frame> = Vec::new();
    // The subtree being captured: its elements, and at which stack depth it started.
    let mut cap: Option<(String, usize, Vec<Element>, usize)> = None;
    let mut buf = Vec::new();
    let mut first = true;
    let mut values = 0usize;
    let path = |stack: &[Frame]| -> String {
        let els: Vec<Element> = stack
            .iter()
            .map(|f| Element {
                qname: f.qname.clone(),
                ..Element::default()
            })
            .collect();
        path_of(&els, None)
    };
    loop {
        buf.clear();
        let ev = reader.read_event_into(&mut buf).map_err(|e| {
            let msg = e.to_string();
            if msg.contains("utf-8") || msg.contains("UTF-8") || msg.contains("Utf8") {
                XmlError::new(
                    "xml.encoding",
                    format!("The message is not valid UTF-8: {msg}"),
                )
            } else {
                XmlError::new(
                    "xml.well-formed",
                    format!("The message is not well-formed XML: {msg}"),
                )
            }
            .at(path(&stack))
        })?;
        let was_first = first;
        first = false;
        match ev {
            Event::Decl(d) => {
                if !was_first {
                    return Err(XmlError::new(
                        "xml.well-formed",
                        "XML declaration not at the start",
                    ));
                }
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = enc.to_string();
                    let utf8 =
                        enc.eq_ignore_ascii_case("utf-8") || enc.eq_ignore_ascii_case("utf8");
                    out.declared_encoding = Some(enc.clone());
                    if !utf8 {
                        return Err(XmlError::new(
                            "xml.encoding",
                            format!("The message declares encoding \"{enc}\"; only UTF-8 is read"),
                        ));
                    }
                }
            }
            Event::DocType(_) => {
                return Err(XmlError::new(
                    "xml.doctype",
                    "The message carries a DOCTYPE; document type declarations are not processed",
                ));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::new(
                        "xml.depth",
                        format!("Nesting deeper than {MAX_DEPTH}"),
                    )
                    .at(path(&stack)));
                }
                if stack.is_empty() && out.root.is_some() {
                    return Err(XmlError::new(
                        "xml.well-formed",
                        "More than one root element",
                    ));
                }
                let qname = e.name().as_ref().to_string();
                let (res, local) = reader.resolver().resolve_element(e.name());
                let ns = match res {
                    quick_xml::name::ResolveResult::Bound(n) => Some(n.as_ref().to_string()),
                    quick_xml::name::ResolveResult::Unbound => None,
                    quick_xml::name::ResolveResult::Unknown(p) => {
                        return Err(XmlError::new(
                            "xml.namespace",
                            format!("The prefix \"{p}\" for element \"{qname}\" is not bound."),
                        )
                        .at(path(&stack)));
                    }
                };
                let local = local.as_ref().to_string();
                if stack.is_empty() {
                    out.root = Some((ns.clone(), local.clone()));
                }
                let collect = spec.collect.contains(&local);
                stack.push(Frame {
                    qname: qname.clone(),
                    local: local.clone(),
                    text: collect.then(String::new),
                });
                if let Some(c) = out.captured.get_mut(&local) {
                    c.occurrences += 1;
                } else if cap.is_none() && spec.capture.contains(&local) {
                    cap = Some((local.clone(), stack.len(), Vec::new(), 0));
                }
                if let Some((_, _, els, bytes)) = cap.as_mut() {
                    let mut attrs = Vec::new();
                    for a in e.attributes().flatten() {
                        let key = a.key.as_ref().to_string();
                        let value = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map(std::borrow::Cow::into_owned)
                            .unwrap_or_default();
                        *bytes += key.len() + value.len();
                        attrs.push(Attr {
                            ns: None,
                            local: key.clone(),
                            qname: key,
                            value,
                        });
                    }
                    *bytes += qname.len();
                    els.push(Element {
                        ns,
                        local,
                        qname,
                        attrs,
                        ..Element::default()
                    });
                }
            }
            Event::End(_) => {
                let Some(frame) = stack.pop() else {
                    return Err(XmlError::new("xml.well-formed", "Unexpected end tag"));
                };
                if let Some(t) = frame.text
                    && values < MAX_VALUES
                {
                    values += 1;
                    let mut p = path(&stack);
                    p.push('/');
                    p.push_str(&frame.qname);
                    let v: String = t.trim().chars().take(MAX_VALUE_CHARS).collect();
                    out.texts
                        .entry(frame.local.clone())
                        .or_default()
                        .push((v, p));
                }
                let done = if let Some((name, depth, els, _)) = cap.as_mut() {
                    if els.len() > 1 {
                        let child = els.pop();
                        if let (Some(child), Some(parent)) = (child, els.last_mut()) {
                            parent.children.push(child);
                        }
                        None
                    } else if stack.len() + 1 == *depth {
                        let el = els.pop().unwrap_or_default();
                        Some((name.clone(), el))
                    } else {
                        None
                    }
                } else {
                    None
                };
                if let Some((name, el)) = done {
                    let mut p = path(&stack);
                    p.push('/');
                    p.push_str(&el.qname);
                    out.captured.insert(
                        name,
                        Captured {
                            element: el,
                            path: p,
                            occurrences: 1,
                        },
                    );
                    cap = None;
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                append_text(&mut stack, &mut cap, &s)?;
            }
            Event::CData(t) => {
                let s = t.xml10_content();
                append_text(&mut stack, &mut cap, &s)?;
            }
            Event::GeneralRef(r) => {
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten()
                } else {
                    match r.xml10_content().as_ref() {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "apos" => Some('\''),
                        "quot" => Some('"'),
                        _ => None,
                    }
                };
                let Some(ch) = ch else {
                    return Err(XmlError::new(
                        "xml.entity",
                        format!(
                            "Undeclared entity \"&{};\" in the message",
                            r.xml10_content()
                        ),
                    )
                    .at(path(&stack)));
                };
                let mut b = [0u8; 4];
                append_text(&mut stack, &mut cap, ch.encode_utf8(&mut b))?;
            }
            Event::Empty(_) => {}
            Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(
            XmlError::new("xml.well-formed", "The message ends inside an element").at(path(&stack)),
        );
    }
    if out.root.is_none() {
        return Err(XmlError::new(
            "xml.well-formed",
            "The message has no root element",
        ));
    }
    Ok(out)
}

fn append_text(
    stack: &mut [Frame],
    cap: &mut Option<(String, usize, Vec<Element>, usize)>,
    s: &str,
) -> Result<(), XmlError> {
    if stack.is_empty() {
        if s.trim().is_empty() {
            return Ok(());
        }
        return Err(XmlError::new(
            "xml.well-formed",
            "Text outside the root element",
        ));
    }
    for f in stack.iter_mut() {
        if let Some(t) = f.text.as_mut()
            && t.len() < MAX_VALUE_CHARS * 4
        {
            t.push_str(s);
        }
    }
    if let Some((_, _, els, bytes)) = cap.as_mut()
        && let Some(el) = els.last_mut()
    {
        *bytes += s.len();
        if *bytes > MAX_CAPTURE_BYTES {
            return Err(XmlError::new(
                "xml.size",
                format!("The header element exceeds {MAX_CAPTURE_BYTES} bytes"),
            ));
        }
        el.text.push_str(s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_header_and_proof_names_at_any_depth() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?><x:Antrag xmlns:x="urn:fim"><x:a><x:G05001479><x:G05001480><x:F05002752>t</x:F05002752></x:G05001480></x:G05001479></x:a><x:b><x:F60000296> plan.pdf </x:F60000296></x:b><x:F60000296>foto.jpg</x:F60000296></x:Antrag>"#;
        let spec = ScanSpec {
            capture: vec!["G05001479".into()],
            collect: vec!["F60000296".into()],
        };
        let r = scan(doc.as_bytes(), &spec).unwrap();
        assert_eq!(r.root, Some((Some("urn:fim".into()), "Antrag".into())));
        let h = &r.captured["G05001479"];
        assert_eq!(h.path, "/x:Antrag/x:a/x:G05001479");
        assert_eq!(h.element.children[0].children[0].text, "t");
        let names: Vec<&str> = r.texts["F60000296"]
            .iter()
            .map(|(v, _)| v.as_str())
            .collect();
        assert_eq!(names, ["plan.pdf", "foto.jpg"]);
        assert_eq!(r.texts["F60000296"][1].1, "/x:Antrag/x:F60000296");
    }

    #[test]
    fn rejects_doctype_and_bad_encoding() {
        let spec = ScanSpec::default();
        assert_eq!(
            scan(&b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"[..], &spec)
                .unwrap_err()
                .rule,
            "xml.doctype"
        );
        assert_eq!(
            scan(
                &b"<?xml version='1.0' encoding='ISO-8859-1'?><a/>"[..],
                &spec
            )
            .unwrap_err()
            .rule,
            "xml.encoding"
        );
        assert_eq!(
            scan(&b"<a>\xff</a>"[..], &spec).unwrap_err().rule,
            "xml.encoding"
        );
        assert_eq!(
            scan(&b"<a><b></a>"[..], &spec).unwrap_err().rule,
            "xml.well-formed"
        );
        assert_eq!(
            scan(&b"plain text"[..], &spec).unwrap_err().rule,
            "xml.well-formed"
        );
    }
}
