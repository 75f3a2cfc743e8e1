//! Issuing certificates directly as DER (RFC 5280 profile: v3, ecdsa-with-SHA256, basicConstraints,
//! keyUsage, SKI/AKI, and — for the TI roles — certificatePolicies with the gematik policy OIDs).

use super::Identity;
use crate::keys::{EcPublicKey, EcSecretKey};
use crate::{Error, oids};
use der::asn1::{BitString, Ia5String, OctetString};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use std::str::FromStr;
use std::time::SystemTime;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, ExtendedKeyUsage, KeyUsage,
    KeyUsages, SubjectAltName, SubjectKeyIdentifier,
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

/// What a certificate is for; decides extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Ca,
    /// Signing or authentication, role unspecified (digitalSignature and nonRepudiation).
    Signature,
    /// Authentication (C.HCI.AUT, C.FD.AUT) and service signatures (C.FD.SIG): digitalSignature.
    Authentication,
    /// An organisation's signature (C.HCI.OSIG): nonRepudiation.
    NonRepudiation,
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

pub(super) fn der_err(e: der::Error) -> Error {
    Error::Certificate(format!("DER: {e}"))
}

/// Issue a certificate for `subject_key` signed by `issuer` (self-signed when `issuer` is `None`).
pub fn issue(
    spec: &CertSpec<'_>,
    subject_key: &EcPublicKey,
    issuer: Option<&Identity>,
    self_key: Option<&EcSecretKey>,
) -> Result<Vec<u8>, Error> {
    issue_with_policies(spec, &[], subject_key, issuer, self_key)
}

/// [`issue`], with a certificatePolicies extension naming `policies` (none when empty).
pub fn issue_with_policies(
    spec: &CertSpec<'_>,
    policies: &[const_oid::ObjectIdentifier],
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
        Purpose::Authentication => KeyUsages::DigitalSignature.into(),
        Purpose::NonRepudiation => KeyUsages::NonRepudiation.into(),
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
    if !policies.is_empty() {
        exts.push(ext(
            &CertificatePolicies(
                policies
                    .iter()
                    .map(|oid| PolicyInformation {
                        policy_identifier: *oid,
                        policy_qualifiers: None,
                    })
                    .collect(),
            ),
            false,
        )?);
    }
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
