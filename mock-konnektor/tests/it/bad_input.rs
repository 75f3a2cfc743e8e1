//! Bad input never crashes the simulator nor corrupts its state: malformed XML, DOCTYPE and entity
//! declarations, deep nesting, huge bodies, missing elements, wrong namespaces, SOAP 1.2, unknown actions.
//! Each gets a clear fault (4000 S:Client with the validator text in Detail, HTTP 500; 413 for bodies over
//! the limit) and a journal entry with the reason. A proptest feeds mutated real requests.

use crate::support::*;
use axum::http::StatusCode;
use mock_konnektor::{DEFAULT_CARD_HANDLE, KonnektorConfig, LimitsConfig, PinStatus};
use proptest::prelude::*;
use sim_kit::{Simulator, Verdict};

async fn syntax(app: &axum::Router, body: &str) -> Resp {
    let r = soap(app, "/Konnektorservice", Some(A_VERIFY_PIN), body).await;
    r.assert_fault(4000);
    assert_eq!(r.faultcode(), Some("S:Client"), "{}", r.body);
    assert_eq!(r.text("faultstring").as_deref(), Some("Syntaxfehler"));
    assert!(r.text("GERROR:Detail").is_some_and(|d| !d.is_empty()));
    r
}

#[tokio::test]
async fn malformed_and_forbidden_xml() {
    let (app, st) = default_sim();
    let good = verify_pin_request(DEFAULT_CARD_HANDLE);
    let cases = [
        ("", "xml.well-formed"),
        ("not xml at all", "xml.well-formed"),
        (&good[..good.len() / 2], "xml.well-formed"),
        (
            &good.replace("</ns4:VerifyPin>", "</ns4:VerifyPIN>"),
            "xml.well-formed",
        ),
        (
            &format!(
                "<!DOCTYPE x [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>{good}"
            ),
            "xml.doctype",
        ),
        (
            &format!("<!DOCTYPE x SYSTEM \"file:///etc/passwd\">{good}"),
            "xml.doctype",
        ),
        (&good.replace("PIN.SMC", "&xxe;"), "xml.entity"),
        (&good.replace("PIN.SMC", "&#0;"), "xml.entity"),
        (
            &format!("<?xml-stylesheet href='x'?>{good}"),
            "xml.processing-instruction",
        ),
        (
            &good.replace("ns4:VerifyPin>", "ns9:VerifyPin>"),
            "xml.namespace",
        ),
    ];
    for (body, rule) in cases {
        let r = syntax(&app, body).await;
        assert!(
            r.has_diag(&format!("konnektor.{rule}")),
            "{rule} expected for {body:.80}: {:?}",
            r.diagnoses
        );
    }
    let deep = format!(
        r#"<s:Envelope xmlns:s="{SOAP11}"><s:Body>{}{}</s:Body></s:Envelope>"#,
        "<a>".repeat(200),
        "</a>".repeat(200)
    );
    assert!(syntax(&app, &deep).await.has_diag("konnektor.xml.depth"));
    // Nothing changed, every request journaled as rejected.
    assert_eq!(
        st.card(DEFAULT_CARD_HANDLE).unwrap().pin_status,
        PinStatus::Verifiable
    );
    assert!(
        st.kit()
            .journal()
            .all()
            .iter()
            .all(|e| e.verdict == Verdict::Rejected && !e.diagnoses.is_empty())
    );
}

#[tokio::test]
async fn schema_violations_name_the_element() {
    let (app, _) = default_sim();
    let good = verify_pin_request(DEFAULT_CARD_HANDLE);
    let cases: Vec<(String, &str, &str)> = vec![
        (
            good.replace("<ns5:PinTyp>PIN.SMC</ns5:PinTyp>", ""),
            "cvc-complex-type.2.4.b",
            "PinTyp",
        ),
        (
            good.replace(
                "<ns2:CardHandle>SMC-B-1</ns2:CardHandle>",
                "<ns2:CardHandle>SMC-B-1</ns2:CardHandle><ns2:CardHandle>X</ns2:CardHandle>",
            ),
            "cvc-complex-type.2.4.a",
            "CardHandle",
        ),
        (
            good.replace(
                "xmlns:ns5=\"http://ws.gematik.de/conn/CardServiceCommon/v2.0\"",
                "xmlns:ns5=\"http://ws.gematik.de/conn/CardServiceCommon/v2.1\"",
            ),
            "cvc-complex-type.2.4.a",
            "PinTyp",
        ),
        (
            good.replace("<ns2:MandantId>Mandant1</ns2:MandantId>", ""),
            "cvc-complex-type.2.4.a",
            "ClientSystemId",
        ),
        (
            good.replace("Mandant1", &"M".repeat(65)),
            "cvc-maxLength-valid",
            "MandantId",
        ),
        (
            good.replace("PIN.SMC", "<x>PIN.SMC</x>"),
            "cvc-type.3.1.2",
            "PinTyp",
        ),
        (
            good.replace("<ns4:VerifyPin>", "<ns4:VerifyPin>text"),
            "cvc-complex-type.2.3",
            "VerifyPin",
        ),
    ];
    for (body, reason, loc) in cases {
        let r = syntax(&app, &body).await;
        let detail = r.text("GERROR:Detail").unwrap();
        assert!(detail.contains(reason), "{reason}: {detail}");
        assert!(
            r.diagnoses.iter().any(|d| d.contains(loc)),
            "{loc}: {:?}",
            r.diagnoses
        );
    }
    // Wrong namespace of the operation element, no SOAPAction: cvc-elt.1.a.
    let r = soap(
        &app,
        "/Konnektorservice",
        None,
        &good.replace(
            "http://ws.gematik.de/conn/CardService/v8.1",
            "http://ws.gematik.de/conn/CardService/v8.0",
        ),
    )
    .await;
    r.assert_fault(4000);
    assert!(r.text("GERROR:Detail").unwrap().contains("cvc-elt.1.a"));
    // SOAPAction names another operation than the body carries.
    let r = soap(&app, "/Konnektorservice", Some(A_SIGN), &good).await;
    r.assert_fault(4000);
    assert!(r.has_diag("konnektor.soap.action-mismatch"));
    assert!(r.diagnoses.iter().any(|d| d.contains(A_VERIFY_PIN)));
}

#[tokio::test]
async fn soap_version_action_and_content_type() {
    let (app, _) = default_sim();
    let good = verify_pin_request(DEFAULT_CARD_HANDLE);
    let soap12 = good.replace(SOAP11, "http://www.w3.org/2003/05/soap-envelope");
    let r = soap(&app, "/Konnektorservice", Some(A_VERIFY_PIN), &soap12).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.faultcode(), Some("S:VersionMismatch"));
    let r = send(
        &app,
        axum::http::Request::post("/Konnektorservice")
            .header("content-type", "application/soap+xml; charset=utf-8")
            .body(axum::body::Body::from(soap12))
            .unwrap(),
    )
    .await;
    validate_soap_response(&r);
    assert_eq!(r.faultcode(), Some("S:VersionMismatch"));

    let r = soap(&app, "/Konnektorservice", Some("urn:what#Ever"), &good).await;
    assert_eq!(r.faultcode(), Some("S:Client"));
    assert!(r.has_diag("konnektor.soap.unknown-action"));
    assert!(
        r.diagnoses.iter().any(|d| d.contains(A_VERIFY_PIN)),
        "hint names the right action"
    );

    // No SOAPAction: dispatched on the body, noted.
    let r = soap(&app, "/Konnektorservice", None, &good).await;
    r.assert_ok();
    assert!(r.has_diag("konnektor.soap.no-action"));

    let r = send(
        &app,
        axum::http::Request::post("/Konnektorservice")
            .header("content-type", "application/json")
            .header("soapaction", A_VERIFY_PIN)
            .body(axum::body::Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.code(), Some(4000));

    // No Content-Type at all: 415 too (SOAP 1.1 §6.1.1: SOAP bodies travel as text/xml).
    let r = send(
        &app,
        axum::http::Request::post("/Konnektorservice")
            .header("soapaction", A_VERIFY_PIN)
            .body(axum::body::Body::from(good.clone()))
            .unwrap(),
    )
    .await;
    validate_soap_response(&r);
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.code(), Some(4000));
    assert!(
        r.has_diag("konnektor.http.content-type"),
        "{:?}",
        r.diagnoses
    );

    let r = send(
        &app,
        axum::http::Request::get("/Konnektorservice")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);

    // mustUnderstand header.
    let mu = good.replace(
        "<soap:Header/>",
        r#"<soap:Header><w:Security xmlns:w="urn:sec" soap:mustUnderstand="1"/></soap:Header>"#,
    );
    let r = soap(&app, "/Konnektorservice", Some(A_VERIFY_PIN), &mu).await;
    assert_eq!(r.faultcode(), Some("S:MustUnderstand"));
}

#[tokio::test]
async fn huge_bodies_are_refused_with_413() {
    let cfg = KonnektorConfig {
        limits: LimitsConfig {
            max_body_bytes: 64 * 1024,
            ..Default::default()
        },
        ..Default::default()
    };
    let (app, st) = sim(cfg);
    let big = sign_request(DEFAULT_CARD_HANDLE, &[("R", &vec![b'a'; 100_000])], false);
    let r = soap(&app, "/Konnektorservice", Some(A_SIGN), &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), Some(4000));
    assert!(r.has_diag("konnektor.http.body-limit"));
    // (`send` declares no Content-Length, so the limit above cut the body off while reading.)
    // A declared Content-Length over the limit is refused before the body is read.
    let r = send(
        &app,
        axum::http::Request::post("/Konnektorservice")
            .header("content-type", "text/xml")
            .header("content-length", "10000000")
            .header("soapaction", A_SIGN)
            .body(axum::body::Body::from("x"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        r.diagnoses.iter().any(|d| d.contains("10000000")),
        "{:?}",
        r.diagnoses
    );
    assert_eq!(st.kit().journal().len(), 2);
}

/// Real requests to mutate.
fn seeds() -> Vec<String> {
    vec![
        verify_pin_request(DEFAULT_CARD_HANDLE),
        ext_auth_request(DEFAULT_CARD_HANDLE, &[9u8; 32], "urn:bsi:tr:03111:ecdsa"),
        read_cert_request(DEFAULT_CARD_HANDLE, "C.AUT", "ECC"),
        sign_request(DEFAULT_CARD_HANDLE, &[("R1", b"Test"), ("R2", b"x")], false),
        get_cards_request("<ns5:CardType>SMC-B</ns5:CardType>"),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteRange(usize, usize),
    Insert(usize, String),
    FlipByte(usize, u8),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let snippets = prop_oneof![
        Just("<".to_string()),
        Just(">".to_string()),
        Just("&".to_string()),
        Just("&amp;".to_string()),
        Just("<!DOCTYPE a>".to_string()),
        Just("<x/>".to_string()),
        Just("]]>".to_string()),
        Just("<![CDATA[x]]>".to_string()),
        Just("\u{0}".to_string()),
        Just("xmlns:v5=\"urn:other\" ".to_string()),
        Just("\"".to_string()),
        "[a-zA-Z0-9<>/=\"' :&#;.-]{0,12}",
    ];
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Mutation::DeleteRange(a, n)),
        (any::<usize>(), snippets).prop_map(|(a, s)| Mutation::Insert(a, s)),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::FlipByte(a, b)),
        (any::<usize>(), 1usize..60).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut b: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        if b.is_empty() {
            break;
        }
        let len = b.len();
        match m {
            Mutation::DeleteRange(a, n) => {
                let a = a % len;
                let e = (a + n).min(len);
                b.drain(a..e);
            }
            Mutation::Insert(a, s) => {
                let a = a % (len + 1);
                b.splice(a..a, s.bytes());
            }
            Mutation::FlipByte(a, x) => b[a % len] ^= x | 1,
            Mutation::Duplicate(a, n) => {
                let a = a % len;
                let e = (a + n).min(len);
                let piece = b[a..e].to_vec();
                b.splice(e..e, piece);
            }
            Mutation::Truncate(a) => b.truncate(a % len),
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn mutated_real_requests_get_an_answer(seed in 0usize..5, ms in proptest::collection::vec(mutation(), 1..4)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (app, st) = default_sim();
            st.set_pin_status(DEFAULT_CARD_HANDLE, PinStatus::Verified).unwrap();
            let body = apply(seeds()[seed].clone().into_bytes(), &ms);
            // The fuzz target's entry point takes the same input without panicking.
            mock_konnektor::fuzz_soap_envelope(&body);
            let action = [A_VERIFY_PIN, A_EXT_AUTH, A_READ_CERT, A_SIGN, A_GET_CARDS][seed];
            let r = send(
                &app,
                axum::http::Request::post("/Konnektorservice")
                    .header("content-type", "text/xml; charset=UTF-8")
                    .header("soapaction", action)
                    .body(axum::body::Body::from(body))
                    .unwrap(),
            )
            .await;
            // Never a panic (the kit layer would answer 500 with simulator.panic), always a SOAP answer.
            prop_assert!(!r.has_diag("simulator.panic"), "{:?}", r.diagnoses);
            prop_assert!(
                r.status == StatusCode::OK || r.status == StatusCode::INTERNAL_SERVER_ERROR,
                "status {}", r.status
            );
            validate_soap_response(&r);
            let e = st.kit().journal().all();
            prop_assert_eq!(e.len(), 1);
            prop_assert!(e[0].verdict != Verdict::Failed, "{:?}", e[0]);
            if r.status != StatusCode::OK {
                prop_assert!(!e[0].diagnoses.is_empty());
            }
            Ok(())
        })?;
    }
}
