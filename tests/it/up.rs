//! `konform up` under the issue 8 findings: flags checked before anything is written (7), the PKI written
//! all or nothing and a half one found at start (4), the ready file and the shutdown bound (6), one log
//! line per request (7), the journal across restarts (6), `--bind` with an admin token (5), and the file
//! descriptor limit (3).

use crate::common::{KONFORM, konform};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `konform up` on ephemeral ports.
struct Up {
    child: Child,
    ready: Value,
    ready_file: PathBuf,
    stderr: PathBuf,
}

impl Up {
    fn start(data: &Path, extra: &[&str]) -> Up {
        Up::start_with(data, extra, None)
    }

    /// With `ulimit`: under that file descriptor limit (a shell sets it, then becomes konform).
    fn start_with(data: &Path, extra: &[&str], ulimit: Option<u32>) -> Up {
        let ready_file = data.with_extension("ready.json");
        let stderr = data.with_extension("stderr.txt");
        let _ = std::fs::remove_file(&ready_file);
        let mut cmd = match ulimit {
            Some(n) => {
                let mut c = Command::new("sh");
                c.args([
                    "-c",
                    &format!("ulimit -n {n} && exec \"$0\" \"$@\""),
                    KONFORM,
                ]);
                c
            }
            None => Command::new(KONFORM),
        };
        cmd.arg("up")
            .args(crate::common::EPHEMERAL_PORTS)
            .arg("--data-dir")
            .arg(data)
            .arg("--ready-file")
            .arg(&ready_file)
            .args(extra)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap());
        let mut child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(90);
        while !ready_file.exists() {
            if let Some(st) = child.try_wait().unwrap() {
                panic!(
                    "konform up exited early ({st}): {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "no ready file within 90 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        let ready = serde_json::from_slice(&std::fs::read(&ready_file).unwrap()).unwrap();
        Up {
            child,
            ready,
            ready_file,
            stderr,
        }
    }

    fn url(&self, sim: &str) -> String {
        self.ready[sim].as_str().unwrap().to_string()
    }

    /// SIGTERM; the exit status and how long the exit took.
    fn terminate(mut self) -> (std::process::ExitStatus, Duration, String) {
        let t = Instant::now();
        signal(self.child.id(), "TERM");
        let status = wait_bounded(&mut self.child, Duration::from_secs(30));
        let took = t.elapsed();
        assert!(
            !self.ready_file.exists(),
            "the ready file is removed on exit"
        );
        (
            status,
            took,
            std::fs::read_to_string(&self.stderr).unwrap_or_default(),
        )
    }

    fn kill9(mut self) {
        signal(self.child.id(), "KILL");
        wait_bounded(&mut self.child, Duration::from_secs(30));
    }
}

fn signal(pid: u32, sig: &str) {
    Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .unwrap();
}

fn wait_bounded(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("konform up did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One HTTP/1.1 request with `Connection: close`; (status, whole answer).
fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let authority = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(authority).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.get(9..12).and_then(|x| x.parse().ok()).unwrap_or(0);
    (status, out)
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// The body of a whole answer, de-chunked when it came in chunks.
fn body_of(resp: &str) -> String {
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((resp, ""));
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

fn up_fails(data: &Path, extra: &[&str], why: &str) -> String {
    let mut args = vec!["up"];
    args.extend_from_slice(&crate::common::EPHEMERAL_PORTS);
    args.push("--data-dir");
    let d = data.to_string_lossy().into_owned();
    args.push(&d);
    args.extend_from_slice(extra);
    let r = konform(args);
    r.expect_code(2, why);
    r.stderr
}

#[test]
fn bad_flags_fail_before_anything_is_written() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let e = up_fails(&data, &["--environment", "prod"], "--environment typo");
    assert!(e.contains("prod"), "{e}");
    up_fails(&data, &["--curve", "secp384r1"], "unknown curve");
    let e = up_fails(&data, &["--bind", "0.0.0.0"], "--bind without a token");
    assert!(e.contains("--admin-token"), "{e}");
    up_fails(
        &data,
        &["--bind", "0.0.0.0", "--admin-token", "short"],
        "short token",
    );
    let cfg = t.path().join("c.yaml");
    std::fs::write(&cfg, "limits:\n  max_connections: 0\n").unwrap();
    let e = up_fails(&data, &["--config", cfg.to_str().unwrap()], "zero limit");
    assert!(e.contains("max_connections"), "{e}");
    std::fs::write(&cfg, "limits:\n  max_conections: 5\n").unwrap();
    up_fails(
        &data,
        &["--config", cfg.to_str().unwrap()],
        "misspelt limit",
    );
    std::fs::write(&cfg, "konnektor:\n  cards: 7\n").unwrap();
    up_fails(
        &data,
        &["--config", cfg.to_str().unwrap()],
        "bad konnektor config",
    );
    up_fails(
        &data,
        &["--ready-file", "/nonexistent-dir/ready.json"],
        "ready file in a missing folder",
    );
    assert!(!data.exists(), "nothing was written for a bad flag");
}

#[test]
fn a_half_written_pki_is_reported_with_the_fix_or_replaced() {
    let t = tempfile::tempdir().unwrap();
    // As an older konform killed during its first start left it: some files, among them a key.
    let data = t.path().join("data");
    let pki = data.join("pki");
    std::fs::create_dir_all(pki.join("vst")).unwrap();
    std::fs::write(pki.join("ca.pem"), "half").unwrap();
    std::fs::write(pki.join("ca.key.pem"), "half").unwrap();
    let e = up_fails(&data, &[], "incomplete PKI with keys");
    let rm = format!("rm -r '{}'", pki.display());
    let init = format!("konform pki init --out '{}' --force", pki.display());
    assert!(
        e.contains("incomplete") && e.contains(&rm) && e.contains(&init),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(pki.join("ca.key.pem")).unwrap(),
        "half",
        "left alone"
    );
    // The fix it names works.
    konform(["pki", "init", "--out", pki.to_str().unwrap(), "--force"]).expect_code(0, "the fix");
    let (st, _, _) = Up::start(&data, &[]).terminate();
    assert!(st.success());

    // Certificates without any key: nothing can depend on them, so the PKI is written anew.
    let data = t.path().join("data2");
    let pki = data.join("pki");
    std::fs::create_dir_all(pki.join("tls")).unwrap();
    std::fs::write(pki.join("tls/ca.pem"), "half").unwrap();
    // And a temporary folder of a writer killed mid-way.
    std::fs::create_dir_all(data.join(".pki.konform-tmp-1-dead/vst")).unwrap();
    let up = Up::start(&data, &[]);
    assert!(pki.join("insurer/sig.key.pem").exists());
    assert!(!data.join(".pki.konform-tmp-1-dead").exists(), "swept");
    up.terminate();
}

#[test]
fn killed_during_first_start_leaves_no_half_pki() {
    let t = tempfile::tempdir().unwrap();
    for (i, ms) in [0u64, 30, 80, 150, 300].into_iter().enumerate() {
        let data = t.path().join(format!("d{i}"));
        let mut child = Command::new(KONFORM)
            .arg("up")
            .args(crate::common::EPHEMERAL_PORTS)
            .arg("--data-dir")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        signal(child.id(), "KILL");
        let _ = child.wait();
        let pki = data.join("pki");
        if pki.exists() {
            for (cert, key) in ti_core::pki::TestPki::FILES {
                assert!(
                    pki.join(cert).exists() && pki.join(key).exists(),
                    "kill after {ms} ms: half a PKI"
                );
            }
        }
        // Whatever the kill left, the next start works.
        Up::start(&data, &[]).terminate();
    }
}

#[test]
fn every_request_is_logged_and_the_journal_file_survives_restarts() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let jf = t.path().join("journal.jsonl");
    let jf_arg = jf.to_str().unwrap();
    let up = Up::start(
        &data,
        &[
            "--log-format",
            "json",
            "--journal-file",
            jf_arg,
            "--ephemeral",
        ],
    );
    let vst = up.url("vst");
    assert_eq!(http(&vst, "GET", "/.well-known", &[], "").0, 200);
    assert_eq!(
        http(
            &vst,
            "POST",
            "/notify/api/v1/vitalstatusnotification",
            &[JSON],
            "{}"
        )
        .0,
        401
    );
    let (st, took, log) = up.terminate();
    assert!(st.success(), "{log}");
    assert!(took < Duration::from_secs(5), "idle shutdown took {took:?}");
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &Value| v["target"] == "konform::request")
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert_eq!(lines[1]["simulator"], "vst");
    assert_eq!(lines[1]["method"], "POST");
    assert_eq!(lines[1]["path"], "/notify/api/v1/vitalstatusnotification");
    assert_eq!(lines[1]["status"], 401);
    assert_eq!(lines[1]["rule"], "auth.missing");
    assert!(!data.join("store").exists(), "--ephemeral writes no store");

    // Restart: the journal is back; a kill -9 between requests loses nothing either.
    let up = Up::start(&data, &["--journal-file", jf_arg]);
    let vst = up.url("vst");
    assert_eq!(http(&vst, "GET", "/nowhere", &[], "").0, 404);
    up.kill9();
    let up = Up::start(&data, &["--journal-file", jf_arg]);
    let (st, body) = http(&up.url("vst"), "GET", "/__konform/journal", &[], "");
    assert_eq!(st, 200);
    let entries: Vec<Value> =
        serde_json::from_str(&body_of(&body)).unwrap_or_else(|e| panic!("{e}: {body}"));
    let paths: Vec<&str> = entries.iter().filter_map(|e| e["path"].as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "/.well-known",
            "/notify/api/v1/vitalstatusnotification",
            "/nowhere"
        ]
    );
    assert!(
        data.join("store/konform.sqlite").exists(),
        "the store lives under --data-dir"
    );
    assert_eq!(http(&up.url("vst"), "GET", "/.well-known", &[], "").0, 200);
    let (_, _, log) = up.terminate();
    assert!(log.contains("konform::request"), "text log: {log}");
}

#[test]
fn bind_beyond_loopback_needs_the_admin_token() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let up = Up::start(
        &data,
        &["--bind", "0.0.0.0", "--admin-token", "s3cret-t0ken"],
    );
    let vst = up.url("vst");
    assert_eq!(
        http(&vst, "GET", "/.well-known", &[], "").0,
        200,
        "the API needs no token"
    );
    let (st, resp) = http(&vst, "GET", "/__konform/health", &[], "");
    assert_eq!(st, 401, "{resp}");
    let auth = ("authorization", "Bearer s3cret-t0ken");
    assert_eq!(http(&vst, "GET", "/__konform/health", &[auth], "").0, 200);
    assert_eq!(
        http(&vst, "POST", "/__konform/reset", &[auth, JSON], "").0,
        204
    );
    up.terminate();
}

#[test]
fn out_of_file_descriptors_no_client_hangs() {
    // Finding 3: at the descriptor limit `accept` failed silently and clients hung in the backlog.
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    konform(["pki", "init", "--out", data.join("pki").to_str().unwrap()]).expect_code(0, "pki");
    let cfg = t.path().join("c.yaml");
    std::fs::write(&cfg, "limits:\n  max_connections: 10000\n").unwrap();
    let up = Up::start_with(
        &data,
        &["--config", cfg.to_str().unwrap(), "--ephemeral"],
        Some(96),
    );
    let vst = up.url("vst");
    let authority = vst.trim_start_matches("http://").to_string();
    let mut conns = Vec::new();
    for _ in 0..160 {
        let mut s = TcpStream::connect(&authority).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(b"GET /.well-known HTTP/1.1\r\nhost: x\r\n\r\n");
        conns.push(s);
    }
    let (mut served, mut closed) = (0, 0);
    for s in &mut conns {
        let mut buf = [0u8; 12];
        match s.read(&mut buf) {
            Ok(0) => closed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => closed += 1,
            Ok(n) if buf[..n].starts_with(b"HTTP/1.1 200") => served += 1,
            other => panic!("a client hung or got something else: {other:?}"),
        }
    }
    assert!(
        closed > 0,
        "the descriptor limit was reached ({served} served)"
    );
    assert!(served > 0);
    drop(conns);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        http(&vst, "GET", "/.well-known", &[], "").0,
        200,
        "accepting resumes"
    );
    let (_, _, log) = up.terminate();
    assert!(log.contains("out of file descriptors"), "{log}");
}

#[test]
fn shutdown_within_5_s_during_a_large_delivery() {
    // Finding 6: shutdown during an 8,000-record delivery took 7.4 s (docs: at most 5 s): the server
    // waited for the CPU-bound check. In this debug build 400 records keep the VST's check busy for
    // seconds, as 8,000 do in a release build; the check runs on a blocking thread, which shutdown must
    // abandon (nothing is stored before the check completes) rather than await.
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let up = Up::start(&data, &["--ephemeral"]);
    let kvnrs = konform(["kvnr", "gen", "--test", "400"]);
    kvnrs.expect_code(0, "kvnr gen");
    let meldungen: Vec<Value> = kvnrs
        .stdout
        .lines()
        .enumerate()
        .map(|(i, k)| serde_json::json!({ "IdDatensatz": i.to_string(), "IdVersicherter": k, "Vitalstatus": "01" }))
        .collect();
    assert_eq!(meldungen.len(), 400);
    let input = t.path().join("input.json");
    let doc = serde_json::json!({ "IdDatenlieferung": "shutdown-400", "Meldungen": meldungen });
    std::fs::write(&input, doc.to_string()).unwrap();
    let mut client = Command::new(KONFORM)
        .args(["client", "vst.submit_vitalstatus", "--input"])
        .arg(&input)
        .args([
            "--vst-url",
            &up.url("vst"),
            "--konnektor-url",
            &up.url("konnektor"),
            "--pki-dir",
        ])
        .arg(up.ready["pki"].as_str().unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The client encrypts, has the Konnektor sign and authenticate, then posts at once.
    let kon = up.url("konnektor");
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let (_, resp) = http(&kon, "GET", "/__konform/journal", &[], "");
        if body_of(&resp).contains("ExternalAuthenticate") {
            break;
        }
        assert!(
            client.try_wait().unwrap().is_none(),
            "the client ended before signing"
        );
        assert!(
            Instant::now() < deadline,
            "the client did not get to its POST within 240 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let (st, took, log) = up.terminate();
    assert!(st.success(), "{log}");
    assert!(
        took <= Duration::from_secs(5),
        "shutdown took {took:?}:\n{log}"
    );
    let client_status = wait_bounded(&mut client, Duration::from_secs(60));
    let stored = log.contains("path=/notify/api/v1/vitalstatusnotification operation=\"vitalstatusnotification\" status=200");
    // Either the check finished within the grace and the client got its answer, or it was cut off
    // and nothing was stored — never half of it, never an answer without the delivery stored.
    assert_eq!(client_status.success(), stored, "{log}");
    eprintln!(
        "shutdown took {took:?}; the delivery was {}",
        if stored {
            "answered within the grace"
        } else {
            "cut off"
        }
    );
}

#[test]
fn admin_api_refuses_rebinding_hosts_unless_allowed() {
    // Finding 5 through the CLI: DNS rebinding (a foreign Host) and a browser's text/plain POST.
    let t = tempfile::tempdir().unwrap();
    let up = Up::start(
        &t.path().join("data"),
        &["--ephemeral", "--admin-allow-host", "konform.test"],
    );
    let vst = up.url("vst");
    let authority = vst.trim_start_matches("http://");
    let port = authority.rsplit(':').next().unwrap();
    let raw = |req: String| {
        let mut s = TcpStream::connect(authority).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.get(9..12)
            .and_then(|x| x.parse::<u16>().ok())
            .unwrap_or(0)
    };
    let get = |host: &str| {
        raw(format!(
            "GET /__konform/journal HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
        ))
    };
    assert_eq!(get(&format!("attacker.example:{port}")), 403);
    assert_eq!(
        get(&format!("konform.test:{port}")),
        200,
        "--admin-allow-host"
    );
    assert_eq!(get(authority), 200);
    let post = format!(
        "POST /__konform/reset HTTP/1.1\r\nhost: {authority}\r\norigin: http://attacker.example\r\n\
         content-type: text/plain\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    assert_eq!(raw(post), 403);
    let (_, _, log) = up.terminate();
    assert!(log.contains("admin request refused"), "{log}");
}
