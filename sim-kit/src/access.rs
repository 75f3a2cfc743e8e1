//! Who may use the admin API (`/__konform/…`). It can inject faults, block a PIN, reset state and read
//! the journal (which holds decrypted deliveries), so a web page open in a browser on the same machine
//! must not reach it:
//!
//! - **Host**: the `Host` header must name the address the request came in on — a loopback name
//!   (`localhost`, `127.0.0.1`, `[::1]`) or the listener's own IP, with the listener's port when it names
//!   one — or one of [`AdminAccess::allowed_hosts`]. A page that rebinds its own DNS name to 127.0.0.1
//!   sends its own name and is refused (`403`). An `Origin` header, when present, must pass the same
//!   check with its port (a page on `http://localhost:3000` is another origin).
//! - **Content type**: a request that changes something (`POST`, `PUT`, `PATCH`, `DELETE`) must say
//!   `Content-Type: application/json` (`415` otherwise). A browser cannot send that cross-origin without
//!   a CORS preflight, which the admin API never grants; a `text/plain` "simple" POST is refused.
//! - **Token**: with [`AdminAccess::token`] set (required by `konform up --bind` on a non-loopback
//!   address), every admin request must carry `Authorization: Bearer TOKEN` (`401` otherwise, compared in
//!   constant time); the Host and Origin checks are then off, the token being the protection.
//!
//! Requests that did not come through a socket (a router called in-process, as tests do) skip the Host
//! check: there is no browser there.

use crate::admin::ApiError;
use crate::serve::ConnInfo;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// Why an admin request was refused; rendered as the admin API's JSON error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub error: String,
}

impl Refusal {
    fn new(status: StatusCode, error: impl Into<String>) -> Refusal {
        Refusal {
            status,
            error: error.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let mut r = ApiError {
            status: self.status,
            error: self.error,
            detail: None,
        }
        .into_response();
        if unauthorized {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"konform admin\""),
            );
        }
        r
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdminAccess {
    /// Bearer token every admin request must carry. `None`: no token, Host check on.
    pub token: Option<String>,
    /// Further accepted `Host` values: `name` (any port) or `name:port`, compared case-insensitively.
    pub allowed_hosts: Vec<String>,
}

/// Check one admin request; `Err` is the answer to send instead.
pub fn check(
    access: &AdminAccess,
    method: &Method,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
) -> Result<(), Refusal> {
    if let Some(token) = &access.token {
        check_token(token, headers)?;
    } else if let Some(conn) = conn {
        check_host(access, headers, conn)?;
    }
    if is_mutating(method) && !is_json(headers) {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "admin requests that change something ({method}) need `Content-Type: application/json`, \
                 even with an empty body (so a web page cannot send them; docs/admin-api.md)"
            ),
        ));
    }
    Ok(())
}

fn is_mutating(m: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(m)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

fn check_token(token: &str, headers: &HeaderMap) -> Result<(), Refusal> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    let ok = given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(token.as_bytes())));
    if ok {
        return Ok(());
    }
    Err(Refusal::new(
        StatusCode::UNAUTHORIZED,
        "the admin API needs `Authorization: Bearer TOKEN` (konform up --admin-token)",
    ))
}

fn check_host(access: &AdminAccess, headers: &HeaderMap, conn: &ConnInfo) -> Result<(), Refusal> {
    let forbidden = |what: String| Err(Refusal::new(StatusCode::FORBIDDEN, what));
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let Some(host) = host else {
        return forbidden("admin requests need a Host header".into());
    };
    if !host_allowed(access, host, None, conn) {
        return forbidden(format!(
            "Host `{}` is not the address this admin API listens on ({}); use http://127.0.0.1:{}/ \
             or allow the name (konform up --admin-allow-host NAME; docs/admin-api.md)",
            crate::clip::quote(host),
            conn.local,
            conn.local.port()
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let ok = origin_authority(origin)
            .is_some_and(|(auth, port)| host_allowed(access, auth, Some(port), conn));
        if !ok {
            return forbidden(format!(
                "Origin `{}` may not use the admin API (a web page's request; docs/admin-api.md)",
                crate::clip::quote(origin)
            ));
        }
    }
    Ok(())
}

/// `http://host:port` → (`host:port`, default port by scheme).
fn origin_authority(origin: &str) -> Option<(&str, u16)> {
    let (scheme, rest) = origin.split_once("://")?;
    let port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    Some((rest.trim_end_matches('/'), port))
}

/// Is `authority` (`name[:port]`) the listener itself or an allowed name? `default_port` applies when
/// the authority has no port (an Origin's scheme default). A Host without a port is not checked for the
/// port: browsers always send the port a page asked for, so only non-browser clients omit it.
fn host_allowed(
    access: &AdminAccess,
    authority: &str,
    default_port: Option<u16>,
    conn: &ConnInfo,
) -> bool {
    let Some((name, port)) = split_authority(authority) else {
        return false;
    };
    let port = port.or(default_port);
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let listed = access.allowed_hosts.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        a == name || port.is_some_and(|p| a == format!("{name}:{p}"))
    });
    if listed {
        return true;
    }
    if port.is_some_and(|p| p != conn.local.port()) {
        return false;
    }
    match name.parse::<IpAddr>() {
        Ok(ip) => (ip.is_loopback() && conn.local.ip().is_loopback()) || ip == conn.local.ip(),
        Err(_) => name == "localhost" && conn.local.ip().is_loopback(),
    }
}

/// `name[:port]` / `[v6][:port]` → (name without brackets, port).
fn split_authority(a: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = a.strip_prefix('[') {
        let (name, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((name, port));
    }
    match a.rsplit_once(':') {
        Some((name, p)) => Some((name, Some(p.parse().ok()?))),
        None => Some((a, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn conn(local: &str) -> ConnInfo {
        ConnInfo {
            local: local.parse().unwrap(),
            peer: SocketAddr::from(([127, 0, 0, 1], 50000)),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn status(r: Result<(), Refusal>) -> u16 {
        r.map(|_| 200).unwrap_or_else(|r| r.status.as_u16())
    }

    #[test]
    fn host_must_be_the_listener() {
        let a = AdminAccess::default();
        let c = conn("127.0.0.1:8081");
        let get =
            |h: &[(&'static str, &str)]| status(check(&a, &Method::GET, &headers(h), Some(&c)));
        assert_eq!(get(&[("host", "127.0.0.1:8081")]), 200);
        assert_eq!(get(&[("host", "LOCALHOST:8081")]), 200);
        assert_eq!(get(&[("host", "[::1]:8081")]), 200);
        assert_eq!(get(&[("host", "rebind.attacker.example:8081")]), 403);
        assert_eq!(get(&[("host", "127.0.0.1:9999")]), 403);
        assert_eq!(
            get(&[("host", "127.0.0.1")]),
            200,
            "no port: a non-browser client"
        );
        assert_eq!(get(&[("host", "rebind.attacker.example")]), 403);
        assert_eq!(
            get(&[
                ("host", "127.0.0.1:8081"),
                ("origin", "http://localhost:3000")
            ]),
            403
        );
        assert_eq!(
            get(&[("host", "127.0.0.1:8081"), ("origin", "http://127.0.0.1")]),
            403,
            "origin port 80"
        );
        assert_eq!(get(&[]), 403);
        assert_eq!(
            get(&[
                ("host", "127.0.0.1:8081"),
                ("origin", "http://127.0.0.1:8081")
            ]),
            200
        );
        assert_eq!(
            get(&[
                ("host", "127.0.0.1:8081"),
                ("origin", "http://evil.example")
            ]),
            403
        );
        assert_eq!(get(&[("host", "127.0.0.1:8081"), ("origin", "null")]), 403);
        let allowed = AdminAccess {
            allowed_hosts: vec!["konform.test".into()],
            ..AdminAccess::default()
        };
        let h = headers(&[("host", "konform.test:8081")]);
        assert_eq!(status(check(&allowed, &Method::GET, &h, Some(&c))), 200);
        // In-process (no socket): no Host check.
        assert_eq!(
            status(check(&a, &Method::GET, &HeaderMap::new(), None)),
            200
        );
    }

    #[test]
    fn mutating_requests_need_json() {
        let a = AdminAccess::default();
        let c = conn("127.0.0.1:8081");
        let post = |ct: &str| {
            let mut h = headers(&[("host", "127.0.0.1:8081")]);
            if !ct.is_empty() {
                h.insert("content-type", ct.parse().unwrap());
            }
            status(check(&a, &Method::POST, &h, Some(&c)))
        };
        assert_eq!(post("application/json"), 200);
        assert_eq!(post("Application/JSON; charset=utf-8"), 200);
        assert_eq!(post("text/plain"), 415);
        assert_eq!(post("application/x-www-form-urlencoded"), 415);
        assert_eq!(post(""), 415);
    }

    #[test]
    fn token_replaces_the_host_check() {
        let a = AdminAccess {
            token: Some("s3cret".into()),
            ..AdminAccess::default()
        };
        let c = conn("192.0.2.10:8081");
        let get =
            |h: &[(&'static str, &str)]| status(check(&a, &Method::GET, &headers(h), Some(&c)));
        assert_eq!(
            get(&[
                ("host", "sim.example:8081"),
                ("authorization", "Bearer s3cret")
            ]),
            200
        );
        assert_eq!(
            get(&[
                ("host", "sim.example:8081"),
                ("authorization", "bearer  s3cret ")
            ]),
            200
        );
        assert_eq!(
            get(&[
                ("host", "127.0.0.1:8081"),
                ("authorization", "Bearer s3cre")
            ]),
            401
        );
        assert_eq!(get(&[("host", "127.0.0.1:8081")]), 401);
    }
}
