//! Any JSON an admin API answers, as readable HTML: an array of objects becomes a table, an object a
//! definition list, nesting beyond a table cell a collapsible block; long values are cut with their size
//! noted. Used for simulators the dashboard has no tailored view for, and inside the tailored ones.

use crate::html::esc;
use serde_json::Value;
use std::fmt::Write;

/// Rows shown of a long array (the rest is counted).
pub const MAX_ROWS: usize = 200;
const MAX_TEXT: usize = 400;

pub fn render(v: &Value) -> String {
    let mut s = String::new();
    block(&mut s, v, 0);
    s
}

fn block(s: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Array(items) if items.is_empty() => s.push_str("<p class=\"empty\">(none)</p>"),
        Value::Array(items) if items.iter().all(Value::is_object) => table(s, items, depth),
        Value::Array(items) => {
            s.push_str("<ul class=\"jlist\">");
            for i in items.iter().take(MAX_ROWS) {
                s.push_str("<li>");
                inline(s, i, depth + 1);
                s.push_str("</li>");
            }
            s.push_str("</ul>");
            more(s, items.len());
        }
        Value::Object(m) if m.is_empty() => s.push_str("<p class=\"empty\">(none)</p>"),
        Value::Object(m) => {
            s.push_str("<dl class=\"kv\">");
            for (k, v) in m {
                let _ = write!(s, "<dt>{}</dt><dd>", esc(k));
                inline(s, v, depth + 1);
                s.push_str("</dd>");
            }
            s.push_str("</dl>");
        }
        other => inline(s, other, depth),
    }
}

fn more(s: &mut String, len: usize) {
    if len > MAX_ROWS {
        let _ = write!(
            s,
            "<p class=\"more\">… and {} more (see the admin API for all)</p>",
            len - MAX_ROWS
        );
    }
}

fn table(s: &mut String, rows: &[Value], depth: usize) {
    let mut cols: Vec<&str> = Vec::new();
    for r in rows.iter().take(MAX_ROWS) {
        if let Some(m) = r.as_object() {
            for k in m.keys() {
                if !cols.contains(&k.as_str()) {
                    cols.push(k);
                }
            }
        }
    }
    s.push_str("<div class=\"scroll\"><table class=\"data\"><thead><tr>");
    for c in &cols {
        let _ = write!(s, "<th scope=\"col\">{}</th>", esc(c));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows.iter().take(MAX_ROWS) {
        s.push_str("<tr>");
        for c in &cols {
            s.push_str("<td>");
            if let Some(v) = r.get(*c) {
                inline(s, v, depth + 1);
            }
            s.push_str("</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>");
    more(s, rows.len());
}

/// A value inside a cell or list item: scalars as text, containers as a nested block (collapsed when deep).
fn inline(s: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Null => s.push_str("<span class=\"null\">—</span>"),
        Value::Bool(b) => {
            let _ = write!(
                s,
                "<span class=\"bool\">{}</span>",
                if *b { "yes" } else { "no" }
            );
        }
        Value::Number(n) => {
            let _ = write!(s, "<span class=\"num\">{n}</span>");
        }
        Value::String(t) => text(s, t),
        Value::Array(a) if a.is_empty() => s.push_str("<span class=\"null\">(none)</span>"),
        Value::Object(m) if m.is_empty() => s.push_str("<span class=\"null\">(none)</span>"),
        Value::Array(_) | Value::Object(_) if depth >= 3 => {
            let n = match v {
                Value::Array(a) => format!("{} items", a.len()),
                Value::Object(m) => format!("{} fields", m.len()),
                _ => String::new(),
            };
            let _ = write!(s, "<details><summary>{n}</summary>");
            block(s, v, depth);
            s.push_str("</details>");
        }
        other => block(s, other, depth),
    }
}

fn text(s: &mut String, t: &str) {
    if t.len() <= MAX_TEXT {
        let _ = write!(s, "<span class=\"str\">{}</span>", esc(t));
        return;
    }
    let mut cut = MAX_TEXT;
    while !t.is_char_boundary(cut) {
        cut -= 1;
    }
    let _ = write!(
        s,
        "<details class=\"long\"><summary><span class=\"str\">{}</span>… ({} bytes)</summary><pre>{}</pre></details>",
        esc(&t[..cut]),
        t.len(),
        esc(t)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_of_objects_become_tables_and_text_is_escaped() {
        let h = render(&json!([{"a": 1, "b": "<x>"}, {"a": 2, "c": true}]));
        assert!(
            h.contains("<th scope=\"col\">a</th><th scope=\"col\">b</th><th scope=\"col\">c</th>")
        );
        assert!(h.contains("&lt;x&gt;"));
        assert!(h.contains("<span class=\"bool\">yes</span>"));
    }

    #[test]
    fn long_and_deep_values_are_contained() {
        let long = "x".repeat(1000);
        let h = render(&json!({ "v": long, "d": {"e": {"f": {"g": [1, 2]}}} }));
        assert!(h.contains("(1000 bytes)"));
        assert!(h.contains("<details><summary>1 fields</summary>"));
        let many: Vec<_> = (0..250).map(|i| json!({ "i": i })).collect();
        assert!(render(&json!(many)).contains("and 50 more"));
        assert_eq!(render(&json!([])), "<p class=\"empty\">(none)</p>");
    }
}
