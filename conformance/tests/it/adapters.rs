//! Adapters end to end through the runner: the command environment (what is inherited, what is set,
//! what `${VAR}` expands from) and `http:` actions served by a small test harness that wraps the
//! reference client as a vendor's library would be wrapped.

use conformance::adapter::Adapter;
use conformance::event::{ScenarioResult, Verdict};
use conformance::runner::{RunOptions, Shared};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

async fn run_pack(dir: &Path, adapter: Adapter) -> Vec<ScenarioResult> {
    let (packs, errors) = conformance::model::load(&[dir.join("pack")]);
    assert!(errors.is_empty(), "{errors:?}");
    let work = dir.join("work");
    let shared = Arc::new(Shared::create(&work).unwrap());
    let opts = RunOptions {
        adapter,
        jobs: 2,
        filter: None,
        step_timeout: Duration::from_secs(30),
        stop_on_failure: false,
        tls: false,
        partition: None,
        obligations: None,
    };
    conformance::runner::run(&packs, &opts, shared, &mut [])
        .await
        .0
}

fn verdicts(rs: &[ScenarioResult]) -> Vec<(String, Verdict)> {
    rs.iter().map(|r| (r.id.clone(), r.verdict)).collect()
}

#[tokio::test]
async fn the_command_environment_is_inherited_layered_and_expanded() {
    let dir = tempfile::tempdir().unwrap();
    let home = std::env::var("HOME").unwrap_or_default();
    write(
        dir.path(),
        "pack/env.yaml",
        &format!(
            r#"
id: env
title: environment
spec: 'docs/conformance.md "The command environment"'
when:
  - action: konnektor.get_cards
  - action: konnektor.get_pin_status
then:
  - output: {{ step: 0, pointer: /home, equals: "{home}" }}
  - output: {{ step: 0, pointer: /acme, equals: "{home}/acme" }}
  - output: {{ step: 0, pointer: /log, equals: "{home}/acme/log" }}
  - output: {{ step: 0, pointer: /scenario, equals: env }}
  - output: {{ step: 0, pointer: /action, equals: konnektor.get_cards }}
  - output: {{ step: 0, pointer: /input, equals: "{{}}" }}
  - output: {{ step: 1, pointer: /arg, equals: "literal ${{X}} and {home}/acme" }}
"#
        ),
    );
    let adapter = write(
        dir.path(),
        "adapter.yaml",
        r#"
name: env-probe
env: { ACME: "${HOME}/acme" }
actions:
  konnektor.get_cards:
    env: { ACME_LOG: "${ACME}/log" }
    shell: >-
      printf '{"home":"%s","acme":"%s","log":"%s","scenario":"%s","action":"%s","input":"%s","url":"%s"}'
      "$HOME" "$ACME" "$ACME_LOG" "$KONFORM_SCENARIO" "$KONFORM_ACTION" "$(tr -d ' \n' < "$KONFORM_INPUT")" "$KONFORM_KONNEKTOR_URL"
      > "$KONFORM_OUTPUT"
  konnektor.get_pin_status:
    run: [sh, -c, 'printf "{\"arg\":\"%s\"}" "$1" > "$KONFORM_OUTPUT"', sh, "literal $${X} and ${ACME}"]
"#,
    );
    let rs = run_pack(dir.path(), Adapter::load(&adapter).unwrap()).await;
    assert_eq!(rs[0].verdict, Verdict::Passed, "{:#?}", rs[0]);
    let url = rs[0].steps[0].output.as_ref().unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
}

#[tokio::test]
async fn an_unset_variable_is_an_error_not_an_empty_string() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pack/a.yaml",
        "id: a\ntitle: t\nspec: s\nwhen:\n  - action: konnektor.get_cards\n",
    );
    let adapter = write(
        dir.path(),
        "adapter.yaml",
        "name: x\nactions:\n  konnektor.get_cards: { run: [echo, '${KONFORM_NO_SUCH_VARIABLE}'] }\n",
    );
    let rs = run_pack(dir.path(), Adapter::load(&adapter).unwrap()).await;
    assert_eq!(rs[0].verdict, Verdict::Error);
    assert!(
        rs[0].failures[0]
            .actual
            .contains("KONFORM_NO_SUCH_VARIABLE"),
        "{:?}",
        rs[0].failures
    );
}

/// A vendor's test harness: receives `{"action","input","env"}`, drives "its library" (here: the
/// reference client) and answers `{"exit_code","output","stderr"}`. `broken` answers 500 instead.
async fn harness(broken: bool) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/konform", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(serve_one(stream, broken));
        }
    });
    (url, task)
}

async fn serve_one(mut stream: tokio::net::TcpStream, broken: bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let body = loop {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(i) = text.find("\r\n\r\n") {
            let len: usize = text[..i]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= i + 4 + len {
                break buf[i + 4..i + 4 + len].to_vec();
            }
        }
    };
    let req: Value = serde_json::from_slice(&body).unwrap();
    let (status, answer) = if broken {
        ("500 Internal Server Error", json!({"oops": true}))
    } else {
        let vars = req["env"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        let action = req["action"].as_str().unwrap().to_string();
        let input = req["input"].clone();
        let env = conformance::client::ClientEnv::from_vars(vars);
        let res = tokio::task::spawn_blocking(move || {
            conformance::client::run_action(&action, &env, &input)
        })
        .await
        .unwrap();
        let answer = match res {
            Ok(out) => json!({ "exit_code": 0, "output": out }),
            Err(e) => json!({ "exit_code": e.exit_code(), "stderr": e.to_string() }),
        };
        ("200 OK", answer)
    };
    let text = answer.to_string();
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(resp.as_bytes()).await;
}

const SUBMIT: &str = r#"
id: submit
title: a delivery through the harness
spec: '002 "API für die Übertragung von Vitalstatusmeldungen"'
when:
  - action: vst.submit_vitalstatus
    input: { IdDatenlieferung: "h-1", Meldungen: [ { IdDatensatz: "1", IdVersicherter: A111100008, Vitalstatus: "01" } ] }
then:
  - journal: { sim: vst, method: POST, path: /notify/api/v1/vitalstatusnotification, status: 200 }
"#;

const REJECTED: &str = r#"
id: rejected
title: a rejected delivery through the harness is a non-zero exit
spec: '002 "Synchrone Fehlermeldungen"'
when:
  - action: vst.submit_vitalstatus
    input: { IdDatenlieferung: "h-2", Meldungen: [ { IdDatensatz: "1", IdVersicherter: A123456780, Vitalstatus: "01" } ] }
    expect: { exit: fail }
"#;

const POLL: &str = r#"
id: poll
title: output through the harness
spec: '002 "API für den Abruf von Anfragen"'
given:
  vst: { requests: [A111100008] }
when:
  - action: vst.poll_requests
then:
  - output: { pointer: /Anfragen/0, equals: A111100008 }
"#;

#[tokio::test]
async fn http_actions_drive_a_harness_with_the_same_json_in_and_out() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pack/a.yaml", SUBMIT);
    write(dir.path(), "pack/b.yaml", REJECTED);
    write(dir.path(), "pack/c.yaml", POLL);
    let (url, task) = harness(false).await;
    let adapter = write(
        dir.path(),
        "adapter.yaml",
        &format!(
            "name: harness\nactions:\n  vst.submit_vitalstatus: {{ http: {{ url: '{url}', headers: {{ X-Scenario: '${{KONFORM_SCENARIO}}' }} }} }}\n  vst.poll_requests: {{ http: {{ url: '{url}' }} }}\n"
        ),
    );
    let rs = run_pack(dir.path(), Adapter::load(&adapter).unwrap()).await;
    assert_eq!(
        verdicts(&rs),
        vec![
            ("submit".to_string(), Verdict::Passed),
            ("rejected".to_string(), Verdict::Passed),
            ("poll".to_string(), Verdict::Passed)
        ],
        "{rs:#?}"
    );
    assert_eq!(rs[1].steps[0].exit_code, Some(1));
    task.abort();
}

#[tokio::test]
async fn a_broken_harness_is_an_error_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pack/a.yaml", SUBMIT);
    let (url, task) = harness(true).await;
    let adapter = write(
        dir.path(),
        "adapter.yaml",
        &format!(
            "name: harness\nactions:\n  vst.submit_vitalstatus: {{ http: {{ url: '{url}' }} }}\n"
        ),
    );
    let rs = run_pack(dir.path(), Adapter::load(&adapter).unwrap()).await;
    assert_eq!(rs[0].verdict, Verdict::Error, "{rs:#?}");
    assert!(
        rs[0].failures[0].actual.contains("500"),
        "{:?}",
        rs[0].failures
    );
    task.abort();
}
