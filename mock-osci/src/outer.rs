//! The outer, transport-encrypted layer of a request: a `soapMessageEncrypted` envelope whose
//! `xenc:EncryptedData` holds the content key wrapped for the intermediary's cipher certificate (RSA-OAEP)
//! and refers to the `osci_enc` MIME part (IV ‖ AES-GCM ciphertext ‖ tag, binary or base64) — the
//! library's `SOAPMessageEncrypted`. Opening it yields the inner MIME entity.

use crate::certs::Cert;
use crate::crypto::{self, CryptoError};
use crate::mime::{self, Multipart};
use crate::xml::{self, DS, OSCI128, SOAP, XENC, XENC11};
use rsa::PrivateKey as RsaPrivateKey;

/// A refusal of the outer layer: OSCI code, rule, reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct OuterError {
    pub code: &'static str,
    pub rule: &'static str,
    pub reason: String,
    /// A profile rule number of the seed's OSCI profile (4.2) the refusal rests on, if any.
    pub profile_rule: Option<u8>,
}

fn oe(code: &'static str, rule: &'static str, reason: impl Into<String>) -> OuterError {
    OuterError {
        code,
        rule,
        reason: reason.into(),
        profile_rule: None,
    }
}

/// What was found outside.
#[derive(Debug)]
pub struct Opened {
    /// The inner MIME entity (the request itself when it was not encrypted).
    pub inner: Vec<u8>,
    pub encrypted: bool,
    /// The symmetric algorithm URI of the transport encryption.
    pub sym_alg: Option<String>,
}

/// Whether the first part is a `soapMessageEncrypted` envelope.
pub fn is_encrypted(body: &[u8], mp: &Multipart) -> bool {
    mp.parts.first().is_some_and(|p| {
        let s = &body[p.body.clone()];
        let head = &s[..s.len().min(2048)];
        let needle = b"soapMessageEncrypted.xsd";
        head.windows(needle.len()).any(|w| w == needle)
    })
}

/// Open the outer layer with the intermediary's cipher key(s).
pub fn open(
    body: Vec<u8>,
    keys: &[(Cert, RsaPrivateKey)],
    limits: xml::Limits,
) -> Result<Opened, OuterError> {
    let mp = mime::parse(&body, mime::Limits::default())
        .map_err(|e| oe("9100", "osci.mime", e.to_string()))?;
    if !is_encrypted(&body, &mp) {
        return Ok(Opened {
            inner: body,
            encrypted: false,
            sym_alg: None,
        });
    }
    let first = mp
        .parts
        .first()
        .ok_or_else(|| oe("9100", "osci.mime", "no MIME part"))?;
    let doc = xml::parse(&body[first.body.clone()], limits)
        .map_err(|e| oe("9100", e.rule, format!("transport envelope: {e}")))?;
    let ed = doc
        .root
        .child(SOAP, "Body")
        .and_then(|b| b.child(XENC, "EncryptedData"))
        .ok_or_else(|| {
            oe(
                "9100",
                "osci.encrypted.structure",
                "soapMessageEncrypted without soap:Body/xenc:EncryptedData",
            )
        })?;
    let sym_alg = ed
        .child(XENC, "EncryptionMethod")
        .and_then(|m| m.attr("Algorithm"))
        .unwrap_or("")
        .to_string();
    let iv_len = ed
        .child(XENC, "EncryptionMethod")
        .and_then(|m| m.child(OSCI128, "IvLength"))
        .and_then(|l| l.attr("Value"))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(16);
    if sym_alg != crypto::AES256_GCM {
        return Err(OuterError {
            code: "9202",
            rule: "osci.profile.aes-256-gcm",
            reason: format!(
                "the transport encryption uses {}; only AES-256-GCM is allowed",
                crypto::sym_name(&sym_alg)
            ),
            profile_rule: Some(11),
        });
    }
    if iv_len != 12 && iv_len != 16 {
        return Err(oe(
            "9202",
            "osci.encrypted.iv-length",
            format!("IV length {iv_len}; the library uses 12 (or 16 without osci128:IvLength)"),
        ));
    }
    let ek = ed
        .child(DS, "KeyInfo")
        .and_then(|k| k.child(XENC, "EncryptedKey"))
        .ok_or_else(|| {
            oe(
                "9202",
                "osci.encrypted.key",
                "no ds:KeyInfo/xenc:EncryptedKey",
            )
        })?;
    let em = ek.child(XENC, "EncryptionMethod");
    let ka = em.and_then(|m| m.attr("Algorithm")).unwrap_or("");
    let mgf = em
        .and_then(|m| m.child(XENC11, "MGF"))
        .and_then(|m| m.attr("Algorithm"));
    let dig = em
        .and_then(|m| m.child(DS, "DigestMethod"))
        .and_then(|m| m.attr("Algorithm"));
    if ka != crypto::RSA_OAEP || mgf != Some(crypto::MGF1_SHA256) || dig != Some(crypto::SHA256) {
        return Err(oe(
            "9202",
            "osci.encrypted.key-transport",
            format!(
                "key transport `{ka}` (MGF {mgf:?}, digest {dig:?}); this intermediary unwraps RSA-OAEP with SHA-256 and MGF1-SHA-256"
            ),
        ));
    }
    let cert_b64 = ek
        .child(DS, "KeyInfo")
        .and_then(|k| k.child(DS, "X509Data"))
        .and_then(|d| d.child(DS, "X509Certificate"))
        .map(|c| c.text(doc.src).into_owned());
    let key = match cert_b64 {
        Some(b) => {
            let c = Cert::from_base64(&b).map_err(|e| {
                oe(
                    "9200",
                    "osci.encrypted.cert",
                    format!("the EncryptedKey's certificate: {e}"),
                )
            })?;
            keys.iter()
                .find(|(k, _)| k.fingerprint == c.fingerprint)
                .map(|(_, k)| k)
                .ok_or_else(|| {
                    oe("9200", "osci.encrypted.wrong-certificate", format!("the request is encrypted for `{}`, not for this intermediary's cipher certificate", c.subject()))
                })?
        }
        None => keys
            .first()
            .map(|(_, k)| k)
            .ok_or_else(|| oe("9200", "osci.encrypted.no-key", "no cipher key configured"))?,
    };
    let wrapped = ek
        .child(XENC, "CipherData")
        .and_then(|c| c.child(XENC, "CipherValue"))
        .and_then(|v| crypto::unb64(&v.text(doc.src)))
        .ok_or_else(|| {
            oe(
                "9202",
                "osci.encrypted.key",
                "no valid EncryptedKey CipherValue",
            )
        })?;
    let cref = ed
        .child(XENC, "CipherData")
        .and_then(|c| c.child(XENC, "CipherReference"))
        .and_then(|r| r.attr("URI"))
        .unwrap_or("");
    let cid = cref.strip_prefix("cid:").ok_or_else(|| {
        oe(
            "9100",
            "osci.encrypted.reference",
            format!("CipherReference URI `{cref}` is not a cid: reference"),
        )
    })?;
    let part = mp.part(cid).ok_or_else(|| {
        oe(
            "9100",
            "osci.mime.missing-part",
            format!("the MIME part `{cid}` the CipherReference names is missing"),
        )
    })?;
    let content_key = crypto::oaep_unwrap(key, &wrapped)
        .map_err(|e| oe("9202", "osci.encrypted.unwrap", e.to_string()))?;
    let raw = &body[part.body.clone()];
    let inner = if part.is_base64() {
        let text = std::str::from_utf8(raw).map_err(|_| {
            oe(
                "9202",
                "osci.encrypted.base64",
                "the base64 part is not text",
            )
        })?;
        let data = crypto::unb64(text).ok_or_else(|| {
            oe(
                "9202",
                "osci.encrypted.base64",
                "the osci_enc part is not valid base64",
            )
        })?;
        crypto::gcm_decrypt(&content_key, &data, iv_len)
    } else {
        crypto::gcm_decrypt(&content_key, raw, iv_len)
    }
    .map_err(|e| match e {
        CryptoError::KeyLength(_) => OuterError {
            code: "9202",
            rule: "osci.profile.aes-256-gcm",
            reason: e.to_string(),
            profile_rule: Some(11),
        },
        other => oe("9202", "osci.encrypted.decrypt", other.to_string()),
    })?;
    Ok(Opened {
        inner,
        encrypted: true,
        sym_alg: Some(sym_alg),
    })
}
