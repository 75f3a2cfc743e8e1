//! HTML building blocks: escaping, the page frame (landmarks, navigation, skip link), badges. Every page is
//! rendered on the server; `assets/app.js` only enhances (live updates, the detail pane, admin forms).

use crate::follow::LinkStatus;
use std::fmt::Write;

/// Escape text for element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Which navigation item is current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav<'a> {
    Timeline,
    Sim(&'a str),
    Reports,
    None,
}

/// One simulator in the navigation.
pub struct NavSim {
    pub name: String,
    pub status: LinkStatus,
}

/// The full page around `main` (which must not contain a `<main>` itself).
pub fn page(title: &str, nav: Nav<'_>, sims: &[NavSim], main: &str) -> String {
    let mut s = String::with_capacity(main.len() + 4096);
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} — konform</title>\
         <link rel=\"stylesheet\" href=\"/assets/konform.css\">\
         <script src=\"/assets/app.js\" defer></script></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header class=\"top\"><a class=\"brand\" href=\"/\">konform</a>\
         <nav aria-label=\"Main\"><ul>",
        esc(title)
    );
    let item = |s: &mut String, href: &str, label: &str, current: bool, extra: &str| {
        let cur = if current {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            s,
            "<li><a href=\"{}\"{cur}>{extra}{}</a></li>",
            esc(href),
            esc(label)
        );
    };
    item(&mut s, "/", "Timeline", nav == Nav::Timeline, "");
    for sim in sims {
        let (cls, word) = if sim.status.connected {
            ("ok", "reachable")
        } else if sim.status.error.is_some() {
            ("down", "unreachable")
        } else {
            ("wait", "connecting")
        };
        let dot = format!(
            "<span class=\"dot {cls}\" title=\"{word}\"><span class=\"sr-only\">({word}) </span></span>"
        );
        item(
            &mut s,
            &format!("/sim/{}", sim.name),
            &sim.name,
            nav == Nav::Sim(&sim.name),
            &dot,
        );
    }
    item(&mut s, "/reports", "Reports", nav == Nav::Reports, "");
    let _ = write!(
        s,
        "</ul></nav></header><main id=\"main\" tabindex=\"-1\">{main}</main>\
         <footer class=\"foot\"><p>konform {} — the simulators answer as the real services do; \
         the explanations are konform's. Data shown here comes from each simulator's admin API.</p></footer>\
         </body></html>",
        env!("CARGO_PKG_VERSION")
    );
    s
}

/// A verdict badge (`accepted`, `rejected`, `failed`, `injected`).
pub fn verdict(v: &str) -> String {
    let cls = match v {
        "accepted" | "rejected" | "failed" | "injected" => v,
        _ => "other",
    };
    format!("<span class=\"badge v-{cls}\">{}</span>", esc(v))
}

/// The reason phrase of an HTTP status, for "400 Bad Request".
pub fn reason(status: u16) -> &'static str {
    match status {
        0 => "(no HTTP answer: asynchronous check)",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// `hh:mm:ss.mmm` of an RFC 3339 timestamp (the date is in the title).
pub fn time_of(at: &str) -> &str {
    at.get(11..23).unwrap_or(at)
}

/// A status message region (`role=status`), for the result of an action.
pub fn notice(kind: &str, text: &str) -> String {
    format!(
        "<p class=\"notice {}\" role=\"status\">{}</p>",
        esc(kind),
        esc(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn page_has_landmarks_and_marks_the_current_item() {
        let p = page("T<", Nav::Reports, &[], "<h1>x</h1>");
        assert!(p.contains("<title>T&lt; — konform</title>"));
        assert!(p.contains("<main id=\"main\""));
        assert!(p.contains("<nav aria-label=\"Main\">"));
        assert!(p.contains("href=\"/reports\" aria-current=\"page\""));
        assert!(p.contains("class=\"skip\" href=\"#main\""));
    }
}
