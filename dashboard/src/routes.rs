//! The dashboard's HTTP routes: pages (full, or `?partial=1` for the script to swap in), live events, the
//! admin proxy and the embedded assets.

use crate::AppState;
use crate::filter::Filter;
use crate::html::{self, Nav, NavSim, esc};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

const CSS: &str = sim_kit::style::CSS;
const JS: &str = include_str!("../assets/app.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(timeline_page))
        .route("/events", get(crate::live::events))
        .route("/entry/{sim}/{seq}", get(entry_page))
        .route(
            "/flow/{id}",
            get(|Path(id): Path<u64>| async move { Redirect::to(&format!("/?flow={id}")) }),
        )
        .route("/sim/{name}", get(sim_page))
        .route("/sim/{name}/view", get(sim_view))
        .route("/reports", get(reports_page))
        .route("/reports/{root}/{name}", get(report_page))
        .route("/reports/{root}/{name}/raw", get(report_raw))
        .route(
            "/api/sim/{name}/admin/{*path}",
            get(proxy).post(proxy).put(proxy).delete(proxy),
        )
        .route(
            "/assets/konform.css",
            get(|| async { asset(CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/assets/app.js",
            get(|| async { asset(JS, "text/javascript; charset=utf-8") }),
        )
        .fallback(|| async { not_found("No such page.") })
}

fn asset(body: &'static str, ct: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn not_found(msg: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(html::page(
            "Not found",
            Nav::None,
            &[],
            &format!("<h1>Not found</h1><p>{}</p>", esc(msg)),
        )),
    )
        .into_response()
}

fn nav_sims(app: &AppState) -> Vec<NavSim> {
    app.links()
        .iter()
        .map(|l| NavSim {
            name: l.name.to_string(),
            status: l.status(),
        })
        .collect()
}

#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    before: Option<String>,
    #[serde(default)]
    partial: Option<String>,
}

async fn timeline_page(
    State(app): State<AppState>,
    filter: Result<Query<Filter>, QueryRejection>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let filter = filter.map(|Query(f)| f).unwrap_or_default();
    let q = page.map(|Query(q)| q).unwrap_or_default();
    let before = q.before.as_deref().filter(|b| !b.is_empty());
    let t = app.timeline();
    let p = t.page(&filter, before, crate::timeline::PAGE_SIZE);
    let sims: Vec<String> = app.links().iter().map(|l| l.name.to_string()).collect();
    let body = crate::timeline::body(t, &filter, &p, before, &sims);
    if q.partial.is_some() {
        return Html(body).into_response();
    }
    Html(html::page(
        "Timeline",
        Nav::Timeline,
        &nav_sims(&app),
        &body,
    ))
    .into_response()
}

async fn entry_page(
    State(app): State<AppState>,
    Path((sim, seq)): Path<(String, u64)>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let Some(st) = app.timeline().get(&sim, seq) else {
        return not_found(&format!(
            "The dashboard does not hold entry {seq} of {sim} (never seen, or dropped as older than its bounds)."
        ));
    };
    let flow = app
        .timeline()
        .flow_of(&st)
        .map(|f| (f, app.timeline().flow(f)));
    let exchange = match app.link(&sim) {
        Some(l) => l
            .client
            .call(
                "GET",
                &format!("/__konform/exchanges/{seq}"),
                None,
                Duration::from_secs(5),
            )
            .await
            .ok()
            .filter(super::client::Reply::is_success)
            .and_then(|r| r.json()),
        None => None,
    };
    let body = crate::entry_page::render(&st, flow, exchange.as_ref());
    if q.is_ok_and(|Query(q)| q.partial.is_some()) {
        return Html(body).into_response();
    }
    let title = format!("{} #{seq} {}", sim, st.entry.label());
    let main = format!("<p><a href=\"/\">Back to the timeline</a></p>{body}");
    Html(html::page(&title, Nav::None, &nav_sims(&app), &main)).into_response()
}

async fn sim_page(
    State(app): State<AppState>,
    Path(name): Path<String>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let Some(link) = app.link(&name).cloned() else {
        return not_found(&format!("No simulator named `{name}` is followed."));
    };
    let state = crate::sim_page::state(&link).await;
    if q.is_ok_and(|Query(q)| q.partial.is_some()) {
        return Html(state).into_response();
    }
    let main = format!("<h1>{}</h1>{state}", esc(&name));
    Html(html::page(&name, Nav::Sim(&name), &nav_sims(&app), &main)).into_response()
}

#[derive(Deserialize)]
struct ViewQuery {
    path: String,
}

/// Any admin GET of a simulator as readable JSON (e.g. one delivery).
async fn sim_view(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Response {
    let Some(link) = app.link(&name).cloned() else {
        return not_found(&format!("No simulator named `{name}` is followed."));
    };
    if !q.path.starts_with('/') || q.path.contains("..") {
        return not_found("An admin path starts with `/`.");
    }
    let body = match crate::sim_page::get_json(&link, &q.path).await {
        Ok(v) => crate::json_view::render(&v),
        Err(e) => html::notice("error", &e),
    };
    let main = format!(
        "<p><a href=\"/sim/{0}\">Back to {0}</a></p><h1><code>GET /__konform{1}</code></h1>{body}",
        esc(&name),
        esc(&q.path)
    );
    Html(html::page(&name, Nav::Sim(&name), &nav_sims(&app), &main)).into_response()
}

async fn reports_page(State(app): State<AppState>) -> Response {
    let main = crate::reports::index(app.reports());
    Html(html::page("Reports", Nav::Reports, &nav_sims(&app), &main)).into_response()
}

async fn report_page(
    State(app): State<AppState>,
    Path((root, name)): Path<(usize, String)>,
) -> Response {
    let Some(r) = crate::reports::find(app.reports(), root, &name) else {
        return not_found("No such report.");
    };
    let main = crate::reports::frame(&r);
    Html(html::page(&r.name, Nav::Reports, &nav_sims(&app), &main)).into_response()
}

async fn report_raw(
    State(app): State<AppState>,
    Path((root, name)): Path<(usize, String)>,
) -> Response {
    let Some(r) = crate::reports::find(app.reports(), root, &name) else {
        return not_found("No such report.");
    };
    match tokio::fs::read(&r.path).await {
        Ok(bytes) => {
            let mut resp = (StatusCode::OK, bytes).into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            // The report is a document, never an application: no scripts, no requests, framed only by us.
            h.insert(
                "content-security-policy",
                HeaderValue::from_static(
                    "sandbox; default-src 'none'; style-src 'unsafe-inline' 'self'; img-src data:; frame-ancestors 'self'",
                ),
            );
            resp
        }
        Err(e) => not_found(&format!("The report cannot be read: {e}")),
    }
}

/// `/api/sim/{name}/admin/{path}` → `{simulator}/__konform/{path}`: the page's admin calls, passed on with
/// their JSON body; the simulator's answer comes back as it is.
async fn proxy(
    State(app): State<AppState>,
    Path((name, path)): Path<(String, String)>,
    uri: Uri,
    method: Method,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(link) = app.link(&name).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": format!("no simulator `{name}`") })),
        )
            .into_response();
    };
    let mut target = format!("/__konform/{}", path.trim_start_matches('/'));
    if let Some(q) = uri.query() {
        target.push('?');
        target.push_str(q);
    }
    let body = if method == Method::GET {
        None
    } else if body.is_empty() {
        Some(b"{}".to_vec())
    } else {
        Some(body.to_vec())
    };
    match link
        .client
        .call(method.as_str(), &target, body, Duration::from_secs(60))
        .await
    {
        Ok(r) => {
            let ct = r
                .content_type
                .clone()
                .unwrap_or_else(|| "application/json".into());
            let mut resp = (
                StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY),
                r.body,
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&ct) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            axum::Json(json!({ "error": format!("the simulator could not be reached: {e}") })),
        )
            .into_response(),
    }
}
