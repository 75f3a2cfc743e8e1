//! A second ECIES implementation (Python `cryptography`, `tests/interop/ecies.py`) and ours must agree,
//! in both directions, on both curves, through the library and through `konform field`. These tests
//! FAIL when Python or the package is missing: `.ci/run` installs them.

use crate::common::{Run, ecies_py, fresh_pki, konform, pki_path, python, tool};
use std::path::Path;
use ti_core::ecies::{self, AesKeySize, DecryptFailure, EciesParams};
use ti_core::{EcSecretKey, b64_decode, b64_encode};

fn py(args: &[&str]) -> Run {
    let script = ecies_py().to_string_lossy().into_owned();
    let mut all = vec![script.as_str()];
    all.extend_from_slice(args);
    tool(&python(), &all)
}

fn p(dir: &Path, rel: &str) -> String {
    dir.join(rel).to_string_lossy().into_owned()
}

fn key(dir: &Path, rel: &str) -> EcSecretKey {
    EcSecretKey::from_pem(&std::fs::read_to_string(dir.join(rel)).unwrap()).unwrap()
}

#[test]
fn python_helper_reproduces_the_vau_fixed_vector() {
    // The second implementation is itself checked against gematik's vector before we trust it.
    let r = py(&["selftest"]);
    r.expect_code(0, "ecies.py selftest");
    assert!(r.stdout.contains("VAUFixed vector reproduced"));
}

/// Run a batch command of the helper: base64 lines in, base64 lines out.
fn py_batch(args: &[&str], lines: &[String]) -> Vec<Vec<u8>> {
    use std::io::Write;
    let mut cmd = std::process::Command::new(python());
    cmd.arg(ecies_py()).args(args);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("start ecies.py");
    child
        .stdin
        .take()
        .unwrap()
        .write_all((lines.join("\n") + "\n").as_bytes())
        .unwrap();
    let out = Run::from_output("ecies.py batch", child.wait_with_output().unwrap());
    out.expect_code(0, &format!("ecies.py {args:?}"));
    let res: Vec<Vec<u8>> = out.stdout.lines().map(|l| b64_decode(l).unwrap()).collect();
    assert_eq!(res.len(), lines.len(), "one output line per input line");
    res
}

#[test]
fn library_and_python_agree_both_ways() {
    let values: Vec<Vec<u8>> = vec![
        b"A111100008".to_vec(),
        b"---N/A----".to_vec(),
        b"2024-01-15".to_vec(),
        "äöüß €".as_bytes().to_vec(),
        Vec::new(),
        b"line\nbreak\r\n".to_vec(),
        (0u8..=255).collect(),
    ];
    for curve in ["brainpool", "p256"] {
        let tmp = fresh_pki(curve);
        let dir = pki_path(&tmp);
        for (cert, key_rel) in [
            ("vst/enc.pem", "vst/enc.key.pem"),
            ("registerstelle/enc.pem", "registerstelle/enc.key.pem"),
        ] {
            let sk = key(&dir, key_rel);
            for aes in [AesKeySize::Aes128, AesKeySize::Aes256] {
                let params = EciesParams {
                    aes,
                    ..EciesParams::default()
                };
                let bits = aes.bits().to_string();
                // Ours → Python.
                let ours: Vec<String> = values
                    .iter()
                    .map(|v| b64_encode(&ecies::encrypt(&sk.public_key(), v, &params)))
                    .collect();
                let back = py_batch(
                    &["batch-decrypt", "--key", &p(&dir, key_rel), "--aes", &bits],
                    &ours,
                );
                assert_eq!(back, values, "{curve} AES-{bits}: Python decrypts ours");
                // Python → ours.
                let plain: Vec<String> = values.iter().map(|v| b64_encode(v)).collect();
                let theirs = py_batch(
                    &["batch-encrypt", "--to", &p(&dir, cert), "--aes", &bits],
                    &plain,
                );
                for (data, v) in theirs.iter().zip(&values) {
                    assert_eq!(data.len(), 1 + 64 + 12 + v.len() + 16);
                    assert_eq!(
                        &ecies::decrypt(&sk, data, &params).unwrap(),
                        v,
                        "{curve} AES-{bits}"
                    );
                }
                // Each of Python's values has its own ephemeral key and IV, too.
                let mut eph: Vec<&[u8]> = theirs.iter().map(|d| &d[1..77]).collect();
                eph.sort();
                eph.dedup();
                assert_eq!(eph.len(), values.len());
            }
        }
    }
}

#[test]
fn python_rejects_what_it_should() {
    // Negative controls: the second implementation does not accept everything.
    let tmp = fresh_pki("brainpool");
    let dir = pki_path(&tmp);
    let vst = key(&dir, "vst/enc.key.pem");
    let ct = b64_encode(&ecies::encrypt(
        &vst.public_key(),
        b"A111100008",
        &EciesParams::default(),
    ));
    // Wrong recipient.
    py(&[
        "decrypt",
        "--key",
        &p(&dir, "registerstelle/enc.key.pem"),
        &ct,
    ])
    .expect_code(1, "wrong recipient");
    // Wrong info.
    py(&[
        "decrypt",
        "--key",
        &p(&dir, "vst/enc.key.pem"),
        "--info",
        ecies::VAU_INFO,
        &ct,
    ])
    .expect_code(1, "wrong info");
}

#[test]
fn python_made_mistakes_are_named_by_us() {
    let tmp = fresh_pki("brainpool");
    let dir = pki_path(&tmp);
    let sk = key(&dir, "vst/enc.key.pem");
    let enc = |extra: &[&str]| {
        let mut args = vec!["encrypt", "--to"];
        let to = p(&dir, "vst/enc.pem");
        args.push(&to);
        args.extend_from_slice(extra);
        args.push("A111100008");
        let r = py(&args);
        r.expect_code(0, "ecies.py encrypt");
        b64_decode(r.stdout.trim()).unwrap()
    };
    let p = EciesParams::default();
    assert!(matches!(
        ecies::decrypt(&sk, &enc(&["--info", ecies::VAU_INFO]), &p),
        Err(DecryptFailure::WrongInfo { .. })
    ));
    assert!(matches!(
        ecies::decrypt(&sk, &enc(&["--aes", "256"]), &p),
        Err(DecryptFailure::WrongAesKeySize { .. })
    ));
}

#[test]
fn cli_field_commands_and_python_agree_both_ways() {
    for curve in ["brainpool", "p256"] {
        let tmp = fresh_pki(curve);
        let dir = pki_path(&tmp);
        for v in ["A111100008", "---N/A----"] {
            // konform field encrypt → Python decrypt.
            let r = konform([
                "field",
                "encrypt",
                "--to",
                &p(&dir, "registerstelle/enc.pem"),
                v,
            ]);
            r.expect_code(0, "konform field encrypt");
            let d = py(&[
                "decrypt",
                "--key",
                &p(&dir, "registerstelle/enc.key.pem"),
                r.stdout.trim(),
            ]);
            d.expect_code(
                0,
                &format!("{curve}: Python decrypts `konform field encrypt`"),
            );
            assert_eq!(d.stdout.trim_end(), v);

            // Python encrypt → konform field decrypt.
            let e = py(&["encrypt", "--to", &p(&dir, "insurer/enc.pem"), "--", v]);
            e.expect_code(0, "ecies.py encrypt");
            let d = konform([
                "field",
                "decrypt",
                "--key",
                &p(&dir, "insurer/enc.key.pem"),
                e.stdout.trim(),
            ]);
            d.expect_code(
                0,
                &format!("{curve}: `konform field decrypt` decrypts Python's value"),
            );
            assert_eq!(d.stdout.trim_end(), v);
        }
        // A value Python made with the e-Rezept info string: the CLI names the mistake and exits 1.
        let e = py(&[
            "encrypt",
            "--to",
            &p(&dir, "vst/enc.pem"),
            "--info",
            ecies::VAU_INFO,
            "A111100008",
        ]);
        let d = konform([
            "field",
            "decrypt",
            "--key",
            &p(&dir, "vst/enc.key.pem"),
            e.stdout.trim(),
        ]);
        d.expect_code(1, "near miss");
        assert!(
            d.stderr.contains("[ecies.hkdf-info]") && d.stderr.contains(ecies::VAU_INFO),
            "{}",
            d.stderr
        );
        // A value Python made with AES-256, decrypted with --aes 256, works.
        let e = py(&[
            "encrypt",
            "--to",
            &p(&dir, "vst/enc.pem"),
            "--aes",
            "256",
            "A111100008",
        ]);
        konform([
            "field",
            "decrypt",
            "--aes",
            "256",
            "--key",
            &p(&dir, "vst/enc.key.pem"),
            e.stdout.trim(),
        ])
        .expect_code(0, "--aes 256");
    }
}

#[test]
fn cross_curve_values_are_named_by_both_sides() {
    let bp = fresh_pki("brainpool");
    let nist = fresh_pki("p256");
    // Python encrypts for a P-256 key; our brainpool key says "other curve".
    let e = py(&[
        "encrypt",
        "--to",
        &p(&pki_path(&nist), "vst/enc.pem"),
        "A111100008",
    ]);
    let d = konform([
        "field",
        "decrypt",
        "--key",
        &p(&pki_path(&bp), "vst/enc.key.pem"),
        e.stdout.trim(),
    ]);
    d.expect_code(1, "cross-curve");
    assert!(
        d.stderr.contains("[ecies.curve]") && d.stderr.contains("other curve"),
        "{}",
        d.stderr
    );
    // And Python refuses our brainpool value with its P-256 key.
    let ours = konform([
        "field",
        "encrypt",
        "--to",
        &p(&pki_path(&bp), "vst/enc.pem"),
        "A111100008",
    ]);
    py(&[
        "decrypt",
        "--key",
        &p(&pki_path(&nist), "vst/enc.key.pem"),
        ours.stdout.trim(),
    ])
    .expect_code(1, "Python: point not on P-256");
}
