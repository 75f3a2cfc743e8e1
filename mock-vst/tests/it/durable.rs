//! What the VST accepted survives a restart and a `kill -9` between requests (issue 8): each test opens the
//! store a second time on the same directory while the first handle is still alive — what a new process
//! finds after the old one was killed without a chance to clean up.

use crate::common::*;
use axum::http::StatusCode;
use mock_vst::{ErrorStream, Profile, ReusePolicy, VstConfig, VstState};
use sim_kit::store::Store;
use ti_core::ids::Environment;

fn sim_on(dir: &std::path::Path, cfg: VstConfig) -> Sim {
    let pki = pki();
    let state = VstState::new(cfg, pki.clone(), Store::open(dir).unwrap()).unwrap();
    Sim {
        app: mock_vst::app(state.clone()),
        state,
        pki,
    }
}

fn delivery_rows(s: &Sim) -> i64 {
    s.state
        .store()
        .read(|c| Ok(c.query_row("SELECT count(*) FROM vst_delivery", [], |r| r.get(0))?))
        .unwrap()
}

#[tokio::test]
async fn state_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let a = sim_on(tmp.path(), VstConfig::default());
    a.state
        .set_profile(Profile {
            processing_delay_ms: 0,
            duplicate_delivery_id: ReusePolicy::Diagnose,
            ..Profile::default()
        })
        .unwrap();
    a.state.set_environment(Environment::Production).unwrap();
    a.state.queue_request("A111100008").unwrap();
    a.state.queue_anonymization("A111100010").unwrap();
    a.state
        .inject_processing_error(ErrorStream::InsuranceUpdate, "L1", "D1", "X")
        .unwrap();
    let recs = [good(1), vs_rec("bad", "A111100022", "04", "---N/A----")];
    let body = vs_body(&a.pki, "keep-1", &recs);
    assert_eq!(post(&a, VS, body.clone()).await.status, StatusCode::OK);
    // A rejected delivery stores nothing.
    let r = post(&a, VS, body.replace("\"Signatur\":\"", "\"Signatur\":\"A")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(delivery_rows(&a), 1);

    // The process dies; a new one opens the same directory.
    let b = sim_on(tmp.path(), VstConfig::default());
    assert_eq!(b.state.profile().processing_delay_ms, 0);
    assert_eq!(b.state.environment(), Environment::Production);
    assert_eq!(b.state.insurers().len(), 1);
    let ds = b.state.deliveries();
    assert_eq!(ds.len(), 1);
    assert!(ds[0].processed);
    assert_eq!(
        ds[0].records[0].id_versicherter.as_deref(),
        Some(recs[0].kvnr.as_str())
    );
    assert_eq!(ds[0].records[1].errors, ["WrongFormatVitalstatus"]);
    // Mailboxes: requests, anonymizations, processing errors on both streams.
    let r = get(&b, VS_REQ).await;
    assert_eq!(r.json()["Anfragen"].as_array().unwrap().len(), 1);
    assert_eq!(get(&b, VS_ANON).await.status, StatusCode::OK);
    assert_eq!(
        get(&b, VS_ERR).await.json()["Fehler"][0]["IdDatensatz"],
        "bad"
    );
    assert_eq!(get(&b, IU_ERR).await.json()["Fehler"][0]["Code"], "X");
    // The same delivery again: its IdDatenlieferung and its ephemeral keys are known from before.
    let r = post(&b, VS, body).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.has("delivery.duplicate-id-datenlieferung", None),
        "{:?}",
        r.diags
    );
    assert!(r.has("ecies.key-reuse", None), "{:?}", r.diags);
    let seqs: Vec<u64> = b.state.deliveries().iter().map(|d| d.seq).collect();
    assert_eq!(seqs, [1, 2]);

    // What a poll consumed stays consumed after the next restart.
    // (The second delivery's own processing error was not polled yet: it is there, once.)
    let c = sim_on(tmp.path(), VstConfig::default());
    assert_eq!(get(&c, VS_REQ).await.status, StatusCode::NO_CONTENT);
    let r = get(&c, VS_ERR).await;
    assert_eq!(r.json()["Fehler"].as_array().unwrap().len(), 1);
    assert_eq!(get(&c, VS_ERR).await.status, StatusCode::NO_CONTENT);
    assert_eq!(c.state.deliveries().len(), 2);
}

#[tokio::test]
async fn checks_interrupted_by_a_restart_run_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let slow = VstConfig {
        profile: Profile {
            processing_delay_ms: 3_600_000,
            ..Profile::default()
        },
        ..VstConfig::default()
    };
    let a = sim_on(tmp.path(), slow.clone());
    let bad = vs_rec("late", "A111100008", "04", "---N/A----");
    assert_eq!(
        post(&a, VS, vs_body(&a.pki, "interrupted", &[bad]))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(get(&a, VS_ERR).await.status, StatusCode::NO_CONTENT);
    let blobs = |s: &Sim| -> i64 {
        s.state
            .store()
            .read(|c| Ok(c.query_row("SELECT count(*) FROM konform_blobs", [], |r| r.get(0))?))
            .unwrap()
    };
    assert_eq!(blobs(&a), 1, "the body is kept until the checks ran");

    let b = sim_on(tmp.path(), slow);
    assert!(!b.state.deliveries()[0].processed);
    let jobs = b.state.resume_unfinished();
    assert_eq!(jobs.len(), 1);
    for j in jobs {
        b.state.run_job(j);
    }
    assert!(b.state.resume_unfinished().is_empty(), "taken once");
    let r = get(&b, VS_ERR).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["Fehler"][0]["Code"], "WrongFormatVitalstatus");
    assert!(b.state.deliveries()[0].processed);
    assert_eq!(blobs(&b), 0, "the body is dropped once the checks ran");
    let c = sim_on(tmp.path(), VstConfig::default());
    assert!(c.state.resume_unfinished().is_empty());
    assert!(c.state.deliveries()[0].processed);
}

#[tokio::test]
async fn reset_clears_the_stored_state() {
    let tmp = tempfile::tempdir().unwrap();
    let a = sim_on(tmp.path(), VstConfig::default());
    a.state.set_environment(Environment::Production).unwrap();
    a.state.queue_request("A111100008").unwrap();
    assert_eq!(
        post(&a, VS, vs_body(&a.pki, "gone", &[good(1)]))
            .await
            .status,
        StatusCode::OK
    );
    a.state.reset_state().unwrap();
    let b = sim_on(tmp.path(), VstConfig::default());
    assert!(b.state.deliveries().is_empty());
    assert_eq!(b.state.environment(), Environment::Reference);
    assert_eq!(get(&b, VS_REQ).await.status, StatusCode::NO_CONTENT);
    assert_eq!(delivery_rows(&b), 0);
    // The configured registration is back, so the default insurer still logs in.
    assert_eq!(b.state.insurers().len(), 1);
}
