//! The real Java OSCI-Bibliothek 2.4.1 (from `../shared/reference/osci`) against mock-osci on loopback.
//! Under `CI=true` a missing JDK or BouncyCastle is a failure; elsewhere the tests say they were skipped.

use crate::common;
use mock_osci::{OsciConfig, ProfileMode};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const BCPROV: &str = "/usr/share/java/bcprov.jar";

fn tool_missing(what: &str) -> bool {
    let msg = format!("needs {what} (a JDK and Debian's libbcprov-java; .ci/deps installs them)");
    if test_support::shared::in_ci() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    true
}

/// The compiled samples (and our drivers), once per test binary: (classes dir, classpath).
fn compiled() -> Option<&'static (PathBuf, String)> {
    static C: OnceLock<Option<(PathBuf, String)>> = OnceLock::new();
    C.get_or_init(|| {
        let r = test_support::shared::require("reference/osci")?;
        if Command::new("javac").arg("-version").output().is_err() && tool_missing("javac") {
            return None;
        }
        if !Path::new(BCPROV).exists() && tool_missing(BCPROV) {
            return None;
        }
        let out = std::env::temp_dir().join(format!("konform-osci-java-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let cp = format!("{}/lib/*:{BCPROV}", r.display());
        let mut sources: Vec<PathBuf> = Vec::new();
        collect_java(&r.join("beispielanwendung"), &mut sources);
        collect_java(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java"),
            &mut sources,
        );
        let st = Command::new("javac")
            .args(["-nowarn", "-encoding", "UTF-8", "-cp", &cp, "-d"])
            .arg(&out)
            .args(&sources)
            .status()
            .expect("javac runs");
        assert!(st.success(), "javac failed");
        let run_cp = format!("{}:{}/beispielanwendung:{cp}", out.display(), r.display());
        Some((out, run_cp))
    })
    .as_ref()
}

fn collect_java(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_java(&p, out);
        } else if p.extension().is_some_and(|x| x == "java") {
            out.push(p);
        }
    }
}

fn java(class: &str, args: &[&str]) -> Option<(bool, String)> {
    let (_, cp) = compiled()?;
    let o = Command::new("java")
        .args(["-cp", cp, class])
        .args(args)
        .output()
        .expect("java runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    Some((o.status.success(), text))
}

/// The library's unchanged sample `OneWayMessage_ActiveRecipient` completes against mock-osci.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_sample_one_way_message_active_recipient() {
    let Some(keys) = common::sample_keys() else {
        return;
    };
    if compiled().is_none() {
        return;
    }
    // The sample breaks the FIM profile on purpose (an unencrypted container); report, do not refuse.
    let cfg = OsciConfig {
        profile: ProfileMode::Report,
        ..OsciConfig::default()
    };
    let (sim, st) = common::start(cfg, keys).await;
    let url = format!("{}/osci", sim.url());
    let out = tokio::task::spawn_blocking(move || {
        java(
            "de.osci.osci12.samples.OneWayMessage_ActiveRecipient",
            &[&url],
        )
    })
    .await
    .unwrap();
    let (_, text) = out.unwrap();
    let journal =
        serde_json::to_string_pretty(&sim_kit::Simulator::kit(&st).journal().entries(0, 100))
            .unwrap();
    assert!(
        !text.contains("Exception"),
        "the sample failed:\n{text}\njournal:\n{journal}"
    );
    assert!(text.contains("CONTENT DATA:\nAny content data."), "{text}");
    assert!(
        text.contains("ATTACHMENT:\nAny unencrypted attachment data."),
        "{text}"
    );
    assert!(text.contains("RESULT OF SIGNATURE CHECK: true"), "{text}");
    assert!(
        text.contains("ENCRYPTED CONTENT DATA:\nAny encrypted content data."),
        "{text}"
    );
    let cards = st.process_cards().unwrap();
    assert_eq!(cards.len(), 1);
    assert!(
        cards[0].forwarding.is_some() && cards[0].reception.is_some(),
        "{cards:?}"
    );
    sim.stop().await;
}

fn write_pki(p: &mock_osci::OsciPki) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in p.files().unwrap() {
        std::fs::write(d.path().join(name), text).unwrap();
    }
    d
}

/// Our own driver (library API only) with the konform test PKI: a FIM delivery with attachments passes,
/// and what the library lets through but the profile forbids is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fim_driver_profile_cases() {
    if test_support::shared::require("reference/osci").is_none() || compiled().is_none() {
        return;
    }
    let (sim, st) = common::start_pki(OsciConfig::default()).await;
    let url = format!("{}/osci", sim.url());
    let dir = write_pki(common::pki());
    let stranger = write_pki(&mock_osci::OsciPki::generate(2048).unwrap());
    let run = |mode: &'static str| {
        let url = url.clone();
        let d = dir.path().display().to_string();
        let s = stranger.path().display().to_string();
        async move {
            tokio::task::spawn_blocking(move || java("konform.FimDriver", &[&url, &d, mode, &s]))
                .await
                .unwrap()
                .unwrap()
                .1
        }
    };
    let ok = run("ok").await;
    assert!(ok.contains("STORED 0800"), "{ok}");
    assert!(ok.contains("FETCHED FIM_DATA <xfd:G17000652"), "{ok}");
    assert!(ok.contains("ATTACHMENT Lageplan.pdf Lageplan"), "{ok}");
    assert!(
        ok.contains("ATTACHMENT Ordnerliste.pdf Ordnerliste"),
        "{ok}"
    );
    assert!(ok.contains("SIGNATURE true"), "{ok}");
    for (mode, code, rule) in [
        ("plain-container", "9300", "osci.profile.content-encrypted"),
        ("two-containers", "9300", "osci.profile.one-container"),
        ("aes-cbc", "9300", "osci.profile.aes-256-gcm"),
        ("foreign-addressee", "9706", "osci.profile.certificate"),
    ] {
        let out = run(mode).await;
        assert!(out.contains(&format!("REFUSED {code}")), "{mode}: {out}");
        let e = common::last_entry(&st);
        assert!(
            e.diagnoses.iter().any(|d| d.rule == rule),
            "{mode}: {:?}",
            e.diagnoses
        );
    }
    assert_eq!(
        st.process_cards().unwrap().len(),
        1,
        "only the valid delivery is stored"
    );
    sim.stop().await;
}
