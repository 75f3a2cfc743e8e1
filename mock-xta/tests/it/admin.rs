//! The admin API and the journal; and proof that the schema check in `common` bites.

use crate::common::*;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use mock_xta::ns::Op;
use mock_xta::wire::{self, Packaging};
use tower::ServiceExt;

async fn admin(
    app: &axum::Router,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let r = app
        .clone()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let s = r.status().as_u16();
    let b = r.into_body().collect().await.unwrap().to_bytes();
    (
        s,
        serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn admin_views_and_reset() {
    let (app, st) = sim();
    let id = send_fim(&app, &[("Plan.pdf", b"%PDF-1")], Packaging::Inline).await;
    let (s, v) = admin(&app, "GET", &format!("/__konform/xta/messages/{id}"), "").await;
    assert_eq!(s, 200);
    assert_eq!(v["message"]["reader"], mock_xta::config::AUTHORITY_ID);
    assert_eq!(v["report"]["status"], 0);
    assert_eq!(v["attachments"][0]["attrs"]["filename"], "Plan.pdf");
    let (s, v) = admin(
        &app,
        "GET",
        &format!(
            "/__konform/xta/mailboxes/{}",
            mock_xta::config::AUTHORITY_ID
        ),
        "",
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().unwrap().len(), 1);
    let r = app
        .clone()
        .oneshot(
            Request::builder()
                .uri(format!("/__konform/xta/messages/{id}/content/1"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        r.into_body().collect().await.unwrap().to_bytes().as_ref(),
        b"%PDF-1"
    );
    let (_, h) = admin(&app, "GET", "/__konform/health", "").await;
    assert_eq!(h["state"]["messages"], 1);
    // Every request was journaled with its operation.
    let ops: Vec<String> = st
        .kit()
        .journal()
        .all()
        .iter()
        .filter_map(|e| e.operation.clone())
        .collect();
    assert_eq!(ops, vec!["createMessageId", "sendMessage"]);
    let (s, _) = admin(
        &app,
        "PUT",
        &format!(
            "/__konform/xta/accounts/{}/locked",
            mock_xta::config::PORTAL_ID
        ),
        "{\"locked\":true}",
    )
    .await;
    assert_eq!(s, 200);
    call(&app, Op::CheckAccountActive, &portal(), "")
        .await
        .assert_fault(9011);
    let (s, _) = admin(&app, "POST", "/__konform/reset", "").await;
    assert_eq!(s, 204);
    call(&app, Op::CheckAccountActive, &portal(), "")
        .await
        .assert_ok();
    let (_, h) = admin(&app, "GET", "/__konform/health", "").await;
    assert_eq!(h["state"]["messages"], 0);
    // Injected XTA fault for an operation.
    let (s, _) = admin(
        &app,
        "POST",
        "/__konform/faults",
        "{\"operation\":\"getStatusList\",\"action\":{\"kind\":\"fault\",\"code\":\"9030\"}}",
    )
    .await;
    assert_eq!(s, 201);
    let r = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(None, None, ""),
    )
    .await;
    r.assert_fault(9030);
    assert_eq!(r.soap_code().as_deref(), Some("env:Receiver"));
    assert_eq!(
        st.kit().journal().all().pop().unwrap().verdict,
        sim_kit::Verdict::Injected
    );
}

#[tokio::test]
async fn the_schema_check_rejects_broken_answers() {
    if wsdl_dir().is_none() {
        return;
    }
    let (app, _) = sim();
    let id = send_fim(&app, &[], Packaging::Inline).await;
    let rep = call(
        &app,
        Op::GetTransportReport,
        &portal(),
        &wire::message_id_body(&id),
    )
    .await;
    assert!(xmllint(&rep.xml).is_ok());
    let s = rep.xml.find("<xta:ReportTime>").unwrap();
    let e = rep.xml.find("</xta:ReportTime>").unwrap() + "</xta:ReportTime>".len();
    let mut broken = rep.xml.clone();
    broken.replace_range(s..e, "");
    assert!(xmllint(&broken).unwrap_err().contains("ReportTime"));
    let l = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(None, None, ""),
    )
    .await;
    let broken = l
        .xml
        .replace("<osci:ItemsPending>0</osci:ItemsPending>", "");
    assert_ne!(broken, l.xml);
    assert!(
        xmllint(&broken).is_err(),
        "an empty MsgBoxResponse must not validate"
    );
}
