//! TI crypto and identifier rules, shared by every konform simulator and the reference client.
//!
//! No I/O lives here: every function takes bytes or strings and returns bytes, strings or a typed error.
//! What the seed leaves open is a parameter with the documented default (see `docs/crypto.md`).
//!
//! - [`ecies`]: field encryption `0x01 || X || Y || IV || ct+tag` (VAU-style), with near-miss diagnosis
//! - [`cms`]: CMS SignedData (RFC 5652) with ECDSA-SHA256, detached or embedded, signing and verification
//! - [`sig`], [`jws`]: ECDSA in DER and raw r||s, compact JWS (`BP256R1` / `ES256`), JWK (`BP-256` / `P-256`)
//! - [`sig_input`]: the IRD signature inputs ("Signaturbildung"), exactly as the seed's hex dumps show
//! - [`ids`]: KVNR and IK with check digits, test range and reserved values as data
//! - [`pki`]: the test PKI (brainpoolP256r1 or P-256 TI certificates, P-256 TLS certificates)

pub mod cms;
pub mod ecies;
pub mod ids;
pub mod jws;
pub mod keys;
pub mod pki;
pub mod sig;
pub mod sig_input;

pub use keys::{Curve, EcPublicKey, EcSecretKey};

/// Everything that can go wrong in the core. Variants carry a human-readable reason; callers map them
/// to HTTP statuses, SOAP faults or exit codes at their edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Malformed input: bad base64, bad PEM/DER, wrong lengths.
    #[error("{0}")]
    Input(String),
    #[error("point is not on {}", .0.name())]
    PointNotOnCurve(Curve),
    #[error("decryption failed: {0}")]
    Decrypt(#[from] ecies::DecryptFailure),
    #[error("signature invalid: {0}")]
    BadSignature(String),
    #[error("CMS: {0}")]
    Cms(#[from] cms::CmsFailure),
    #[error("DER encoding: {0}")]
    Der(#[source] der::Error),
    #[error("certificate: {0}")]
    Certificate(String),
}

/// Object identifiers used across the core.
pub mod oids {
    use const_oid::ObjectIdentifier as Oid;
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    pub const BRAINPOOL_P256R1: Oid = Oid::new_unwrap("1.3.36.3.3.2.8.1.1.7");
    pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const CMS_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
    pub const CMS_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    pub const ATTR_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    pub const ATTR_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    pub const ATTR_SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
    /// gematik Admission extension (Telematik-ID as registration number).
    pub const ADMISSION: Oid = Oid::new_unwrap("1.3.36.8.3.3");
}

/// Strict standard base64 (RFC 4648 with padding), as `Format: Byte` values use it.
pub fn b64_decode(s: &str) -> Result<Vec<u8>, Error> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| Error::Input(format!("not valid base64: {e}")))
}

pub fn b64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub fn b64url_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn b64url_decode(s: &str) -> Result<Vec<u8>, Error> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|e| Error::Input(format!("not valid base64url: {e}")))
}

/// Decode one PEM block: (label, DER). Whitespace around the block is tolerated.
pub fn pem_decode(pem: &str) -> Result<(String, Vec<u8>), Error> {
    let trimmed = pem.trim();
    let begin = trimmed
        .find("-----BEGIN ")
        .ok_or_else(|| Error::Input("no PEM block (`-----BEGIN …-----`) found".into()))?;
    let block = &trimmed[begin..];
    let (label, der) = der::pem::decode_vec(block.as_bytes())
        .map_err(|e| Error::Input(format!("bad PEM: {e}")))?;
    Ok((label.to_string(), der))
}

/// Decode every PEM block in a text (certificate bundles).
pub fn pem_decode_all(text: &str) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let end_marker = block
            .find("-----END ")
            .ok_or_else(|| Error::Input("unterminated PEM block".into()))?;
        let tail = &block[end_marker + 9..];
        let close = tail
            .find("-----")
            .ok_or_else(|| Error::Input("unterminated PEM END line".into()))?;
        let len = end_marker + 9 + close + 5;
        out.push(pem_decode(&block[..len])?);
        rest = &block[len..];
    }
    if out.is_empty() {
        return Err(Error::Input("no PEM block found".into()));
    }
    Ok(out)
}

pub fn pem_encode(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).expect("PEM encoding of DER")
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    /// The architecture invariant "no I/O, no clock, no environment" checked on the sources: the
    /// non-test part of every module uses none of these.
    #[test]
    fn no_io_clock_or_environment_outside_tests() {
        let sources = [
            ("lib.rs", include_str!("lib.rs")),
            ("cms.rs", include_str!("cms.rs")),
            ("ecies.rs", include_str!("ecies.rs")),
            ("ids.rs", include_str!("ids.rs")),
            ("jws.rs", include_str!("jws.rs")),
            ("keys.rs", include_str!("keys.rs")),
            ("pki.rs", include_str!("pki.rs")),
            ("sig.rs", include_str!("sig.rs")),
            ("sig_input.rs", include_str!("sig_input.rs")),
        ];
        let forbidden = [
            ["SystemTime", "::now("].concat(),
            ["Instant", "::now("].concat(),
            ["std::", "env"].concat(),
            ["std::", "fs"].concat(),
            ["std::", "net"].concat(),
            ["tok", "io"].concat(),
            ["test_", "support"].concat(),
        ];
        for (name, text) in sources {
            let code = text.split("#[cfg(test)]").next().unwrap_or(text);
            for f in &forbidden {
                assert!(!code.contains(f.as_str()), "ti-core/src/{name} uses `{f}`");
            }
        }
    }

    #[test]
    fn default_pki_options_do_not_read_the_clock() {
        let (a, b) = (
            crate::pki::PkiOptions::default(),
            crate::pki::PkiOptions::default(),
        );
        assert_eq!(a.now, b.now);
    }
}
