//! What a sentence-by-sentence audit of the seed found (issue 15), one test per finding, each failing on
//! the simulator as it was before.

use crate::common::tcp::Conn;
use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use mock_vst::{
    ContentTypeCheck, ErrorStream, IdChecks, Profile, TokenHeader, TokenKey, VstConfig, VstState,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use std::time::SystemTime;
use ti_core::b64_encode;
use ti_core::pki::Identity;
use ti_core::sig_input::{self, InsuranceUpdateRecord, VitalStatusRecord};

fn with_profile(p: Profile) -> Sim {
    sim_with(VstConfig {
        profile: p,
        ..VstConfig::default()
    })
}

/// Sign a delivery body (as the helpers build it) again, with `by`'s key and certificate.
fn resign(body: &str, stream: ErrorStream, by: &Identity) -> String {
    let mut v: serde_json::Value = serde_json::from_str(body).unwrap();
    let idl = v["IdDatenlieferung"].as_str().unwrap().to_string();
    let ms = v["Meldungen"].as_array().unwrap().clone();
    let s = |m: &serde_json::Value, k: &str| m[k].as_str().unwrap_or_default().to_string();
    let rows: Vec<[String; 4]> = ms
        .iter()
        .map(|m| match stream {
            ErrorStream::VitalStatus => [
                s(m, "IdDatensatz"),
                s(m, "IdVersicherter"),
                s(m, "Vitalstatus"),
                s(m, "Sterbedatum"),
            ],
            ErrorStream::InsuranceUpdate => [
                s(m, "IdDatensatz"),
                s(m, "IdVersicherter"),
                s(m, "IdVersicherterAlt"),
                s(m, "IkAlt"),
            ],
        })
        .collect();
    let segments = match stream {
        ErrorStream::VitalStatus => {
            let recs: Vec<VitalStatusRecord<'_>> = rows
                .iter()
                .map(|r| VitalStatusRecord {
                    id_datensatz: &r[0],
                    id_versicherter: &r[1],
                    vitalstatus: &r[2],
                    sterbedatum: &r[3],
                })
                .collect();
            sig_input::build(&sig_input::vitalstatus_segments(&idl, &recs)).unwrap()
        }
        ErrorStream::InsuranceUpdate => {
            let recs: Vec<InsuranceUpdateRecord<'_>> = rows
                .iter()
                .map(|r| InsuranceUpdateRecord {
                    id_datensatz: &r[0],
                    id_versicherter: &r[1],
                    id_versicherter_alt: (!r[2].is_empty()).then_some(r[2].as_str()),
                    ik_alt: &r[3],
                })
                .collect();
            sig_input::build(&sig_input::insurance_update_segments(&idl, &recs)).unwrap()
        }
    };
    let cms =
        ti_core::cms::sign(&segments, &by.key, &by.cert_der, false, SystemTime::now()).unwrap();
    v["Signatur"] = b64_encode(&cms).into();
    v.to_string()
}

/// Item 1: "eine detached nonQES - Signatur …, die mithilfe des Signatur-Zertifikats auf der SMC-B-Karte
/// gebildet wird" — a CMS made with the card's C.AUT certificate is not that signature.
#[tokio::test]
async fn a_delivery_signed_with_the_aut_certificate_does_not_verify() {
    let s = sim();
    let vs = resign(
        &vs_body(&s.pki, "role-1", &[good(1)]),
        ErrorStream::VitalStatus,
        &s.pki.insurer_aut,
    );
    let iu = resign(
        &iu_body(
            &s.pki,
            "role-2",
            &[iu_rec("1", "A111100008", None, "109500969")],
        ),
        ErrorStream::InsuranceUpdate,
        &s.pki.insurer_aut,
    );
    for (path, body) in [(VS, vs), (IU, iu)] {
        let r = post(&s, path, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {:?}", r.diags);
        assert!(r.has("cms.signer-role", Some("/Signatur")), "{:?}", r.diags);
        let d = r.diags.join(" ");
        assert!(d.contains("C.HCI.AUT") && d.contains("C.HCI.OSIG"), "{d}");
    }
    assert!(s.state.deliveries().is_empty());
    // The same delivery signed with C.SIG is accepted.
    let ok = resign(
        &vs_body(&s.pki, "role-3", &[good(1)]),
        ErrorStream::VitalStatus,
        &s.pki.insurer_sig,
    );
    assert_eq!(post(&s, VS, ok).await.status, StatusCode::OK);
}

fn tls_client(pki: &ti_core::pki::TestPki, cert: Option<&Identity>) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.tls_ca.cert_pem().as_bytes()).unwrap())
        .unwrap();
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match cert {
        Some(id) => b
            .with_client_auth_cert(
                vec![CertificateDer::from(id.cert_der.clone())],
                PrivateKeyDer::from_pem_slice(id.key_pem().as_bytes()).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    })
}

/// Item 2: "Der Schutz der Datenübertragung (Transportkanal) … muss per TLS gesichert sein."
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_over_tls_with_and_without_client_authentication() {
    for client_auth in [false, true] {
        let pki = pki();
        let state = VstState::new(
            VstConfig::default(),
            pki.clone(),
            sim_kit::store::Store::ephemeral().unwrap(),
        )
        .unwrap();
        let tls = sim_kit::tls::server_config(&mock_vst::tls_settings(&pki, client_auth)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(mock_vst::serve_tls(listener, state, tls, async move {
            let _ = stopped.await;
        }));
        let mut c = Conn::connect_tls(addr, tls_client(&pki, Some(&pki.tls_client)))
            .await
            .unwrap();
        let r = c.request("GET", "/.well-known", &[], b"").await.unwrap();
        assert_eq!(r.status, 200);
        let a = auth(&pki);
        let r = c
            .request("GET", VS_ERR, &[("authorization", a.as_str())], b"")
            .await
            .unwrap();
        assert_eq!(r.status, 204);
        // Without a client certificate: fine without client authentication, refused with it.
        let anonymous = async {
            let mut c = Conn::connect_tls(addr, tls_client(&pki, None)).await?;
            c.request("GET", "/.well-known", &[], b"").await
        }
        .await;
        assert_eq!(anonymous.is_err(), client_auth, "{anonymous:?}");
        // Plain HTTP on the TLS port gets no HTTP answer.
        let plain = async {
            let mut c = Conn::connect(addr).await?;
            c.request("GET", "/.well-known", &[], b"").await
        }
        .await;
        assert!(plain.is_err(), "{plain:?}");
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
}

/// Item 3: errors of the processing after acceptance come "asynchron über einen gesonderten Abruf": a
/// poll right after the delivery answers 204 without waiting; the errors come later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_errors_arrive_after_the_processing_delay() {
    let s = with_profile(Profile {
        processing_delay_ms: 400,
        ..Profile::default()
    });
    let bad = vs_rec("late-1", "A111100008", "04", "---N/A----");
    assert_eq!(
        post(&s, VS, vs_body(&s.pki, "late", &[bad])).await.status,
        StatusCode::OK
    );
    let r = get(&s, VS_ERR).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // The poll answered while the check was still pending: it did not wait for it.
    assert_eq!(s.state.pending_checks(), 1);
    assert!(s.state.deliveries()[0].processed.eq(&false));
    settled(&s).await;
    let r = get(&s, VS_ERR).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["Fehler"][0]["Code"], "WrongFormatVitalstatus");

    // `processing_delay_ms: 0`: processed before the answer, the first poll has the errors.
    let s = with_profile(Profile {
        processing_delay_ms: 0,
        ..Profile::default()
    });
    let bad = vs_rec("now-1", "A111100008", "04", "---N/A----");
    assert_eq!(
        post(&s, VS, vs_body(&s.pki, "now", &[bad])).await.status,
        StatusCode::OK
    );
    assert_eq!(s.state.pending_checks(), 0);
    assert_eq!(get(&s, VS_ERR).await.status, StatusCode::OK);
    // The default is a short, realistic delay.
    assert!((1000..=2000).contains(&Profile::default().processing_delay_ms));
}

fn token_signed_with(s: &Sim, key: &Identity) -> String {
    let ins = &s.pki.insurer;
    let input = sig_input::registration_input(&ins.telematik_id, &ins.ik);
    let sig = key.key.sign_sha256_der(&input);
    mock_vst::auth_header(&ins.telematik_id, &ins.ik, &sig)
}

async fn poll_with(s: &Sim, header: &str, token: &str) -> Resp {
    send(
        &s.app,
        Request::get(VS_ERR)
            .header(header, token)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// Item 5: the seed signs the token "mithilfe des Signatur-Zertifikats der SMC-B-Karte" and sends it "als
/// Authentication-Header"; its registration section uses the AUT certificate. Both readings are switches,
/// and a mismatch names the other reading and its switch.
#[tokio::test]
async fn login_token_key_and_header_readings() {
    let s = sim();
    let (aut, sig) = (
        token_signed_with(&s, &s.pki.insurer_aut),
        token_signed_with(&s, &s.pki.insurer_sig),
    );
    // Defaults: C.AUT in Authorization.
    assert_eq!(
        poll_with(&s, "authorization", &aut).await.status,
        StatusCode::NO_CONTENT
    );
    let r = poll_with(&s, "authorization", &sig).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.has("auth.signature", Some("header:Authorization")),
        "{:?}",
        r.diags
    );
    let d = r.diags.join(" ");
    assert!(
        d.contains("C.SIG") && d.contains("auth_token_key: sig"),
        "{d}"
    );
    let r = poll_with(&s, "authentication", &aut).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.has("auth.header-name", Some("header:Authorization")),
        "{:?}",
        r.diags
    );
    assert!(
        r.diags.join(" ").contains("auth_header: authentication"),
        "{:?}",
        r.diags
    );

    // The seed's wording: C.SIG in Authentication.
    s.state
        .set_profile(Profile {
            auth_token_key: TokenKey::Sig,
            auth_header: TokenHeader::Authentication,
            ..Profile::default()
        })
        .unwrap();
    assert_eq!(
        poll_with(&s, "authentication", &sig).await.status,
        StatusCode::NO_CONTENT
    );
    let r = poll_with(&s, "authentication", &aut).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.diags.join(" ").contains("auth_token_key: aut"),
        "{:?}",
        r.diags
    );
    let r = poll_with(&s, "authorization", &sig).await;
    assert!(
        r.has("auth.header-name", Some("header:Authentication")),
        "{:?}",
        r.diags
    );

    // Either: both keys in both headers.
    s.state
        .set_profile(Profile {
            auth_token_key: TokenKey::Either,
            auth_header: TokenHeader::Either,
            ..Profile::default()
        })
        .unwrap();
    for h in ["authorization", "authentication"] {
        for t in [&aut, &sig] {
            assert_eq!(
                poll_with(&s, h, t).await.status,
                StatusCode::NO_CONTENT,
                "{h}"
            );
        }
    }
}

/// Item 6: "Die Zeichenkodierung wird als UTF-8 gelesen" — by default a charset label is accepted (see
/// rules::content_type_must_be_application_json); the strict reading is a switch.
#[tokio::test]
async fn content_type_strict_switch() {
    let s = with_profile(Profile {
        content_type: ContentTypeCheck::Strict,
        ..Profile::default()
    });
    for ct in [
        "application/json; charset=iso-8859-1",
        "application/json; boundary=x",
    ] {
        let r = send(
            &s.app,
            Request::post(VS)
                .header("content-type", ct)
                .header("authorization", auth(&s.pki))
                .body(Body::from(vs_body(&s.pki, "strict", &[good(1)])))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}");
        assert!(r.has("http.content-type", None));
    }
}

/// Item 7: the seed's example codes (`DecryptionError`, `WrongFormatIdVersicherter`) on the insurance
/// update stream, as `id_checks: async` produces them from real deliveries.
#[tokio::test]
async fn async_identifier_checks_on_the_insurance_update_stream() {
    let s = with_profile(Profile {
        id_checks: IdChecks::Async,
        processing_delay_ms: 0,
        ..Profile::default()
    });
    // IkAlt encrypted for the Registerstelle: the VST cannot decrypt it.
    let body = iu_body(
        &s.pki,
        "iu-async",
        &[
            iu_rec("1", "A111100009", None, "109500969"),
            iu_rec("2", "A111100008", None, "109500969"),
        ],
    );
    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["Meldungen"][1]["IkAlt"] = enc(&s.pki.registerstelle_enc.public_key(), "109500969").into();
    let body = resign(
        &v.to_string(),
        ErrorStream::InsuranceUpdate,
        &s.pki.insurer_sig,
    );
    let r = post(&s, IU, body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.diags);
    let r = get(&s, IU_ERR).await;
    assert_eq!(r.status, StatusCode::OK);
    let codes: Vec<(String, String)> = r.json()["Fehler"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["IdDatensatz"].as_str().unwrap().into(),
                e["Code"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("1".to_string(), "WrongFormatIdVersicherter".to_string()),
            ("2".to_string(), "DecryptionError".to_string())
        ]
    );
    // Nothing on the vital status stream.
    assert_eq!(get(&s, VS_ERR).await.status, StatusCode::NO_CONTENT);
}

/// Item 8: an `IdVersicherterAlt` equal to the new number is accepted, with a diagnosis, in both modes;
/// `DuplicateIdDatensatz` is no processing error code (a duplicate is a synchronous 400).
#[tokio::test]
async fn old_number_equal_to_the_new_one_and_duplicate_record_ids() {
    for id_checks in [IdChecks::Sync, IdChecks::Async] {
        let s = with_profile(Profile {
            id_checks,
            processing_delay_ms: 0,
            ..Profile::default()
        });
        let body = iu_body(
            &s.pki,
            "alt",
            &[iu_rec("1", "A111100008", Some("A111100008"), "109500969")],
        );
        let r = post(&s, IU, body).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.diags);
        let journal = s.state.kit().journal().all();
        assert!(
            journal.iter().any(
                |e| e.diagnoses.iter().any(|d| d.rule == "kvnr.alt-equals-new"
                    && d.location.as_deref() == Some("/Meldungen/0/IdVersicherterAlt"))
            ),
            "{id_checks:?}: {journal:?}"
        );
        assert_eq!(get(&s, IU_ERR).await.status, StatusCode::NO_CONTENT);
    }
    assert!(!mock_vst::process::codes::ALL.contains(&"DuplicateIdDatensatz"));
    let s = sim();
    let r = post(
        &s,
        VS,
        vs_body(
            &s.pki,
            "dup",
            &[
                vs_rec("same", "A111100008", "01", "---N/A----"),
                vs_rec("same", "A111100010", "01", "---N/A----"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.has(
        "delivery.duplicate-id-datensatz",
        Some("/Meldungen/1/IdDatensatz")
    ));
}

#[tokio::test]
async fn profile_rejects_an_absurd_processing_delay() {
    let p = Profile {
        processing_delay_ms: 10 * 3_600_000,
        ..Profile::default()
    };
    assert!(p.validate().is_err());
}
