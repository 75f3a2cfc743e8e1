//! Reading certificates: public keys, subjects, the insurer an SMC-B certificate names, and chain
//! verification against trust anchors at a given time.

use super::issue::der_err;
use crate::keys::EcPublicKey;
use crate::{Error, oids, pem_decode};
use der::{Decode, Encode};
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::BasicConstraints;

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

/// Telematik-ID and IK of an insurer SMC-B certificate issued by [`TestPki`](super::TestPki): both are values of
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
