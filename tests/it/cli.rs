//! The `konform` binary as users run it: every subcommand, good and bad input, exit codes
//! (0 ok, 1 invalid, 2 usage/input error), and never a panic.

use crate::common::{fresh_pki, konform, pki_path};
use std::ffi::OsString;
use std::path::Path;
use ti_core::ecies::{self, AesKeySize, EciesParams};
use ti_core::{Curve, EcSecretKey, b64_encode};

fn p(dir: &Path, rel: &str) -> String {
    dir.join(rel).to_string_lossy().into_owned()
}

#[cfg(unix)]
fn non_utf8() -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(vec![b'A', 0xff, 0xfe, b'1'])
}

#[test]
fn help_on_every_subcommand() {
    let cmds: &[&[&str]] = &[
        &[],
        &["up"],
        &["pki"],
        &["pki", "init"],
        &["kvnr"],
        &["kvnr", "check"],
        &["kvnr", "gen"],
        &["ik"],
        &["ik", "check"],
        &["field"],
        &["field", "encrypt"],
        &["field", "decrypt"],
        &["run"],
        &["selftest"],
        &["client"],
    ];
    for c in cmds {
        let mut args: Vec<&str> = c.to_vec();
        args.push("--help");
        let r = konform(&args);
        r.expect_code(0, &format!("{c:?} --help"));
        assert!(r.stdout.contains("Usage: konform"), "{c:?}: {}", r.stdout);
        assert!(
            r.stdout.contains("Exit codes:"),
            "{c:?} --help documents exit codes"
        );
    }
    let v = konform(["--version"]);
    v.expect_code(0, "--version");
    assert!(v.stdout.starts_with("konform "));
}

#[test]
fn usage_errors_exit_2() {
    konform::<[&str; 0], &str>([]).expect_code(2, "no subcommand");
    konform(["frobnicate"]).expect_code(2, "unknown subcommand");
    konform(["kvnr", "check"]).expect_code(2, "missing value");
    konform(["kvnr", "gen"]).expect_code(2, "missing --test");
    konform(["kvnr", "gen", "--test", "abc"]).expect_code(2, "non-numeric --test");
    konform(["kvnr", "check", "--environment", "staging", "A111100008"])
        .expect_code(2, "unknown environment");
    konform(["pki", "init"]).expect_code(2, "missing --out");
    konform(["pki", "init", "--out", "/tmp/x", "--curve", "secp384r1"])
        .expect_code(2, "unknown curve");
    konform(["field", "encrypt", "A111100008"]).expect_code(2, "missing --to");
}

#[test]
fn up_serves_the_simulators_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let mut child = std::process::Command::new(crate::common::KONFORM)
        .arg("up")
        .args(crate::common::EPHEMERAL_PORTS)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--ready-file")
        .arg(&ready)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no ready file within 60 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "konform up exited early"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&ready).unwrap()).unwrap();
    let vst = r["vst"].as_str().unwrap().to_string();
    let kon = r["konnektor"].as_str().unwrap().to_string();
    assert!(
        r["xta"].as_str().is_some_and(|u| u.starts_with("https://")),
        "XTA serves HTTPS with client certificates: {r}"
    );
    assert!(
        Path::new(r["pki"].as_str().unwrap())
            .join("insurer/sig.pem")
            .exists()
    );
    for (url, path, needle) in [
        (&vst, "/.well-known", "eyJ"),
        (&kon, "/connector.sds", "ConnectorServices"),
        (&vst, "/__konform/health", "vst"),
    ] {
        let body = http_get(url, path);
        assert!(body.contains(needle), "{url}{path}: {body}");
    }
    // SIGTERM: clean shutdown with exit 0.
    sigterm(child.id());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "konform up after SIGTERM");
    // A second start reuses the PKI; a conflicting --curve is a usage error.
    konform(
        ["up", "--curve", "p256", "--data-dir"]
            .iter()
            .map(OsString::from)
            .chain([dir.path().join("data").into_os_string()]),
    )
    .expect_code(2, "conflicting curve");
}

fn http_get(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn sigterm(pid: u32) {
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
}

#[test]
fn kvnr_check_names_the_reason() {
    konform([
        "kvnr",
        "check",
        "A111100008",
        "A111100010",
        "A111112344",
        "A111199994",
    ])
    .expect_code(0, "test-range KVNRs in the reference environment");
    for v in ["A123456780", "T012345678", "K220645122", "Z123456783"] {
        konform(["kvnr", "check", "--environment", "production", v]).expect_code(0, v);
    }
    let cases: &[(&[&str], &str)] = &[
        (
            &["K220645129", "--environment", "production"],
            "[kvnr.check-digit]: check digit is 9, expected 2",
        ),
        (&["A111100009"], "check digit is 9, expected 8"),
        (&["a111100008"], "[kvnr.pattern]"),
        (&["A11110000"], "9 characters, 10 expected"),
        (&["A11110000X"], "character 10 `X` is not a digit"),
        (&["A123456780"], "[kvnr.environment]"),
        (
            &["A111100010", "--reserved", "A111100010"],
            "[kvnr.reserved]",
        ),
        (&["ÄÖÜ"], "3 characters, 10 expected"),
    ];
    for (args, needle) in cases {
        let mut a = vec!["kvnr", "check"];
        a.extend_from_slice(args);
        let r = konform(&a);
        r.expect_code(1, &format!("{args:?}"));
        assert!(
            r.stdout.contains(needle),
            "{args:?}: `{needle}` not in {}",
            r.stdout
        );
    }
    // One invalid value among valid ones makes the whole run invalid.
    let r = konform(["kvnr", "check", "A111100008", "A111100009"]);
    r.expect_code(1, "mixed");
    assert!(r.stdout.contains("A111100008: valid"));
    konform(["kvnr", "check", "--reserved", "nope", "A111100008"]).expect_code(2, "bad --reserved");
    konform(["kvnr", "check", "--test-range", "A1111", "A111100008"])
        .expect_code(2, "bad --test-range");
    #[cfg(unix)]
    {
        let r = konform([OsString::from("kvnr"), "check".into(), non_utf8()]);
        r.expect_code(2, "non-UTF-8 KVNR");
        assert!(r.stderr.to_lowercase().contains("utf-8"), "{}", r.stderr);
    }
}

#[test]
fn kvnr_gen_prints_valid_test_kvnrs() {
    let r = konform(["kvnr", "gen", "--test", "25"]);
    r.expect_code(0, "kvnr gen");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 25);
    assert_eq!(lines[0], "A111100008");
    assert_eq!(lines[1], "A111100010");
    let mut unique = lines.clone();
    unique.dedup();
    assert_eq!(unique.len(), 25);
    // Every one passes the reference-environment check, through the CLI too.
    let mut args = vec!["kvnr", "check"];
    args.extend(&lines);
    konform(&args).expect_code(0, "generated KVNRs check");
    let r = konform(["kvnr", "gen", "--test", "1", "--start", "9999"]);
    r.expect_code(0, "last of the range");
    assert_eq!(r.stdout.trim(), "A111199994");
    konform(["kvnr", "gen", "--test", "10001"]).expect_code(2, "more than the range holds");
    konform([
        "kvnr",
        "gen",
        "--test",
        "18446744073709551615",
        "--start",
        "5",
    ])
    .expect_code(2, "overflow");
    let r = konform(["kvnr", "gen", "--test", "0"]);
    r.expect_code(0, "zero");
    assert!(r.stdout.is_empty());
}

#[test]
fn ik_check_names_the_reason() {
    let r = konform([
        "ik",
        "check",
        "260326822",
        "101575519",
        "109500969",
        "108310400",
        "109519005",
        "100696012",
    ]);
    r.expect_code(0, "valid IKs");
    assert_eq!(r.stdout.lines().count(), 6);
    let cases = [
        (
            "260326823",
            "[ik.check-digit]: check digit is 3, expected 2",
        ),
        ("26032682", "[ik.pattern]"),
        ("2603268a2", "character 8 `a` is not a digit"),
        ("", "0 characters, 9 expected"),
    ];
    for (v, needle) in cases {
        let r = konform(["ik", "check", v]);
        r.expect_code(1, v);
        assert!(
            r.stdout.contains(needle),
            "{v}: `{needle}` not in {}",
            r.stdout
        );
    }
    #[cfg(unix)]
    konform([OsString::from("ik"), "check".into(), non_utf8()]).expect_code(2, "non-UTF-8 IK");
}

#[test]
fn pki_init_refuses_to_overwrite_without_force() {
    let tmp = fresh_pki("brainpool");
    let dir = pki_path(&tmp);
    let out = dir.to_string_lossy().into_owned();
    let before = std::fs::read(dir.join("ca.pem")).unwrap();
    let r = konform(["pki", "init", "--out", &out]);
    r.expect_code(2, "second init without --force");
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(dir.join("ca.pem")).unwrap(),
        before,
        "nothing was overwritten"
    );
    konform(["pki", "init", "--out", &out, "--force", "--curve", "p256"]).expect_code(0, "--force");
    assert_ne!(
        std::fs::read(dir.join("ca.pem")).unwrap(),
        before,
        "--force replaced the PKI"
    );
    let ca = ti_core::pki::parse_cert_pem(&std::fs::read_to_string(dir.join("ca.pem")).unwrap())
        .unwrap();
    assert_eq!(
        ti_core::pki::public_key_of_cert(&ca).unwrap().curve(),
        Curve::P256
    );
    // A single stray file of the layout counts as an existing PKI.
    let tmp2 = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp2.path().join("vst")).unwrap();
    std::fs::write(tmp2.path().join("vst/enc.key.pem"), "precious").unwrap();
    konform(["pki", "init", "--out", &tmp2.path().to_string_lossy()])
        .expect_code(2, "stray key file");
    assert_eq!(
        std::fs::read_to_string(tmp2.path().join("vst/enc.key.pem")).unwrap(),
        "precious"
    );
    // --out pointing at a file.
    let file = tmp2.path().join("file");
    std::fs::write(&file, "x").unwrap();
    konform(["pki", "init", "--out", &file.to_string_lossy()]).expect_code(2, "--out is a file");
    konform([
        "pki",
        "init",
        "--out",
        &p(tmp2.path(), "n"),
        "--ik",
        "123456789",
    ])
    .expect_code(2, "invalid --ik");
}

#[cfg(unix)]
#[test]
fn pki_keys_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = fresh_pki("brainpool");
    let dir = pki_path(&tmp);
    for (cert, key) in ti_core::pki::TestPki::FILES {
        let kmode = std::fs::metadata(dir.join(key))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(kmode, 0o600, "{key}");
        let cmode = std::fs::metadata(dir.join(cert))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(cmode, 0o644, "{cert}");
    }
    // No temporary files left behind.
    for sub in ["", "vst", "registerstelle", "insurer", "tls"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.contains("konform-tmp"), "{sub}/{name}");
        }
    }
}

#[test]
fn field_roundtrip_both_curves_and_recipient_forms() {
    for curve in ["brainpool", "p256"] {
        let tmp = fresh_pki(curve);
        let dir = pki_path(&tmp);
        // The recipient as a certificate, as a SubjectPublicKeyInfo PEM, and as the private key.
        let sk =
            EcSecretKey::from_pem(&std::fs::read_to_string(dir.join("vst/enc.key.pem")).unwrap())
                .unwrap();
        let spki = tmp.path().join("vst-enc.pub.pem");
        std::fs::write(&spki, sk.public_key().to_spki_pem()).unwrap();
        for to in [
            p(&dir, "vst/enc.pem"),
            spki.to_string_lossy().into_owned(),
            p(&dir, "vst/enc.key.pem"),
        ] {
            for v in ["A111100008", "---N/A----", "2024-01-31"] {
                let e = konform(["field", "encrypt", "--to", &to, v]);
                e.expect_code(0, "field encrypt");
                let raw = ti_core::b64_decode(e.stdout.trim()).unwrap();
                assert_eq!(raw.len(), 1 + 64 + 12 + v.len() + 16);
                assert_eq!(raw[0], 1);
                let d = konform([
                    "field",
                    "decrypt",
                    "--key",
                    &p(&dir, "vst/enc.key.pem"),
                    e.stdout.trim(),
                ]);
                d.expect_code(0, "field decrypt");
                assert_eq!(d.stdout, format!("{v}\n"));
            }
        }
        // Two encryptions of one value differ (fresh ephemeral key and IV).
        let a = konform([
            "field",
            "encrypt",
            "--to",
            &p(&dir, "vst/enc.pem"),
            "A111100008",
        ])
        .stdout;
        let b = konform([
            "field",
            "encrypt",
            "--to",
            &p(&dir, "vst/enc.pem"),
            "A111100008",
        ])
        .stdout;
        assert_ne!(a, b);
        // --info and --aes must match on both sides.
        let e = konform([
            "field",
            "encrypt",
            "--to",
            &p(&dir, "vst/enc.pem"),
            "--info",
            "x",
            "--aes",
            "256",
            "v",
        ]);
        konform([
            "field",
            "decrypt",
            "--key",
            &p(&dir, "vst/enc.key.pem"),
            "--info",
            "x",
            "--aes",
            "256",
            e.stdout.trim(),
        ])
        .expect_code(0, "custom info and AES-256");
    }
}

#[test]
fn field_decrypt_names_near_misses() {
    let tmp = fresh_pki("brainpool");
    let dir = pki_path(&tmp);
    let key = p(&dir, "vst/enc.key.pem");
    let sk = EcSecretKey::from_pem(&std::fs::read_to_string(dir.join("vst/enc.key.pem")).unwrap())
        .unwrap();
    let enc = |info: &str, aes: AesKeySize| {
        b64_encode(&ecies::encrypt(
            &sk.public_key(),
            b"A111100008",
            &EciesParams {
                info: info.into(),
                aes,
            },
        ))
    };
    let cases = [
        (
            enc(ecies::VAU_INFO, AesKeySize::Aes128),
            "[ecies.hkdf-info]",
        ),
        (
            enc(ecies::IRD_INFO, AesKeySize::Aes256),
            "[ecies.aes-key-size]",
        ),
        (
            enc(ecies::VAU_INFO, AesKeySize::Aes256),
            "[ecies.hkdf-info-and-aes]",
        ),
    ];
    for (v, rule) in cases {
        let r = konform(["field", "decrypt", "--key", &key, &v]);
        r.expect_code(1, rule);
        assert!(r.stderr.contains(rule), "{rule}: {}", r.stderr);
    }
    // Encrypted for the Registerstelle, decrypted with the VST key.
    let other = konform([
        "field",
        "encrypt",
        "--to",
        &p(&dir, "registerstelle/enc.pem"),
        "A111100008",
    ]);
    let r = konform(["field", "decrypt", "--key", &key, other.stdout.trim()]);
    r.expect_code(1, "wrong recipient");
    assert!(r.stderr.contains("[ecies.tag]"), "{}", r.stderr);
}

#[test]
fn field_bad_input_never_panics() {
    let tmp = fresh_pki("brainpool");
    let dir = pki_path(&tmp);
    let key = p(&dir, "vst/enc.key.pem");
    let sk = EcSecretKey::from_pem(&std::fs::read_to_string(dir.join("vst/enc.key.pem")).unwrap())
        .unwrap();
    let good = ecies::encrypt(&sk.public_key(), b"A111100008", &EciesParams::default());

    // Exit 1: well-formed base64 whose content is not a valid value, each with its named reason.
    let p256 = EcSecretKey::generate(Curve::P256);
    let wrong_curve = ecies::encrypt(&p256.public_key(), b"A111100008", &EciesParams::default());
    let mut off_curve = good.clone();
    off_curve[1..65].fill(0x42);
    let mut bad_version = good.clone();
    bad_version[0] = 2;
    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 1;
    let invalid: Vec<(Vec<u8>, &str)> = vec![
        (wrong_curve, "other curve"),
        (off_curve, "[ecies.curve]"),
        (good[..50].to_vec(), "[ecies.truncated]"),
        (good[..92].to_vec(), "[ecies.truncated]"),
        (vec![1], "[ecies.truncated]"),
        (bad_version, "[ecies.version]"),
        (flipped, "[ecies.tag]"),
    ];
    for (v, needle) in invalid {
        let r = konform(["field", "decrypt", "--key", &key, &b64_encode(&v)]);
        r.expect_code(1, needle);
        assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
    }

    // Exit 2: input that is not even a value.
    let url = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        [0xfbu8; 100],
    );
    let unpadded = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &good[..100],
    );
    let hexed: String = good.iter().map(|b| format!("{b:02x}")).collect();
    let bad_b64: [(&str, &str); 6] = [
        ("not base64!", "not valid base64"),
        ("", "empty"),
        ("QUJD=", "not valid base64"),
        (&url, "base64url"),
        (&unpadded, "padding"),
        (&hexed, "hex"),
    ];
    for (v, needle) in bad_b64 {
        let r = konform(["field", "decrypt", "--key", &key, v]);
        r.expect_code(2, &format!("bad base64 `{v}`"));
        assert!(
            r.stderr.contains(needle),
            "`{v}`: `{needle}` not in {}",
            r.stderr
        );
    }

    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, data: &[u8]| {
        let f = files.path().join(name);
        std::fs::write(&f, data).unwrap();
        f.to_string_lossy().into_owned()
    };
    let b64 = b64_encode(&good);
    let bad_keys = [
        write(
            "garbage.pem",
            b"-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n",
        ),
        write(
            "truncated.pem",
            &std::fs::read(dir.join("vst/enc.key.pem")).unwrap()[..120],
        ),
        write("empty.pem", b""),
        write("binary.pem", &[0xff, 0xfe, 0x00, 0x80, 0x01]),
        write(
            "latin1.pem",
            b"-----BEGIN PRIVATE KEY-----\n\xe4\xf6\xfc\n-----END PRIVATE KEY-----\n",
        ),
        write(
            "rsa.pem",
            b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        ),
        p(&dir, "vst/enc.pem"),
        p(files.path(), "missing.pem"),
        files.path().to_string_lossy().into_owned(),
    ];
    for k in &bad_keys {
        let r = konform(["field", "decrypt", "--key", k, &b64]);
        r.expect_code(2, &format!("bad key file {k}"));
        assert!(
            r.stderr.contains("konform field decrypt:"),
            "{k}: {}",
            r.stderr
        );
        let r = konform(["field", "encrypt", "--to", k, "A111100008"]);
        if k.ends_with("vst/enc.pem") {
            r.expect_code(0, "a certificate is a fine recipient");
        } else {
            r.expect_code(2, &format!("bad recipient file {k}"));
            assert!(
                r.stderr.contains("konform field encrypt:"),
                "{k}: {}",
                r.stderr
            );
        }
    }
    // A certificate whose public key is not on a supported curve / not a point: corrupt the key bits.
    let mut cert_der =
        ti_core::pem_decode(&std::fs::read_to_string(dir.join("vst/enc.pem")).unwrap())
            .unwrap()
            .1;
    let point = ti_core::pki::public_key_of_cert_der(&cert_der)
        .unwrap()
        .sec1_uncompressed();
    let pos = cert_der
        .windows(65)
        .position(|w| w == point)
        .expect("the SEC1 point inside the certificate");
    cert_der[pos + 1..pos + 33].fill(0x42);
    let bad_point = write(
        "bad-point.pem",
        ti_core::pem_encode("CERTIFICATE", &cert_der).as_bytes(),
    );
    konform(["field", "encrypt", "--to", &bad_point, "A111100008"])
        .expect_code(2, "certificate with an off-curve key");

    konform([
        "field",
        "encrypt",
        "--to",
        &p(&dir, "vst/enc.pem"),
        "--aes",
        "192",
        "x",
    ])
    .expect_code(2, "--aes 192");
    konform(["field", "decrypt", "--key", &key, "--aes", "abc", &b64]).expect_code(2, "--aes abc");
    #[cfg(unix)]
    {
        let r = konform([
            OsString::from("field"),
            "decrypt".into(),
            "--key".into(),
            key.clone().into(),
            non_utf8(),
        ]);
        r.expect_code(2, "non-UTF-8 B64");
        let r = konform([
            OsString::from("field"),
            "encrypt".into(),
            "--to".into(),
            p(&dir, "vst/enc.pem").into(),
            non_utf8(),
        ]);
        r.expect_code(2, "non-UTF-8 VALUE");
    }
}
