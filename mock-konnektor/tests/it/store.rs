//! Card and PIN state is durable (`sim_kit::store`): left tries, BLOCKED, TRANSPORT_PIN, inserted and the
//! scripted VerifyPin answers survive a restart — also one without a clean shutdown — while VERIFIED falls
//! back to VERIFIABLE (a Konnektor that starts again resets its cards) unless `keep_verified_on_restart`.
//! A reset forgets everything; a card whose configuration changed starts from its configured state.

use crate::support::*;
use mock_konnektor::{
    DEFAULT_CARD_HANDLE, KonnektorConfig, KonnektorState, PinStatus, VerifyAnswer,
};
use sim_kit::Simulator;
use sim_kit::store::Store;
use std::path::Path;

fn open(dir: &Path, config: &KonnektorConfig) -> (axum::Router, KonnektorState) {
    let store = Store::open(dir).expect("store");
    let st = KonnektorState::new(config.clone(), pki(), store).expect("state");
    (mock_konnektor::app(st.clone()), st)
}

async fn verify(app: &axum::Router) -> Resp {
    soap(
        app,
        "/Konnektorservice",
        Some(A_VERIFY_PIN),
        &verify_pin_request(DEFAULT_CARD_HANDLE),
    )
    .await
}

async fn job(app: &axum::Router) -> String {
    let body = request(
        NS_SIG,
        &format!("<ns4:GetJobNumber>{CONTEXT}</ns4:GetJobNumber>"),
    );
    let r = soap(app, "/Konnektorservice", Some(A_JOB), &body).await;
    r.assert_ok();
    r.text("SIG:JobNumber").unwrap()
}

#[tokio::test]
async fn pin_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = KonnektorConfig::default();
    {
        let (app, st) = open(dir.path(), &cfg);
        st.queue_verify(
            DEFAULT_CARD_HANDLE,
            &[VerifyAnswer::Wrong, VerifyAnswer::Wrong, VerifyAnswer::Ok],
        )
        .unwrap();
        let r = verify(&app).await;
        assert_eq!(r.text("CARDCMN:LeftTries").as_deref(), Some("2"));
        assert_eq!(job(&app).await, "AAA-000");
        assert_eq!(job(&app).await, "AAA-001");
        // A rejected request changes nothing.
        let bad = verify_pin_request(DEFAULT_CARD_HANDLE).replace("Mandant1<", "Mandant2<");
        soap(&app, "/Konnektorservice", Some(A_VERIFY_PIN), &bad)
            .await
            .assert_fault(4004);
        // No clean shutdown: the state is dropped without anything being flushed.
        std::mem::forget(st);
        std::mem::forget(app);
    }
    let (app, st) = open(dir.path(), &cfg);
    let card = st.card(DEFAULT_CARD_HANDLE).unwrap();
    assert_eq!(card.pin_status, PinStatus::Verifiable);
    assert_eq!(card.left_tries, 2, "left tries are kept");
    assert_eq!(
        card.next_verify,
        vec![VerifyAnswer::Wrong, VerifyAnswer::Ok],
        "the rest of the script is kept"
    );
    assert_eq!(job(&app).await, "AAA-002", "job numbers stay unique");
    let r = verify(&app).await;
    assert_eq!(r.text("CARDCMN:PinResult").as_deref(), Some("REJECTED"));
    assert_eq!(r.text("CARDCMN:LeftTries").as_deref(), Some("1"));
    verify(&app).await.assert_ok();
    assert_eq!(
        st.card(DEFAULT_CARD_HANDLE).unwrap().pin_status,
        PinStatus::Verified
    );
    drop((app, st));

    // VERIFIED does not survive a restart (the Konnektor resets its cards) …
    let (_, st) = open(dir.path(), &cfg);
    let card = st.card(DEFAULT_CARD_HANDLE).unwrap();
    assert_eq!(card.pin_status, PinStatus::Verifiable);
    assert_eq!(card.left_tries, 3, "a right PIN reset the counter");
    st.set_pin_status(DEFAULT_CARD_HANDLE, PinStatus::Verified)
        .unwrap();
    drop(st);
    // … unless configured to.
    let keep = KonnektorConfig {
        keep_verified_on_restart: true,
        ..cfg.clone()
    };
    let (_, st) = open(dir.path(), &keep);
    assert_eq!(
        st.card(DEFAULT_CARD_HANDLE).unwrap().pin_status,
        PinStatus::Verified
    );
}

#[tokio::test]
async fn blocked_pulled_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = KonnektorConfig::default();
    {
        let (app, st) = open(dir.path(), &cfg);
        st.queue_verify(DEFAULT_CARD_HANDLE, &[VerifyAnswer::Wrong; 3])
            .unwrap();
        for _ in 0..3 {
            verify(&app).await.assert_ok();
        }
        st.set_inserted(DEFAULT_CARD_HANDLE, false).unwrap();
    }
    let (app, st) = open(dir.path(), &cfg);
    let card = st.card(DEFAULT_CARD_HANDLE).unwrap();
    assert_eq!(card.pin_status, PinStatus::Blocked);
    assert!(!card.inserted);
    verify(&app).await.assert_fault(4008);
    // Reset forgets it, in memory and in the store.
    st.reset();
    assert_eq!(
        st.card(DEFAULT_CARD_HANDLE).unwrap().pin_status,
        PinStatus::Verifiable
    );
    assert_eq!(job(&app).await, "AAA-000");
    drop((app, st));
    let (_, st) = open(dir.path(), &cfg);
    let card = st.card(DEFAULT_CARD_HANDLE).unwrap();
    assert_eq!(card.pin_status, PinStatus::Verifiable);
    assert!(card.inserted);
    assert_eq!(card.left_tries, 3);
}

#[tokio::test]
async fn a_changed_card_configuration_starts_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = KonnektorConfig::default();
    {
        let (_, st) = open(dir.path(), &cfg);
        st.set_pin_status(DEFAULT_CARD_HANDLE, PinStatus::Blocked)
            .unwrap();
    }
    let mut changed = cfg.clone();
    changed.cards[0].holder = Some("Andere Kasse".into());
    let (_, st) = open(dir.path(), &changed);
    assert_eq!(
        st.card(DEFAULT_CARD_HANDLE).unwrap().pin_status,
        PinStatus::Verifiable
    );
}
