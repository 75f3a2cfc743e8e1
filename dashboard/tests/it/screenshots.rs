//! `make screenshots`: the dashboard's main views as PNGs for the README and docs (`docs/screenshots/`).
//! Ignored in the test suite; run on purpose, with Chromium.

use crate::harness::Env;
use conformance::client::Defect;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;
use test_support::webdriver::Browser;

const T: Duration = Duration::from_secs(20);

#[test]
#[ignore = "run by `make screenshots`"]
fn main_views() {
    let out = PathBuf::from(
        std::env::var("KONFORM_SCREENSHOTS").unwrap_or_else(|_| "screenshots".into()),
    );
    std::fs::create_dir_all(&out).unwrap();
    let reports: Vec<PathBuf> = std::env::var_os("KONFORM_REPORTS")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    let env = Env::start_with(dashboard::Config {
        reports,
        ..Default::default()
    });
    let Some(b) = Browser::start() else { return };

    // Realistic traffic: registration, good and broken deliveries, a client defect, an injected fault.
    let _ = env.act("vst.register", json!(null), None);
    let _ = env.act("vst.fetch_wellknown", json!(null), None);
    env.submit("A111100008").expect("accepted");
    let _ = env.act(
        "vst.submit_vitalstatus",
        json!({ "IdDatenlieferung": "2024-08", "Meldungen": [
            { "IdDatensatz": "2024-08-001", "IdVersicherter": "A111100008", "Vitalstatus": "02", "Sterbedatum": "2024-03-17" }]}),
        Some(Defect::from_name("json-duplicate-key").expect("defect")),
    );
    let _ = env.act("vst.poll_processingerrors", json!(null), None);
    let (st, _) = env.send(
        "POST",
        "/api/sim/vst/admin/faults",
        &[("content-type", "application/json")],
        r#"{"path":"/notify/api/v1/vitalstatusnotification/requests","action":{"kind":"status","status":503}}"#,
    );
    assert_eq!(st, 201);
    let _ = env.act("vst.poll_requests", json!(null), None);
    let _ = env.submit("A111100009");
    env.wait_page("/", "the broken delivery", |p| {
        p.contains("kvnr.check-digit")
    });
    env.send(
        "POST",
        "/api/sim/vst/admin/requests",
        &[("content-type", "application/json")],
        r#"{"kvnrs":["A111100008","A111100010"]}"#,
    );

    b.goto(&format!("{}/", env.ui));
    let row = b.wait_until(T, "the rejected row", || {
        b.find_all("#timeline tbody tr.v-rejected")
            .into_iter()
            .find(|r| b.text(r).contains("kvnr.check-digit"))
    });
    b.screenshot(&out.join("timeline.png"));
    b.click(&b.find(&format!("#{} a.open", b.attr(&row, "id").unwrap())));
    b.wait_for("#detail:not([hidden]) article.entry", T);
    std::thread::sleep(Duration::from_millis(300));
    b.screenshot(&out.join("timeline-details.png"));

    b.goto(&format!(
        "{}/entry/vst/{}",
        env.ui,
        row_seq(&b.attr(&row, "id").unwrap_or_default())
    ));
    b.wait_for("article.entry", T);
    b.screenshot(&out.join("entry.png"));

    b.goto(&format!("{}/sim/vst", env.ui));
    b.wait_for("#state", T);
    b.screenshot(&out.join("vst.png"));
    b.goto(&format!("{}/sim/konnektor", env.ui));
    b.wait_for("#cards", T);
    b.screenshot(&out.join("konnektor.png"));

    b.goto(&format!("{}/reports", env.ui));
    b.wait_for("main h1", T);
    if let Some(link) = b.try_find("#reports a") {
        b.click(&link);
        b.wait_for("iframe.report", T);
        std::thread::sleep(Duration::from_millis(500));
        b.screenshot(&out.join("report.png"));
    }

    b.set_window_size(420, 860);
    b.goto(&format!("{}/?verdict=rejected", env.ui));
    b.wait_for("#timeline", T);
    b.screenshot(&out.join("timeline-narrow.png"));
    println!("screenshots in {}", out.display());
}

fn row_seq(id: &str) -> String {
    id.rsplit('-').next().unwrap_or_default().to_string()
}
