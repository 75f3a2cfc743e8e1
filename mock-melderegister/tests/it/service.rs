//! The web service over mTLS: certificates, Kundennummer, faults, answers, the 48-hour Merkmal, bad input.

use crate::common::*;
use mock_melderegister::register::beispiele::{AGS, CLUSTER_STRASSE};
use mock_melderegister::search::query::*;
use mock_melderegister::soap;
use mock_melderegister::xmeld::request::{Kopfdaten, merkmal_1330, personensuche_1330};
use sim_kit::Simulator;

const DVDV: &str = "dbs:032410010001";
const MANDANT: &str = "stadt-musterhausen";

pub fn kopf() -> Kopfdaten {
    Kopfdaten {
        uuid: "0b6f4d3e-2a1c-4e8f-9b7a-1c2d3e4f5a6b".into(),
        erstellt: "2026-11-30T12:00:00.000+01:00".into(),
        leser: format!("ags:{AGS}"),
        autor: DVDV.into(),
        autor_name: "Stadt Musterhausen, Bürgeramt (fiktiv)".into(),
        sicherheitsbehoerde: false,
        aktenzeichen: "AZ-1".into(),
        anlass: "Prüfung".into(),
        kennung: "Fachverfahren Test".into(),
        list_version: Some("25.11a".into()),
    }
}

pub fn ps(nachname: &str, vornamen: &str, strasse: &str) -> Personensuche {
    Personensuche {
        name: PersonName::NachnameUndVornamen {
            nachname: nachname.into(),
            vornamen: vornamen.into(),
        },
        phonetik: false,
        ags: AGS.into(),
        plz: None,
        strasse: Some(strasse.into()),
        hausnummer: Hausnummer::default(),
        geburtsdatum: None,
        geburtsort: None,
        geschlecht: None,
        sterbetag: None,
        sterbeort: None,
        azr_nummer: None,
    }
}

fn answer(r: &Resp) -> String {
    assert_eq!(r.status, 200, "{}", r.text());
    String::from_utf8(soap::parse_response(&r.body).expect("SOAP answer")).unwrap()
}

#[tokio::test]
async fn personensuche_over_mtls_with_kundennummer() {
    let sim = start().await;
    let (id, _, k) = mock_melderegister::zertifikat::ausstellen(&sim.st, MANDANT).unwrap();
    assert_eq!(k, AGS, "the Kundennummer defaults to the AGS");
    let (c, key) = (id.cert_pem(), id.key_pem());
    let msg = personensuche_1330(
        &kopf(),
        &ps("Sörensen", "Jens", "Lange Str."),
        &[1, 7, 13, 44, 48],
    );
    let r = post_tls(
        sim.service,
        Some((&c, &key)),
        &[],
        soap::request(msg.as_bytes(), Some(&k)).as_bytes(),
    )
    .await
    .unwrap();
    let a = answer(&r);
    assert!(
        a.contains("datenabruf.personensuche.antwort.1331")
            && a.contains("<code>01</code>")
            && a.contains("Sœrensen"),
        "{a}"
    );
    // Wrong Kundennummer, another Mandant's Kundennummer, none at all: faults.
    for (kn, rule) in [
        (Some("99999999"), "kundennummer.wrong"),
        (Some("03404000"), "kundennummer.other-mandant"),
        (None, "kundennummer.missing"),
    ] {
        let r = post_tls(
            sim.service,
            Some((&c, &key)),
            &[],
            soap::request(msg.as_bytes(), kn).as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(r.status, 500);
        assert!(
            r.text().contains("<faultcode>soapenv:Client</faultcode>"),
            "{}",
            r.text()
        );
        assert!(
            r.headers
                .to_ascii_lowercase()
                .contains(&format!("x-konform-diagnosis: melderegister.{rule}")),
            "{}",
            r.headers
        );
    }
    // A certificate the mirror does not know (the test PKI's generic client certificate).
    let r = post_tls(
        sim.service,
        Some((&pki().tls_client.cert_pem(), &pki().tls_client.key_pem())),
        &[],
        soap::request(msg.as_bytes(), Some(&k)).as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 500);
    assert!(
        r.text().contains("keinem Mandanten zugeordnet"),
        "{}",
        r.text()
    );
    // Revoked.
    let fp = mock_melderegister::service::fingerprint(&id.cert_der);
    assert!(sim.st.set_revoked(&fp, true).unwrap());
    let r = post_tls(
        sim.service,
        Some((&c, &key)),
        &[],
        soap::request(msg.as_bytes(), Some(&k)).as_bytes(),
    )
    .await
    .unwrap();
    assert!(r.text().contains("gesperrt"), "{}", r.text());
}

#[tokio::test]
async fn no_client_certificate_fails_the_handshake_and_is_journaled() {
    let sim = start().await;
    let r = post_tls(sim.service, None, &[], b"x").await;
    assert!(
        r.is_err(),
        "the handshake (or the first read) must fail without a client certificate"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let j = sim.st.kit().journal().all();
    assert!(
        j.iter().any(|e| e
            .diagnoses
            .iter()
            .any(|d| d.rule == "melderegister.tls.no-client-certificate")),
        "{j:?}"
    );
}

#[tokio::test]
async fn bad_input_gets_faults_and_changes_nothing() {
    let sim = start().await;
    let (id, _, k) = mock_melderegister::zertifikat::ausstellen(&sim.st, MANDANT).unwrap();
    let (c, key) = (id.cert_pem(), id.key_pem());
    let good = personensuche_1330(&kopf(), &ps("Sörensen", "Jens", "Lange Str."), &[1]);
    let env = soap::request(good.as_bytes(), Some(&k));
    let big_name = "A".repeat(2_500_000);
    let cases: Vec<(String, &str)> = vec![
        ("<not-xml".into(), "xml.well-formed"),
        (
            format!("<!DOCTYPE x [<!ENTITY e 'y'>]>{env}"),
            "xml.doctype",
        ),
        (
            env.replacen("<x:xmlParameter>", "<x:xmlParameter>!!", 1),
            "melderegister.soap.base64",
        ),
        (soap::request(b"<a><b></a>", Some(&k)), "xml.well-formed"),
        (
            soap::request(
                format!("{}{}", "<a>".repeat(100), "</a>".repeat(100)).as_bytes(),
                Some(&k),
            ),
            "xml.depth",
        ),
        (
            soap::request(good.replace("1330", "0600").as_bytes(), Some(&k)),
            "xmeld.message-type",
        ),
        (
            soap::request(
                personensuche_1330(&kopf(), &ps(&big_name, "Jens", "x"), &[1]).as_bytes(),
                Some(&k),
            ),
            "melderegister.soap.message-size",
        ),
    ];
    for (body, rule) in cases {
        let r = post_tls(sim.service, Some((&c, &key)), &[], body.as_bytes())
            .await
            .unwrap();
        assert_eq!(r.status, 500, "{rule}: {}", r.text());
        assert!(r.headers.contains(rule), "{rule}: {}", r.headers);
    }
    // Over the body limit: refused before the body is read.
    let huge = vec![b'a'; 5 * 1024 * 1024];
    let r = post_tls(sim.service, Some((&c, &key)), &[], &huge)
        .await
        .unwrap();
    assert_eq!(r.status, 500);
    assert!(r.headers.contains("http.body-limit"), "{}", r.headers);
    // A 1 MB name within the limits: an XMeld answer (street unknown → 02), not a fault.
    let mb = "A".repeat(1_000_000);
    let r = post_tls(
        sim.service,
        Some((&c, &key)),
        &[],
        soap::request(
            personensuche_1330(&kopf(), &ps(&mb, "Jens", "x"), &[1]).as_bytes(),
            Some(&k),
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    assert!(answer(&r).contains("<code>02</code>"));
    // Nothing was stored by any of it: still exactly the one certificate, no Merkmale.
    assert_eq!(sim.st.zertifikate().unwrap().len(), 1);
    // 10,000 first names: an XMeld answer (no match), bounded work.
    let many = vec!["Jens"; 10_000].join(" ");
    let r = post_tls(
        sim.service,
        Some((&c, &key)),
        &[],
        soap::request(
            personensuche_1330(&kopf(), &ps("Sörensen", &many, "Lange Str."), &[1]).as_bytes(),
            Some(&k),
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    assert!(answer(&r).contains("<code>01</code>"));
}

#[tokio::test]
async fn identifikationsmerkmal_expires_after_48_hours() {
    let sim = start().await;
    let (id, _, k) = mock_melderegister::zertifikat::ausstellen(&sim.st, MANDANT).unwrap();
    let (c, key) = (id.cert_pem(), id.key_pem());
    let mut q = ps("Müller", "Peter", CLUSTER_STRASSE);
    q.hausnummer.nummer = Some(3);
    let r = post_tls(
        sim.service,
        Some((&c, &key)),
        &[],
        soap::request(personensuche_1330(&kopf(), &q, &[1]).as_bytes(), Some(&k)).as_bytes(),
    )
    .await
    .unwrap();
    let a = answer(&r);
    assert!(a.contains("<code>02</code>"), "{a}");
    let m = a
        .split("<xmeld:identifikationsmerkmal>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert!(m.len() <= 500 && !m.contains("CLUSTER"), "opaque: {m}");
    let send = |m: String| {
        let (c, key, k) = (c.clone(), key.clone(), k.clone());
        let addr = sim.service;
        async move {
            answer(
                &post_tls(
                    addr,
                    Some((&c, &key)),
                    &[],
                    soap::request(merkmal_1330(&kopf(), &m, &[1, 13]).as_bytes(), Some(&k))
                        .as_bytes(),
                )
                .await
                .unwrap(),
            )
        }
    };
    sim.st.advance(47 * 3600);
    assert!(
        send(m.clone()).await.contains("<xmeld:ergebnisstatus"),
        "valid after 47 h"
    );
    sim.st.advance(2 * 3600);
    let a = send(m).await;
    assert!(
        a.contains("<xmeld:grundDerRueckweisung") && a.contains("<code>01</code>"),
        "expired after 49 h: {a}"
    );
}

#[tokio::test]
async fn certificates_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("konform-mr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let fp = {
        let sim = start_with(sim_kit::store::Store::open(&dir).unwrap(), 10).await;
        let (id, _, _) = mock_melderegister::zertifikat::ausstellen(&sim.st, MANDANT).unwrap();
        mock_melderegister::service::fingerprint(&id.cert_der)
    };
    let sim = start_with(sim_kit::store::Store::open(&dir).unwrap(), 10).await;
    let z = sim.st.zertifikat(&fp).unwrap().expect("stored certificate");
    assert_eq!(z.mandant, MANDANT);
    assert_eq!(sim.st.kundennummer(MANDANT).unwrap().as_deref(), Some(AGS));
    let r = http(sim.portal, "GET", "/__konform/mandanten", &[], b"").await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let m = &v[0];
    let mut keys: Vec<_> = m.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "ags",
            "certificates",
            "dvdv",
            "email",
            "id",
            "name",
            "security"
        ]
    );
    assert_eq!(m["certificates"][0]["fingerprint"], fp);
    assert_eq!(v[1]["security"], true);
    let _ = std::fs::remove_dir_all(&dir);
}
