//! `konform run` and `konform selftest` as users run them: the reference client in-process and as a
//! subprocess, vendor adapters that hang, crash, flood stdout or fail to start, broken scenario and adapter
//! files, and the reports.

use crate::common::konform;
use std::path::Path;

const SUBMIT: &str = r#"
id: t-submit
title: submit
spec: '002 "API für die Übertragung von Vitalstatusmeldungen"'
when:
  - action: vst.submit_vitalstatus
    input:
      IdDatenlieferung: "t-1"
      Meldungen: [ { IdDatensatz: "1", IdVersicherter: A111100008, Vitalstatus: "01" } ]
then:
  - journal: { sim: vst, method: POST, path: /notify/api/v1/vitalstatusnotification, status: 200 }
"#;

const POLL: &str = r#"
id: t-poll
title: poll
spec: '002 "API für den Abruf von Anfragen"'
given:
  vst: { requests: [A111100008] }
when:
  - action: vst.poll_requests
then:
  - output: { pointer: /Anfragen/0, equals: A111100008 }
"#;

fn pack(dir: &Path, files: &[(&str, &str)]) -> std::path::PathBuf {
    let p = dir.join("pack");
    std::fs::create_dir_all(&p).unwrap();
    for (name, text) in files {
        std::fs::write(p.join(name), text).unwrap();
    }
    p
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn reference_client_in_process_and_as_subprocess_with_all_reports() {
    let dir = tempfile::tempdir().unwrap();
    let p = pack(dir.path(), &[("a.yaml", SUBMIT), ("b.yaml", POLL)]);
    for client in ["reference", "reference-process"] {
        let json = dir.path().join(format!("{client}.json"));
        let junit = dir.path().join(format!("{client}.xml"));
        let html = dir.path().join(format!("{client}.html"));
        konform([
            "run",
            p.to_str().unwrap(),
            "--client",
            client,
            "--json",
            json.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ])
        .expect_code(0, client);
        let r = report(&json);
        assert_eq!(r["summary"]["passed"], 2, "{client}: {r}");
        let x = std::fs::read_to_string(&junit).unwrap();
        assert!(
            x.contains(r#"<testsuites name="konform"#) && x.contains("t-submit: submit"),
            "{x}"
        );
        assert!(!x.contains("<failure"), "{x}");
        // Well-formed XML, as CI servers parse it.
        let lint = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg(&junit)
            .output()
            .expect("xmllint (libxml2-utils) is needed; .ci/run installs it");
        assert!(
            lint.status.success(),
            "{}",
            String::from_utf8_lossy(&lint.stderr)
        );
        let h = std::fs::read_to_string(&html).unwrap();
        assert!(
            h.contains("CONFORMANT")
                && h.contains("002 &quot;API für den Abruf von Anfragen&quot;")
        );
    }
}

#[test]
fn a_defect_is_reported_with_expected_actual_and_diagnosis() {
    let dir = tempfile::tempdir().unwrap();
    let p = pack(dir.path(), &[("a.yaml", SUBMIT)]);
    let json = dir.path().join("r.json");
    let r = konform([
        "run",
        p.to_str().unwrap(),
        "--defect",
        "hkdf-info-erezept",
        "--json",
        json.to_str().unwrap(),
    ]);
    r.expect_code(1, "defect");
    assert!(r.stdout.contains("FAIL  t-submit"), "{}", r.stdout);
    assert!(r.stdout.contains("expected:"), "{}", r.stdout);
    assert!(
        r.stdout.contains("ecies.hkdf-info"),
        "the near miss is named: {}",
        r.stdout
    );
    let j = report(&json);
    assert_eq!(j["scenarios"][0]["verdict"], "failed");
}

#[test]
fn misbehaving_client_commands_get_a_verdict_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = pack(dir.path(), &[("a.yaml", SUBMIT), ("b.yaml", POLL)]);
    // A distinctive sleep duration identifies the hung client's child in `ps`.
    let marker = format!("31.{}", std::process::id() % 100_000);
    let cases = [
        (
            "hang",
            format!("sleep {marker} & sleep {marker}"),
            "timed out",
        ),
        ("crash", "kill -SEGV $$".to_string(), "exit -1"),
        (
            "flood",
            "head -c 5000000 /dev/zero | tr '\\0' x; exit 0".to_string(),
            "more bytes dropped",
        ),
        (
            "missing",
            "cat \"$KONFORM_INPUT.missing\"".to_string(),
            "exit 1",
        ),
    ];
    for (name, cmd, needle) in cases {
        let adapter = dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &adapter,
            format!(
                "name: {name}\ntimeout_ms: 1500\nactions:\n  vst.submit_vitalstatus:\n    shell: '{}'\n  vst.poll_requests:\n    run: [sh, -c, 'exit 0']\n",
                cmd.replace('\'', "''")
            ),
        )
        .unwrap();
        let json = dir.path().join(format!("{name}.json"));
        let t = std::time::Instant::now();
        let r = konform([
            "run",
            p.to_str().unwrap(),
            "--client",
            adapter.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ]);
        r.expect_code(1, name);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(30),
            "{name} took {:?}",
            t.elapsed()
        );
        let j = report(&json);
        assert_eq!(j["summary"]["total"], 2, "{name}: both scenarios reported");
        let s0 = &j["scenarios"][0];
        assert_eq!(s0["verdict"], "failed", "{name}: {s0}");
        let text = s0.to_string();
        assert!(text.contains(needle), "{name}: `{needle}` in {text}");
        // The poll scenario's client exits 0 without output: a failed output check, not a crash.
        assert_eq!(j["scenarios"][1]["verdict"], "failed", "{name}");
    }
    // Nothing is left running.
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(
        !ps.contains(&format!("sleep {marker}")),
        "the hung client's process group was killed"
    );
}

#[test]
fn unmapped_actions_are_skipped_not_failed() {
    let dir = tempfile::tempdir().unwrap();
    let p = pack(dir.path(), &[("a.yaml", SUBMIT), ("b.yaml", POLL)]);
    let adapter = dir.path().join("partial.yaml");
    std::fs::write(
        &adapter,
        "name: partial\nactions:\n  vst.poll_requests:\n    env: { OUT: '{\"Anfragen\":[\"A111100008\"]}' }\n    run: [sh, -c, 'printf %s \"$OUT\" > \"$KONFORM_OUTPUT\"']\n",
    )
    .unwrap();
    let json = dir.path().join("r.json");
    konform([
        "run",
        p.to_str().unwrap(),
        "--client",
        adapter.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ])
    .expect_code(0, "skipped counts as no failure");
    let j = report(&json);
    assert_eq!(j["summary"]["skipped"], 1);
    assert_eq!(
        j["summary"]["passed"], 1,
        "a shell adapter writing the output passes: {j}"
    );
}

#[test]
fn broken_files_point_at_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = SUBMIT.replace("title: submit", "title: submit\ntitel: typo");
    let p = pack(dir.path(), &[("bad.yaml", &bad)]);
    let r = konform(["run", p.to_str().unwrap()]);
    r.expect_code(2, "broken scenario");
    assert!(
        r.stderr.contains("bad.yaml") && r.stderr.contains("titel"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("line 4") || r.stderr.contains(":4"),
        "{}",
        r.stderr
    );

    let p2 = dir.path().join("good");
    std::fs::create_dir_all(&p2).unwrap();
    std::fs::write(p2.join("a.yaml"), SUBMIT).unwrap();
    let adapter = dir.path().join("adapter.yaml");
    std::fs::write(
        &adapter,
        "name: x\nactions:\n  vst.submit_everything:\n    run: [true]\n",
    )
    .unwrap();
    let r = konform([
        "run",
        p2.to_str().unwrap(),
        "--client",
        adapter.to_str().unwrap(),
    ]);
    r.expect_code(2, "broken adapter");
    assert!(
        r.stderr.contains("adapter.yaml") && r.stderr.contains("actions.vst.submit_everything"),
        "{}",
        r.stderr
    );
    konform(["run", p2.to_str().unwrap(), "--client", "/nonexistent.yaml"])
        .expect_code(2, "missing adapter");
    konform(["run", "/nonexistent-pack"]).expect_code(2, "missing pack");
    konform(["run", p2.to_str().unwrap(), "--filter", "nothing-*"]).expect_code(2, "empty filter");
    konform(["run", p2.to_str().unwrap(), "--defect", "nonsense"]).expect_code(2, "unknown defect");
}

/// The shipped packs pass with the reference client and catch every defect (this is `konform selftest`).
#[test]
fn shipped_packs_selftest() {
    let packs = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let json = tempfile::NamedTempFile::new().unwrap();
    let r = konform([
        "selftest",
        packs.to_str().unwrap(),
        "--json",
        json.path().to_str().unwrap(),
    ]);
    r.expect_code(0, "selftest");
    let j = report(json.path());
    assert!(j["reference"]["total"].as_u64().unwrap() >= 60, "{j}");
    assert_eq!(j["detection_rate"], 1.0, "{j}");
}
