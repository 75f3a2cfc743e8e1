//! A tiny XML writer: responses are built as strings with escaping, no DOM.

/// Escape character data and attribute values (`&`, `<`, `>`, `"`, `'`); characters XML 1.0 cannot carry
/// are replaced by U+FFFD so a response is always well-formed.
pub fn escape_into(out: &mut String, s: &str) {
    escape_impl(out, s, true)
}

/// Escape character data: quotes need no escaping there.
pub fn escape_text_into(out: &mut String, s: &str) {
    escape_impl(out, s, false)
}

fn escape_impl(out: &mut String, s: &str, quotes: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            '\'' if quotes => out.push_str("&apos;"),
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

/// Builder for one response body element tree.
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
            buf: String::with_capacity(2048),
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
        self.open(name, &[]);
        escape_text_into(&mut self.buf, text);
        self.close(name)
    }
    pub fn leaf_attrs(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> &mut Self {
        self.open(name, attrs);
        escape_text_into(&mut self.buf, text);
        self.close(name)
    }
    /// `<name/>`
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.open(name, attrs);
        self.buf.pop();
        self.buf.push_str("/>");
        self
    }
    /// Raw, already well-formed markup or base64 text.
    pub fn raw(&mut self, s: &str) -> &mut Self {
        self.buf.push_str(s);
        self
    }
}

pub const XML_DECL: &str = "<?xml version='1.0' encoding='UTF-8'?>";

/// Wrap body content in a SOAP 1.1 envelope.
pub fn envelope(body: &str) -> String {
    let mut s = String::with_capacity(body.len() + 160);
    s.push_str(XML_DECL);
    s.push_str("<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body>");
    s.push_str(body);
    s.push_str("</S:Body></S:Envelope>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_documents_well_formed() {
        assert_eq!(
            escape("a<b&c>\"'\u{1}\r"),
            "a&lt;b&amp;c&gt;&quot;&apos;\u{FFFD}&#13;"
        );
        let mut w = W::new();
        w.open("a:x", &[("k", "<v>")])
            .leaf("a:y", "1 & 2")
            .empty("a:z", &[])
            .close("a:x");
        assert_eq!(
            w.buf,
            "<a:x k=\"&lt;v&gt;\"><a:y>1 &amp; 2</a:y><a:z/></a:x>"
        );
    }
}
