//! Bodies made readable: JSON and XML indented, multipart (MTOM/XOP) split into its parts. Pure functions;
//! anything that does not parse is shown as it came.

use quick_xml::events::Event;

/// Indented JSON, or `None` when the text is not JSON.
pub fn json(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    serde_json::to_string_pretty(&v).ok()
}

/// Indented XML, or `None` when the text is not well-formed (or is cut off).
pub fn xml(text: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(text.trim_start_matches('\u{feff}'));
    reader.config_mut().trim_text(true);
    let mut writer = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    let mut depth: i64 = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(ev) => {
                match &ev {
                    Event::Start(_) => depth += 1,
                    Event::End(_) => depth -= 1,
                    Event::DocType(_) => return None,
                    _ => {}
                }
                writer.write_event(ev).ok()?;
            }
            Err(_) => return None,
        }
    }
    if depth != 0 {
        return None;
    }
    String::from_utf8(writer.into_inner()).ok()
}

/// A body pretty-printed by its content type (or its look, when the type says nothing).
pub fn body(content_type: Option<&str>, text: &str) -> (String, &'static str) {
    let ct = content_type.unwrap_or_default().to_ascii_lowercase();
    let t = text.trim_start();
    let want_json =
        ct.contains("json") || (ct.is_empty() && (t.starts_with('{') || t.starts_with('[')));
    let want_xml = ct.contains("xml") || t.starts_with('<');
    if want_json && let Some(p) = json(text) {
        return (p, "json");
    }
    if want_xml && let Some(p) = xml(text) {
        return (p, "xml");
    }
    (text.to_string(), "text")
}

/// One part of a multipart body.
#[derive(Debug, PartialEq)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The part's body was cut off (the capture ended inside it).
    pub incomplete: bool,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The boundary parameter of a `multipart/…` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    if !content_type.to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Split a multipart body (as far as it was captured).
pub fn parts(body: &str, boundary: &str) -> Vec<Part> {
    let delim = format!("--{boundary}");
    let mut out = Vec::new();
    let mut chunks = body.split(delim.as_str()).skip(1).peekable();
    while let Some(chunk) = chunks.next() {
        if chunk.starts_with("--") {
            break;
        }
        let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
        let (head, rest) = match chunk.split_once("\r\n\r\n") {
            Some(x) => x,
            None => (chunk, ""),
        };
        let headers = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let last = chunks.peek().is_none();
        let body = rest.strip_suffix("\r\n").unwrap_or(rest).to_string();
        out.push(Part {
            headers,
            body,
            incomplete: last,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_xml_are_indented_and_broken_input_is_left_alone() {
        assert_eq!(json("{\"a\":[1]}").unwrap(), "{\n  \"a\": [\n    1\n  ]\n}");
        let x = xml("<a><b>t</b><c/></a>").unwrap();
        assert_eq!(x, "<a>\n  <b>t</b>\n  <c/>\n</a>");
        assert!(xml("<a><b>").is_none(), "cut off");
        assert!(xml("<!DOCTYPE a [<!ENTITY x 'y'>]><a/>").is_none());
        assert_eq!(body(Some("text/plain"), "x").1, "text");
        assert_eq!(body(None, "{\"a\":1}").1, "json");
        assert_eq!(body(Some("application/soap+xml"), "<a/>").1, "xml");
    }

    #[test]
    fn multipart_parts_are_listed() {
        let ct = "multipart/related; type=\"application/xop+xml\"; boundary=\"MIME_b\"; start=\"<root>\"";
        let b = boundary(ct).unwrap();
        assert_eq!(b, "MIME_b");
        let body = "--MIME_b\r\nContent-Type: application/xop+xml\r\nContent-ID: <root>\r\n\r\n<Envelope/>\r\n\
                    --MIME_b\r\nContent-Type: application/octet-stream\r\nContent-ID: <att1>\r\n\r\nBYTES\r\n--MIME_b--\r\n";
        let p = parts(body, &b);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].header("content-id"), Some("<root>"));
        assert_eq!(p[1].body, "BYTES");
        assert!(!p[1].incomplete);
        let cut = parts(&body[..150], &b);
        assert!(cut.last().unwrap().incomplete);
        assert!(boundary("application/json").is_none());
    }
}
