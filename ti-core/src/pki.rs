//! The test PKI: a TEST-ONLY CA issuing the TI certificates the simulators and clients need, on
//! brainpoolP256r1 by default (P-256 on request), and a separate P-256 TLS CA (rustls can neither use nor
//! verify brainpool). Certificates are built directly as DER (RFC 5280 profile: v3, ecdsa-with-SHA256,
//! basicConstraints, keyUsage, SKI/AKI) and parsed back with `x509-cert` for use.
//!
//! Also: certificate parsing helpers and chain verification against trust anchors.

use crate::keys::{Curve, EcPublicKey, EcSecretKey};
use crate::{Error, oids, pem_decode, pem_encode};
use der::asn1::{BitString, Ia5String, OctetString};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use std::str::FromStr;
use std::time::{Duration, SystemTime};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, Extensions};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

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
struct Cert {
    tbs: TbsCert,
    alg: AlgorithmIdentifierOwned,
    sig: BitString,
}

fn ecdsa_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oids::ECDSA_WITH_SHA256,
        parameters: None,
    }
}

/// A certificate with its private key.
#[derive(Clone, Debug)]
pub struct Identity {
    pub cert_der: Vec<u8>,
    pub key: EcSecretKey,
}

impl Identity {
    pub fn cert(&self) -> Certificate {
        Certificate::from_der(&self.cert_der).expect("identity holds a parsed certificate")
    }
    pub fn cert_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.cert_der)
    }
    pub fn key_pem(&self) -> String {
        self.key.to_pkcs8_pem()
    }
    pub fn public_key(&self) -> EcPublicKey {
        self.key.public_key()
    }
    /// Load from PEM texts; checks that the key belongs to the certificate.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Identity, Error> {
        let (label, cert_der) = pem_decode(cert_pem)?;
        if label != "CERTIFICATE" {
            return Err(Error::Input(format!("expected CERTIFICATE, found {label}")));
        }
        let key = EcSecretKey::from_pem(key_pem)?;
        if public_key_of_cert_der(&cert_der)? != key.public_key() {
            return Err(Error::Certificate(
                "private key does not belong to the certificate".into(),
            ));
        }
        Ok(Identity { cert_der, key })
    }
}

/// What a certificate is for; decides extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Ca,
    /// Signing / authentication (digitalSignature, and nonRepudiation for C.SIG).
    Signature,
    /// Key agreement (ECIES recipients).
    Encryption,
    TlsServer,
    TlsClient,
}

/// Parameters of one certificate to issue.
pub struct CertSpec<'a> {
    pub subject: &'a str,
    pub purpose: Purpose,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    pub serial: u64,
}

fn key_id(pk: &EcPublicKey) -> Vec<u8> {
    crate::sha256(&pk.sec1_uncompressed())[..20].to_vec()
}

fn ext<T: Encode + const_oid::AssociatedOid>(v: &T, critical: bool) -> Result<Extension, Error> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(v.to_der().map_err(der_err)?).map_err(der_err)?,
    })
}

fn der_err(e: der::Error) -> Error {
    Error::Certificate(format!("DER: {e}"))
}

/// Issue a certificate for `subject_key` signed by `issuer` (self-signed when `issuer` is `None`).
pub fn issue(
    spec: &CertSpec<'_>,
    subject_key: &EcPublicKey,
    issuer: Option<&Identity>,
    self_key: Option<&EcSecretKey>,
) -> Result<Vec<u8>, Error> {
    let subject = Name::from_str(spec.subject)
        .map_err(|e| Error::Input(format!("bad subject `{}`: {e}", spec.subject)))?;
    let (issuer_name, issuer_key_id, signing_key) = match issuer {
        Some(id) => {
            let c = id.cert();
            (
                c.tbs_certificate().subject().clone(),
                key_id(&id.public_key()),
                &id.key,
            )
        }
        None => (
            subject.clone(),
            key_id(subject_key),
            self_key.ok_or_else(|| Error::Input("self-signed certificate needs its key".into()))?,
        ),
    };
    let mut exts: Vec<Extension> = Vec::new();
    let ku = match spec.purpose {
        Purpose::Ca => KeyUsages::KeyCertSign | KeyUsages::CRLSign,
        Purpose::Signature => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
        Purpose::Encryption => KeyUsages::KeyAgreement.into(),
        Purpose::TlsServer | Purpose::TlsClient => KeyUsages::DigitalSignature.into(),
    };
    exts.push(ext(
        &BasicConstraints {
            ca: spec.purpose == Purpose::Ca,
            path_len_constraint: if spec.purpose == Purpose::Ca {
                Some(0)
            } else {
                None
            },
        },
        true,
    )?);
    exts.push(ext(&KeyUsage(ku), true)?);
    exts.push(ext(
        &SubjectKeyIdentifier(OctetString::new(key_id(subject_key)).map_err(der_err)?),
        false,
    )?);
    exts.push(ext(
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(issuer_key_id).map_err(der_err)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
        false,
    )?);
    match spec.purpose {
        Purpose::TlsServer | Purpose::TlsClient => {
            let eku = if spec.purpose == Purpose::TlsServer {
                const_oid::db::rfc5280::ID_KP_SERVER_AUTH
            } else {
                const_oid::db::rfc5280::ID_KP_CLIENT_AUTH
            };
            exts.push(ext(&ExtendedKeyUsage(vec![eku]), false)?);
            if spec.purpose == Purpose::TlsServer {
                exts.push(ext(
                    &SubjectAltName(vec![
                        GeneralName::DnsName(Ia5String::new("localhost").map_err(der_err)?),
                        GeneralName::IpAddress(
                            OctetString::new([127u8, 0, 0, 1]).map_err(der_err)?,
                        ),
                    ]),
                    false,
                )?);
            }
        }
        _ => {}
    }
    let spki = SubjectPublicKeyInfoOwned::from_der(&subject_key.to_spki_der()).map_err(der_err)?;
    let tbs = TbsCert {
        version: 2,
        serial: SerialNumber::new(&spec.serial.to_be_bytes()).map_err(der_err)?,
        signature: ecdsa_sha256(),
        issuer: issuer_name,
        validity: Validity::new(time(spec.not_before)?, time(spec.not_after)?),
        subject,
        spki,
        extensions: exts,
    };
    let tbs_der = tbs.to_der().map_err(der_err)?;
    let sig = signing_key.sign_sha256_der(&tbs_der);
    let cert = Cert {
        tbs,
        alg: ecdsa_sha256(),
        sig: BitString::from_bytes(&sig).map_err(der_err)?,
    };
    cert.to_der().map_err(der_err)
}

fn time(t: SystemTime) -> Result<Time, Error> {
    Time::try_from(t).map_err(der_err)
}

/// The public key of a DER certificate.
pub fn public_key_of_cert_der(der: &[u8]) -> Result<EcPublicKey, Error> {
    let cert = Certificate::from_der(der)
        .map_err(|e| Error::Certificate(format!("not an X.509 certificate: {e}")))?;
    public_key_of_cert(&cert)
}

pub fn public_key_of_cert(cert: &Certificate) -> Result<EcPublicKey, Error> {
    let spki_der = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(der_err)?;
    EcPublicKey::from_spki_der(&spki_der)
}

pub fn parse_cert_pem(pem: &str) -> Result<Certificate, Error> {
    let (label, der) = pem_decode(pem)?;
    if label != "CERTIFICATE" {
        return Err(Error::Input(format!("expected CERTIFICATE, found {label}")));
    }
    Certificate::from_der(&der).map_err(|e| Error::Certificate(format!("bad certificate: {e}")))
}

/// Subject as an RFC 4514 string.
pub fn subject_string(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

/// Values of every subject attribute with the given OID.
pub fn subject_values(cert: &Certificate, oid: const_oid::ObjectIdentifier) -> Vec<String> {
    let mut out = Vec::new();
    for rdn in cert.tbs_certificate().subject().iter_rdn() {
        for atv in rdn.iter() {
            if atv.oid != oid {
                continue;
            }
            if let Ok(s) = x509_cert::ext::pkix::name::DirectoryString::try_from(&atv.value) {
                out.push(s.value().into_owned());
            }
        }
    }
    out
}

/// Telematik-ID and IK of an insurer SMC-B certificate issued by [`TestPki`]: both are values of
/// `OU` attributes in the subject; the nine-digit one is the IK.
pub fn insurer_of_cert(cert: &Certificate) -> (Option<String>, Option<String>) {
    let ous = subject_values(cert, const_oid::db::rfc4519::OU);
    let ik = ous
        .iter()
        .find(|v| v.len() == 9 && v.bytes().all(|b| b.is_ascii_digit()))
        .cloned();
    let tid = ous.iter().find(|v| Some(*v) != ik.as_ref()).cloned();
    (tid, ik)
}

/// Verify that `leaf` chains to one of `anchors` (directly or through `intermediates`), each signature
/// ECDSA-SHA256, each certificate valid at `at`, each issuer a CA.
pub fn verify_chain(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    at: SystemTime,
) -> Result<(), Error> {
    let mut current = leaf.clone();
    for _depth in 0..8 {
        check_validity(&current, at)?;
        let issuer_name = current.tbs_certificate().issuer();
        if let Some(anchor) = anchors.iter().find(|a| {
            a.tbs_certificate().subject() == issuer_name && check_signature(&current, a).is_ok()
        }) {
            check_validity(anchor, at)?;
            return Ok(());
        }
        if anchors.iter().any(|a| a == &current) {
            return Ok(());
        }
        let next = intermediates.iter().find(|c| {
            c.tbs_certificate().subject() == issuer_name && check_signature(&current, c).is_ok()
        });
        match next {
            Some(n) => {
                check_is_ca(n)?;
                current = n.clone();
            }
            None => {
                return Err(Error::Certificate(format!(
                    "certificate `{}` was not issued by a trusted CA (issuer `{}`)",
                    subject_string(&current),
                    issuer_name
                )));
            }
        }
    }
    Err(Error::Certificate("certificate chain too long".into()))
}

fn check_validity(c: &Certificate, at: SystemTime) -> Result<(), Error> {
    let v = c.tbs_certificate().validity();
    let nb = v.not_before.to_system_time();
    let na = v.not_after.to_system_time();
    if at < nb {
        return Err(Error::Certificate(format!(
            "certificate `{}` is not yet valid (notBefore {})",
            subject_string(c),
            v.not_before
        )));
    }
    if at > na {
        return Err(Error::Certificate(format!(
            "certificate `{}` has expired (notAfter {})",
            subject_string(c),
            v.not_after
        )));
    }
    Ok(())
}

fn check_is_ca(c: &Certificate) -> Result<(), Error> {
    match c.tbs_certificate().get_extension::<BasicConstraints>() {
        Ok(Some((_, bc))) if bc.ca => Ok(()),
        _ => Err(Error::Certificate(format!(
            "`{}` is not a CA certificate",
            subject_string(c)
        ))),
    }
}

/// Check `cert`'s signature with `issuer`'s key (ecdsa-with-SHA256 only).
pub fn check_signature(cert: &Certificate, issuer: &Certificate) -> Result<(), Error> {
    if cert.signature_algorithm().oid != oids::ECDSA_WITH_SHA256 {
        return Err(Error::Certificate(format!(
            "unsupported certificate signature algorithm {}",
            cert.signature_algorithm().oid
        )));
    }
    let key = public_key_of_cert(issuer)?;
    let tbs = cert.tbs_certificate().to_der().map_err(der_err)?;
    let sig = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| Error::Certificate("signature bit string has unused bits".into()))?;
    key.verify_sha256(&tbs, sig).map_err(|_| {
        Error::Certificate(format!(
            "signature of `{}` does not verify",
            subject_string(cert)
        ))
    })
}

/// Who the default insurer is. The seed's example IK `123456789` fails the IK check digit, so the
/// default uses a valid one from the reference vectors.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsurerInfo {
    pub name: String,
    pub telematik_id: String,
    pub ik: String,
}

impl Default for InsurerInfo {
    fn default() -> Self {
        InsurerInfo {
            name: "Muster-Krankenkasse".into(),
            telematik_id: "8-01.109500969.TEST".into(),
            ik: "109500969".into(),
        }
    }
}

/// Options for [`TestPki::generate`].
#[derive(Clone, Debug)]
pub struct PkiOptions {
    pub curve: Curve,
    pub insurer: InsurerInfo,
    /// The issue time: certificates are valid from a day before it.
    pub now: SystemTime,
    /// Lifetime of leaf certificates (the CAs live a year longer).
    pub validity: Duration,
}

/// The issue time of [`PkiOptions::default`]: 2025-01-01T00:00:00Z. ti-core reads no clock; a caller that
/// wants certificates issued now says so with [`PkiOptions::at`].
pub const REFERENCE_ISSUE_SECS: u64 = 1_735_689_600;

const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

impl PkiOptions {
    /// Certificates issued at `now`, leaves valid for five years (as `konform pki init` makes them).
    pub fn at(now: SystemTime) -> Self {
        PkiOptions {
            curve: Curve::BrainpoolP256r1,
            insurer: InsurerInfo::default(),
            now,
            validity: 5 * YEAR,
        }
    }
}

impl Default for PkiOptions {
    /// Issued at [`REFERENCE_ISSUE_SECS`], leaves valid for thirty years: deterministic validity for tests
    /// and embedded use, without reading the clock.
    fn default() -> Self {
        PkiOptions {
            validity: 30 * YEAR,
            ..PkiOptions::at(SystemTime::UNIX_EPOCH + Duration::from_secs(REFERENCE_ISSUE_SECS))
        }
    }
}

/// Every certificate and key of the test PKI. File layout: [`TestPki::FILES`].
#[derive(Clone, Debug)]
pub struct TestPki {
    pub curve: Curve,
    pub insurer: InsurerInfo,
    pub ca: Identity,
    pub vst_sig: Identity,
    pub vst_enc: Identity,
    pub registerstelle_enc: Identity,
    pub insurer_aut: Identity,
    pub insurer_sig: Identity,
    pub insurer_enc: Identity,
    pub tls_ca: Identity,
    pub tls_server: Identity,
    pub tls_client: Identity,
}

/// CA subject; TEST-ONLY as the TI's own test CAs are named (`GEM.SMCB-CA51 TEST-ONLY`).
pub const CA_SUBJECT: &str =
    "CN=KONFORM.TEST-CA TEST-ONLY,OU=konform Test-PKI,O=konform NOT-VALID,C=DE";

impl TestPki {
    /// Relative file names (certificate, key) in the order of [`TestPki::identities`]; the CA keys
    /// `ca.key.pem` and `tls/ca.key.pem` are written too so a PKI directory can be extended.
    pub const FILES: [(&'static str, &'static str); 10] = [
        ("ca.pem", "ca.key.pem"),
        ("vst/sig.pem", "vst/sig.key.pem"),
        ("vst/enc.pem", "vst/enc.key.pem"),
        ("registerstelle/enc.pem", "registerstelle/enc.key.pem"),
        ("insurer/aut.pem", "insurer/aut.key.pem"),
        ("insurer/sig.pem", "insurer/sig.key.pem"),
        ("insurer/enc.pem", "insurer/enc.key.pem"),
        ("tls/ca.pem", "tls/ca.key.pem"),
        ("tls/server.pem", "tls/server.key.pem"),
        ("tls/client.pem", "tls/client.key.pem"),
    ];

    pub fn generate(opts: &PkiOptions) -> Result<TestPki, Error> {
        let nb = opts.now - Duration::from_secs(24 * 3600);
        let na = opts.now + opts.validity;
        let ca_na = opts.now + opts.validity + YEAR;
        // Distinct serials per PKI without a clock: a random base.
        let mut serial = 0x4b4f_0000u64
            + u64::from(u16::from_le_bytes(crate::keys::random_bytes::<2>())) * 0x100;
        let mut next_serial = || {
            serial += 1;
            serial
        };
        let c = opts.curve;
        let root = |subject: &str, curve: Curve, serial: u64| -> Result<Identity, Error> {
            let key = EcSecretKey::generate(curve);
            let der = issue(
                &CertSpec {
                    subject,
                    purpose: Purpose::Ca,
                    not_before: nb,
                    not_after: ca_na,
                    serial,
                },
                &key.public_key(),
                None,
                Some(&key),
            )?;
            Ok(Identity { cert_der: der, key })
        };
        let leaf = |issuer: &Identity,
                    subject: &str,
                    purpose: Purpose,
                    curve: Curve,
                    serial: u64|
         -> Result<Identity, Error> {
            let key = EcSecretKey::generate(curve);
            let der = issue(
                &CertSpec {
                    subject,
                    purpose,
                    not_before: nb,
                    not_after: na,
                    serial,
                },
                &key.public_key(),
                Some(issuer),
                None,
            )?;
            Ok(Identity { cert_der: der, key })
        };
        let ca = root(CA_SUBJECT, c, next_serial())?;
        let ins = &opts.insurer;
        let smcb = |role: &str| {
            format!(
                "CN={} {role} TEST-ONLY,OU={},OU={},O={} NOT-VALID,C=DE",
                escape_rdn(&ins.name),
                escape_rdn(&ins.ik),
                escape_rdn(&ins.telematik_id),
                escape_rdn(&ins.name)
            )
        };
        let vst = "OU=Vertrauensstelle IRD,O=Robert Koch-Institut NOT-VALID,C=DE";
        let tls_ca = root(
            "CN=KONFORM.TLS-CA TEST-ONLY,O=konform NOT-VALID,C=DE",
            Curve::P256,
            next_serial(),
        )?;
        Ok(TestPki {
            curve: c,
            insurer: ins.clone(),
            vst_sig: leaf(
                &ca,
                &format!("CN=VST-IRD SIG TEST-ONLY,{vst}"),
                Purpose::Signature,
                c,
                next_serial(),
            )?,
            vst_enc: leaf(
                &ca,
                &format!("CN=VST-IRD ENC TEST-ONLY,{vst}"),
                Purpose::Encryption,
                c,
                next_serial(),
            )?,
            registerstelle_enc: leaf(
                &ca,
                "CN=Registerstelle IRD ENC TEST-ONLY,OU=Registerstelle IRD,O=Implantateregister Deutschland NOT-VALID,C=DE",
                Purpose::Encryption,
                c,
                next_serial(),
            )?,
            insurer_aut: leaf(&ca, &smcb("C.AUT"), Purpose::Signature, c, next_serial())?,
            insurer_sig: leaf(&ca, &smcb("C.SIG"), Purpose::Signature, c, next_serial())?,
            insurer_enc: leaf(&ca, &smcb("C.ENC"), Purpose::Encryption, c, next_serial())?,
            tls_server: leaf(
                &tls_ca,
                "CN=localhost,O=konform NOT-VALID,C=DE",
                Purpose::TlsServer,
                Curve::P256,
                next_serial(),
            )?,
            tls_client: leaf(
                &tls_ca,
                &format!(
                    "CN={} TLS-Client TEST-ONLY,O=konform NOT-VALID,C=DE",
                    escape_rdn(&ins.name)
                ),
                Purpose::TlsClient,
                Curve::P256,
                next_serial(),
            )?,
            ca,
            tls_ca,
        })
    }

    /// Identities in the order of [`TestPki::FILES`].
    pub fn identities(&self) -> [&Identity; 10] {
        [
            &self.ca,
            &self.vst_sig,
            &self.vst_enc,
            &self.registerstelle_enc,
            &self.insurer_aut,
            &self.insurer_sig,
            &self.insurer_enc,
            &self.tls_ca,
            &self.tls_server,
            &self.tls_client,
        ]
    }

    /// (relative path, PEM text) for every file of the layout, plus `insurer.json` with the insurer's
    /// Telematik-ID and IK.
    pub fn files(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for ((cert, key), id) in Self::FILES.iter().zip(self.identities()) {
            out.push((cert.to_string(), id.cert_pem()));
            out.push((key.to_string(), id.key_pem()));
        }
        out.push((
            "insurer.json".into(),
            serde_json::to_string_pretty(&self.insurer).expect("serialisable") + "\n",
        ));
        out
    }

    /// Load from a reader of relative paths (the caller does the I/O).
    pub fn from_files(read: &dyn Fn(&str) -> Result<String, Error>) -> Result<TestPki, Error> {
        let mut ids = Vec::with_capacity(10);
        for (cert, key) in Self::FILES {
            let id = Identity::from_pem(&read(cert)?, &read(key)?)
                .map_err(|e| Error::Input(format!("{cert}: {e}")))?;
            ids.push(id);
        }
        let insurer: InsurerInfo = match read("insurer.json") {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| Error::Input(format!("insurer.json: {e}")))?,
            Err(_) => {
                let (tid, ik) = insurer_of_cert(&ids[4].cert());
                InsurerInfo {
                    telematik_id: tid.unwrap_or_default(),
                    ik: ik.unwrap_or_default(),
                    ..InsurerInfo::default()
                }
            }
        };
        let mut it = ids.into_iter();
        let mut next = || it.next().expect("ten identities");
        let ca = next();
        Ok(TestPki {
            curve: ca.key.curve(),
            insurer,
            ca,
            vst_sig: next(),
            vst_enc: next(),
            registerstelle_enc: next(),
            insurer_aut: next(),
            insurer_sig: next(),
            insurer_enc: next(),
            tls_ca: next(),
            tls_server: next(),
            tls_client: next(),
        })
    }
}

/// Escape RFC 4514 special characters in an attribute value.
fn escape_rdn(v: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pki_chains_and_roundtrips() {
        for curve in [Curve::BrainpoolP256r1, Curve::P256] {
            let pki = TestPki::generate(&PkiOptions {
                curve,
                ..PkiOptions::default()
            })
            .unwrap();
            let anchors = [pki.ca.cert()];
            let now = SystemTime::now();
            for id in [
                &pki.vst_sig,
                &pki.vst_enc,
                &pki.registerstelle_enc,
                &pki.insurer_aut,
                &pki.insurer_sig,
                &pki.insurer_enc,
            ] {
                verify_chain(&id.cert(), &[], &anchors, now).unwrap();
                assert_eq!(id.key.curve(), curve);
            }
            for id in [&pki.tls_server, &pki.tls_client] {
                verify_chain(&id.cert(), &[], &[pki.tls_ca.cert()], now).unwrap();
                assert!(verify_chain(&id.cert(), &[], &anchors, now).is_err());
                assert_eq!(id.key.curve(), Curve::P256);
            }
            assert!(subject_string(&pki.ca.cert()).contains("TEST-ONLY"));
            let (tid, ik) = insurer_of_cert(&pki.insurer_aut.cert());
            assert_eq!(tid.as_deref(), Some(pki.insurer.telematik_id.as_str()));
            assert_eq!(ik.as_deref(), Some(pki.insurer.ik.as_str()));
            // Files round-trip.
            let files: std::collections::HashMap<String, String> =
                pki.files().into_iter().collect();
            let back = TestPki::from_files(&|p| {
                files.get(p).cloned().ok_or_else(|| Error::Input(p.into()))
            })
            .unwrap();
            assert_eq!(back.insurer_sig.cert_der, pki.insurer_sig.cert_der);
            assert_eq!(back.insurer, pki.insurer);
            // Expired at a later time.
            let later = now + 40 * YEAR;
            assert!(verify_chain(&pki.insurer_sig.cert(), &[], &anchors, later).is_err());
        }
    }

    #[test]
    fn foreign_ca_is_rejected() {
        let a = TestPki::generate(&PkiOptions::default()).unwrap();
        let b = TestPki::generate(&PkiOptions::default()).unwrap();
        assert!(
            verify_chain(
                &a.insurer_sig.cert(),
                &[],
                &[b.ca.cert()],
                SystemTime::now()
            )
            .is_err()
        );
    }
}
