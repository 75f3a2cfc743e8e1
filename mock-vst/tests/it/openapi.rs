//! Every endpoint's real responses validate against the served OpenAPI document: the status is declared
//! for the operation, the content type matches, and the body validates against the declared schema
//! (a small JSON Schema check covering what the document uses: $ref, type, required, properties,
//! additionalProperties, items, minItems, minLength, pattern-free strings, contentEncoding base64).

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;

struct Doc(Value);

impl Doc {
    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let p = r.trim_start_matches('#');
                self.resolve(
                    self.0
                        .pointer(p)
                        .unwrap_or_else(|| panic!("dangling $ref {r}")),
                )
            }
            None => v,
        }
    }

    fn validate(&self, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let ok = match t {
                "object" => v.is_object(),
                "array" => v.is_array(),
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                _ => false,
            };
            if !ok {
                errs.push(format!("{at}: expected {t}, got {v}"));
                return;
            }
        }
        if let Some(req) = schema.get("required").and_then(Value::as_array) {
            for r in req {
                let r = r.as_str().unwrap();
                if v.get(r).is_none() {
                    errs.push(format!("{at}: missing required {r}"));
                }
            }
        }
        if let (Some(props), Some(obj)) = (
            schema.get("properties").and_then(Value::as_object),
            v.as_object(),
        ) {
            for (k, val) in obj {
                match props.get(k) {
                    Some(ps) => self.validate(ps, val, &format!("{at}/{k}"), errs),
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        errs.push(format!("{at}: unexpected property {k}"));
                    }
                    None => {}
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (arr.len() as u64) < min
            {
                errs.push(format!("{at}: fewer than {min} items"));
            }
            for (i, x) in arr.iter().enumerate() {
                self.validate(items, x, &format!("{at}/{i}"), errs);
            }
        }
        if let Some(s) = v.as_str() {
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && (s.chars().count() as u64) < min
            {
                errs.push(format!("{at}: shorter than {min}"));
            }
            if schema.get("contentEncoding").and_then(Value::as_str) == Some("base64")
                && ti_core::b64_decode(s).is_err()
            {
                errs.push(format!("{at}: not base64"));
            }
            if schema.get("pattern").is_some() {
                // The only pattern is the compact JWS one: three base64url parts.
                let parts: Vec<&str> = s.split('.').collect();
                if parts.len() != 3
                    || parts.iter().any(|p| {
                        p.is_empty()
                            || !p
                                .bytes()
                                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
                    })
                {
                    errs.push(format!("{at}: does not match the compact JWS pattern"));
                }
            }
        }
    }

    /// Check one real response against the operation's declaration.
    fn check(&self, method: &str, path: &str, r: &Resp) {
        let op = self
            .0
            .pointer(&format!(
                "/paths/{}/{}",
                path.replace('/', "~1"),
                method.to_lowercase()
            ))
            .unwrap_or_else(|| panic!("{method} {path} not in the OpenAPI document"));
        let status = r.status.as_u16().to_string();
        let resp = op["responses"]
            .get(&status)
            .unwrap_or_else(|| panic!("{method} {path}: status {status} not declared"));
        let resp = self.resolve(resp);
        match resp.get("content").and_then(Value::as_object) {
            None => assert!(
                r.body.is_empty(),
                "{method} {path} {status}: body must be empty"
            ),
            Some(content) => {
                let ct = r.content_type.as_deref().unwrap_or("");
                let mime = ct.split(';').next().unwrap().trim();
                let media = content.get(mime).unwrap_or_else(|| {
                    panic!("{method} {path} {status}: content type {ct} not declared")
                });
                let body: Value = if mime == "application/json" {
                    serde_json::from_slice(&r.body).unwrap()
                } else {
                    Value::String(r.text())
                };
                let mut errs = Vec::new();
                self.validate(&media["schema"], &body, "", &mut errs);
                assert!(errs.is_empty(), "{method} {path} {status}: {errs:?}");
            }
        }
    }
}

#[tokio::test]
async fn every_endpoint_answers_as_declared() {
    let s = sim();
    let r = send(
        &s.app,
        Request::get("/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = Doc(r.json());
    assert_eq!(doc.0["openapi"], "3.1.0");
    // Every seed endpoint is in the document.
    for e in mock_vst::http::ENDPOINTS {
        let (m, p) = e.split_once(' ').unwrap();
        if p == "/openapi.json" {
            continue;
        }
        assert!(
            doc.0
                .pointer(&format!(
                    "/paths/{}/{}",
                    p.replace('/', "~1"),
                    m.to_lowercase()
                ))
                .is_some(),
            "{e}"
        );
    }
    let mut checked = 0;
    let mut check = |m: &str, p: &str, r: &Resp| {
        doc.check(m, p, r);
        checked += 1;
    };

    // POST vital status: 200, 400, 401, 403, 413, 415.
    let r = post(&s, VS, vs_body(&s.pki, "oa-1", &[good(1)])).await;
    assert_eq!(r.status, StatusCode::OK);
    check("POST", VS, &r);
    check("POST", VS, &post(&s, VS, "{}".to_string()).await);
    let unauth = send(
        &s.app,
        Request::post(VS)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(unauth.status, StatusCode::UNAUTHORIZED);
    check("POST", VS, &unauth);
    let mut prod = good(2);
    prod.kvnr = "A123456780".into();
    let r = post(&s, VS, vs_body(&s.pki, "oa-2", &[prod])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    check("POST", VS, &r);
    let r = send(
        &s.app,
        Request::post(VS)
            .header("authorization", auth(&s.pki))
            .header("content-type", "text/plain")
            .body(Body::from("x"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    check("POST", VS, &r);
    let small = sim_with(mock_vst::VstConfig {
        body_limit: 100,
        ..Default::default()
    });
    let r = post(&small, VS, "x".repeat(200)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    check("POST", VS, &r);

    // POST insurance update: 200 with SignedTransferNumber, 400.
    let r = post(
        &s,
        IU,
        iu_body(
            &s.pki,
            "oa-iu",
            &[iu_rec("1", "A111100008", None, "109500969")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    check("POST", IU, &r);
    check("POST", IU, &post(&s, IU, "[]".to_string()).await);

    // GET endpoints: 204, 200, 401.
    for p in [VS_REQ, VS_ANON, VS_ERR, IU_ERR] {
        let r = get(&s, p).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{p}");
        check("GET", p, &r);
        let r = send(&s.app, Request::get(p).body(Body::empty()).unwrap()).await;
        check("GET", p, &r);
    }
    s.state.queue_request("A111100008").unwrap();
    s.state.queue_anonymization("A111100010").unwrap();
    s.state
        .inject_processing_error(
            mock_vst::ErrorStream::VitalStatus,
            "L",
            "D",
            "DecryptionError",
        )
        .unwrap();
    s.state
        .inject_processing_error(
            mock_vst::ErrorStream::InsuranceUpdate,
            "L",
            "D",
            "WrongFormatIkAlt",
        )
        .unwrap();
    for p in [VS_REQ, VS_ANON, VS_ERR, IU_ERR] {
        let r = get(&s, p).await;
        assert_eq!(r.status, StatusCode::OK, "{p}");
        check("GET", p, &r);
    }
    for p in ["/.well-known", "/.wellknown"] {
        let r = send(&s.app, Request::get(p).body(Body::empty()).unwrap()).await;
        check("GET", p, &r);
    }
    assert_eq!(checked, 22);
}

#[test]
fn validator_rejects_what_it_should() {
    let doc = Doc(serde_json::from_str(mock_vst::http::OPENAPI).unwrap());
    let schema = serde_json::json!({"$ref": "#/components/schemas/VitalStatusNotificationProcessingErrorsBundle"});
    let mut errs = Vec::new();
    doc.validate(
        &schema,
        &serde_json::json!({"Fehler": [], "Signatur": "??", "X": 1}),
        "",
        &mut errs,
    );
    assert_eq!(errs.len(), 3, "{errs:?}");
    errs.clear();
    doc.validate(&schema, &serde_json::json!({"Fehler": [{"IdDatenlieferung": "a", "IdDatensatz": "b", "Code": "c"}], "Signatur": "AA=="}), "", &mut errs);
    assert!(errs.is_empty(), "{errs:?}");
}
