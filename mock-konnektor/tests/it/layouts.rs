//! Endpoint layouts of real Konnektors (`endpoints.layout: rise | cgm`): connector.sds lists the vendor's
//! paths and the services answer there — and only there: `/Konnektorservice` and konform's `/ws/…` paths
//! are 404, so a client that ignores connector.sds fails.

use crate::support::*;
use axum::http::StatusCode;
use mock_konnektor::{EndpointLayout, EndpointsConfig, KonnektorConfig};

fn layout(layout: EndpointLayout, prefix: &str) -> KonnektorConfig {
    KonnektorConfig {
        endpoints: EndpointsConfig {
            layout,
            konnektorservice: None,
            path_prefix: prefix.into(),
        },
        ..Default::default()
    }
}

async fn sds(app: &axum::Router) -> String {
    let r = send(
        app,
        axum::http::Request::get("/connector.sds")
            .header("host", "konnektor.example:443")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    xmllint(&r.body, "http://ws.gematik.de/conn/ServiceDirectory/v3.1");
    r.body
}

#[tokio::test]
async fn rise_and_cgm_serve_only_what_connector_sds_lists() {
    for (l, prefix, event, sign) in [
        (
            EndpointLayout::Rise,
            "",
            "/webservices/eventservice",
            "/webservices/signatureservice/v7.4",
        ),
        (
            EndpointLayout::Cgm,
            "",
            "/service/systeminformationservice",
            "/service/signservice",
        ),
        (
            EndpointLayout::Rise,
            "/kon8",
            "/kon8/webservices/eventservice",
            "/kon8/webservices/signatureservice/v7.4",
        ),
    ] {
        let (app, st) = sim(layout(l, prefix));
        let doc = sds(&app).await;
        for path in [event, sign] {
            assert!(
                doc.contains(&format!("Location=\"http://konnektor.example:443{path}\"")),
                "{path} in {doc}"
            );
        }
        assert!(!doc.contains("/ws/"), "{doc}");
        let r = soap(&app, event, Some(A_GET_CARDS), &get_cards_request("")).await;
        r.assert_ok();
        for gone in ["/Konnektorservice", "/ws/EventService"] {
            let r = soap(&app, gone, Some(A_GET_CARDS), &get_cards_request("")).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{gone}");
            assert!(
                r.has_diag("konnektor.http.unknown-path"),
                "{:?}",
                r.diagnoses
            );
            assert!(
                r.diagnoses.iter().any(|d| d.contains(event)),
                "the hint names the served paths: {:?}",
                r.diagnoses
            );
        }
        // Another service's operation at this endpoint: the hint names the right path.
        let r = soap(
            &app,
            event,
            Some(A_VERIFY_PIN),
            &verify_pin_request("SMC-B-1"),
        )
        .await;
        assert!(r.has_diag("konnektor.soap.wrong-endpoint"));
        assert!(
            r.diagnoses.iter().all(|d| !d.contains("/Konnektorservice")),
            "{:?}",
            r.diagnoses
        );
        let health = sim_kit::Simulator::describe(&st);
        assert_eq!(health["endpoints"]["EventService"], event);
        assert!(health["endpoints"].get("Konnektorservice").is_none());
    }
}

#[tokio::test]
async fn konnektorservice_can_be_switched_on_and_prefixes_are_checked() {
    let mut cfg = layout(EndpointLayout::Cgm, "");
    cfg.endpoints.konnektorservice = Some(true);
    let (app, _) = sim(cfg);
    soap(
        &app,
        "/Konnektorservice",
        Some(A_GET_CARDS),
        &get_cards_request(""),
    )
    .await
    .assert_ok();
    for bad in ["kon8", "/kon8/", "/a b"] {
        let cfg = layout(EndpointLayout::Rise, bad);
        let e = mock_konnektor::KonnektorState::new(
            cfg,
            pki(),
            sim_kit::store::Store::ephemeral().unwrap(),
        )
        .err()
        .expect(bad);
        assert!(e.to_string().contains("path_prefix"), "{e}");
    }
    let cfg: KonnektorConfig =
        sim_kit::config::from_yaml("endpoints: {layout: rise}", "t.yaml").unwrap();
    assert_eq!(cfg.endpoints.layout, EndpointLayout::Rise);
    assert!(!cfg.endpoints.serves_konnektorservice());
}
