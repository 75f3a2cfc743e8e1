//! The dashboard over HTTP, without a browser: what the pages say, filters, paging, the admin proxy and
//! its safety rules, live events.

use crate::harness::Env;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const JSON: (&str, &str) = ("content-type", "application/json");

#[test]
fn a_rejected_delivery_shows_rule_pointer_hint_seed_and_its_flow() {
    let env = Env::start();
    assert!(env.submit("A111100009").is_err(), "check digit 9 is wrong");
    let page = env.wait_page("/", "the rejected delivery", |b| {
        b.contains("kvnr.check-digit")
    });
    // Each journal is followed on its own: wait until the Konnektor's part has arrived too.
    env.wait_page("/entry/vst/2", "the flow", |b| {
        b.contains("across simulators")
    });
    assert!(page.contains("/Meldungen/0/IdVersicherter"), "{page}");
    assert!(page.contains("POST vitalstatusnotification"));
    let (st, detail) = env.get("/entry/vst/2");
    assert_eq!(st, 200, "{detail}");
    for want in [
        "400 Bad Request",
        "what the real service answers",
        "kvnr.check-digit",
        "/Meldungen/0/IdVersicherter",
        "How to fix:",
        "the check digit of A11110000",
        "Specification:",
        "IdVersicherter",
    ] {
        assert!(detail.contains(want), "detail lacks `{want}`: {detail}");
    }
    // VerifyPin → SignDocument → VST POST: one flow.
    assert!(detail.contains("across simulators"), "{detail}");
    let flow = env
        .state
        .timeline()
        .flow_of(&env.state.timeline().get("vst", 2).unwrap())
        .expect("a flow");
    let members: Vec<String> = env
        .state
        .timeline()
        .flow(flow)
        .iter()
        .map(|s| format!("{}:{}", s.sim, s.entry.label()))
        .collect();
    assert!(
        members.contains(&"konnektor:POST VerifyPin".to_string()),
        "{members:?}"
    );
    assert!(
        members.contains(&"konnektor:POST SignDocument".to_string()),
        "{members:?}"
    );
    assert_eq!(
        members.last().map(String::as_str),
        Some("vst:POST vitalstatusnotification")
    );
    let (_, flow_page) = env.get(&format!("/?flow={flow}"));
    assert!(flow_page.contains("POST SignDocument") && !flow_page.contains("GET wellknown"));
    // The partial is the same content without the frame (for the details pane).
    let (_, partial) = env.get("/entry/vst/2?partial=1");
    assert!(partial.starts_with("<article") && partial.contains("kvnr.check-digit"));
    assert_eq!(env.get("/entry/vst/999").0, 404);
}

#[test]
fn filters_are_applied_on_the_server() {
    let env = Env::start();
    let _ = env.submit("A111100009");
    env.submit("A111100008").expect("a correct delivery");
    env.wait_page("/?verdict=accepted&sim=vst", "the accepted delivery", |b| {
        b.contains("POST vitalstatusnotification")
    });
    let rows = |b: &str| b.matches("<tr id=\"e-").count();
    let (_, rejected) = env.get("/?verdict=rejected");
    assert_eq!(rows(&rejected), 1, "{rejected}");
    assert!(rejected.contains("kvnr.check-digit"));
    let (_, by_rule) = env.get("/?rule=kvnr.*");
    assert_eq!(rows(&by_rule), 1);
    let (_, by_status) = env.get("/?status=4xx");
    assert_eq!(rows(&by_status), 1);
    let (_, kon) = env.get("/?sim=konnektor");
    assert!(
        rows(&kon) >= 4 && !kon.contains("class=\"sim\">vst<"),
        "{kon}"
    );
    let (_, text) = env.get("/?q=idversicherter");
    assert_eq!(rows(&text), 1);
    let (_, none) = env.get("/?q=nothing-like-this");
    assert_eq!(rows(&none), 0);
    assert!(none.contains("No request matches this filter"));
    // The form shows the filter it applied.
    let (_, f) = env.get("/?verdict=rejected&status=400");
    assert!(
        f.contains("<option value=\"rejected\" selected>rejected</option>")
            && f.contains("value=\"400\"")
    );
}

#[test]
fn ten_thousand_entries_are_paged() {
    let env = Env::start();
    let n = 10_050;
    let vst = env.vst.url();
    env.rt.block_on(async {
        // Cheap requests (404 on the VST), many at once.
        let mut set = tokio::task::JoinSet::new();
        for w in 0..8 {
            let vst = vst.clone();
            set.spawn(async move {
                let c = dashboard::client::AdminClient::new(&vst, None, None).unwrap();
                for i in 0..(n / 8 + 1) {
                    let _ = c
                        .call(
                            "GET",
                            &format!("/nothing/{w}/{i}"),
                            None,
                            Duration::from_secs(10),
                        )
                        .await;
                }
            });
        }
        while set.join_next().await.is_some() {}
    });
    env.wait_entries(10_000);
    let (st, first) = env.get("/");
    assert_eq!(st, 200);
    assert_eq!(
        first.matches("<tr id=\"e-").count(),
        dashboard::timeline::PAGE_SIZE
    );
    let older = first
        .split("id=\"older\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a link to older entries")
        .replace("&amp;", "&");
    let (_, second) = env.get(&format!("/{older}"));
    assert_eq!(
        second.matches("<tr id=\"e-").count(),
        dashboard::timeline::PAGE_SIZE
    );
    let first_ids: Vec<&str> = first.split("<tr id=\"").skip(1).map(|s| &s[..20]).collect();
    assert!(
        second
            .split("<tr id=\"")
            .skip(1)
            .all(|s| !first_ids.contains(&&s[..20])),
        "pages do not overlap"
    );
    assert!(
        first.len() < 200_000,
        "a page stays small: {} bytes",
        first.len()
    );
}

#[test]
fn admin_calls_pass_through_and_keep_the_safety_rules() {
    let env = Env::start();
    let host = env.ui.trim_start_matches("http://").to_string();
    let origin = env.ui.clone();
    // `times` covers the reference client's retries after a 503.
    let rule = r#"{"path":"/notify/api/v1/vitalstatusnotification","method":"POST","times":10,"action":{"kind":"status","status":503}}"#;
    // A cross-site page's simple request, a foreign origin, a foreign Host: refused, nothing added.
    let (st, _) = env.send(
        "POST",
        "/api/sim/vst/admin/faults",
        &[("content-type", "text/plain")],
        rule,
    );
    assert_eq!(st, 415);
    let (st, _) = env.send(
        "POST",
        "/api/sim/vst/admin/faults",
        &[JSON, ("origin", "http://evil.example")],
        rule,
    );
    assert_eq!(st, 403);
    let (st, _) = env.send(
        "POST",
        "/api/sim/vst/admin/faults",
        &[JSON, ("sec-fetch-site", "cross-site")],
        rule,
    );
    assert_eq!(st, 403);
    // DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends its own name as Host.
    let mut raw = std::net::TcpStream::connect(&host).unwrap();
    write!(
        raw,
        "GET / HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let (_, faults) = env.send("GET", "/api/sim/vst/admin/faults", &[], "");
    assert_eq!(faults.trim(), "[]");
    // From the dashboard's own page: added, and it applies to the next request.
    let (st, body) = env.send(
        "POST",
        "/api/sim/vst/admin/faults",
        &[JSON, ("origin", &origin)],
        rule,
    );
    assert_eq!(st, 201, "{body}");
    assert!(body.contains("\"id\""));
    let err = env.submit("A111100008").expect_err("the fault answers 503");
    assert!(err.to_string().contains("503"), "{err}");
    env.wait_page("/?verdict=injected", "the injected answer", |b| {
        b.contains("injected status 503")
    });
    // The simulator's own errors come back as they are.
    let (st, body) = env.send(
        "PUT",
        "/api/sim/konnektor/admin/cards/NO-SUCH/pin",
        &[JSON],
        r#"{"status":"BLOCKED"}"#,
    );
    assert_eq!(st, 404, "{body}");
    assert!(body.contains("NO-SUCH"));
    assert_eq!(
        env.send("GET", "/api/sim/nope/admin/health", &[], "").0,
        404
    );
    // The simulator page lists the rule; reset clears it.
    let (st, _) = env.send("POST", "/api/sim/vst/admin/faults", &[JSON], rule);
    assert_eq!(st, 201);
    let (_, page) = env.get("/sim/vst");
    assert!(
        page.contains("id=\"faults\"") && page.contains("503"),
        "{page}"
    );
    assert_eq!(
        env.send("POST", "/api/sim/vst/admin/reset", &[JSON], "").0,
        204
    );
    let (_, page) = env.get("/sim/vst");
    assert!(page.contains("No pending fault rules"));
}

#[test]
fn state_pages_show_the_known_simulators() {
    let env = Env::start();
    let (st, vst) = env.get("/sim/vst");
    assert_eq!(st, 200);
    for want in [
        "Registrations",
        "8-01.109500969.TEST",
        "Queues",
        "Processing errors",
        "Accepted deliveries",
        "Profile",
        "reference",
        "Add a fault rule",
    ] {
        assert!(vst.contains(want), "VST page lacks `{want}`");
    }
    let (_, kon) = env.get("/sim/konnektor");
    for want in [
        "Cards and PIN states",
        "SMC-B-1",
        "VERIFIABLE",
        "Card terminals",
        "CT1",
        "Set PIN state",
        "Next VerifyPin answer",
    ] {
        assert!(kon.contains(want), "Konnektor page lacks `{want}`");
    }
    env.act("vst.register", serde_json::Value::Null, None).ok();
    env.submit("A111100008").expect("accepted");
    let (_, vst) = env.get("/sim/vst");
    assert!(
        vst.contains("id=\"deliveries\"") && vst.contains("2024-07"),
        "{vst}"
    );
    let (st, one) = env.get("/sim/vst/view?path=/deliveries/1");
    assert_eq!(st, 200);
    assert!(one.contains("A111100008"), "the decrypted KVNR: {one}");
    assert_eq!(env.get("/sim/nope").0, 404);
    let (_, reports) = env.get("/reports");
    assert!(reports.contains("No report yet"));
}

#[test]
fn live_events_carry_new_rows_in_batches() {
    let env = Env::start();
    let addr = env.ui.trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    write!(s, "GET /events?verdict=rejected&after=0 HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n").unwrap();
    let _ = env.submit("A111100009");
    let _ = env.submit("A111100008");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = String::new();
    let mut buf = [0u8; 65536];
    while !got.contains("kvnr.check-digit") && Instant::now() < deadline {
        if let Ok(n) = s.read(&mut buf) {
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    assert!(got.contains("text/event-stream"), "{got}");
    assert!(got.contains("event: rows"), "{got}");
    assert!(got.contains("kvnr.check-digit"), "{got}");
    assert!(
        !got.contains("v-accepted"),
        "the filter holds for live rows: {got}"
    );
}

#[test]
fn the_journal_long_poll_waits_for_the_next_entry() {
    let env = Env::start();
    let c = dashboard::client::AdminClient::new(&env.vst.url(), None, None).unwrap();
    let (empty, waited, got) = env.rt.block_on(async {
        let t = Instant::now();
        let empty = c
            .call(
                "GET",
                "/__konform/journal?since=0&wait=600",
                None,
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        let waited = t.elapsed();
        let poll = tokio::spawn({
            let c = c.clone();
            async move {
                c.call(
                    "GET",
                    "/__konform/journal?since=0&wait=20000",
                    None,
                    Duration::from_secs(30),
                )
                .await
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = c
            .call("GET", "/nothing-here", None, Duration::from_secs(10))
            .await;
        (empty, waited, poll.await.unwrap().unwrap())
    });
    assert_eq!(String::from_utf8_lossy(&empty.body).trim(), "[]");
    assert!(
        waited >= Duration::from_millis(550),
        "it waited: {waited:?}"
    );
    let page = dashboard::entry::parse_journal_page(&got.body).unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].path, "/nothing-here");
}
