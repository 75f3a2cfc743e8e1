//! Admin forms. Each form names an admin call (`data-method`, `data-path` under `/__konform`); `app.js`
//! turns its fields into the JSON body (dotted names nest, `data-type` converts, empty fields are left out,
//! fields whose `data-when` condition fails are left out) and sends it through the dashboard to the
//! simulator's admin API, whose answer is shown in the form's status line.

use crate::html::esc;
use std::fmt::Write;

/// `<form>` around `fields`, with a submit button and a status line.
pub fn form(
    sim: &str,
    id: &str,
    method: &str,
    path: &str,
    legend: &str,
    fields: &str,
    submit: &str,
) -> String {
    format!(
        "<form class=\"admin\" id=\"{id}\" data-sim=\"{}\" data-method=\"{}\" data-path=\"{}\">\
         <fieldset><legend>{}</legend>{fields}<button type=\"submit\">{}</button>\
         <output class=\"result\" role=\"status\" aria-live=\"polite\"></output></fieldset></form>",
        esc(sim),
        esc(method),
        esc(path),
        esc(legend),
        esc(submit)
    )
}

/// A button-only form (reset, remove, insert…), optionally asking for confirmation first.
pub fn button(
    sim: &str,
    id: &str,
    method: &str,
    path: &str,
    hidden: &str,
    label: &str,
    confirm: Option<&str>,
) -> String {
    let confirm = confirm
        .map(|c| format!(" data-confirm=\"{}\"", esc(c)))
        .unwrap_or_default();
    format!(
        "<form class=\"admin inline\" id=\"{id}\" data-sim=\"{}\" data-method=\"{}\" data-path=\"{}\"{confirm}>{hidden}\
         <button type=\"submit\" class=\"secondary\">{}</button><output class=\"result\" role=\"status\" aria-live=\"polite\"></output></form>",
        esc(sim),
        esc(method),
        esc(path),
        esc(label)
    )
}

/// A labelled input. `ty` is the HTML type; `data_type` the JSON type (`number`, `bool`, `list`, `json`).
pub fn input(
    id: &str,
    name: &str,
    label: &str,
    ty: &str,
    value: &str,
    data_type: Option<&str>,
    extra: &str,
) -> String {
    let dt = data_type
        .map(|t| format!(" data-type=\"{t}\""))
        .unwrap_or_default();
    format!(
        "<div class=\"field\"><label for=\"{id}\">{}</label><input id=\"{id}\" name=\"{}\" type=\"{ty}\" value=\"{}\"{dt} {extra}></div>",
        esc(label),
        esc(name),
        esc(value)
    )
}

/// A labelled select; the first option is selected unless `current` names another.
pub fn select(
    id: &str,
    name: &str,
    label: &str,
    options: &[(&str, &str)],
    current: &str,
    data_type: Option<&str>,
) -> String {
    let dt = data_type
        .map(|t| format!(" data-type=\"{t}\""))
        .unwrap_or_default();
    let mut s = format!(
        "<div class=\"field\"><label for=\"{id}\">{}</label><select id=\"{id}\" name=\"{}\"{dt}>",
        esc(label),
        esc(name)
    );
    for (v, l) in options {
        let sel = if *v == current { " selected" } else { "" };
        let _ = write!(s, "<option value=\"{}\"{sel}>{}</option>", esc(v), esc(l));
    }
    s.push_str("</select></div>");
    s
}

/// Wrap fields that only apply when another field has a value (`data-when="action.kind:status"`).
pub fn when(cond: &str, fields: &str) -> String {
    format!(
        "<span class=\"when\" data-when=\"{}\">{fields}</span>",
        esc(cond)
    )
}

/// A hidden JSON field (a fixed part of the body).
pub fn hidden(name: &str, value: &str, data_type: Option<&str>) -> String {
    let dt = data_type
        .map(|t| format!(" data-type=\"{t}\""))
        .unwrap_or_default();
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\"{dt}>",
        esc(name),
        esc(value)
    )
}
