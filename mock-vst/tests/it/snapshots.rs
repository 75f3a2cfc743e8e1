//! Snapshots of response bodies and diagnoses (random parts — signatures, ciphertexts, transfer numbers,
//! timestamps — replaced by placeholders), so a change in wording or shape is a reviewed change.

use crate::common::*;
use axum::body::Body;
use axum::http::Request;
use ti_core::sig_input::Variant;

fn redact(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match k.as_str() {
                    "Signatur" => *x = "[signature]".into(),
                    "IdVersicherter" if x.as_str().is_some_and(|s| s.len() > 20) => {
                        *x = "[encrypted]".into();
                    }
                    "Transfernummer" => *x = "[transfer number]".into(),
                    "at" | "received_at" | "registered_at" => *x = "[time]".into(),
                    "duration_ms" => *x = 0.into(),
                    _ => redact(x),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

#[tokio::test]
async fn diagnoses_of_rejections() {
    let s = sim();
    let mut out = String::new();
    let mut note = |name: &str, r: &Resp| {
        out.push_str(&format!("## {name}: {}\n", r.status.as_u16()));
        for d in &r.diags {
            out.push_str(&format!("{d}\n"));
        }
    };
    let body = vs_body(&s.pki, "snap-1", &[good(1), good(2)]);
    note(
        "comment",
        &post(&s, VS, body.replacen('{', "{/* c */", 1)).await,
    );
    note(
        "duplicate key",
        &post(
            &s,
            VS,
            body.replacen(
                "\"IdDatensatz\":",
                "\"IDDATENSATZ\":\"x\",\"IdDatensatz\":",
                1,
            ),
        )
        .await,
    );
    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["Meldungen"][1]["Extra"] = true.into();
    note("unknown property", &post(&s, VS, v.to_string()).await);
    note(
        "near miss base64 text",
        &post(
            &s,
            VS,
            vs_body_variant(&s.pki, "snap-2", &[good(1)], Variant::Base64Text),
        )
        .await,
    );
    let mut bad = good(3);
    bad.kvnr = "A111100009".into();
    note(
        "kvnr check digit",
        &post(&s, VS, vs_body(&s.pki, "snap-3", &[bad])).await,
    );
    let mut prod = good(3);
    prod.kvnr = "K220645122".into();
    note(
        "production kvnr in RU",
        &post(&s, VS, vs_body(&s.pki, "snap-4", &[prod])).await,
    );
    let mut wrong = good(4);
    let mut e = encrypt_vs(&s.pki, &wrong);
    e[0] = enc(&s.pki.registerstelle_enc.public_key(), &wrong.kvnr);
    wrong.raw = Some(e);
    note(
        "wrong recipient",
        &post(&s, VS, vs_body(&s.pki, "snap-5", &[wrong])).await,
    );
    note(
        "content type",
        &send(
            &s.app,
            Request::post(VS)
                .header("authorization", auth(&s.pki))
                .header("content-type", "text/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await,
    );
    note(
        "no auth",
        &send(&s.app, Request::get(VS_ERR).body(Body::empty()).unwrap()).await,
    );
    note("unknown path", &get(&s, "/notify/api/v1/status").await);
    insta::assert_snapshot!(out);
}

#[tokio::test]
async fn response_bodies() {
    let s = sim();
    s.state.queue_request("A111100008").unwrap();
    s.state.queue_anonymization("A111100010").unwrap();
    let recs = vec![
        vs_rec("2024-09-001", "A111100022", "02", "---N/A----"),
        vs_rec("2024-09-002", "A111100034", "03", "1999-02-30"),
    ];
    assert_eq!(
        post(&s, VS, vs_body(&s.pki, "2024-09", &recs))
            .await
            .status
            .as_u16(),
        200
    );
    settled(&s).await;
    let mut bodies = serde_json::Map::new();
    for (name, path) in [
        ("requests", VS_REQ),
        ("anonymizations", VS_ANON),
        ("processingerrors", VS_ERR),
    ] {
        let mut v = get(&s, path).await.json();
        redact(&mut v);
        bodies.insert(name.into(), v);
    }
    let r = post(
        &s,
        IU,
        iu_body(
            &s.pki,
            "2024-IU",
            &[iu_rec("1", "A111100046", None, "108310400")],
        ),
    )
    .await;
    let mut v = r.json();
    redact(&mut v);
    bodies.insert("insuranceupdate".into(), v);
    insta::assert_json_snapshot!(serde_json::Value::Object(bodies));
}

#[tokio::test]
async fn journal_entries() {
    let s = sim();
    let mut bad = good(1);
    bad.kvnr = "A11110000".into();
    post(&s, VS, vs_body(&s.pki, "j-1", &[good(0), bad])).await;
    post(
        &s,
        VS,
        vs_body(
            &s.pki,
            "j-2",
            &[vs_rec("j-2-1", "A111100008", "02", "2024-01-01")],
        ),
    )
    .await;
    assert!(s.state.settle(std::time::Duration::from_secs(30)).await);
    let mut v = serde_json::to_value(s.state.kit().journal().all()).unwrap();
    redact(&mut v);
    insta::assert_json_snapshot!(v);
}
