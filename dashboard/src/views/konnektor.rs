//! The Konnektor's state (`docs/konnektor.md`): cards with their PIN state, terminals, the context — and
//! per card the forms that set the PIN state, script the next VerifyPin answer and insert or pull the card.

use crate::follow::SimLink;
use crate::forms::{button, form, hidden, input, select};
use crate::html::esc;
use crate::json_view;
use crate::sim_page::{get_json, section};
use serde_json::Value;
use std::fmt::Write;

const PIN_STATES: [(&str, &str); 4] = [
    ("VERIFIABLE", "VERIFIABLE (PIN not yet entered)"),
    ("VERIFIED", "VERIFIED"),
    ("BLOCKED", "BLOCKED"),
    ("TRANSPORT_PIN", "TRANSPORT_PIN"),
];

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn card_forms(name: &str, c: &Value) -> String {
    let handle = c.get("handle").and_then(Value::as_str).unwrap_or("");
    let h = slug(handle);
    let enc = crate::filter::url_encode(handle);
    let pin = c.get("pin_status").and_then(Value::as_str).unwrap_or("");
    let tries = c
        .get("left_tries")
        .map(std::string::ToString::to_string)
        .unwrap_or_default();
    let inserted = c.get("inserted").and_then(Value::as_bool).unwrap_or(true);
    let mut s = String::new();
    let fields = format!(
        "<div class=\"grid\">{}{}</div>",
        select(
            &format!("pin-{h}"),
            "status",
            "PIN status",
            &PIN_STATES,
            pin,
            None
        ),
        input(
            &format!("tries-{h}"),
            "left_tries",
            "Tries left",
            "number",
            &tries,
            Some("number"),
            "min=\"0\" max=\"3\""
        )
    );
    s.push_str(&form(
        name,
        &format!("set-pin-{h}"),
        "PUT",
        &format!("/cards/{enc}/pin"),
        &format!("PIN state of {handle}"),
        &fields,
        "Set PIN state",
    ));
    let answers = [
        ("ok", "the right PIN (OK)"),
        ("wrong", "a wrong PIN (REJECTED)"),
    ];
    let fields = format!(
        "<div class=\"grid\">{}</div>",
        select(
            &format!("next-{h}"),
            "answers",
            "The next VerifyPin gets",
            &answers,
            "ok",
            Some("list")
        )
    );
    s.push_str(&form(
        name,
        &format!("next-verify-{h}"),
        "POST",
        &format!("/cards/{enc}/pin/next"),
        &format!("Next VerifyPin answer for {handle}"),
        &fields,
        "Queue answer",
    ));
    s.push_str(&button(
        name,
        &format!("insert-{h}"),
        "PUT",
        &format!("/cards/{enc}/inserted"),
        &hidden(
            "inserted",
            if inserted { "false" } else { "true" },
            Some("bool"),
        ),
        &format!("{} {handle}", if inserted { "Pull" } else { "Insert" }),
        None,
    ));
    s
}

fn cards(name: &str, list: &Value) -> String {
    let Some(a) = list.as_array() else {
        return json_view::render(list);
    };
    if a.is_empty() {
        return "<p class=\"empty\">No cards configured.</p>".into();
    }
    let mut s = String::from(
        "<div class=\"scroll\"><table class=\"data\" id=\"cards\"><thead><tr><th scope=\"col\">Handle</th><th scope=\"col\">Type</th><th scope=\"col\">Holder</th>\
         <th scope=\"col\">ICCSN</th><th scope=\"col\">Terminal / slot</th><th scope=\"col\">Inserted</th><th scope=\"col\">PIN</th>\
         <th scope=\"col\">Tries left</th><th scope=\"col\">Next VerifyPin</th></tr></thead><tbody>",
    );
    for c in a {
        let t = |k: &str| {
            esc(&c
                .get(k)
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_default())
        };
        let pin = c.get("pin_status").and_then(Value::as_str).unwrap_or("");
        let next = c
            .get("next_verify")
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let _ = write!(
            s,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td>\
             <td><span class=\"pin pin-{}\" data-pin=\"{}\">{}</span></td><td>{}</td><td>{}</td></tr>",
            t("handle"),
            t("card_type"),
            t("holder"),
            t("iccsn"),
            t("ct_id"),
            t("slot_id"),
            if c.get("inserted").and_then(Value::as_bool).unwrap_or(false) {
                "yes"
            } else {
                "no"
            },
            esc(&pin.to_ascii_lowercase()),
            esc(pin),
            esc(pin),
            t("left_tries"),
            if next.is_empty() {
                "—".to_string()
            } else {
                esc(&next)
            }
        );
    }
    s.push_str("</tbody></table></div>");
    for c in a {
        s.push_str("<div class=\"card-actions\">");
        s.push_str(&card_forms(name, c));
        s.push_str("</div>");
    }
    s
}

pub async fn render(link: &SimLink, health: &Value) -> String {
    let name = link.name.to_string();
    let list = get_json(link, "/cards").await;
    let mut s = String::new();
    let body = match list {
        Ok(v) => cards(&name, &v),
        Err(e) => crate::html::notice("error", &e),
    };
    s.push_str(&section("cards-h", "Cards and PIN states", &body));
    let state = health.get("state").cloned().unwrap_or(Value::Null);
    let mut term = String::new();
    match state.get("terminals") {
        Some(t) => term.push_str(&json_view::render(t)),
        None => term.push_str("<p class=\"empty\">(not reported)</p>"),
    }
    s.push_str(&section("term-h", "Card terminals", &term));
    let mut ctx = String::new();
    if let Some(c) = state.get("context") {
        ctx.push_str(&json_view::render(c));
    }
    if let Some(e) = state.get("endpoints") {
        ctx.push_str("<h3>Endpoints</h3>");
        ctx.push_str(&json_view::render(e));
    }
    s.push_str(&section("ctx-h", "Context and endpoints", &ctx));
    s
}
