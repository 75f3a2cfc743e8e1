//! Inclusive Canonical XML 1.0 (`http://www.w3.org/TR/2001/REC-xml-c14n-20010315`, without comments) of
//! one element subtree in its document context — what OSCI signatures reference (`#controlblock`,
//! `#body`, …) and what the library digests when it verifies. The apex renders every namespace in scope
//! (sorted by prefix), descendants only declarations that change what is in scope; attributes sorted by
//! namespace URI then local name; empty elements as start and end tag; text and attribute values escaped
//! as the recommendation says; line ends normalised as an XML processor does.

use crate::xml::{Element, Node, XML_NS, text_of};
use std::collections::BTreeMap;

/// The ancestors of the element with `Id` = `id` (root first) and the element itself.
pub fn path_to_id<'e>(root: &'e Element, id: &str) -> Option<Vec<&'e Element>> {
    fn walk<'e>(el: &'e Element, id: &str, path: &mut Vec<&'e Element>) -> bool {
        path.push(el);
        if el.attr("Id") == Some(id) {
            return true;
        }
        for c in el.elements() {
            if walk(c, id, path) {
                return true;
            }
        }
        path.pop();
        false
    }
    let mut path = Vec::new();
    walk(root, id, &mut path).then_some(path)
}

type Scope = BTreeMap<String, String>;

fn apply_decls(scope: &mut Scope, el: &Element) {
    for (p, u) in &el.ns_decls {
        scope.insert(p.clone(), u.clone());
    }
}

/// Canonicalise the last element of `path` (as returned by [`path_to_id`]).
pub fn canonicalize(src: &str, path: &[&Element]) -> Vec<u8> {
    let mut out = Vec::new();
    let Some((apex, ancestors)) = path.split_last() else {
        return out;
    };
    let mut scope = Scope::new();
    let mut inherited_xml_attrs: BTreeMap<String, String> = BTreeMap::new();
    for a in ancestors {
        apply_decls(&mut scope, a);
        for at in &a.attrs {
            if at.ns.as_deref() == Some(XML_NS) {
                inherited_xml_attrs.insert(at.local.clone(), at.value.clone());
            }
        }
    }
    let mut apex_scope = scope.clone();
    apply_decls(&mut apex_scope, apex);
    // The apex renders everything in scope (an empty default namespace needs no declaration).
    let rendered: Vec<(String, String)> = apex_scope
        .iter()
        .filter(|(p, u)| !(p.is_empty() && u.is_empty()))
        .map(|(p, u)| (p.clone(), u.clone()))
        .collect();
    let extra: Vec<(String, String)> = inherited_xml_attrs
        .into_iter()
        .filter(|(l, _)| apex.attr_ns(XML_NS, l).is_none())
        .collect();
    element(src, apex, &rendered, &extra, &apex_scope, &mut out);
    out
}

fn element(
    src: &str,
    el: &Element,
    ns_render: &[(String, String)],
    extra_xml_attrs: &[(String, String)],
    scope: &Scope,
    out: &mut Vec<u8>,
) {
    out.push(b'<');
    out.extend_from_slice(el.qname.as_bytes());
    for (p, u) in ns_render {
        if p.is_empty() {
            out.extend_from_slice(b" xmlns=\"");
        } else {
            out.extend_from_slice(b" xmlns:");
            out.extend_from_slice(p.as_bytes());
            out.extend_from_slice(b"=\"");
        }
        attr_value(u, out);
        out.push(b'"');
    }
    let mut attrs: Vec<(&str, &str, &str, &str)> = el
        .attrs
        .iter()
        .map(|a| {
            (
                a.ns.as_deref().unwrap_or(""),
                a.local.as_str(),
                a.qname.as_str(),
                a.value.as_str(),
            )
        })
        .collect();
    let xml_extra: Vec<(String, &str)> = extra_xml_attrs
        .iter()
        .map(|(l, v)| (format!("xml:{l}"), v.as_str()))
        .collect();
    for ((q, v), (l, _)) in xml_extra.iter().zip(extra_xml_attrs) {
        attrs.push((XML_NS, l.as_str(), q.as_str(), v));
    }
    attrs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (_, _, q, v) in attrs {
        out.push(b' ');
        out.extend_from_slice(q.as_bytes());
        out.extend_from_slice(b"=\"");
        attr_value(v, out);
        out.push(b'"');
    }
    out.push(b'>');
    for n in &el.children {
        match n {
            Node::Text { range, escaped } => text(&text_of(src, range, *escaped), out),
            Node::CData(r) => text(&src[r.clone()], out),
            Node::Element(c) => {
                let mut child_scope = scope.clone();
                apply_decls(&mut child_scope, c);
                // Render only declarations that change what is in scope.
                let changed: Vec<(String, String)> = child_scope
                    .iter()
                    .filter(|(p, u)| {
                        scope.get(*p) != Some(*u)
                            && !(p.is_empty() && u.is_empty() && !scope.contains_key(""))
                    })
                    .map(|(p, u)| (p.clone(), u.clone()))
                    .collect();
                element(src, c, &changed, &[], &child_scope, out);
            }
        }
    }
    out.extend_from_slice(b"</");
    out.extend_from_slice(el.qname.as_bytes());
    out.push(b'>');
}

fn text(s: &str, out: &mut Vec<u8>) {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '\r' => {
                // Line-end normalisation: CR LF and a lone CR become LF.
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(b'\n');
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

fn attr_value(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\t' => out.extend_from_slice(b"&#x9;"),
            '\n' => out.extend_from_slice(b"&#xA;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    #[test]
    fn apex_gets_the_namespaces_in_scope_and_sorted_attributes() {
        let src = "<e:Env xmlns:e=\"urn:e\" xmlns:b=\"urn:b\" x=\"1\"><b:H z=\"2\" Id=\"h\" e:a=\"3\"><b:C/><e:D xmlns:b=\"urn:b\" xmlns:n=\"urn:n\">a&amp;b\r\n</e:D></b:H></e:Env>";
        let d = parse(src.as_bytes(), Limits::default()).unwrap();
        let p = path_to_id(&d.root, "h").unwrap();
        let c = String::from_utf8(canonicalize(d.src, &p)).unwrap();
        assert_eq!(
            c,
            "<b:H xmlns:b=\"urn:b\" xmlns:e=\"urn:e\" Id=\"h\" z=\"2\" e:a=\"3\"><b:C></b:C><e:D xmlns:n=\"urn:n\">a&amp;b\n</e:D></b:H>"
        );
    }
}
