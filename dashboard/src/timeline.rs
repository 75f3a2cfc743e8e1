//! The timeline page: every simulator's requests, newest first, filtered and paged on the server; the rows
//! are the same HTML whether rendered here or sent live (`live.rs`).

use crate::entry::Stored;
use crate::filter::{Filter, url_encode};
use crate::html::{esc, time_of, verdict};
use crate::store::{Page, Timeline};
use std::fmt::Write;

/// Rows per page (and the most a live page keeps).
pub const PAGE_SIZE: usize = 100;

/// `e-vst-12`: the row's element id.
pub fn row_id(sim: &str, seq: u64) -> String {
    let safe: String = sim
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("e-{safe}-{seq}")
}

pub fn entry_href(sim: &str, seq: u64) -> String {
    format!("/entry/{}/{seq}", url_encode(sim))
}

/// One timeline row.
pub fn row(s: &Stored, flow: Option<u64>) -> String {
    let e = &s.entry;
    let mut h = String::with_capacity(512);
    let _ = write!(
        h,
        "<tr id=\"{}\" data-key=\"{}\" data-id=\"{}\" class=\"row v-{}\">",
        row_id(&s.sim, e.seq),
        esc(&s.key),
        s.id,
        esc(&e.verdict)
    );
    let _ = write!(
        h,
        "<td class=\"t\"><time datetime=\"{}\">{}</time></td><td class=\"sim\">{}</td>",
        esc(&e.at),
        esc(time_of(&e.at)),
        esc(&s.sim)
    );
    let _ = write!(
        h,
        "<td class=\"req\"><a class=\"open\" href=\"{}\">{}</a><span class=\"path\">{}</span></td>",
        entry_href(&s.sim, e.seq),
        esc(&e.label()),
        esc(e.path_only())
    );
    let status = if e.status == 0 {
        "—".to_string()
    } else {
        e.status.to_string()
    };
    let _ = write!(
        h,
        "<td class=\"st\">{}</td><td class=\"vd\">{}</td><td class=\"dg\">",
        status,
        verdict(&e.verdict)
    );
    if let Some(d) = e.diagnoses.first() {
        let _ = write!(h, "<code class=\"rule\">{}</code>", esc(&d.rule));
        if let Some(l) = &d.location {
            let _ = write!(
                h,
                " <span class=\"at\">at</span> <code class=\"loc\">{}</code>",
                esc(l)
            );
        }
        if e.diagnoses.len() > 1 {
            let _ = write!(h, " <span class=\"more\">+{}</span>", e.diagnoses.len() - 1);
        }
    } else if let Some(f) = &e.fault {
        let _ = write!(h, "<span class=\"fault\">{}</span>", esc(f));
    }
    h.push_str("</td><td class=\"fl\">");
    if let Some(f) = flow {
        h.push_str(&flow_link(f));
    }
    h.push_str("</td></tr>");
    h
}

pub fn flow_link(flow: u64) -> String {
    format!(
        "<a class=\"flow\" href=\"/?flow={flow}\" title=\"show the whole flow\">flow {flow}</a>"
    )
}

fn select(name: &str, label: &str, current: &str, options: &[&str]) -> String {
    let mut s = format!("<label>{label} <select name=\"{name}\"><option value=\"\">all</option>");
    for o in options {
        let sel = if *o == current { " selected" } else { "" };
        let _ = write!(s, "<option value=\"{0}\"{sel}>{0}</option>", esc(o));
    }
    s.push_str("</select></label>");
    s
}

/// The filter form (a plain GET form: it works without JavaScript, and its URL can be shared).
fn filter_form(f: &Filter, sims: &[String], rules: &[String]) -> String {
    let sims: Vec<&str> = sims.iter().map(String::as_str).collect();
    let mut s = String::from(
        "<form class=\"filters\" role=\"search\" aria-label=\"Filter the timeline\" method=\"get\" action=\"/\">",
    );
    s.push_str(&select("sim", "Simulator", &f.sim, &sims));
    s.push_str(&select(
        "verdict",
        "Verdict",
        &f.verdict,
        &["accepted", "rejected", "failed", "injected"],
    ));
    let _ = write!(
        s,
        "<label>Status <input name=\"status\" value=\"{}\" size=\"5\" placeholder=\"4xx\" inputmode=\"numeric\"></label>\
         <label>Rule <input name=\"rule\" value=\"{}\" list=\"rules\" placeholder=\"kvnr.*\" size=\"16\"></label>\
         <datalist id=\"rules\">",
        esc(&f.status),
        esc(&f.rule)
    );
    for r in rules {
        let _ = write!(s, "<option value=\"{}\">", esc(r));
    }
    let _ = write!(
        s,
        "</datalist><label>Text <input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"path, message, location…\"></label>",
        esc(&f.q)
    );
    if let Some(fl) = f.flow {
        let _ = write!(s, "<input type=\"hidden\" name=\"flow\" value=\"{fl}\">");
    }
    s.push_str("<button type=\"submit\">Apply</button> <a class=\"button secondary\" href=\"/\">Clear</a></form>");
    s
}

/// The table with its rows, the paging links and the live controls.
pub fn body(
    t: &Timeline,
    f: &Filter,
    page: &Page,
    before: Option<&str>,
    sims: &[String],
) -> String {
    let mut s = String::with_capacity(64 * 1024);
    s.push_str("<div class=\"split\"><section class=\"list\" aria-labelledby=\"tl-h\">");
    let title = match f.flow {
        Some(fl) => format!("Flow {fl}"),
        None => "Timeline".to_string(),
    };
    let _ = write!(s, "<h1 id=\"tl-h\">{}</h1>", esc(&title));
    s.push_str(&filter_form(f, sims, &t.rules()));
    let live = before.is_none();
    let _ = write!(
        s,
        "<div class=\"livebar\">{}<span id=\"live-status\" role=\"status\" aria-live=\"polite\"></span>\
         <span class=\"count\">{} entries kept{}</span></div>",
        if live {
            "<button type=\"button\" id=\"pause\" aria-pressed=\"false\">Pause live updates</button>"
        } else {
            "<a class=\"button\" href=\"?\">Back to the newest</a>"
        },
        t.len(),
        match t.dropped() {
            0 => String::new(),
            n => format!(", {n} older dropped"),
        }
    );
    let _ = write!(
        s,
        "<div class=\"scroll\"><table class=\"timeline\" id=\"timeline\"{} data-query=\"{}\" data-last=\"{}\" data-limit=\"{}\">\
         <caption class=\"sr-only\">Requests to the simulators, newest first</caption><thead><tr>\
         <th scope=\"col\">Time</th><th scope=\"col\">Simulator</th><th scope=\"col\">Request</th>\
         <th scope=\"col\">Status</th><th scope=\"col\">Verdict</th><th scope=\"col\">Diagnosis</th>\
         <th scope=\"col\">Flow</th></tr></thead><tbody>",
        if live { " data-live=\"1\"" } else { "" },
        esc(&f.query()),
        t.last_id(),
        PAGE_SIZE
    );
    for (e, flow) in &page.entries {
        s.push_str(&row(e, *flow));
    }
    s.push_str("</tbody></table></div>");
    if page.entries.is_empty() {
        s.push_str(if f.is_empty() {
            "<p class=\"empty\" id=\"empty\">No requests yet. Point your client at a simulator; its requests appear here as they arrive.</p>"
        } else {
            "<p class=\"empty\" id=\"empty\">No request matches this filter (yet).</p>"
        });
    }
    s.push_str("<nav class=\"pager\" aria-label=\"Timeline pages\">");
    if before.is_some() {
        let _ = write!(s, "<a href=\"?{}\">Newest</a> ", esc(&f.query()));
    }
    if let Some(older) = &page.older {
        let q = f.query();
        let sep = if q.is_empty() { "" } else { "&" };
        let _ = write!(
            s,
            "<a id=\"older\" href=\"?{}{sep}before={}\">Older entries</a>",
            esc(&q),
            esc(&url_encode(older))
        );
    }
    s.push_str("</nav></section>");
    s.push_str(
        "<section id=\"detail\" class=\"detail\" aria-label=\"Request details\" hidden></section></div>",
    );
    s
}
