//! The recipient role: for an addressee whose cipher key the simulator holds (the test PKI's
//! `recipient-cipher`), the content container is decrypted when it is stored and the profile rules that
//! only the recipient can see are checked (seed 001, 4.2):
//!
//! - rule 3: the content is signed; every digest and the signature use SHA-256; the signature verifies;
//!   the signer's certificate is an organisation's, not a person's;
//! - rule 10: the container's RefID is `FIM_DATA`; no nested container; the FIM message is not
//!   compressed; every attachment's RefID is one of the message's `F60000296` proof names, and the proof
//!   names are unique.
//!
//! No I/O. Attachments of an encrypted container are encrypted with their own keys (in `ds:MgmtData`);
//! they are decrypted for the compression check. Their digests (`cid:` references) are not recomputed.

use crate::c14n;
use crate::certs::Cert;
use crate::crypto;
use crate::profile::{Parameters, Violation};
use crate::request::RoleCert;
use crate::xml::{self, DS, Element, OSCI, OSCI128, XENC, XENC11};
use rsa::PrivateKey as RsaPrivateKey;

fn v(rule_no: u8, rule: &'static str, message: impl Into<String>) -> Violation {
    Violation {
        rule_no,
        rule,
        code: "9300",
        message: message.into(),
        location: Some("/soap:Envelope/soap:Body/osci:ContentPackage/xenc:EncryptedData".into()),
    }
}

/// Decrypt an `xenc:EncryptedData` of the ContentPackage with the recipient's key.
pub fn decrypt(
    ed: &Element,
    src: &str,
    cert: &Cert,
    key: &RsaPrivateKey,
) -> Result<Vec<u8>, String> {
    let keys: Vec<&Element> = ed
        .child(DS, "KeyInfo")
        .map(|k| k.children_named(XENC, "EncryptedKey").collect())
        .unwrap_or_default();
    let ours = keys
        .iter()
        .find(|k| {
            k.child(DS, "KeyInfo")
                .and_then(|i| i.child(DS, "RetrievalMethod"))
                .and_then(|r| r.attr("URI"))
                .is_some_and(|u| u.ends_with(&cert.fingerprint))
        })
        .or(keys.first())
        .ok_or("no EncryptedKey")?;
    let em = ours.child(XENC, "EncryptionMethod");
    let ka = em.and_then(|m| m.attr("Algorithm")).unwrap_or("");
    let mgf = em
        .and_then(|m| m.child(XENC11, "MGF"))
        .and_then(|m| m.attr("Algorithm"));
    if ka != crypto::RSA_OAEP || mgf != Some(crypto::MGF1_SHA256) {
        return Err(format!(
            "key transport `{ka}` is not RSA-OAEP with MGF1-SHA-256"
        ));
    }
    let wrapped = ours
        .child(XENC, "CipherData")
        .and_then(|c| c.child(XENC, "CipherValue"))
        .and_then(|c| crypto::unb64(&c.text(src)))
        .ok_or("no EncryptedKey CipherValue")?;
    let content_key = crypto::oaep_unwrap(key, &wrapped).map_err(|e| e.to_string())?;
    let iv_len = ed
        .child(XENC, "EncryptionMethod")
        .and_then(|m| m.child(OSCI128, "IvLength"))
        .and_then(|l| l.attr("Value"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let data = ed
        .child(XENC, "CipherData")
        .and_then(|c| c.child(XENC, "CipherValue"))
        .and_then(|c| crypto::unb64(&c.text(src)))
        .ok_or("no inline CipherValue")?;
    crypto::gcm_decrypt(&content_key, &data, iv_len).map_err(|e| e.to_string())
}

fn has_nested_container(el: &Element) -> bool {
    el.elements()
        .any(|c| c.is(OSCI, "ContentContainer") || has_nested_container(c))
}

/// Compression formats by their magic bytes.
pub fn compression(data: &[u8]) -> Option<&'static str> {
    match data {
        [0x1f, 0x8b, ..] => Some("gzip"),
        [b'P', b'K', 3, 4, ..] => Some("zip"),
        [b'B', b'Z', b'h', ..] => Some("bzip2"),
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Some("xz"),
        [b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, ..] => Some("7z"),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some("zstd"),
        _ => None,
    }
}

/// The text of every element named `local` (any namespace) in an XML document.
fn texts_named(el: &Element, src: &str, local: &str, out: &mut Vec<String>) {
    if el.local == local {
        out.push(el.text(src).trim().to_string());
    }
    for c in el.elements() {
        texts_named(c, src, local, out);
    }
}

fn signature_checks(
    root: &Element,
    doc: &xml::Document<'_>,
    certs: &[RoleCert],
    out: &mut Vec<Violation>,
) {
    let Some(sig) = root.child(DS, "Signature") else {
        out.push(v(
            3,
            "osci.profile.content-signed",
            "the content container carries no signature; content data must be signed",
        ));
        return;
    };
    let si = sig.child(DS, "SignedInfo");
    let method = si
        .and_then(|s| s.child(DS, "SignatureMethod"))
        .and_then(|m| m.attr("Algorithm"))
        .unwrap_or("");
    if !method.ends_with("sha256") && !method.ends_with("sha256-rsa-MGF1") {
        out.push(v(
            3,
            "osci.profile.content-sha256",
            format!("signature method `{method}`; only SHA-256 is allowed"),
        ));
    }
    for r in si
        .into_iter()
        .flat_map(|s| s.children_named(DS, "Reference"))
    {
        let dm = r
            .child(DS, "DigestMethod")
            .and_then(|m| m.attr("Algorithm"))
            .unwrap_or("");
        if dm != crypto::SHA256 {
            out.push(v(
                3,
                "osci.profile.content-sha256",
                format!(
                    "digest method `{dm}` for `{}`; only SHA-256 is allowed",
                    r.attr("URI").unwrap_or("")
                ),
            ));
        }
        if let Some(id) = r.attr("URI").and_then(|u| u.strip_prefix('#')) {
            let expected = r
                .child(DS, "DigestValue")
                .and_then(|d| crypto::unb64(&d.text(doc.src)));
            // The library signs inline content with the base64 transform (the digest of the decoded bytes).
            let base64 = r.child(DS, "Transforms").is_some_and(|t| {
                t.children_named(DS, "Transform")
                    .any(|x| x.attr("Algorithm") == Some(crypto::BASE64_TRANSFORM))
            });
            let actual = c14n::path_to_id(&doc.root, id).and_then(|p| {
                if base64 {
                    let el = p.last()?;
                    crypto::unb64(&el.text(doc.src)).map(|b| crypto::sha256(&b))
                } else {
                    Some(crypto::sha256(&c14n::canonicalize(doc.src, &p)))
                }
            });
            if dm == crypto::SHA256
                && (expected.is_none() || actual.map(|a| a.to_vec()) != expected)
            {
                out.push(v(
                    3,
                    "osci.profile.content-signature-invalid",
                    format!("the digest of `#{id}` does not match the content"),
                ));
            }
        }
    }
    let key_ref = sig
        .child(DS, "KeyInfo")
        .and_then(|k| k.child(DS, "RetrievalMethod"))
        .and_then(|r| r.attr("URI"))
        .map(|u| u.trim_start_matches('#').to_string())
        .unwrap_or_default();
    let Some(cert) = certs
        .iter()
        .find(|c| c.id.as_deref() == Some(key_ref.as_str()))
        .map(|c| &c.cert)
    else {
        out.push(v(
            3,
            "osci.profile.content-signer",
            format!("the content signer's certificate `#{key_ref}` is not in the message"),
        ));
        return;
    };
    if cert.names_a_person() {
        out.push(v(
            3,
            "osci.profile.organisation-signature",
            format!(
                "the content is signed with a person's certificate (`{}`), not the organisation's",
                cert.subject()
            ),
        ));
    }
    let path = si.and_then(|_| {
        let s = c14n::path_to_id(&doc.root, root.attr("Id").unwrap_or(""))?;
        let mut p = s;
        p.push(sig);
        p.push(si?);
        Some(p)
    });
    let value = sig
        .child(DS, "SignatureValue")
        .and_then(|s| crypto::unb64(&s.text(doc.src)));
    let verified = match (path, value, cert.rsa_key()) {
        (Some(p), Some(val), Ok(k)) if method == crypto::RSA_SHA256 => {
            crypto::verify_sha256(&k, &c14n::canonicalize(doc.src, &p), &val)
        }
        _ => method != crypto::RSA_SHA256,
    };
    if !verified {
        out.push(v(
            3,
            "osci.profile.content-signature-invalid",
            "the content signature does not verify with the signer's certificate",
        ));
    }
}

/// Check a decrypted content container.
pub fn check_container<'a>(
    plain: &[u8],
    certs: &[RoleCert],
    attachment: impl Fn(&str) -> Option<&'a [u8]>,
    p: &Parameters,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let doc = match xml::parse(plain, xml::Limits::default()) {
        Ok(d) => d,
        Err(e) => {
            let what = compression(plain)
                .map(|c| format!("the content is {c}-compressed"))
                .unwrap_or_else(|| format!("the decrypted content is not XML: {e}"));
            out.push(v(10, "osci.profile.container-structure", what));
            return out;
        }
    };
    let root = &doc.root;
    if !root.is(OSCI, "ContentContainer") {
        out.push(v(
            10,
            "osci.profile.container-structure",
            format!(
                "the decrypted content is `{}`, not an osci:ContentContainer",
                root.qname
            ),
        ));
        return out;
    }
    let ref_id = root.attr("Id").unwrap_or("");
    if ref_id != p.container_ref_id {
        out.push(v(
            10,
            "osci.profile.fim-data-refid",
            format!(
                "the content container's RefID is `{ref_id}`, not `{}`",
                p.container_ref_id
            ),
        ));
    }
    if has_nested_container(root) {
        out.push(v(
            10,
            "osci.profile.nested-container",
            "the content container holds another content container (nesting is not allowed)",
        ));
    }
    signature_checks(root, &doc, certs, &mut out);
    let contents: Vec<&Element> = root.children_named(OSCI, "Content").collect();
    let fim = contents
        .iter()
        .find_map(|c| c.child(OSCI, "Base64Content"))
        .and_then(|b| crypto::unb64(&b.text(doc.src)));
    let mut proofs = Vec::new();
    match &fim {
        Some(bytes) => {
            if let Some(c) = compression(bytes) {
                out.push(v(
                    10,
                    "osci.profile.compressed",
                    format!("the FIM message is {c}-compressed; compression is not allowed"),
                ));
            } else if let Ok(fd) = xml::parse(bytes, xml::Limits::default()) {
                texts_named(&fd.root, fd.src, &p.proof_element, &mut proofs);
            } else {
                out.push(v(
                    10,
                    "osci.profile.container-structure",
                    "the first content is not an XML FIM message",
                ));
            }
        }
        None => out.push(v(
            10,
            "osci.profile.container-structure",
            "the container holds no FIM message (Base64Content)",
        )),
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in &proofs {
        if !seen.insert(name) {
            out.push(v(
                10,
                "osci.profile.attachment-names",
                format!(
                    "the proof name `{name}` ({}) occurs twice; proof names must be unique",
                    p.proof_element
                ),
            ));
        }
    }
    for ed in root.children_named(XENC, "EncryptedData") {
        let cid = ed
            .child(XENC, "CipherData")
            .and_then(|c| c.child(XENC, "CipherReference"))
            .and_then(|r| r.attr("URI"))
            .and_then(|u| u.strip_prefix("cid:"));
        let key = ed
            .child(DS, "KeyInfo")
            .and_then(|k| k.child(DS, "MgmtData"))
            .and_then(|m| crypto::unb64(&m.text(doc.src)));
        let iv = ed
            .child(XENC, "EncryptionMethod")
            .and_then(|m| m.child(OSCI128, "IvLength"))
            .and_then(|l| l.attr("Value"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(16);
        let alg = ed
            .child(XENC, "EncryptionMethod")
            .and_then(|m| m.attr("Algorithm"))
            .unwrap_or("");
        if alg != p.symmetric {
            out.push(v(
                11,
                "osci.profile.aes-256-gcm",
                format!(
                    "the attachment `{}` is encrypted with {}; only AES-256-GCM is allowed",
                    cid.unwrap_or("?"),
                    crypto::sym_name(alg)
                ),
            ));
            continue;
        }
        if let (Some(cid), Some(key)) = (cid, key)
            && let Some(Ok(plain)) = attachment(cid).map(|data| crypto::gcm_decrypt(&key, data, iv))
            && let Some(c) = compression(&plain)
        {
            out.push(v(
                10,
                "osci.profile.compressed",
                format!("the attachment `{cid}` is {c}-compressed; compression is not allowed"),
            ));
        }
    }
    let mut refs = std::collections::BTreeSet::new();
    for c in &contents {
        if let Some(cid) = c.attr("href").and_then(|h| h.strip_prefix("cid:")) {
            let name = percent_decode(cid);
            if !refs.insert(name.clone()) {
                out.push(v(
                    10,
                    "osci.profile.attachment-names",
                    format!("the attachment RefID `{name}` occurs twice"),
                ));
            }
            if !proofs.contains(&name) {
                out.push(v(
                    10,
                    "osci.profile.attachment-names",
                    format!(
                        "the attachment RefID `{name}` is not a proof name ({}) of the FIM message",
                        p.proof_element
                    ),
                ));
            }
        }
    }
    out
}

/// RefIDs may be percent-encoded (they appear in `href` and MIME headers).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn compression_magic_and_percent_decoding() {
        assert_eq!(super::compression(&[0x1f, 0x8b, 8]), Some("gzip"));
        assert_eq!(super::compression(b"PK\x03\x04rest"), Some("zip"));
        assert_eq!(super::compression(b"<xml/>"), None);
        assert_eq!(super::percent_decode("Stra%C3%9Fe.pdf"), "Straße.pdf");
        assert_eq!(super::percent_decode("a%2"), "a%2");
    }
}
