//! XML for XTA: a compact element tree for headers and small bodies ([`Element`]), a streaming reader that
//! sends the (possibly 40 MB) base64 content of `ContentContainer/Message|Attachment` to a sink instead of
//! the tree ([`reader`]), a namespace-preserving re-serialiser ([`write_element`]) and a small writer with
//! escaping ([`W`]).

pub mod reader;
pub mod scan;

pub use reader::{ContentSink, Limits, ParseError, SinkError, XmlError};

/// One attribute: namespace (None for unqualified), local name, qualified name as written, value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    pub ns: Option<String>,
    pub local: String,
    pub qname: String,
    pub value: String,
}

/// Where the content of a base64 element went: streamed to a sink slot (inline base64), or an
/// `xop:Include` reference to a MIME part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentRef {
    Inline { slot: usize },
    Xop { cid: String },
}

/// One element with its resolved namespace, the qualified name as written, the namespace declarations
/// written on it, attributes, concatenated character data and child elements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    pub ns: Option<String>,
    pub local: String,
    pub qname: String,
    /// `(prefix, namespace)` declared on this element; prefix `None` is the default namespace.
    pub ns_decls: Vec<(Option<String>, String)>,
    pub attrs: Vec<Attr>,
    pub text: String,
    pub children: Vec<Element>,
    /// Set for the streamed base64 content elements.
    pub content: Option<ContentRef>,
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
    /// The first child with this namespace and local name.
    pub fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, local))
    }
    /// The first child with this local name and no namespace (XÖV `code`/`name`).
    pub fn child_unqualified(&self, local: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.ns.is_none() && c.local == local)
    }
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, local))
    }
    /// Text with surrounding whitespace removed.
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }
    pub fn has_text(&self) -> bool {
        !self.text.trim().is_empty()
    }
    /// `{namespace}local`, as validators write it.
    pub fn expanded(&self) -> String {
        match &self.ns {
            Some(ns) => format!("{{{ns}}}{}", self.local),
            None => self.local.clone(),
        }
    }
}

/// Escape character data and attribute values; characters XML 1.0 cannot carry become U+FFFD so a
/// response is always well-formed.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    escape_into(&mut o, s);
    o
}

/// Builder for response fragments.
pub struct W {
    pub buf: String,
}

impl Default for W {
    fn default() -> Self {
        W::new()
    }
}

impl W {
    pub fn new() -> W {
        W {
            buf: String::with_capacity(1024),
        }
    }
    /// `<name attr="v" …>`
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(name);
        for (k, v) in attrs {
            self.buf.push(' ');
            self.buf.push_str(k);
            self.buf.push_str("=\"");
            escape_into(&mut self.buf, v);
            self.buf.push('"');
        }
        self.buf.push('>');
        self
    }
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }
    /// `<name>text</name>`
    pub fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.leaf_attrs(name, &[], text)
    }
    pub fn leaf_attrs(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> &mut Self {
        self.open(name, attrs);
        escape_into(&mut self.buf, text);
        self.close(name)
    }
    /// `<name/>`
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.open(name, attrs);
        self.buf.pop();
        self.buf.push_str("/>");
        self
    }
    /// Raw, already well-formed markup.
    pub fn raw(&mut self, s: &str) -> &mut Self {
        self.buf.push_str(s);
        self
    }
}

/// Serialise an element subtree as standalone XML, keeping the prefixes as written and declaring every
/// namespace binding the subtree needs (also those only declared, e.g. for QName-valued content).
/// Streamed content elements are written empty; callers fill them (see `http::response`).
pub fn write_element(out: &mut String, el: &Element) {
    let mut scope: Vec<(Option<String>, Option<String>)> = Vec::new();
    write_rec(out, el, &mut scope);
}

fn lookup<'a>(
    scope: &'a [(Option<String>, Option<String>)],
    prefix: &Option<String>,
) -> Option<&'a Option<String>> {
    scope
        .iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, n)| n)
}

fn prefix_of(qname: &str) -> Option<String> {
    qname.split_once(':').map(|(p, _)| p.to_string())
}

fn write_rec(out: &mut String, el: &Element, scope: &mut Vec<(Option<String>, Option<String>)>) {
    let mark = scope.len();
    let mut decls: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut need = |prefix: Option<String>,
                    ns: Option<String>,
                    scope: &Vec<(Option<String>, Option<String>)>| {
        let bound = lookup(scope, &prefix).cloned().unwrap_or(None);
        let in_decls = decls
            .iter()
            .find(|(p, _)| *p == prefix)
            .map(|(_, n)| n.clone());
        let current = in_decls.unwrap_or(bound);
        if current != ns && !(prefix.is_some() && ns.is_none()) {
            decls.retain(|(p, _)| *p != prefix);
            decls.push((prefix, ns));
        }
    };
    for (p, n) in &el.ns_decls {
        need(p.clone(), Some(n.clone()), scope);
    }
    need(prefix_of(&el.qname), el.ns.clone(), scope);
    for a in &el.attrs {
        if a.ns.is_some() && a.ns.as_deref() != Some(crate::ns::XML) {
            need(prefix_of(&a.qname), a.ns.clone(), scope);
        }
    }
    out.push('<');
    out.push_str(&el.qname);
    for (p, n) in &decls {
        out.push_str(" xmlns");
        if let Some(p) = p {
            out.push(':');
            out.push_str(p);
        }
        out.push_str("=\"");
        escape_into(out, n.as_deref().unwrap_or(""));
        out.push('"');
    }
    for a in &el.attrs {
        out.push(' ');
        out.push_str(&a.qname);
        out.push_str("=\"");
        escape_into(out, &a.value);
        out.push('"');
    }
    scope.extend(decls);
    if el.children.is_empty() && el.text.is_empty() {
        out.push_str("/>");
    } else {
        out.push('>');
        escape_into(out, &el.text);
        for c in &el.children {
            write_rec(out, c, scope);
        }
        out.push_str("</");
        out.push_str(&el.qname);
        out.push('>');
    }
    scope.truncate(mark);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_escapes() {
        let mut w = W::new();
        w.open("a:x", &[("k", "<v>")])
            .leaf("a:y", "1 & 2\r")
            .empty("a:z", &[])
            .close("a:x");
        assert_eq!(
            w.buf,
            "<a:x k=\"&lt;v&gt;\"><a:y>1 &amp; 2&#13;</a:y><a:z/></a:x>"
        );
    }

    #[test]
    fn subtree_round_trips_with_its_namespaces() {
        let doc = r#"<e:Envelope xmlns:e="urn:e" xmlns:m="urn:m" xmlns:q="urn:q"><e:Body><m:Meta a="1" q:b="2"><code>X</code><m:T xmlns="urn:d">t<i/></m:T></m:Meta></e:Body></e:Envelope>"#;
        let root = reader::parse_document(doc.as_bytes(), Limits::default()).unwrap();
        let meta = &root.children[0].children[0];
        let mut s = String::new();
        write_element(&mut s, meta);
        assert_eq!(
            s,
            r#"<m:Meta xmlns:m="urn:m" xmlns:q="urn:q" a="1" q:b="2"><code>X</code><m:T xmlns="urn:d">t<i/></m:T></m:Meta>"#
        );
        let back = reader::parse_document(s.as_bytes(), Limits::default()).unwrap();
        assert_eq!(back.children[1].children[0].ns.as_deref(), Some("urn:d"));
        assert_eq!(back.children[0].ns, None);
    }
}
