//! OpenSSL, an independent implementation, checks the test PKI and our CMS, and our CMS verifier checks
//! CMS made by OpenSSL. These tests FAIL when `openssl` is missing: `.ci/run` installs it.

use crate::common::{Run, fresh_pki, konform, pki_path, require_openssl, tool};
use std::path::Path;
use std::time::SystemTime;
use ti_core::cms::{self, CmsFailure, Content};
use ti_core::pki::{InsurerInfo, TestPki};

const TI_CERTS: [&str; 7] = [
    "ca.pem",
    "vst/sig.pem",
    "vst/enc.pem",
    "registerstelle/enc.pem",
    "insurer/aut.pem",
    "insurer/sig.pem",
    "insurer/enc.pem",
];
const TLS_CERTS: [&str; 3] = ["tls/ca.pem", "tls/server.pem", "tls/client.pem"];

fn openssl(args: &[&str]) -> Run {
    tool("openssl", args)
}

fn p(dir: &Path, rel: &str) -> String {
    dir.join(rel).to_string_lossy().into_owned()
}

fn load(dir: &Path) -> TestPki {
    TestPki::from_files(&|rel| {
        std::fs::read_to_string(dir.join(rel)).map_err(|e| ti_core::Error::Input(e.to_string()))
    })
    .expect("the PKI written by `konform pki init` loads")
}

fn check_pki(curve_flag: &str, openssl_curve: &str) {
    require_openssl();
    let tmp = fresh_pki(curve_flag);
    let dir = pki_path(&tmp);

    // Every TI certificate chains to ca.pem, strictly.
    for rel in TI_CERTS {
        let r = openssl(&[
            "verify",
            "-x509_strict",
            "-CAfile",
            &p(&dir, "ca.pem"),
            &p(&dir, rel),
        ]);
        r.expect_code(0, &format!("openssl verify {rel}"));
        assert!(r.stdout.contains(": OK"), "{rel}: {}", r.stdout);
    }
    // TLS certificates chain to the TLS CA, for their purpose.
    for (rel, purpose) in [
        ("tls/ca.pem", "any"),
        ("tls/server.pem", "sslserver"),
        ("tls/client.pem", "sslclient"),
    ] {
        openssl(&[
            "verify",
            "-x509_strict",
            "-purpose",
            purpose,
            "-CAfile",
            &p(&dir, "tls/ca.pem"),
            &p(&dir, rel),
        ])
        .expect_code(0, &format!("openssl verify {rel}"));
    }
    // The two hierarchies are separate: neither CA vouches for the other's leaves.
    let cross = openssl(&[
        "verify",
        "-CAfile",
        &p(&dir, "ca.pem"),
        &p(&dir, "tls/server.pem"),
    ]);
    assert_ne!(
        cross.code,
        Some(0),
        "the TI CA must not verify the TLS server certificate"
    );
    let cross = openssl(&[
        "verify",
        "-CAfile",
        &p(&dir, "tls/ca.pem"),
        &p(&dir, "insurer/sig.pem"),
    ]);
    assert_ne!(
        cross.code,
        Some(0),
        "the TLS CA must not verify the insurer's C.SIG"
    );

    // Curves as OpenSSL reads them.
    for rel in TI_CERTS {
        let t = openssl(&["x509", "-noout", "-text", "-in", &p(&dir, rel)]);
        t.expect_code(0, rel);
        assert!(
            t.stdout.contains(&format!("ASN1 OID: {openssl_curve}")),
            "{rel} is not on {openssl_curve}:\n{}",
            t.stdout
        );
        assert!(
            t.stdout.contains("ecdsa-with-SHA256"),
            "{rel}: signature algorithm"
        );
    }
    for rel in TLS_CERTS {
        let t = openssl(&["x509", "-noout", "-text", "-in", &p(&dir, rel)]);
        assert!(
            t.stdout.contains("ASN1 OID: prime256v1"),
            "{rel} must be P-256:\n{}",
            t.stdout
        );
    }

    // Every key is PKCS#8, readable by OpenSSL, and belongs to its certificate.
    for (cert, key) in TestPki::FILES {
        let header = std::fs::read_to_string(dir.join(key)).unwrap();
        assert!(
            header.starts_with("-----BEGIN PRIVATE KEY-----"),
            "{key} is not PKCS#8 PEM"
        );
        let from_key = openssl(&["pkey", "-in", &p(&dir, key), "-pubout"]);
        from_key.expect_code(0, key);
        let from_cert = openssl(&["x509", "-noout", "-pubkey", "-in", &p(&dir, cert)]);
        assert_eq!(
            from_key.stdout, from_cert.stdout,
            "{key} does not belong to {cert}"
        );
    }

    // Subjects: TEST-ONLY CA; the insurer's Telematik-ID and IK as values in the SMC-B subjects.
    let insurer: InsurerInfo =
        serde_json::from_str(&std::fs::read_to_string(dir.join("insurer.json")).unwrap()).unwrap();
    let subject = |rel: &str| {
        openssl(&[
            "x509",
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
            "-in",
            &p(&dir, rel),
        ])
        .stdout
    };
    assert!(subject("ca.pem").contains("TEST-ONLY"));
    for rel in ["insurer/aut.pem", "insurer/sig.pem"] {
        let s = subject(rel);
        assert!(
            s.contains(&format!("OU={}", insurer.telematik_id)),
            "{rel}: {s}"
        );
        assert!(s.contains(&format!("OU={}", insurer.ik)), "{rel}: {s}");
    }
    assert!(ti_core::ids::check_ik(&insurer.ik).is_ok());
}

#[test]
fn openssl_verifies_brainpool_pki() {
    check_pki("brainpool", "brainpoolP256r1");
}

#[test]
fn openssl_verifies_p256_pki() {
    check_pki("p256", "prime256v1");
}

#[test]
fn custom_insurer_identity_lands_in_the_subject() {
    require_openssl();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pki");
    let out_s = out.to_string_lossy().into_owned();
    konform([
        "pki",
        "init",
        "--out",
        &out_s,
        "--telematik-id",
        "3-17.2.1234567000.10.432",
        "--ik",
        "260326822",
        "--insurer-name",
        "BKK Test, Nord",
    ])
    .expect_code(0, "pki init with a custom insurer");
    let s = openssl(&[
        "x509",
        "-noout",
        "-subject",
        "-nameopt",
        "RFC2253",
        "-in",
        &p(&out, "insurer/aut.pem"),
    ])
    .stdout;
    assert!(s.contains("OU=3-17.2.1234567000.10.432"), "{s}");
    assert!(s.contains("OU=260326822"), "{s}");
    assert!(s.contains("BKK Test\\, Nord"), "{s}");
}

/// Content with bytes a text-mode signer would mangle (CR LF, lone LF, NUL, 0xff, UTF-8).
const CONTENT: &[u8] = b"2024-01|2024-01-001|\x01\x02\r\n\x00\xff|\xc3\xbc\n";

#[test]
fn openssl_verifies_our_cms_detached_and_embedded() {
    require_openssl();
    for curve in ["brainpool", "p256"] {
        let tmp = fresh_pki(curve);
        let dir = pki_path(&tmp);
        let pki = load(&dir);
        let ca = p(&dir, "ca.pem");
        let content = tmp.path().join("content.bin");
        std::fs::write(&content, CONTENT).unwrap();
        let content_s = content.to_string_lossy().into_owned();
        let id = &pki.insurer_sig;

        let detached = cms::sign(CONTENT, &id.key, &id.cert_der, false, SystemTime::now()).unwrap();
        let det_path = tmp.path().join("detached.der");
        std::fs::write(&det_path, &detached).unwrap();
        let det_s = det_path.to_string_lossy().into_owned();
        let r = openssl(&[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &det_s,
            "-content",
            &content_s,
            "-CAfile",
            &ca,
            "-out",
            "/dev/null",
        ]);
        r.expect_code(0, &format!("{curve}: openssl cms -verify (detached)"));
        assert!(r.stderr.contains("Verification successful"), "{}", r.stderr);

        // Negative control: one changed byte of content must fail in OpenSSL too.
        let tampered = tmp.path().join("tampered.bin");
        let mut t = CONTENT.to_vec();
        t[0] ^= 1;
        std::fs::write(&tampered, &t).unwrap();
        let r = openssl(&[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &det_s,
            "-content",
            &tampered.to_string_lossy(),
            "-CAfile",
            &ca,
            "-out",
            "/dev/null",
        ]);
        assert_ne!(
            r.code,
            Some(0),
            "{curve}: OpenSSL accepted a signature over other content"
        );

        // Embedded (IncludeEContent=true): OpenSSL extracts exactly our bytes.
        let embedded = cms::sign(CONTENT, &id.key, &id.cert_der, true, SystemTime::now()).unwrap();
        let emb_path = tmp.path().join("embedded.der");
        std::fs::write(&emb_path, &embedded).unwrap();
        let extracted = tmp.path().join("extracted.bin");
        openssl(&[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &emb_path.to_string_lossy(),
            "-CAfile",
            &ca,
            "-out",
            &extracted.to_string_lossy(),
        ])
        .expect_code(0, &format!("{curve}: openssl cms -verify (embedded)"));
        assert_eq!(std::fs::read(&extracted).unwrap(), CONTENT);

        // A foreign CA must not verify it.
        let other = fresh_pki(curve);
        let r = openssl(&[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &det_s,
            "-content",
            &content_s,
            "-CAfile",
            &p(&pki_path(&other), "ca.pem"),
            "-out",
            "/dev/null",
        ]);
        assert_ne!(r.code, Some(0), "{curve}: OpenSSL trusted a foreign CA");
    }
}

#[test]
fn our_verifier_accepts_cms_made_by_openssl() {
    require_openssl();
    for curve in ["brainpool", "p256"] {
        let tmp = fresh_pki(curve);
        let dir = pki_path(&tmp);
        let pki = load(&dir);
        let anchors = [pki.ca.cert()];
        let content = tmp.path().join("content.bin");
        std::fs::write(&content, CONTENT).unwrap();
        for (embed, extra) in [(false, None), (true, Some("-nodetach"))] {
            let out = tmp.path().join(format!("openssl-{embed}.der"));
            let mut args = vec![
                "cms".to_string(),
                "-sign".into(),
                "-binary".into(),
                "-md".into(),
                "sha256".into(),
                "-outform".into(),
                "DER".into(),
                "-in".into(),
                content.to_string_lossy().into_owned(),
                "-signer".into(),
                p(&dir, "insurer/sig.pem"),
                "-inkey".into(),
                p(&dir, "insurer/sig.key.pem"),
                "-out".into(),
                out.to_string_lossy().into_owned(),
            ];
            args.extend(extra.map(String::from));
            tool("openssl", &args).expect_code(0, &format!("{curve}: openssl cms -sign {extra:?}"));
            let der = std::fs::read(&out).unwrap();
            let now = SystemTime::now();
            let parsed = if embed {
                cms::verify(&der, Content::Embedded, &anchors, now)
            } else {
                cms::verify(&der, Content::Detached(CONTENT), &anchors, now)
            }
            .unwrap_or_else(|e| {
                panic!("{curve}, embedded={embed}: our verifier rejects OpenSSL's CMS: {e}")
            });
            assert_eq!(parsed.signer_cert, pki.insurer_sig.cert());
            if embed {
                assert_eq!(parsed.embedded_content.as_deref(), Some(CONTENT));
            } else {
                assert!(parsed.embedded_content.is_none());
                assert_eq!(
                    cms::verify(&der, Content::Detached(b"other bytes"), &anchors, now)
                        .unwrap_err(),
                    CmsFailure::ContentMismatch
                );
            }
            // Not trusted under a foreign CA.
            let other = load(&pki_path(&fresh_pki(curve)));
            let content_arg = if embed {
                Content::Embedded
            } else {
                Content::Detached(CONTENT)
            };
            assert!(matches!(
                cms::verify(&der, content_arg, &[other.ca.cert()], now),
                Err(CmsFailure::Untrusted(_))
            ));
        }
    }
}
