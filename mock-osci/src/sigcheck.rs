//! Verifying a request's `ClientSignature` as the library's `IncomingMSGParser.checkMsgHashes` does: every
//! Id-bearing part and every attachment must be referenced exactly once (9602), each digest must match
//! the canonical form of the part (or the attachment's bytes), and the RSA-SHA256 signature over the
//! canonical `SignedInfo` must verify with the client's signature certificate (9601).

use crate::c14n;
use crate::crypto;
use crate::request::Request;
use crate::xml::{DS, Document, OSCI};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SigError {
    pub code: &'static str,
    pub rule: &'static str,
    pub reason: String,
}

fn se(code: &'static str, rule: &'static str, reason: impl Into<String>) -> SigError {
    SigError {
        code,
        rule,
        reason: reason.into(),
    }
}

/// Check the signature. `attachment` gives the bytes of a MIME part by Content-ID.
pub fn verify<'a>(
    doc: &Document<'_>,
    req: &Request,
    attachment: impl Fn(&str) -> Option<&'a [u8]>,
) -> Result<(), SigError> {
    let Some(sig) = &req.signature else {
        return Ok(());
    };
    if sig.signature_method != crypto::RSA_SHA256 {
        return Err(se(
            "9601",
            "osci.signature.algorithm",
            format!(
                "signature method `{}`; RSA-SHA256 expected",
                sig.signature_method
            ),
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for r in &sig.references {
        if seen.contains(&r.uri.as_str()) {
            return Err(se(
                "9602",
                "osci.signature.duplicate-reference",
                format!("`{}` is referenced twice", r.uri),
            ));
        }
        seen.push(&r.uri);
        if r.digest_method != crypto::SHA256 {
            return Err(se(
                "9601",
                "osci.signature.digest",
                format!(
                    "digest method `{}` for `{}`; SHA-256 expected",
                    r.digest_method, r.uri
                ),
            ));
        }
        let actual = if let Some(id) = r.uri.strip_prefix('#') {
            let path = c14n::path_to_id(&doc.root, id).ok_or_else(|| {
                se(
                    "9601",
                    "osci.signature.reference",
                    format!("no element with Id `{id}`"),
                )
            })?;
            crypto::sha256(&c14n::canonicalize(doc.src, &path))
        } else if let Some(cid) = r.uri.strip_prefix("cid:") {
            crypto::sha256(attachment(cid).ok_or_else(|| {
                se(
                    "9601",
                    "osci.signature.reference",
                    format!("no attachment `{cid}`"),
                )
            })?)
        } else {
            return Err(se(
                "9601",
                "osci.signature.reference",
                format!("unsupported reference URI `{}`", r.uri),
            ));
        };
        if actual.as_slice() != r.digest.as_slice() {
            return Err(se(
                "9601",
                "osci.signature.digest-mismatch",
                format!(
                    "the digest of `{}` does not match (the part was changed after signing)",
                    r.uri
                ),
            ));
        }
    }
    for id in &req.ids {
        if !seen.contains(&format!("#{id}").as_str()) {
            return Err(se(
                "9602",
                "osci.signature.unsigned-part",
                format!("the part with Id `{id}` is not signed"),
            ));
        }
    }
    for cid in &req.cid_refs {
        if !seen.contains(&format!("cid:{cid}").as_str()) {
            return Err(se(
                "9602",
                "osci.signature.unsigned-part",
                format!("the attachment `{cid}` is not signed"),
            ));
        }
    }
    let key_ref = sig.key_ref.as_deref().unwrap_or("");
    let cert = req
        .certs
        .iter()
        .find(|c| {
            c.id.as_deref() == Some(key_ref)
                || (key_ref.is_empty() && c.role == "SignatureCertificateOriginator")
        })
        .ok_or_else(|| {
            se(
                "9601",
                "osci.signature.certificate",
                format!(
                    "the signature's certificate `#{key_ref}` is not in NonIntermediaryCertificates"
                ),
            )
        })?;
    let key = cert
        .cert
        .rsa_key()
        .map_err(|e| se("9601", "osci.signature.certificate", e.to_string()))?;
    let si_path = {
        let header = doc.root.child(crate::xml::SOAP, "Header");
        let cs = header.and_then(|h| h.child(OSCI, "ClientSignature"));
        let s = cs.and_then(|c| c.child(DS, "Signature"));
        let si = s.and_then(|s| s.child(DS, "SignedInfo"));
        match (header, cs, s, si) {
            (Some(h), Some(c), Some(s), Some(si)) => vec![&doc.root, h, c, s, si],
            _ => return Err(se("9601", "osci.signature.structure", "no SignedInfo")),
        }
    };
    let canonical = c14n::canonicalize(doc.src, &si_path);
    if !crypto::verify_sha256(&key, &canonical, &sig.value) {
        return Err(se(
            "9601",
            "osci.signature.value",
            "the signature value does not verify with the client's signature certificate",
        ));
    }
    Ok(())
}
