//! The request and the answer as the simulator captured them (`GET /__konform/exchanges/{seq}`, bounded
//! copies: headers, the first bytes of each body): headers as a table, bodies pretty-printed, multipart
//! (MTOM) bodies as a list of parts.

use crate::html::esc;
use crate::pretty;
use serde_json::Value;
use std::fmt::Write;

fn headers(v: &Value) -> Vec<(String, String)> {
    v.get("headers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|h| {
                    let p = h.as_array()?;
                    Some((
                        p.first()?.as_str()?.to_string(),
                        p.get(1)?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn header_table(s: &mut String, hs: &[(String, String)]) {
    if hs.is_empty() {
        return;
    }
    s.push_str(
        "<details class=\"headers\"><summary>Headers</summary><table class=\"data\"><tbody>",
    );
    for (k, v) in hs {
        let _ = write!(
            s,
            "<tr><th scope=\"row\">{}</th><td><code>{}</code></td></tr>",
            esc(k),
            esc(v)
        );
    }
    s.push_str("</tbody></table></details>");
}

fn pre(s: &mut String, text: &str, kind: &str) {
    let _ = write!(
        s,
        "<pre class=\"body {kind}\"><code>{}</code></pre>",
        esc(text)
    );
}

fn message(s: &mut String, m: &Value, what: &str) {
    let hs = headers(m);
    let ct = hs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone());
    header_table(s, &hs);
    let size = m.get("size").and_then(Value::as_u64).unwrap_or(0);
    let truncated = m.get("truncated").and_then(Value::as_bool).unwrap_or(false);
    let text = m.get("body").and_then(Value::as_str);
    let binary = m.get("body_base64").and_then(Value::as_str);
    if size == 0 {
        let _ = write!(s, "<p class=\"note\">The {what} has no body.</p>");
        return;
    }
    let _ = write!(
        s,
        "<p class=\"note\">Body: {size} bytes{}{}.</p>",
        ct.as_deref()
            .map(|c| format!(", {}", esc(c)))
            .unwrap_or_default(),
        if truncated {
            " — only the beginning was kept"
        } else {
            ""
        }
    );
    if let Some(b) = ct.as_deref().and_then(pretty::boundary)
        && let Some(t) = text.or(binary)
    {
        {
            let parts = pretty::parts(t, &b);
            let _ = write!(
                s,
                "<p>Multipart body with {} part(s):</p><ol class=\"parts\">",
                parts.len()
            );
            for p in &parts {
                let _ = write!(
                    s,
                    "<li><code>{}</code> {} — {} bytes{}",
                    esc(p.header("content-id").unwrap_or("(no Content-ID)")),
                    esc(p.header("content-type").unwrap_or("")),
                    p.body.len(),
                    if p.incomplete && truncated {
                        " (cut off)"
                    } else {
                        ""
                    }
                );
                let pct = p.header("content-type").unwrap_or("");
                if pct.contains("xml") || pct.contains("json") {
                    let (body, kind) = pretty::body(Some(pct), &p.body);
                    pre(s, &body, kind);
                }
                s.push_str("</li>");
            }
            s.push_str("</ol>");
            return;
        }
    }
    match (text, binary) {
        (Some(t), _) => {
            let (body, kind) = if truncated {
                (t.to_string(), "text")
            } else {
                pretty::body(ct.as_deref(), t)
            };
            pre(s, &body, kind);
        }
        (None, Some(b)) => {
            let _ = write!(
                s,
                "<p class=\"note\">Binary body (not UTF-8); its first bytes in base64:</p>"
            );
            pre(s, &b[..b.len().min(4096)], "text");
        }
        (None, None) => {}
    }
}

/// The request/answer section. `None`: the simulator has no copy (older simulator, or dropped from its
/// bounded store).
pub fn render(exchange: Option<&Value>) -> String {
    let mut s = String::new();
    let Some(x) = exchange else {
        s.push_str(
            "<section aria-labelledby=\"req-h\"><h3 id=\"req-h\">Request and answer</h3><p class=\"note\">\
             The simulator has no copy of this request's headers and body any more (it keeps only the latest \
             ones, within a byte budget).</p></section>",
        );
        return s;
    };
    if let Some(r) = x.get("request") {
        s.push_str("<section aria-labelledby=\"req-h\"><h3 id=\"req-h\">Request</h3>");
        message(&mut s, r, "request");
        s.push_str("</section>");
    }
    if let Some(r) = x.get("response") {
        let status = r.get("status").and_then(Value::as_u64).unwrap_or(0);
        let _ = write!(
            s,
            "<section aria-labelledby=\"resp-h\"><h3 id=\"resp-h\">Answer ({status} {})</h3>",
            crate::html::reason(u16::try_from(status).unwrap_or(0))
        );
        message(&mut s, r, "answer");
        s.push_str("</section>");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_bodies_are_pretty_and_headers_listed() {
        let x = json!({
            "request": {"headers": [["content-type", "application/json"]], "body": "{\"a\":1}", "size": 7, "truncated": false},
            "response": {"status": 400, "headers": [], "body": "", "size": 0, "truncated": false}
        });
        let h = render(Some(&x));
        assert!(h.contains("{\n  &quot;a&quot;: 1\n}"), "{h}");
        assert!(h.contains("<th scope=\"row\">content-type</th>"));
        assert!(h.contains("Answer (400 Bad Request)"));
        assert!(h.contains("The answer has no body."));
        assert!(render(None).contains("no copy"));
    }

    #[test]
    fn mtom_parts_are_listed() {
        let body = "--b\r\nContent-Type: application/xop+xml\r\nContent-ID: <root>\r\n\r\n<E/>\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-ID: <a1>\r\n\r\nxyz\r\n--b--";
        let x = json!({"request": {"headers": [["Content-Type", "multipart/related; boundary=b"]], "body": body, "size": body.len(), "truncated": false}});
        let h = render(Some(&x));
        assert!(h.contains("2 part(s)"), "{h}");
        assert!(h.contains("&lt;a1&gt;"));
        assert!(h.contains("3 bytes"));
    }
}
