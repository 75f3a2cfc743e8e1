//! The dashboard can change simulator state, so it keeps the admin API's safety rules for itself
//! (`docs/admin-api.md`): only Host names it serves under (no DNS rebinding), state changes only as JSON
//! from its own pages (a cross-site page cannot send `application/json` without a preflight, which is never
//! granted, and its `Origin`/`Sec-Fetch-Site` give it away), and headers that keep pages from being framed
//! or scripts from being injected.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// Host names (without port) the dashboard answers besides the loopback names.
#[derive(Clone, Debug, Default)]
pub struct Hosts(pub Arc<Vec<String>>);

fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

fn host_allowed(host: &str, extra: &[String]) -> bool {
    let name = host_name(host).to_ascii_lowercase();
    matches!(name.as_str(), "127.0.0.1" | "localhost" | "::1")
        || extra.iter().any(|e| e.eq_ignore_ascii_case(&name))
}

fn refuse(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(json!({ "error": msg }))).into_response()
}

/// Why a request must be refused, if it must.
pub fn check(method: &Method, headers: &HeaderMap, extra_hosts: &[String]) -> Option<Response> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !host_allowed(host, extra_hosts) {
        return Some(refuse(
            StatusCode::FORBIDDEN,
            "this Host is not served (DNS rebinding protection); open the dashboard as 127.0.0.1 or localhost, or allow the name with --ui-allow-host",
        ));
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("same-origin");
    if site != "same-origin" && site != "none" {
        return Some(refuse(
            StatusCode::FORBIDDEN,
            "cross-site requests may not change state",
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let o = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or("");
        if !o.eq_ignore_ascii_case(host) {
            return Some(refuse(
                StatusCode::FORBIDDEN,
                "the request's Origin is not this dashboard",
            ));
        }
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| {
            c.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json {
        return Some(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "state-changing requests must be Content-Type: application/json",
        ));
    }
    None
}

pub async fn layer(State(hosts): State<Hosts>, req: Request, next: Next) -> Response {
    if let Some(r) = check(req.method(), req.headers(), &hosts.0) {
        return r;
    }
    let raw_report = req.uri().path().ends_with("/raw");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if !h.contains_key("content-security-policy") {
        h.insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
        );
    }
    if !raw_report {
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn reads_are_allowed_from_loopback_names_only() {
        assert!(check(&Method::GET, &hm(&[("host", "127.0.0.1:8090")]), &[]).is_none());
        assert!(check(&Method::GET, &hm(&[("host", "localhost:8090")]), &[]).is_none());
        assert!(check(&Method::GET, &hm(&[("host", "[::1]:8090")]), &[]).is_none());
        assert!(check(&Method::GET, &hm(&[("host", "evil.example:8090")]), &[]).is_some());
        assert!(
            check(
                &Method::GET,
                &hm(&[("host", "dev-box:8090")]),
                &["dev-box".into()]
            )
            .is_none()
        );
        assert!(check(&Method::GET, &hm(&[]), &[]).is_some());
    }

    #[test]
    fn changes_need_json_from_this_origin() {
        let ok = [
            ("host", "127.0.0.1:8090"),
            ("content-type", "application/json"),
            ("origin", "http://127.0.0.1:8090"),
        ];
        assert!(check(&Method::POST, &hm(&ok), &[]).is_none());
        let text = [("host", "127.0.0.1:8090"), ("content-type", "text/plain")];
        assert_eq!(check(&Method::POST, &hm(&text), &[]).unwrap().status(), 415);
        let cross = [
            ("host", "127.0.0.1:8090"),
            ("content-type", "application/json"),
            ("origin", "http://evil.example"),
        ];
        assert_eq!(
            check(&Method::POST, &hm(&cross), &[]).unwrap().status(),
            403
        );
        let site = [
            ("host", "127.0.0.1:8090"),
            ("content-type", "application/json"),
            ("sec-fetch-site", "cross-site"),
        ];
        assert_eq!(
            check(&Method::DELETE, &hm(&site), &[]).unwrap().status(),
            403
        );
    }
}
