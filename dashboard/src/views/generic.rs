//! Any other simulator: its health's `state` as readable JSON, and the admin collections it serves. A
//! simulator names them in its health (`"admin_views": ["/accounts", …]`); for the simulators being built
//! the dashboard also tries the routes their issues specify, and shows those that answer.

use crate::follow::SimLink;
use crate::html::esc;
use crate::json_view;
use crate::sim_page::{get_json, section};
use serde_json::Value;

/// Admin collections worth showing per simulator kind (tried; a route that does not answer is skipped).
fn known_views(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind {
        "xta" => &[
            ("/accounts", "Accounts"),
            ("/mailboxes", "Mailboxes"),
            ("/messages", "Messages"),
            ("/reports", "Transport reports"),
        ],
        "osci" => &[("/mailboxes", "Mailboxes"), ("/messages", "Messages")],
        "melderegister" => &[
            ("/mandanten", "Mandanten"),
            ("/orders", "Orders"),
            ("/outbox", "Outbox (e-mails)"),
        ],
        _ => &[],
    }
}

fn title_of(path: &str) -> String {
    let t = path.trim_start_matches('/').replace(['/', '_', '-'], " ");
    let mut c = t.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => path.to_string(),
    }
}

pub async fn render(link: &SimLink, kind: &str, health: &Value) -> String {
    let mut s = String::new();
    if let Some(state) = health.get("state") {
        s.push_str(&section("gstate-h", "State", &json_view::render(state)));
    }
    let mut views: Vec<(String, String)> = health
        .get("admin_views")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter(|p| p.starts_with('/'))
                .map(|p| (p.to_string(), title_of(p)))
                .collect()
        })
        .unwrap_or_default();
    for (p, t) in known_views(kind) {
        if !views.iter().any(|(x, _)| x == p) {
            views.push((p.to_string(), t.to_string()));
        }
    }
    for (i, (path, title)) in views.iter().enumerate() {
        if let Ok(v) = get_json(link, path).await {
            let body = format!(
                "<p class=\"note\"><code>GET /__konform{}</code></p>{}",
                esc(path),
                json_view::render(&v)
            );
            s.push_str(&section(&format!("gview-{i}"), title, &body));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn titles_from_paths() {
        assert_eq!(super::title_of("/transport_reports"), "Transport reports");
    }
}
