//! One request in full: the faithful status beside konform's explanation (each diagnosis with rule, location,
//! hint and seed passage), the flow it belongs to, the request and answer as captured, what the simulator
//! decoded, and the raw journal entry.

use crate::entry::{Diagnosis, Stored};
use crate::exchange_view;
use crate::html::{esc, reason, time_of, verdict};
use crate::timeline::{entry_href, flow_link};
use serde_json::Value;
use std::fmt::Write;
use std::sync::Arc;

fn diagnosis(s: &mut String, d: &Diagnosis) {
    let _ = write!(
        s,
        "<li class=\"diag\"><p class=\"what\"><code class=\"rule\">{}</code>",
        esc(&d.rule)
    );
    if let Some(l) = &d.location {
        let _ = write!(s, " at <code class=\"loc\">{}</code>", esc(l));
    }
    let _ = write!(s, "</p><p class=\"msg\">{}</p>", esc(&d.message));
    if let Some(h) = &d.hint {
        let _ = write!(
            s,
            "<p class=\"hint\"><strong>How to fix:</strong> {}</p>",
            esc(h)
        );
    }
    if let Some(seed) = &d.seed {
        let _ = write!(
            s,
            "<blockquote class=\"seed\"><p><strong>Specification:</strong> {}</p></blockquote>",
            esc(seed)
        );
    }
    s.push_str("</li>");
}

fn flow_chain(s: &mut String, flow: u64, members: &[Arc<Stored>], this: &Stored) {
    let _ = write!(
        s,
        "<section class=\"flowbox\" aria-labelledby=\"flow-h\"><h3 id=\"flow-h\">Part of {} across simulators</h3><ol class=\"chain\">",
        flow_link(flow)
    );
    for m in members {
        let cur = if m.sim == this.sim && m.entry.seq == this.entry.seq {
            " aria-current=\"step\""
        } else {
            ""
        };
        let _ = write!(
            s,
            "<li{cur}><a class=\"open\" href=\"{}\"><span class=\"sim\">{}</span> {}</a> {} {}</li>",
            entry_href(&m.sim, m.entry.seq),
            esc(&m.sim),
            esc(&m.entry.label()),
            m.entry.status,
            verdict(&m.entry.verdict)
        );
    }
    s.push_str("</ol></section>");
}

/// The detail HTML (a fragment: the pane and the full page both use it). `exchange` is the simulator's
/// captured request and answer, when it has them.
pub fn render(
    st: &Stored,
    flow: Option<(u64, Vec<Arc<Stored>>)>,
    exchange: Option<&Value>,
) -> String {
    let e = &st.entry;
    let mut s = String::with_capacity(8 * 1024);
    let _ = write!(
        s,
        "<article class=\"entry\" aria-labelledby=\"entry-h\"><header><h2 id=\"entry-h\" tabindex=\"-1\">{}</h2>\
         <button type=\"button\" class=\"close secondary\" aria-label=\"Close the details\" hidden>Close</button>\
         <p class=\"path\"><code>{} {}</code></p>",
        esc(&e.label()),
        esc(&e.method),
        esc(&e.path)
    );
    let _ = write!(
        s,
        "<dl class=\"facts\"><dt>Simulator</dt><dd>{}</dd><dt>Status</dt><dd><strong class=\"status\">{} {}</strong> \
         <span class=\"faithful\">(what the real service answers)</span></dd><dt>Verdict</dt><dd>{}</dd>\
         <dt>Time</dt><dd><time datetime=\"{}\">{} {}</time></dd><dt>Duration</dt><dd>{:.1} ms</dd><dt>Journal</dt><dd>#{}</dd>",
        esc(&st.sim),
        e.status,
        reason(e.status),
        verdict(&e.verdict),
        esc(&e.at),
        esc(e.at.get(..10).unwrap_or_default()),
        esc(time_of(&e.at)),
        e.duration_ms,
        e.seq
    );
    if let Some(f) = &e.fault {
        let _ = write!(s, "<dt>Injected fault</dt><dd>{}</dd>", esc(f));
    }
    s.push_str("</dl></header>");
    if !e.diagnoses.is_empty() {
        let _ = write!(
            s,
            "<section aria-labelledby=\"diag-h\"><h3 id=\"diag-h\">What konform found ({})</h3><ol class=\"diags\">",
            e.diagnoses.len()
        );
        for d in &e.diagnoses {
            diagnosis(&mut s, d);
        }
        s.push_str("</ol></section>");
    } else if e.verdict == "accepted" {
        s.push_str("<p class=\"good\">No diagnosis: the simulator found nothing wrong with this request.</p>");
    }
    if let Some((id, members)) = &flow {
        flow_chain(&mut s, *id, members, st);
    }
    s.push_str(&exchange_view::render(exchange));
    if let Some(d) = &e.data {
        s.push_str(
            "<section aria-labelledby=\"data-h\"><h3 id=\"data-h\">Decoded by the simulator</h3>\
             <p class=\"note\">What the simulator read from the request (e.g. the decrypted plaintext of encrypted fields).</p>",
        );
        s.push_str(&crate::json_view::render(d));
        s.push_str("</section>");
    }
    let raw = serde_json::to_string_pretty(e).unwrap_or_default();
    let _ = write!(
        s,
        "<details class=\"raw\"><summary>Journal entry as JSON</summary><pre><code>{}</code></pre></details></article>",
        esc(&raw)
    );
    s
}
