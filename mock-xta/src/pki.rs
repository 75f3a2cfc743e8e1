//! Certificates for XTA: one TLS client certificate per account (P-256, issued by the test PKI's TLS CA,
//! the account's DVDV key in the subject's `OU`), written by `konform pki`/`konform up` as
//! `xta/<prefix>_<key>.pem` + `.key.pem`; the encryption certificate `lookupService` hands out for each
//! organisation offering a service; and the mapping from a presented client certificate to its account.

use crate::config::AccountConfig;
use std::time::{Duration, SystemTime};
use ti_core::pki::{CertSpec, Identity, Purpose, TestPki};
use ti_core::{Curve, EcSecretKey};

/// `OU` (id-at-organizationalUnitName).
const OU: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("2.5.4.11");

/// Relative path (under the PKI directory) of an account's client certificate: `xta/ehp_010100100001.pem`.
pub fn client_cert_file(account_id: &str) -> String {
    format!("xta/{}.pem", account_id.replace(':', "_"))
}

/// Relative path of the key belonging to [`client_cert_file`].
pub fn client_key_file(account_id: &str) -> String {
    format!("xta/{}.key.pem", account_id.replace(':', "_"))
}

fn rdn_escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, '#' | ' '))
        {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

fn serial() -> u64 {
    let b: [u8; 8] = ti_core::keys::random_bytes();
    u64::from_be_bytes(b) >> 2
}

/// Issue the TLS client certificate of an account, signed by the test PKI's TLS CA.
pub fn issue_client_cert(
    pki: &TestPki,
    account: &AccountConfig,
    now: SystemTime,
) -> Result<Identity, ti_core::Error> {
    let key = EcSecretKey::generate(Curve::P256);
    let subject = format!(
        "CN={} XTA-Client TEST-ONLY,OU={},O=konform NOT-VALID,C=DE",
        rdn_escape(&account.name),
        rdn_escape(&account.id)
    );
    let der = ti_core::pki::issue(
        &CertSpec {
            subject: &subject,
            purpose: Purpose::TlsClient,
            not_before: now - Duration::from_secs(24 * 3600),
            not_after: now + Duration::from_secs(5 * 365 * 24 * 3600),
            serial: serial(),
        },
        &key.public_key(),
        Some(&pki.tls_ca),
        None,
    )?;
    Ok(Identity { cert_der: der, key })
}

/// The encryption certificate of an organisation's DVDV entry (on the TI curve of the test PKI).
pub fn issue_encryption_cert(
    pki: &TestPki,
    account: &AccountConfig,
    now: SystemTime,
) -> Result<Vec<u8>, ti_core::Error> {
    let key = EcSecretKey::generate(pki.curve);
    let subject = format!(
        "CN={} ENC TEST-ONLY,OU={},O=konform NOT-VALID,C=DE",
        rdn_escape(&account.name),
        rdn_escape(&account.id)
    );
    ti_core::pki::issue(
        &CertSpec {
            subject: &subject,
            purpose: Purpose::Encryption,
            not_before: now - Duration::from_secs(24 * 3600),
            not_after: now + Duration::from_secs(5 * 365 * 24 * 3600),
            serial: serial(),
        },
        &key.public_key(),
        Some(&pki.ca),
        None,
    )
}

/// The account ids a certificate names (`OU` values that look like `prefix:key`), and its subject.
pub fn accounts_named_by(cert_der: &[u8]) -> (Vec<String>, String) {
    use der::Decode;
    match x509_cert::Certificate::from_der(cert_der) {
        Ok(c) => (
            ti_core::pki::subject_values(&c, OU)
                .into_iter()
                .filter(|v| v.contains(':') && !v.contains(' '))
                .collect(),
            ti_core::pki::subject_string(&c),
        ),
        Err(e) => (Vec::new(), format!("<unreadable certificate: {e}>")),
    }
}

/// `(relative path, PEM)` of every account's client certificate and key, for `konform pki` and `konform up`.
pub fn client_cert_files(
    pki: &TestPki,
    accounts: &[AccountConfig],
    now: SystemTime,
) -> Result<Vec<(String, String)>, ti_core::Error> {
    let mut out = Vec::new();
    for a in accounts {
        let id = issue_client_cert(pki, a, now)?;
        out.push((client_cert_file(&a.id), id.cert_pem()));
        out.push((client_key_file(&a.id), id.key_pem()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_certificate_names_its_account_and_chains_to_the_tls_ca() {
        let pki = TestPki::generate(&ti_core::pki::PkiOptions::default()).unwrap();
        let cfg = crate::config::XtaConfig::default();
        let id = issue_client_cert(&pki, &cfg.accounts[0], SystemTime::now()).unwrap();
        let (accounts, subject) = accounts_named_by(&id.cert_der);
        assert_eq!(accounts, vec!["ehp:010100100001".to_string()]);
        assert!(subject.contains("TEST-ONLY"), "{subject}");
        ti_core::pki::verify_chain(&id.cert(), &[], &[pki.tls_ca.cert()], SystemTime::now())
            .unwrap();
        assert_eq!(id.key.curve(), Curve::P256);
        assert_eq!(
            client_cert_file("ehp:010100100001"),
            "xta/ehp_010100100001.pem"
        );
        assert_eq!(
            client_key_file("vbe:010510440199"),
            "xta/vbe_010510440199.key.pem"
        );
    }
}
