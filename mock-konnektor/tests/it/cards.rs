//! Several cards in front of the right SMC-B — an eGK, an HBA, an SMC-KT and a second SMC-B of another
//! institution — each with the certificates and PINs of its type; and a PIN script set in the
//! configuration (`pin.next_verify`), e.g. the second VerifyPin of a run answering REJECTED.

use crate::support::*;
use mock_konnektor::{KonnektorConfig, PinStatus};

pub const SEVERAL_CARDS: &str = r#"
terminals:
  - ct_id: CT1
    workplaces: [Workplace1]
    slots: 6
cards:
  - { handle: EGK-1, card_type: EGK, keys: generate, holder: Erika Mustermann, iccsn: "80276883110000000001" }
  - { handle: HBA-1, card_type: HBA, keys: generate, holder: Dr. Hans Arzt }
  - { handle: SMCKT-1, card_type: SMC-KT, keys: generate }
  - handle: SMCB-OTHER
    keys: generate
    holder: Andere Krankenkasse TEST-ONLY
    telematik_id: 8-01.109999999.TEST
    ik: "109999999"
  - { handle: SMC-B-1 }
"#;

fn cert_subject(r: &Resp) -> String {
    r.text("CERTCMN:X509SubjectName").unwrap_or_default()
}

#[tokio::test]
async fn several_cards_with_the_certificates_of_their_type() {
    let cfg: KonnektorConfig = sim_kit::config::from_yaml(SEVERAL_CARDS, "t.yaml").unwrap();
    let (app, st) = sim(cfg);
    let r = soap(
        &app,
        "/Konnektorservice",
        Some(A_GET_CARDS),
        &get_cards_request(""),
    )
    .await;
    r.assert_ok();
    assert_eq!(
        r.texts("CONN:CardHandle"),
        ["EGK-1", "HBA-1", "SMCKT-1", "SMCB-OTHER", "SMC-B-1"]
    );
    assert_eq!(
        r.texts("CARDCMN:CardType"),
        ["EGK", "HBA", "SMC-KT", "SMC-B", "SMC-B"]
    );
    assert_eq!(r.texts("CARDCMN:Iccsn")[0], "80276883110000000001");
    let smcb = soap(
        &app,
        "/Konnektorservice",
        Some(A_GET_CARDS),
        &get_cards_request("<ns5:CardType>SMC-B</ns5:CardType>"),
    )
    .await;
    assert_eq!(smcb.texts("CONN:CardHandle"), ["SMCB-OTHER", "SMC-B-1"]);

    for (handle, cert_ref, ok) in [
        ("EGK-1", "C.AUT", true),
        ("EGK-1", "C.SIG", false),
        ("HBA-1", "C.QES", true),
        ("HBA-1", "C.SIG", false),
        ("SMCKT-1", "C.AUT", true),
        ("SMCKT-1", "C.ENC", false),
        ("SMC-B-1", "C.QES", false),
    ] {
        let r = soap(
            &app,
            "/Konnektorservice",
            Some(A_READ_CERT),
            &read_cert_request(handle, cert_ref, "ECC"),
        )
        .await;
        if ok {
            r.assert_ok();
        } else {
            r.assert_fault(4149);
            assert!(
                r.has_diag("konnektor.certificate.ref"),
                "{handle} {cert_ref}"
            );
        }
    }
    // The other institution's SMC-B names its Telematik-ID and IK; the right one the test PKI's insurer.
    let other = soap(
        &app,
        "/Konnektorservice",
        Some(A_READ_CERT),
        &read_cert_request("SMCB-OTHER", "C.AUT", "ECC"),
    )
    .await;
    assert!(
        cert_subject(&other).contains("8-01.109999999.TEST"),
        "{}",
        cert_subject(&other)
    );
    let mine = soap(
        &app,
        "/Konnektorservice",
        Some(A_READ_CERT),
        &read_cert_request("SMC-B-1", "C.AUT", "ECC"),
    )
    .await;
    assert!(cert_subject(&mine).contains(&st.pki().insurer.telematik_id));

    // PINs by card type: an SMC-KT has none, an eGK no PIN.SMC; they cannot sign.
    for h in ["SMCKT-1", "EGK-1"] {
        soap(
            &app,
            "/Konnektorservice",
            Some(A_VERIFY_PIN),
            &verify_pin_request(h),
        )
        .await
        .assert_fault(4209);
        soap(
            &app,
            "/Konnektorservice",
            Some(A_SIGN),
            &sign_request(h, &[("R", b"x")], false),
        )
        .await
        .assert_fault(4058);
    }
}

#[tokio::test]
async fn the_second_verify_pin_of_a_run_is_rejected() {
    let yaml =
        "cards: [{handle: SMC-B-1, pin: {next_verify: [ok, wrong, wrong, wrong], left_tries: 2}}]";
    let cfg: KonnektorConfig = sim_kit::config::from_yaml(yaml, "t.yaml").unwrap();
    let (app, st) = sim(cfg);
    let verify = || async {
        soap(
            &app,
            "/Konnektorservice",
            Some(A_VERIFY_PIN),
            &verify_pin_request("SMC-B-1"),
        )
        .await
    };
    assert_eq!(
        verify().await.text("CARDCMN:PinResult").as_deref(),
        Some("OK")
    );
    // Pulled and inserted again, the card must be unlocked again: now the script says wrong.
    st.set_inserted("SMC-B-1", false).unwrap();
    st.set_inserted("SMC-B-1", true).unwrap();
    let r = verify().await;
    assert_eq!(r.text("CARDCMN:PinResult").as_deref(), Some("REJECTED"));
    assert_eq!(
        r.text("CARDCMN:LeftTries").as_deref(),
        Some("2"),
        "the right PIN reset the counter to 3"
    );
    assert_eq!(
        verify().await.text("CARDCMN:PinResult").as_deref(),
        Some("REJECTED")
    );
    let r = verify().await;
    assert_eq!(r.text("CARDCMN:PinResult").as_deref(), Some("NOWBLOCKED"));
    assert_eq!(st.card("SMC-B-1").unwrap().pin_status, PinStatus::Blocked);
    // Reset restores the configured script.
    sim_kit::Simulator::reset(&st);
    let card = st.card("SMC-B-1").unwrap();
    assert_eq!((card.next_verify.len(), card.left_tries), (4, 2));
}
