//! A simulator's page: reachability, its state (a tailored view for the simulators the dashboard knows,
//! readable generic JSON for the others), its pending fault rules with a form to add one, reset, and a raw
//! admin call for everything else. All of it read and changed through the simulator's admin API.

use crate::follow::SimLink;
use crate::forms::{self, form, input, select, when};
use crate::html::esc;
use crate::views;
use serde_json::Value;
use std::fmt::Write;
use std::time::Duration;

/// `GET /__konform{path}` as JSON, or the reason it failed.
pub async fn get_json(link: &SimLink, path: &str) -> Result<Value, String> {
    let r = link
        .client
        .call(
            "GET",
            &format!("/__konform{path}"),
            None,
            Duration::from_secs(10),
        )
        .await
        .map_err(|e| e.to_string())?;
    if !r.is_success() {
        return Err(format!("{path} answered {}", r.status));
    }
    r.json()
        .ok_or_else(|| format!("{path}: the answer is not JSON"))
}

/// A section with a heading.
pub fn section(id: &str, title: &str, body: &str) -> String {
    format!(
        "<section class=\"card\" aria-labelledby=\"{id}\"><h2 id=\"{id}\">{}</h2>{body}</section>",
        esc(title)
    )
}

/// The paths a simulator serves (from its health's `endpoints`: a list of `METHOD /path` or a map).
fn endpoints(health: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match health.get("state").and_then(|s| s.get("endpoints")) {
        Some(Value::Array(a)) => {
            for e in a.iter().filter_map(Value::as_str) {
                let p = e.split_whitespace().last().unwrap_or(e);
                if !out.iter().any(|x: &String| x == p) {
                    out.push(p.to_string());
                }
            }
        }
        Some(Value::Object(m)) => {
            out.extend(m.values().filter_map(Value::as_str).map(str::to_string));
        }
        _ => {}
    }
    out
}

fn faults(name: &str, list: &Value, health: &Value) -> String {
    let mut s = String::new();
    match list.as_array() {
        Some(a) if !a.is_empty() => {
            s.push_str("<div class=\"scroll\"><table class=\"data\" id=\"faults\"><thead><tr><th scope=\"col\">Rule</th><th scope=\"col\">Matches</th>\
                        <th scope=\"col\">Times</th><th scope=\"col\">After</th><th scope=\"col\">Action</th><th scope=\"col\"><span class=\"sr-only\">Remove</span></th></tr></thead><tbody>");
            for r in a {
                let id = r.get("id").and_then(Value::as_u64).unwrap_or(0);
                let target = match (
                    r.get("operation").and_then(Value::as_str),
                    r.get("path").and_then(Value::as_str),
                ) {
                    (Some(op), _) => format!("operation {op}"),
                    (None, Some(p)) => format!(
                        "{} {p}",
                        r.get("method").and_then(Value::as_str).unwrap_or("any")
                    ),
                    _ => String::new(),
                };
                let action = r
                    .get("action")
                    .map(std::string::ToString::to_string)
                    .unwrap_or_default();
                let delay = r
                    .get("delay_ms")
                    .and_then(Value::as_u64)
                    .map(|d| format!(" after a delay of {d} ms"))
                    .unwrap_or_default();
                let _ = write!(
                    s,
                    "<tr><td>#{id}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code>{}</td><td>{}</td></tr>",
                    esc(&target),
                    r.get("times")
                        .map(std::string::ToString::to_string)
                        .unwrap_or_default(),
                    r.get("after")
                        .map(std::string::ToString::to_string)
                        .unwrap_or_default(),
                    esc(&action),
                    esc(&delay),
                    forms::button(
                        name,
                        &format!("fault-del-{id}"),
                        "DELETE",
                        &format!("/faults/{id}"),
                        "",
                        &format!("Remove rule {id}"),
                        None
                    )
                );
            }
            s.push_str("</tbody></table></div>");
        }
        _ => s.push_str(
            "<p class=\"empty\">No pending fault rules: every request is answered normally.</p>",
        ),
    }
    let eps = endpoints(health);
    let mut list = String::from("<datalist id=\"endpoints\">");
    for e in &eps {
        let _ = write!(list, "<option value=\"{}\">", esc(e));
    }
    list.push_str("</datalist>");
    let first = eps.first().cloned().unwrap_or_default();
    let methods = [
        ("", "any"),
        ("POST", "POST"),
        ("GET", "GET"),
        ("PUT", "PUT"),
        ("DELETE", "DELETE"),
    ];
    let kinds = [
        ("status", "answer a status"),
        ("delay", "delay, then answer normally"),
        ("drop", "drop the connection"),
        ("bad_signature", "corrupt the response signature"),
        ("fault", "a simulator fault code"),
    ];
    let fields = format!(
        "{list}<div class=\"grid\">{}{}{}{}{}{}{}{}{}{}</div>",
        input(
            "f-path",
            "path",
            "Path (exact, or a prefix ending in *)",
            "text",
            &first,
            None,
            "list=\"endpoints\""
        ),
        select("f-method", "method", "Method", &methods, "", None),
        input(
            "f-op",
            "operation",
            "or operation (e.g. SignDocument)",
            "text",
            "",
            None,
            ""
        ),
        input(
            "f-times",
            "times",
            "Times",
            "number",
            "1",
            Some("number"),
            "min=\"1\""
        ),
        input(
            "f-after",
            "after",
            "Let through first",
            "number",
            "0",
            Some("number"),
            "min=\"0\""
        ),
        select("f-kind", "action.kind", "Action", &kinds, "status", None),
        when(
            "action.kind:status",
            &format!(
                "{}{}",
                input(
                    "f-status",
                    "action.status",
                    "Status",
                    "number",
                    "503",
                    Some("number"),
                    "min=\"100\" max=\"599\""
                ),
                input("f-body", "action.body", "Body", "text", "", None, "")
            )
        ),
        when(
            "action.kind:delay",
            &input(
                "f-ms",
                "action.ms",
                "Delay (ms)",
                "number",
                "1000",
                Some("number"),
                "min=\"0\""
            )
        ),
        when(
            "action.kind:fault",
            &input(
                "f-code",
                "action.code",
                "Fault code",
                "text",
                "4085",
                None,
                ""
            )
        ),
        input(
            "f-delay",
            "delay_ms",
            "Extra delay before (ms)",
            "number",
            "",
            Some("number"),
            "min=\"0\""
        ),
    );
    s.push_str(&form(
        name,
        "fault-add",
        "POST",
        "/faults",
        "Add a fault rule",
        &fields,
        "Add rule",
    ));
    s
}

/// The state part of the page (also served alone, for refreshing after an action).
pub async fn state(link: &SimLink) -> String {
    let name = link.name.to_string();
    let Some(health) = link.refresh_health().await else {
        let st = link.status();
        return format!(
            "<div id=\"state\">{}</div>",
            crate::html::notice(
                "error",
                &format!(
                    "{} is not reachable at {}: {}",
                    name,
                    link.client.base(),
                    st.error.unwrap_or_default()
                )
            )
        );
    };
    let kind = health
        .get("simulator")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut s = String::from("<div id=\"state\">");
    let j = health.get("journal");
    let _ = write!(
        s,
        "<p class=\"facts-line\"><span>Simulator <strong>{}</strong> {}</span> <span>at <code>{}</code></span> \
         <span>journal: {} entries (last #{})</span> <a href=\"/?sim={}\">its requests in the timeline</a></p>",
        esc(&kind),
        esc(health.get("version").and_then(Value::as_str).unwrap_or("")),
        esc(link.client.base()),
        j.and_then(|j| j.get("entries"))
            .map(std::string::ToString::to_string)
            .unwrap_or_default(),
        j.and_then(|j| j.get("last_seq"))
            .map(std::string::ToString::to_string)
            .unwrap_or_default(),
        crate::filter::url_encode(&name)
    );
    let tailored = match kind.as_str() {
        "vst" => views::vst::render(link, &health).await,
        "konnektor" => views::konnektor::render(link, &health).await,
        _ => views::generic::render(link, &kind, &health).await,
    };
    s.push_str(&tailored);
    let fl = get_json(link, "/faults").await.unwrap_or(Value::Null);
    s.push_str(&section(
        "faults-h",
        "Fault rules",
        &faults(&name, &fl, &health),
    ));
    s.push_str(&section(
        "actions-h",
        "Reset and raw admin calls",
        &actions(&name),
    ));
    s.push_str("</div>");
    s
}

fn actions(name: &str) -> String {
    let mut s = String::from("<div class=\"row-actions\">");
    s.push_str(&forms::button(
        name,
        "reset",
        "POST",
        "/reset",
        "",
        "Reset the simulator",
        Some("Reset: state back to its configuration, journal and fault rules cleared?"),
    ));
    s.push_str(&forms::button(
        name,
        "clear-journal",
        "DELETE",
        "/journal",
        "",
        "Clear its journal",
        None,
    ));
    s.push_str("</div>");
    let methods = [
        ("GET", "GET"),
        ("POST", "POST"),
        ("PUT", "PUT"),
        ("DELETE", "DELETE"),
    ];
    let fields = format!(
        "<div class=\"grid\">{}<span>{}</span></div><label for=\"raw-body\">JSON body (for POST and PUT)</label>\
         <textarea id=\"raw-body\" name=\"_body\" rows=\"4\" spellcheck=\"false\"></textarea>",
        select("raw-method", "_method", "Method", &methods, "GET", None),
        input(
            "raw-path",
            "_path",
            "Path after /__konform",
            "text",
            "/health",
            None,
            "required pattern=\"/.*\""
        ),
    );
    let mut raw = form(
        name,
        "raw",
        "RAW",
        "",
        "Any admin call (see docs/admin-api.md and the simulator's page in docs/)",
        &fields,
        "Send",
    );
    raw = raw.replace("class=\"admin\"", "class=\"admin raw\"");
    s.push_str(&raw);
    s
}
