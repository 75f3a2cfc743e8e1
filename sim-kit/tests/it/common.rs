//! A toy simulator and request helpers shared by the kit's integration tests.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http_body_util::BodyExt;
use sim_kit::{Diagnosis, Kit, Outcome, Simulator};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tower::ServiceExt;

#[derive(Clone)]
pub struct Toy {
    pub kit: Kit,
    pub resets: Arc<AtomicU32>,
}

impl Simulator for Toy {
    fn kit(&self) -> &Kit {
        &self.kit
    }
    fn reset(&self) {
        self.resets.fetch_add(1, Ordering::SeqCst);
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({"toy": true})
    }
}

pub fn app() -> (Router, Toy) {
    let toy = Toy {
        kit: Kit::new("toy"),
        resets: Arc::new(AtomicU32::new(0)),
    };
    let r = Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route(
            "/bad",
            get(|| async {
                Outcome::op("bad")
                    .diagnose(Diagnosis::new("toy.rule", "always wrong").at("/x/0"))
                    .attach(StatusCode::BAD_REQUEST)
            }),
        )
        .route("/echo", post(echo))
        .route("/name", post(name))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("boom");
                }
                "never"
            }),
        );
    (sim_kit::admin::finish(r, toy.clone()), toy)
}

pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, Vec<String>, String) {
    let resp = app
        .clone()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let diags = resp
        .headers()
        .get_all("x-konform-diagnosis")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let body = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    (status, diags, body)
}

/// Reads the body (limit 1 MiB) and answers its length.
async fn echo(req: axum::extract::Request) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    match sim_kit::body::read_limited(&parts.headers, body, 1024 * 1024).await {
        Ok(b) => Outcome::op("echo").attach(b.len().to_string()),
        Err(e) => Outcome::op("echo")
            .diagnose(Diagnosis::new(e.rule(), e.to_string()))
            .attach(StatusCode::BAD_REQUEST),
    }
}

/// Quotes the whole body in a diagnosis, as a careless simulator would quote an element name.
async fn name(req: axum::extract::Request) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = sim_kit::body::read_limited(&parts.headers, body, 16 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let name = String::from_utf8_lossy(&body).into_owned();
    Outcome::op("name")
        .diagnose(
            Diagnosis::new("toy.unknown-element", format!("unknown element <{name}>"))
                .at(format!("/Envelope/Body/{name}"))
                .hint(format!("remove <{name}>")),
        )
        .attach(StatusCode::BAD_REQUEST)
}
