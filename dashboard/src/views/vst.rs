//! The VST's state (`docs/vst.md`, admin routes): environment, registrations, queued requests and
//! anonymizations, processing errors, accepted deliveries, profile — and the forms that change them.

use crate::follow::SimLink;
use crate::forms::{button, form, hidden, input, select};
use crate::html::esc;
use crate::json_view;
use crate::sim_page::{get_json, section};
use serde_json::Value;
use std::fmt::Write;

fn or_error(r: Result<Value, String>) -> Result<Value, String> {
    r.map_err(|e| crate::html::notice("error", &e))
}

fn registrations_of(regs: &Value) -> Vec<String> {
    regs.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    r.get("TelematikId")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `{TelematikId: [items]}` as a small table of counts (the items are encrypted for the insurer).
fn mailbox_counts(v: &Value, what: &str) -> String {
    let Some(m) = v.as_object() else {
        return json_view::render(v);
    };
    if m.values().all(|x| x.as_array().is_none_or(Vec::is_empty)) {
        return format!("<p class=\"empty\">No {what} pending.</p>");
    }
    let mut s = format!(
        "<table class=\"data\"><thead><tr><th scope=\"col\">Telematik-ID</th><th scope=\"col\">{} pending</th></tr></thead><tbody>",
        esc(what)
    );
    for (tid, items) in m {
        let n = items.as_array().map_or(0, Vec::len);
        let _ = write!(s, "<tr><td>{}</td><td>{n}</td></tr>", esc(tid));
    }
    s.push_str("</tbody></table>");
    s
}

fn tid_select(id: &str, tids: &[String]) -> String {
    let mut opts: Vec<(&str, &str)> = vec![("", "every registered insurer")];
    opts.extend(tids.iter().map(|t| (t.as_str(), t.as_str())));
    select(id, "telematik_id", "For", &opts, "", None)
}

fn queues(name: &str, requests: &Value, anon: &Value, tids: &[String]) -> String {
    let mut s = String::new();
    s.push_str("<h3>Requests (Anfragen)</h3>");
    s.push_str(&mailbox_counts(requests, "requests"));
    let fields = format!(
        "<div class=\"grid\">{}{}</div>",
        input(
            "q-kvnr",
            "kvnrs",
            "KVNR(s), comma-separated",
            "text",
            "A111100008",
            Some("list"),
            "required"
        ),
        tid_select("q-tid", tids)
    );
    s.push_str(&form(
        name,
        "queue-request",
        "POST",
        "/requests",
        "Queue a request for the insurer to poll",
        &fields,
        "Queue request",
    ));
    s.push_str("<h3>Anonymizations</h3>");
    s.push_str(&mailbox_counts(anon, "anonymizations"));
    let fields = format!(
        "<div class=\"grid\">{}{}</div>",
        input(
            "a-kvnr",
            "kvnrs",
            "KVNR(s), comma-separated",
            "text",
            "A111100008",
            Some("list"),
            "required"
        ),
        tid_select("a-tid", tids)
    );
    s.push_str(&form(
        name,
        "queue-anonymization",
        "POST",
        "/anonymizations",
        "Queue an anonymization notification",
        &fields,
        "Queue anonymization",
    ));
    s
}

fn errors(name: &str, errs: &Value, tids: &[String]) -> String {
    let mut s = String::new();
    for (stream, title) in [
        ("vitalstatus", "Vital status stream"),
        ("insuranceupdate", "Insurance update stream"),
    ] {
        let _ = write!(s, "<h3>{title}</h3>");
        let rows: Vec<Value> = errs
            .get(stream)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .flat_map(|(tid, list)| {
                        list.as_array()
                            .cloned()
                            .unwrap_or_default()
                            .into_iter()
                            .map(move |mut e| {
                                if let Some(o) = e.as_object_mut() {
                                    o.insert("TelematikId".into(), Value::String(tid.clone()));
                                }
                                e
                            })
                    })
                    .collect()
            })
            .unwrap_or_default();
        if rows.is_empty() {
            s.push_str("<p class=\"empty\">No processing errors pending.</p>");
        } else {
            s.push_str(&json_view::render(&Value::Array(rows)));
        }
    }
    let streams = [
        ("vitalstatus", "vital status"),
        ("insuranceupdate", "insurance update"),
    ];
    let fields = format!(
        "<div class=\"grid\">{}{}{}{}{}</div>",
        select(
            "e-stream",
            "stream",
            "Stream",
            &streams,
            "vitalstatus",
            None
        ),
        input(
            "e-dl",
            "IdDatenlieferung",
            "IdDatenlieferung",
            "text",
            "",
            None,
            "required"
        ),
        input(
            "e-ds",
            "IdDatensatz",
            "IdDatensatz",
            "text",
            "",
            None,
            "required"
        ),
        input("e-code", "Code", "Code", "text", "", None, "required"),
        tid_select("e-tid", tids)
    );
    s.push_str(&form(
        name,
        "add-error",
        "POST",
        "/processingerrors",
        "Add a processing error",
        &fields,
        "Add error",
    ));
    s
}

fn deliveries(name: &str, list: &Value) -> String {
    let Some(a) = list.as_array() else {
        return json_view::render(list);
    };
    if a.is_empty() {
        return "<p class=\"empty\">No delivery accepted yet.</p>".into();
    }
    let mut s = String::from(
        "<div class=\"scroll\"><table class=\"data\" id=\"deliveries\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Stream</th><th scope=\"col\">Telematik-ID</th>\
         <th scope=\"col\">IdDatenlieferung</th><th scope=\"col\">Received</th><th scope=\"col\">Records</th><th scope=\"col\">Checked</th><th scope=\"col\">Transfernummer</th></tr></thead><tbody>",
    );
    for d in a.iter().rev().take(json_view::MAX_ROWS) {
        let seq = d.get("seq").and_then(Value::as_u64).unwrap_or(0);
        let txt = |k: &str| esc(d.get(k).and_then(Value::as_str).unwrap_or(""));
        let _ = write!(
            s,
            "<tr><td><a href=\"/sim/{}/view?path=/deliveries/{seq}\">{seq}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&crate::filter::url_encode(name)),
            txt("stream"),
            txt("TelematikId"),
            txt("IdDatenlieferung"),
            txt("received_at"),
            d.get("records")
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
            if d.get("processed").and_then(Value::as_bool).unwrap_or(false) {
                "yes"
            } else {
                "pending"
            },
            txt("Transfernummer"),
        );
    }
    s.push_str("</tbody></table></div>");
    if a.len() > json_view::MAX_ROWS {
        let _ = write!(
            s,
            "<p class=\"more\">The latest {} of {} deliveries.</p>",
            json_view::MAX_ROWS,
            a.len()
        );
    }
    s
}

fn environment(name: &str, env: &str) -> String {
    let mut s = format!(
        "<p>The VST plays the <strong>{}</strong> environment.</p>",
        esc(env)
    );
    let other = if env == "production" {
        "reference"
    } else {
        "production"
    };
    s.push_str(&button(
        name,
        "set-env",
        "PUT",
        "/environment",
        &hidden("environment", other, None),
        &format!("Switch to {other}"),
        None,
    ));
    s
}

fn profile(name: &str, p: &Value) -> String {
    let mut s = json_view::render(p);
    let pretty = serde_json::to_string_pretty(p).unwrap_or_default();
    let fields = format!(
        "<label for=\"p-json\">Profile (JSON; see docs/vst.md for each switch)</label>\
         <textarea id=\"p-json\" name=\"_body\" rows=\"8\" spellcheck=\"false\">{}</textarea>",
        esc(&pretty)
    );
    s.push_str(&form(
        name,
        "put-profile",
        "PUT",
        "/profile",
        "Change the profile",
        &fields,
        "Save profile",
    ));
    s
}

pub async fn render(link: &SimLink, health: &Value) -> String {
    let name = link.name.to_string();
    let (regs, reqs, anon, errs, dels, prof) = tokio::join!(
        get_json(link, "/registrations"),
        get_json(link, "/requests"),
        get_json(link, "/anonymizations"),
        get_json(link, "/processingerrors"),
        get_json(link, "/deliveries"),
        get_json(link, "/profile"),
    );
    let env = health
        .get("state")
        .and_then(|s| s.get("environment"))
        .and_then(Value::as_str)
        .unwrap_or("reference");
    let tids = regs.as_ref().map(registrations_of).unwrap_or_default();
    let part = |r: Result<Value, String>, f: &dyn Fn(&Value) -> String| match or_error(r) {
        Ok(v) => f(&v),
        Err(e) => e,
    };
    let mut s = String::new();
    s.push_str(&section("env-h", "Environment", &environment(&name, env)));
    s.push_str(&section(
        "reg-h",
        "Registrations",
        &part(regs, &json_view::render),
    ));
    let q = match (or_error(reqs), or_error(anon)) {
        (Ok(r), Ok(a)) => queues(&name, &r, &a, &tids),
        (Err(e), _) | (_, Err(e)) => e,
    };
    s.push_str(&section("queue-h", "Queues", &q));
    s.push_str(&section(
        "err-h",
        "Processing errors",
        &part(errs, &|v| errors(&name, v, &tids)),
    ));
    s.push_str(&section(
        "del-h",
        "Accepted deliveries",
        &part(dels, &|v| deliveries(&name, v)),
    ));
    s.push_str(&section(
        "prof-h",
        "Profile",
        &part(prof, &|v| profile(&name, v)),
    ));
    s
}
