//! CMS SignedData (RFC 5652) with ECDSA-SHA256, as a Konnektor's SignDocument returns it for
//! `urn:ietf:rfc:5652`: one signer, signed attributes (contentType, signingTime, messageDigest), the
//! signer certificate included, content detached (`IncludeEContent` false, as the IRD spec demands) or
//! embedded.
//!
//! The `cms` crate provides the ASN.1 types but no verification, so verification is here: the
//! messageDigest attribute against the content, the ECDSA signature over the DER of the signed attributes
//! (re-tagged as SET OF), then the signer certificate against trust anchors.

use crate::keys::EcSecretKey;
use crate::{Error, oids, pki};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode};
use serde::Serialize;
use spki::AlgorithmIdentifierOwned;
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;

/// Why a CMS signature was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CmsFailure {
    #[error("not a DER CMS ContentInfo: {0}")]
    Malformed(String),
    #[error("content type is {0}, expected signedData (1.2.840.113549.1.7.2)")]
    NotSignedData(String),
    #[error("SignedData has {0} signers; exactly one is expected")]
    SignerCount(usize),
    #[error("unsupported algorithm: {0} (SHA-256 with ECDSA expected)")]
    Algorithm(String),
    #[error("the signer certificate is not included in the SignedData")]
    SignerCertificateMissing,
    #[error("signed attributes are missing (contentType and messageDigest are required)")]
    SignedAttributesMissing,
    #[error(
        "the content is embedded, but a detached signature is required (IncludeEContent=false)"
    )]
    EmbeddedContent,
    #[error("the signature is detached, but no content was given to check it against")]
    DetachedWithoutContent,
    #[error(
        "messageDigest does not match the SHA-256 of the content: the signature was made over other bytes"
    )]
    ContentMismatch,
    #[error(
        "the ECDSA signature over the signed attributes does not verify with the signer certificate"
    )]
    SignatureInvalid,
    #[error("signer certificate not trusted: {0}")]
    Untrusted(String),
}

impl CmsFailure {
    pub fn rule(&self) -> &'static str {
        match self {
            CmsFailure::Malformed(_) => "cms.malformed",
            CmsFailure::NotSignedData(_) => "cms.content-type",
            CmsFailure::SignerCount(_) => "cms.signer-count",
            CmsFailure::Algorithm(_) => "cms.algorithm",
            CmsFailure::SignerCertificateMissing => "cms.signer-certificate",
            CmsFailure::SignedAttributesMissing => "cms.signed-attributes",
            CmsFailure::EmbeddedContent => "cms.detached",
            CmsFailure::DetachedWithoutContent => "cms.detached",
            CmsFailure::ContentMismatch => "cms.message-digest",
            CmsFailure::SignatureInvalid => "cms.signature",
            CmsFailure::Untrusted(_) => "cms.trust",
        }
    }
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oids::SHA256,
        parameters: None,
    }
}

fn attr(oid: const_oid::ObjectIdentifier, value: Any) -> Result<Attribute, Error> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(Error::Der)?;
    Ok(Attribute { oid, values })
}

fn der_err(e: der::Error) -> Error {
    Error::Der(e)
}

/// Sign `content` with `key`, naming `cert` as signer and including it. `embed` puts the content inside
/// (IncludeEContent=true); otherwise the signature is detached.
pub fn sign(
    content: &[u8],
    key: &EcSecretKey,
    cert_der: &[u8],
    embed: bool,
    signing_time: SystemTime,
) -> Result<Vec<u8>, Error> {
    sign_digest(
        &crate::sha256(content),
        embed.then_some(content),
        key,
        cert_der,
        signing_time,
    )
}

/// Sign given the content's SHA-256 (the content itself only when embedding).
pub fn sign_digest(
    content_digest: &[u8; 32],
    embedded: Option<&[u8]>,
    key: &EcSecretKey,
    cert_der: &[u8],
    signing_time: SystemTime,
) -> Result<Vec<u8>, Error> {
    let cert = Certificate::from_der(cert_der)
        .map_err(|e| Error::Certificate(format!("signer certificate: {e}")))?;
    let mut signed_attrs = SetOfVec::new();
    let ct = Any::encode_from(&oids::CMS_DATA).map_err(der_err)?;
    let time = x509_cert::time::Time::try_from(signing_time).map_err(der_err)?;
    let st = Any::encode_from(&time).map_err(der_err)?;
    let md = Any::encode_from(&OctetString::new(content_digest.to_vec()).map_err(der_err)?)
        .map_err(der_err)?;
    for a in [
        attr(oids::ATTR_CONTENT_TYPE, ct)?,
        attr(oids::ATTR_SIGNING_TIME, st)?,
        attr(oids::ATTR_MESSAGE_DIGEST, md)?,
    ] {
        signed_attrs.insert(a).map_err(Error::Der)?;
    }
    // The signature covers the DER of the attributes as a SET OF (tag 0x31), RFC 5652 §5.4.
    let to_sign = signed_attrs.to_der().map_err(der_err)?;
    let signature = key.sign_sha256_der(&to_sign);

    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate().issuer().clone(),
            serial_number: cert.tbs_certificate().serial_number().clone(),
        }),
        digest_alg: sha256_alg(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: oids::ECDSA_WITH_SHA256,
            parameters: None,
        },
        signature: OctetString::new(signature).map_err(der_err)?,
        unsigned_attrs: None,
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(sha256_alg()).map_err(der_err)?;
    let mut certs = SetOfVec::new();
    certs
        .insert(CertificateChoices::Certificate(cert))
        .map_err(der_err)?;
    let mut signers = SetOfVec::new();
    signers.insert(signer).map_err(der_err)?;
    let econtent = match embedded {
        Some(c) => Some(
            Any::encode_from(&OctetString::new(c.to_vec()).map_err(der_err)?).map_err(der_err)?,
        ),
        None => None,
    };
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oids::CMS_DATA,
            econtent,
        },
        certificates: Some(CertificateSet(certs)),
        crls: None,
        signer_infos: SignerInfos(signers),
    };
    let ci = ContentInfo {
        content_type: oids::CMS_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(der_err)?,
    };
    ci.to_der().map_err(der_err)
}

/// A parsed SignedData with one signer, ready to be checked step by step.
#[derive(Clone, Debug)]
pub struct ParsedCms {
    pub signer_cert: Certificate,
    /// The certificates carried besides the signer's (possible intermediates).
    pub other_certs: Vec<Certificate>,
    pub embedded_content: Option<Vec<u8>>,
    pub message_digest: Vec<u8>,
    pub signing_time: Option<SystemTime>,
    signed_attrs_der: Vec<u8>,
    signature: Vec<u8>,
}

/// Parse and check the structure (no cryptography yet).
pub fn parse(der: &[u8]) -> Result<ParsedCms, CmsFailure> {
    let ci = ContentInfo::from_der(der).map_err(|e| CmsFailure::Malformed(e.to_string()))?;
    if ci.content_type != oids::CMS_SIGNED_DATA {
        return Err(CmsFailure::NotSignedData(ci.content_type.to_string()));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| CmsFailure::Malformed(format!("SignedData: {e}")))?;
    let signers: Vec<&SignerInfo> = sd.signer_infos.0.iter().collect();
    if signers.len() != 1 {
        return Err(CmsFailure::SignerCount(signers.len()));
    }
    let si = signers[0];
    if si.digest_alg.oid != oids::SHA256 {
        return Err(CmsFailure::Algorithm(format!(
            "digest {}",
            si.digest_alg.oid
        )));
    }
    if si.signature_algorithm.oid != oids::ECDSA_WITH_SHA256
        && si.signature_algorithm.oid != oids::EC_PUBLIC_KEY
    {
        return Err(CmsFailure::Algorithm(format!(
            "signature {}",
            si.signature_algorithm.oid
        )));
    }
    let certs: Vec<Certificate> = sd
        .certificates
        .as_ref()
        .map(|s| {
            s.0.iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(c) => Some(c.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let is_signer = |c: &Certificate| match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            c.tbs_certificate().issuer() == &isn.issuer
                && c.tbs_certificate().serial_number() == &isn.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => matches!(
            c.tbs_certificate().get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>(),
            Ok(Some((_, s))) if &s == ski
        ),
    };
    let signer_cert = certs
        .iter()
        .find(|c| is_signer(c))
        .cloned()
        .ok_or(CmsFailure::SignerCertificateMissing)?;
    let other_certs = certs.into_iter().filter(|c| c != &signer_cert).collect();
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or(CmsFailure::SignedAttributesMissing)?;
    let mut message_digest = None;
    let mut signing_time = None;
    let mut has_content_type = false;
    for a in attrs.iter() {
        let first = a.values.iter().next();
        if a.oid == oids::ATTR_MESSAGE_DIGEST {
            message_digest = first
                .and_then(|v| v.decode_as::<OctetString>().ok())
                .map(|o| o.as_bytes().to_vec());
        } else if a.oid == oids::ATTR_CONTENT_TYPE {
            has_content_type = true;
        } else if a.oid == oids::ATTR_SIGNING_TIME {
            signing_time = first
                .and_then(|v| v.decode_as::<x509_cert::time::Time>().ok())
                .map(|t| t.to_system_time());
        }
    }
    let message_digest = message_digest.ok_or(CmsFailure::SignedAttributesMissing)?;
    if !has_content_type {
        return Err(CmsFailure::SignedAttributesMissing);
    }
    let embedded_content = match &sd.encap_content_info.econtent {
        Some(any) => Some(
            any.decode_as::<OctetString>()
                .map_err(|e| CmsFailure::Malformed(format!("eContent: {e}")))?
                .as_bytes()
                .to_vec(),
        ),
        None => None,
    };
    Ok(ParsedCms {
        signer_cert,
        other_certs,
        embedded_content,
        message_digest,
        signing_time,
        signed_attrs_der: attrs
            .to_der()
            .map_err(|e| CmsFailure::Malformed(e.to_string()))?,
        signature: si.signature.as_bytes().to_vec(),
    })
}

impl ParsedCms {
    /// The ECDSA signature over the signed attributes, with the signer certificate's key.
    pub fn check_signature(&self) -> Result<(), CmsFailure> {
        let key = pki::public_key_of_cert(&self.signer_cert)
            .map_err(|e| CmsFailure::Algorithm(e.to_string()))?;
        key.verify_sha256(&self.signed_attrs_der, &self.signature)
            .map_err(|_| CmsFailure::SignatureInvalid)
    }

    /// messageDigest against the SHA-256 of the content.
    pub fn check_content_digest(&self, digest: &[u8; 32]) -> Result<(), CmsFailure> {
        if self.message_digest.as_slice() == digest {
            Ok(())
        } else {
            Err(CmsFailure::ContentMismatch)
        }
    }

    /// The signer certificate against `anchors`.
    pub fn check_trust(&self, anchors: &[Certificate], at: SystemTime) -> Result<(), CmsFailure> {
        pki::verify_chain(&self.signer_cert, &self.other_certs, anchors, at)
            .map_err(|e| CmsFailure::Untrusted(e.to_string()))
    }
}

/// What to verify the signature against.
#[derive(Clone, Copy, Debug)]
pub enum Content<'a> {
    /// Detached signature over these bytes.
    Detached(&'a [u8]),
    /// Detached signature over bytes with this SHA-256 (streamed by the caller).
    DetachedDigest(&'a [u8; 32]),
    /// The content is inside the SignedData.
    Embedded,
}

/// Full verification: structure, content digest, signature, trust. Returns the parsed CMS.
pub fn verify(
    der: &[u8],
    content: Content<'_>,
    anchors: &[Certificate],
    at: SystemTime,
) -> Result<ParsedCms, CmsFailure> {
    let p = parse(der)?;
    let digest = match content {
        Content::Detached(c) => crate::sha256(c),
        Content::DetachedDigest(d) => *d,
        Content::Embedded => {
            let c = p
                .embedded_content
                .as_ref()
                .ok_or(CmsFailure::DetachedWithoutContent)?;
            crate::sha256(c)
        }
    };
    p.check_signature()?;
    p.check_content_digest(&digest)?;
    p.check_trust(anchors, at)?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{PkiOptions, TestPki};

    #[test]
    fn sign_verify_detached_and_embedded() {
        for curve in [crate::Curve::BrainpoolP256r1, crate::Curve::P256] {
            let pki = TestPki::generate(&PkiOptions {
                curve,
                ..Default::default()
            })
            .unwrap();
            let now = SystemTime::now();
            let anchors = [pki.ca.cert()];
            let id = &pki.insurer_sig;
            let det = sign(b"hello", &id.key, &id.cert_der, false, now).unwrap();
            let p = verify(&det, Content::Detached(b"hello"), &anchors, now).unwrap();
            assert!(p.embedded_content.is_none());
            assert_eq!(
                verify(&det, Content::Detached(b"hellO"), &anchors, now).unwrap_err(),
                CmsFailure::ContentMismatch
            );
            assert_eq!(
                verify(&det, Content::Embedded, &anchors, now).unwrap_err(),
                CmsFailure::DetachedWithoutContent
            );
            let emb = sign(b"hello", &id.key, &id.cert_der, true, now).unwrap();
            let p = verify(&emb, Content::Embedded, &anchors, now).unwrap();
            assert_eq!(p.embedded_content.as_deref(), Some(&b"hello"[..]));
            // Untrusted anchor.
            let other = TestPki::generate(&PkiOptions::default()).unwrap();
            assert!(matches!(
                verify(&det, Content::Detached(b"hello"), &[other.ca.cert()], now).unwrap_err(),
                CmsFailure::Untrusted(_)
            ));
            // Signed with a key that does not belong to the included certificate.
            let forged = sign(b"hello", &pki.insurer_aut.key, &id.cert_der, false, now).unwrap();
            assert_eq!(
                verify(&forged, Content::Detached(b"hello"), &anchors, now).unwrap_err(),
                CmsFailure::SignatureInvalid
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse(&data);
        }
    }
}
