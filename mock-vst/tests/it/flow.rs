//! The whole flow as an insurer's client runs it, over real TCP against `mock_vst::serve`: fetch
//! `.well-known`, verify its JWS and certificate, encrypt with the keys it lists, CMS-sign, submit with the
//! auth header, poll processing errors, fetch requests and anonymizations and decrypt them with the
//! insurer key, verify every response signature; the admin API shows the stored plaintext.

use crate::common::tcp::Conn;
use crate::common::*;
use mock_vst::{VstConfig, VstState};
use std::time::SystemTime;
use ti_core::ecies::{self, EciesParams};
use ti_core::sig_input;
use ti_core::{EcPublicKey, b64_decode, b64_encode};

fn verify_with(key: &EcPublicKey, input: &[u8], sig_b64: &str) -> bool {
    let sig = b64_decode(sig_b64).unwrap();
    key.verify_sha256(input, &sig).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insurer_client_flow_over_tcp() {
    let pki = pki();
    let state = VstState::new(VstConfig::default(), pki.clone()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mock_vst::serve(listener, state.clone(), async move {
        let _ = stop_rx.await;
    }));
    let mut c = Conn::connect(addr).await.unwrap();

    // 1. Key material from the download point; check token, signature and certificate.
    let r = c.request("GET", "/.well-known", &[], b"").await.unwrap();
    assert_eq!(r.status, 200);
    let jws = ti_core::jws::verify_compact(std::str::from_utf8(&r.body).unwrap(), None).unwrap();
    let vst_cert: x509_cert::Certificate = der::Decode::from_der(&jws.x5c[0]).unwrap();
    ti_core::pki::verify_chain(&vst_cert, &[], &[pki.ca.cert()], SystemTime::now()).unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&jws.payload).unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(payload["iat"].as_u64().unwrap() <= now && payload["exp"].as_u64().unwrap() > now);
    let key = |kid: &str| {
        let k = payload["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .unwrap();
        ti_core::jws::public_key_from_jwk(k).unwrap()
    };
    let (vst_enc, reg_enc, vst_sig) = (key("vst-enc"), key("registerstelle-enc"), key("vst-sig"));
    assert_eq!(
        vst_sig,
        ti_core::pki::public_key_of_cert(&vst_cert).unwrap()
    );

    // 2. Encrypt, sign, submit.
    let p = EciesParams::default();
    let e = |k: &EcPublicKey, v: &str| b64_encode(&ecies::encrypt(k, v.as_bytes(), &p));
    let rows = [
        ("2024-07-001", "A111100008", "01", "---N/A----"),
        ("2024-07-002", "A111100010", "02", "2024-06-30"),
        ("2024-07-003", "A111100022", "05", "---N/A----"),
    ];
    let enc: Vec<[String; 3]> = rows
        .iter()
        .map(|(_, k, v, s)| [e(&vst_enc, k), e(&reg_enc, v), e(&reg_enc, s)])
        .collect();
    let recs: Vec<sig_input::VitalStatusRecord<'_>> = rows
        .iter()
        .zip(&enc)
        .map(|(r, x)| sig_input::VitalStatusRecord {
            id_datensatz: r.0,
            id_versicherter: &x[0],
            vitalstatus: &x[1],
            sterbedatum: &x[2],
        })
        .collect();
    let input = sig_input::build(&sig_input::vitalstatus_segments("2024-07", &recs)).unwrap();
    let cms = ti_core::cms::sign(
        &input,
        &pki.insurer_sig.key,
        &pki.insurer_sig.cert_der,
        false,
        SystemTime::now(),
    )
    .unwrap();
    let body = serde_json::json!({
        "IdDatenlieferung": "2024-07",
        "Meldungen": rows.iter().zip(&enc).map(|(r, x)| serde_json::json!({
            "IdDatensatz": r.0, "IdVersicherter": x[0], "Vitalstatus": x[1], "Sterbedatum": x[2]
        })).collect::<Vec<_>>(),
        "Signatur": b64_encode(&cms),
    })
    .to_string();
    let a = auth(&pki);
    let json_auth = [
        ("content-type", "application/json"),
        ("authorization", a.as_str()),
    ];
    let r = c
        .request("POST", VS, &json_auth, body.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        r.status,
        200,
        "{:?}",
        r.headers_named("x-konform-diagnosis")
    );
    assert!(r.body.is_empty(), "the answer to a delivery is empty");

    // 3. Poll processing errors: the Registerstelle found Vitalstatus 05.
    let auth_only = [("authorization", a.as_str())];
    let r = c.request("GET", VS_ERR, &auth_only, b"").await.unwrap();
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        v["Fehler"],
        serde_json::json!([{"IdDatenlieferung": "2024-07", "IdDatensatz": "2024-07-003", "Code": "WrongFormatVitalstatus"}])
    );
    let input = sig_input::build(&sig_input::processing_error_segments(&[(
        "2024-07",
        "2024-07-003",
        "WrongFormatVitalstatus",
    )]))
    .unwrap();
    assert!(verify_with(
        &vst_sig,
        &input,
        v["Signatur"].as_str().unwrap()
    ));
    assert_eq!(
        c.request("GET", VS_ERR, &auth_only, b"")
            .await
            .unwrap()
            .status,
        204
    );

    // 4. The VST asks for vital status (queued through the admin API), the client decrypts.
    let admin = [("content-type", "application/json")];
    let r = c
        .request(
            "POST",
            "/__konform/requests",
            &admin,
            br#"{"kvnrs":["A111100034","A111100046"]}"#,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let r = c
        .request(
            "POST",
            "/__konform/anonymizations",
            &admin,
            br#"{"kvnr":"A111100059"}"#,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    for (path, list, want) in [
        (VS_REQ, "Anfragen", vec!["A111100034", "A111100046"]),
        (VS_ANON, "Anonymisierungen", vec!["A111100059"]),
    ] {
        let r = c.request("GET", path, &auth_only, b"").await.unwrap();
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let items: Vec<&str> = v[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["IdVersicherter"].as_str().unwrap())
            .collect();
        let plain: Vec<String> = items
            .iter()
            .map(|b| {
                String::from_utf8(
                    ecies::decrypt(&pki.insurer_enc.key, &b64_decode(b).unwrap(), &p).unwrap(),
                )
                .unwrap()
            })
            .collect();
        assert_eq!(plain, want);
        let input = sig_input::build(&sig_input::id_list_segments(&items)).unwrap();
        assert!(
            verify_with(&vst_sig, &input, v["Signatur"].as_str().unwrap()),
            "{path}"
        );
        assert_eq!(
            c.request("GET", path, &auth_only, b"")
                .await
                .unwrap()
                .status,
            204
        );
    }

    // 5. Insurance update: signed transfer number.
    let iu = iu_body(
        &pki,
        "2024-W1",
        &[iu_rec("w-1", "A111100061", Some("A111100073"), "101575519")],
    );
    let r = c
        .request("POST", IU, &json_auth, iu.as_bytes())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(verify_with(
        &vst_sig,
        v["Transfernummer"].as_str().unwrap().as_bytes(),
        v["Signatur"].as_str().unwrap()
    ));
    assert_eq!(
        c.request("GET", IU_ERR, &auth_only, b"")
            .await
            .unwrap()
            .status,
        204
    );

    // 6. The admin API shows the stored plaintext and the journal.
    let r = c
        .request("GET", "/__konform/deliveries", &[], b"")
        .await
        .unwrap();
    let d: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(d[0]["records"][1]["IdVersicherter"], "A111100010");
    assert_eq!(d[0]["records"][1]["Sterbedatum"], "2024-06-30");
    assert_eq!(
        d[0]["records"][2]["errors"],
        serde_json::json!(["WrongFormatVitalstatus"])
    );
    assert_eq!(d[1]["Transfernummer"], v["Transfernummer"]);
    let r = c
        .request("GET", "/__konform/journal", &[], b"")
        .await
        .unwrap();
    let j: Vec<serde_json::Value> = serde_json::from_slice(&r.body).unwrap();
    let post = j
        .iter()
        .find(|e| e["method"] == "POST" && e["path"] == VS)
        .unwrap();
    assert_eq!(post["status"], 200);
    assert_eq!(post["data"]["plaintext"][0]["IdVersicherter"], "A111100008");

    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}
