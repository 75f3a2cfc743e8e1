//! A tiny XML writer: responses are built as strings with escaping ([`sim_kit::xml_escape`]), no DOM.

use sim_kit::xml_escape::{escape_into, escape_text_into};
use std::time::SystemTime;

pub use sim_kit::xml_escape::escape;

/// Builder for one response body element tree.
pub struct XmlWriter {
    pub buf: String,
}

impl Default for XmlWriter {
    fn default() -> Self {
        XmlWriter::new()
    }
}

impl XmlWriter {
    pub fn new() -> XmlWriter {
        XmlWriter {
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
    /// `<CONN:Status><CONN:Result>OK</CONN:Result></CONN:Status>`, the first child of every answer.
    pub fn status_ok(&mut self) -> &mut Self {
        self.open("CONN:Status", &[])
            .leaf("CONN:Result", "OK")
            .close("CONN:Status")
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

/// xs:dateTime in UTC with milliseconds (`2024-05-01T10:00:00.000Z`), as `sim_kit::now_rfc3339` writes it.
pub fn date_time(t: SystemTime) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from(t)
        .format(&fmt)
        .unwrap_or_default()
}

/// xs:date (`2024-05-01`) of a point in time, UTC.
pub fn date(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}",
        dt.year(),
        u8::from(dt.month()),
        dt.day()
    )
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
        let mut w = XmlWriter::new();
        w.open("a:x", &[("k", "<v>")])
            .leaf("a:y", "1 & 2")
            .empty("a:z", &[])
            .close("a:x");
        assert_eq!(
            w.buf,
            "<a:x k=\"&lt;v&gt;\"><a:y>1 &amp; 2</a:y><a:z/></a:x>"
        );
    }

    #[test]
    fn dates() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(86_400_000 + 1);
        assert_eq!(date_time(t), "1970-01-02T00:00:00.001Z");
        assert_eq!(date(t), "1970-01-02");
    }
}
