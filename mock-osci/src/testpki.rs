//! The OSCI part of the test PKI: a TEST-ONLY "DOI-CA" (RSA) issuing the intermediary's cipher and
//! signature certificates and the parties' certificates — a sending authority (organisation signature and
//! cipher), a receiving authority in another Land (cipher and signature) and, for the profile's "keine
//! Signatur einer Person", a person's signature certificate (given name and surname in the subject).
//! RSA keys are slow to generate in debug builds: tests keep them at 2048 bits and generate once.

use crate::certs::{Cert, Trust};
use crate::pki::{Identity, IntermediaryKeys};
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode, Sequence};
use rsa::PrivateKey as RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use std::str::FromStr;
use std::time::{Duration, SystemTime};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::{Extension, Extensions};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

#[derive(Debug, thiserror::Error)]
pub enum TestPkiError {
    #[error("test PKI: {0}")]
    Build(String),
    #[error("test PKI file {0}: {1}")]
    File(String, String),
}

fn be(e: impl std::fmt::Display) -> TestPkiError {
    TestPkiError::Build(e.to_string())
}

#[derive(Sequence)]
struct TbsCert {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Extensions,
}

#[derive(Sequence)]
struct CertDer {
    tbs: TbsCert,
    alg: AlgorithmIdentifierOwned,
    sig: BitString,
}

fn sha256_rsa() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11"),
        parameters: Some(der::asn1::Null.into()),
    }
}

fn ext<T: Encode + const_oid::AssociatedOid>(
    v: &T,
    critical: bool,
) -> Result<Extension, TestPkiError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(v.to_der().map_err(be)?).map_err(be)?,
    })
}

/// What a certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    Ca,
    Cipher,
    Signature,
}

/// Issue an RSA certificate (self-signed when `issuer` is `None`).
pub fn issue(
    subject: &str,
    key: &RsaPrivateKey,
    issuer: Option<&Identity>,
    usage: Use,
    serial: u64,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<Cert, TestPkiError> {
    let subject_name = Name::from_str(subject).map_err(be)?;
    let (issuer_name, signing_key) = match issuer {
        Some(i) => (i.cert.cert.tbs_certificate().subject().clone(), &i.key),
        None => (subject_name.clone(), key),
    };
    let spki_der = key.to_public_key().to_public_key_der().map_err(be)?;
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes()).map_err(be)?;
    let ku = match usage {
        Use::Ca => KeyUsages::KeyCertSign | KeyUsages::CRLSign,
        Use::Cipher => KeyUsages::KeyEncipherment | KeyUsages::DataEncipherment,
        Use::Signature => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
    };
    let key_id = crate::crypto::sha256(spki.subject_public_key.raw_bytes())[..20].to_vec();
    let extensions = vec![
        ext(
            &BasicConstraints {
                ca: usage == Use::Ca,
                path_len_constraint: None,
            },
            true,
        )?,
        ext(&KeyUsage(ku), true)?,
        ext(
            &SubjectKeyIdentifier(OctetString::new(key_id).map_err(be)?),
            false,
        )?,
    ];
    let tbs = TbsCert {
        version: 2,
        serial: SerialNumber::new(&serial.to_be_bytes()).map_err(be)?,
        signature: sha256_rsa(),
        issuer: issuer_name,
        validity: Validity::new(
            Time::try_from(not_before).map_err(be)?,
            Time::try_from(not_after).map_err(be)?,
        ),
        subject: subject_name,
        spki,
        extensions,
    };
    let tbs_der = tbs.to_der().map_err(be)?;
    let sig = crate::crypto::sign_sha256(signing_key, &tbs_der).map_err(be)?;
    let der = CertDer {
        tbs,
        alg: sha256_rsa(),
        sig: BitString::from_bytes(&sig).map_err(be)?,
    }
    .to_der()
    .map_err(be)?;
    Cert::from_der(&der).map_err(be)
}

/// The OSCI test PKI. File names (under `pki/osci/`): `<name>.cert.pem`, `<name>.key.pem`.
#[derive(Clone, Debug)]
pub struct OsciPki {
    pub ca: Identity,
    pub intermediary_cipher: Identity,
    pub intermediary_signature: Identity,
    /// The sending authority (Land A): organisation signature and cipher certificates.
    pub sender_signature: Identity,
    pub sender_cipher: Identity,
    /// The receiving authority (Land B).
    pub recipient_cipher: Identity,
    pub recipient_signature: Identity,
    /// A person's signature certificate (the profile forbids it for content signatures).
    pub person_signature: Identity,
}

/// (file name, subject, use)
const LAYOUT: [(&str, &str, Use); 7] = [
    (
        "intermediary-cipher",
        "CN=konform OSCI Intermediaer Cipher,OU=TEST ONLY,O=konform,C=DE",
        Use::Cipher,
    ),
    (
        "intermediary-signature",
        "CN=konform OSCI Intermediaer Signature,OU=TEST ONLY,O=konform,C=DE",
        Use::Signature,
    ),
    (
        "sender-signature",
        "CN=Versammlungsbehoerde Kiel Signatur,OU=Versammlungsbehoerde,O=Land Schleswig-Holstein,C=DE",
        Use::Signature,
    ),
    (
        "sender-cipher",
        "CN=Versammlungsbehoerde Kiel Verschluesselung,OU=Versammlungsbehoerde,O=Land Schleswig-Holstein,C=DE",
        Use::Cipher,
    ),
    (
        "recipient-cipher",
        "CN=Versammlungsbehoerde Hamburg Verschluesselung,OU=Versammlungsbehoerde,O=Freie und Hansestadt Hamburg,C=DE",
        Use::Cipher,
    ),
    (
        "recipient-signature",
        "CN=Versammlungsbehoerde Hamburg Signatur,OU=Versammlungsbehoerde,O=Freie und Hansestadt Hamburg,C=DE",
        Use::Signature,
    ),
    (
        "person-signature",
        "CN=Erika Mustermann,GN=Erika,SN=Mustermann,O=Land Schleswig-Holstein,C=DE",
        Use::Signature,
    ),
];

const CA_SUBJECT: &str =
    "CN=konform TEST DOI-CA OSCI,OU=TEST ONLY - NOT FOR PRODUCTION,O=konform,C=DE";

fn pem(label: &str, der: &[u8]) -> String {
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        crate::crypto::b64_lines(der)
    )
}

fn pem_body(text: &str) -> Option<Vec<u8>> {
    let b: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    crate::crypto::unb64(&b)
}

impl OsciPki {
    /// Generate every key (`bits` RSA) and certificate, valid from an hour ago for ten years.
    pub fn generate(bits: usize) -> Result<OsciPki, TestPkiError> {
        let now = SystemTime::now();
        let nb = now - Duration::from_secs(3600);
        let na = now + Duration::from_secs(10 * 365 * 86400);
        let new_key = || RsaPrivateKey::new(&mut crate::crypto::rng(), bits).map_err(be);
        let ca_key = new_key()?;
        let ca_cert = issue(CA_SUBJECT, &ca_key, None, Use::Ca, 1, nb, na)?;
        let ca = Identity {
            cert: ca_cert,
            key: ca_key,
        };
        let mut ids = Vec::new();
        for (i, (_, subject, usage)) in LAYOUT.iter().enumerate() {
            let key = new_key()?;
            let cert = issue(subject, &key, Some(&ca), *usage, 100 + i as u64, nb, na)?;
            ids.push(Identity { cert, key });
        }
        Self::from_parts(ca, ids)
    }

    fn from_parts(ca: Identity, ids: Vec<Identity>) -> Result<OsciPki, TestPkiError> {
        let mut it = ids.into_iter();
        let mut next = || {
            it.next()
                .ok_or_else(|| TestPkiError::Build("incomplete test PKI".into()))
        };
        Ok(OsciPki {
            ca,
            intermediary_cipher: next()?,
            intermediary_signature: next()?,
            sender_signature: next()?,
            sender_cipher: next()?,
            recipient_cipher: next()?,
            recipient_signature: next()?,
            person_signature: next()?,
        })
    }

    fn all(&self) -> [(&str, &Identity); 8] {
        [
            ("ca", &self.ca),
            (LAYOUT[0].0, &self.intermediary_cipher),
            (LAYOUT[1].0, &self.intermediary_signature),
            (LAYOUT[2].0, &self.sender_signature),
            (LAYOUT[3].0, &self.sender_cipher),
            (LAYOUT[4].0, &self.recipient_cipher),
            (LAYOUT[5].0, &self.recipient_signature),
            (LAYOUT[6].0, &self.person_signature),
        ]
    }

    /// (relative file name, content): certificates as PEM, keys as PKCS#8 PEM.
    pub fn files(&self) -> Result<Vec<(String, String)>, TestPkiError> {
        let mut v = Vec::new();
        for (name, id) in self.all() {
            v.push((format!("{name}.cert.pem"), id.cert.to_pem()));
            let k = id.key.to_pkcs8_der().map_err(be)?;
            v.push((format!("{name}.key.pem"), pem("PRIVATE KEY", k.as_bytes())));
        }
        Ok(v)
    }

    /// Read back what [`OsciPki::files`] wrote.
    pub fn from_files(
        read: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<OsciPki, TestPkiError> {
        let load = |name: &str| -> Result<Identity, TestPkiError> {
            let f = |n: String| read(&n).map_err(|e| TestPkiError::File(n.clone(), e));
            let cert = Cert::from_pem(&f(format!("{name}.cert.pem"))?).map_err(be)?;
            let kd = pem_body(&f(format!("{name}.key.pem"))?)
                .ok_or_else(|| TestPkiError::File(format!("{name}.key.pem"), "not PEM".into()))?;
            let key = RsaPrivateKey::from_pkcs8_der(&kd).map_err(be)?;
            Ok(Identity { cert, key })
        };
        let ca = load("ca")?;
        let ids = LAYOUT
            .iter()
            .map(|(n, _, _)| load(n))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_parts(ca, ids)
    }

    /// The intermediary's keys, trusting this PKI's CA.
    pub fn intermediary_keys(&self) -> IntermediaryKeys {
        IntermediaryKeys {
            cipher: (
                self.intermediary_cipher.cert.clone(),
                self.intermediary_cipher.key.clone(),
            ),
            signature: (
                self.intermediary_signature.cert.clone(),
                self.intermediary_signature.key.clone(),
            ),
            trust: Trust {
                cas: vec![self.ca.cert.clone()],
                revoked: Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificates_chain_to_the_ca_and_round_trip() {
        let p = OsciPki::generate(1024).unwrap();
        assert!(p.ca.cert.is_self_signed());
        assert!(p.sender_signature.cert.signed_by(&p.ca.cert));
        assert!(p.person_signature.cert.names_a_person());
        assert!(!p.sender_signature.cert.names_a_person());
        let files: std::collections::HashMap<String, String> =
            p.files().unwrap().into_iter().collect();
        let back = OsciPki::from_files(&|n| files.get(n).cloned().ok_or_else(|| "missing".into()))
            .unwrap();
        assert_eq!(back.recipient_cipher.cert, p.recipient_cipher.cert);
        let keys = back.intermediary_keys();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert_eq!(
            keys.trust.check(&p.sender_cipher.cert, now),
            crate::certs::Verdict::Ok
        );
    }
}
