//! The cryptography OSCI 1.2 uses, on RustCrypto: RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) to wrap
//! AES content keys, AES-GCM with the IV in front and the 128-bit tag at the end (no AAD), RSA-SHA256
//! (PKCS#1 v1.5) signatures, SHA-256 digests. Algorithm URIs as the library writes them
//! (`de.osci.osci12.common.Constants`).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use sha2::{Digest, Sha256};

pub const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
pub const AES192_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes192-gcm";
pub const AES128_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
pub const AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
pub const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
pub const TDES_CBC: &str = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc";
pub const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
pub const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
pub const RSA_1_5: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
pub const MGF1_SHA256: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha256";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
pub const BASE64_TRANSFORM: &str = "http://www.w3.org/2000/09/xmldsig#base64";

/// The human name of a symmetric algorithm URI (for diagnoses).
pub fn sym_name(uri: &str) -> &str {
    match uri {
        AES256_GCM => "AES-256-GCM",
        AES192_GCM => "AES-192-GCM",
        AES128_GCM => "AES-128-GCM",
        AES256_CBC => "AES-256-CBC",
        AES128_CBC => "AES-128-CBC",
        TDES_CBC => "3DES-CBC",
        other => other,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error(
        "the RSA block does not unwrap with the intermediary's cipher key (wrong certificate or corrupted key)"
    )]
    Unwrap,
    #[error("the content key has {0} bytes; AES-256 needs 32")]
    KeyLength(usize),
    #[error("AES-GCM authentication failed (bad tag, wrong key or truncated ciphertext)")]
    Tag,
    #[error("ciphertext of {0} bytes is shorter than IV and tag")]
    Short(usize),
    #[error("RSA operation failed: {0}")]
    Rsa(String),
    #[error("randomness unavailable: {0}")]
    Random(String),
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(b)
}

/// A random, URL-safe-free base64 token (Challenge values, ConversationIds, MessageIds).
pub fn random_token(n_bytes: usize) -> Result<String, CryptoError> {
    let mut b = vec![0u8; n_bytes];
    getrandom::fill(&mut b).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(b))
}

/// A random source for the `rsa` crate (the system RNG).
pub fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// RSA-OAEP (SHA-256 / MGF1-SHA-256, empty label) unwrap of a content key.
pub fn oaep_unwrap(key: &RsaPrivateKey, wrapped: &[u8]) -> Result<Vec<u8>, CryptoError> {
    key.decrypt(Oaep::<Sha256>::new(), wrapped)
        .map_err(|_| CryptoError::Unwrap)
}

/// RSA-OAEP (SHA-256 / MGF1-SHA-256) wrap of a content key for `key`.
pub fn oaep_wrap(key: &RsaPublicKey, content_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
    key.encrypt(&mut rng(), Oaep::<Sha256>::new(), content_key)
        .map_err(|e| CryptoError::Rsa(e.to_string()))
}

/// AES-256-GCM decryption of `iv ‖ ciphertext ‖ tag` (IV of `iv_len` bytes, 12 or 16).
pub fn gcm_decrypt(key: &[u8], data: &[u8], iv_len: usize) -> Result<Vec<u8>, CryptoError> {
    if key.len() != 32 {
        return Err(CryptoError::KeyLength(key.len()));
    }
    if data.len() < iv_len + 16 {
        return Err(CryptoError::Short(data.len()));
    }
    let (iv, ct) = data.split_at(iv_len);
    match iv_len {
        12 => {
            let c = aes_gcm::Aes256Gcm::new_from_slice(key)
                .map_err(|_| CryptoError::KeyLength(key.len()))?;
            let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(iv)
                .map_err(|_| CryptoError::Tag)?;
            c.decrypt(&nonce, Payload { msg: ct, aad: &[] })
                .map_err(|_| CryptoError::Tag)
        }
        _ => {
            type Gcm16 = aes_gcm::AesGcm<aes_gcm::aes::Aes256, aes_gcm::aead::consts::U16>;
            let c = Gcm16::new_from_slice(key).map_err(|_| CryptoError::KeyLength(key.len()))?;
            let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U16>::try_from(iv)
                .map_err(|_| CryptoError::Tag)?;
            c.decrypt(&nonce, Payload { msg: ct, aad: &[] })
                .map_err(|_| CryptoError::Tag)
        }
    }
}

/// AES-256-GCM encryption with a fresh 12-byte IV: returns `iv ‖ ciphertext ‖ tag`.
pub fn gcm_encrypt(key: &[u8; 32], plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let iv = random_bytes::<12>()?;
    let c = aes_gcm::Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::KeyLength(32))?;
    let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::from(iv);
    let mut out = Vec::with_capacity(plain.len() + 28);
    out.extend_from_slice(&iv);
    let ct = c
        .encrypt(
            &nonce,
            Payload {
                msg: plain,
                aad: &[],
            },
        )
        .map_err(|_| CryptoError::Tag)?;
    out.extend_from_slice(&ct);
    Ok(out)
}

/// RSA-SHA256 (PKCS#1 v1.5) signature over `data`.
pub fn sign_sha256(key: &RsaPrivateKey, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let digest = Sha256::digest(data);
    key.sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest)
        .map_err(|e| CryptoError::Rsa(e.to_string()))
}

/// Verify an RSA-SHA256 (PKCS#1 v1.5) signature.
pub fn verify_sha256(key: &RsaPublicKey, data: &[u8], sig: &[u8]) -> bool {
    let digest = Sha256::digest(data);
    key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest, sig)
        .is_ok()
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Base64 as the library writes it in XML (MIME style, 76 characters a line, LF).
pub fn b64_lines(data: &[u8]) -> String {
    let s = b64(data);
    let mut out = String::with_capacity(s.len() + s.len() / 76 + 1);
    for (i, chunk) in s.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
    }
    out
}

/// Decode base64 that may contain whitespace (line breaks).
pub fn unb64(s: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// The modulus length in bits.
pub fn bits(key: &RsaPublicKey) -> usize {
    key.n().bit_width() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcm_round_trip_and_tamper() {
        let key = [7u8; 32];
        let ct = gcm_encrypt(&key, b"hello").unwrap();
        assert_eq!(ct.len(), 12 + 5 + 16);
        assert_eq!(gcm_decrypt(&key, &ct, 12).unwrap(), b"hello");
        let mut bad = ct.clone();
        let n = bad.len() - 1;
        bad[n] ^= 1;
        assert!(matches!(gcm_decrypt(&key, &bad, 12), Err(CryptoError::Tag)));
        assert!(matches!(
            gcm_decrypt(&key, &ct[..20], 12),
            Err(CryptoError::Short(_))
        ));
    }

    #[test]
    fn b64_lines_break_at_76() {
        let s = b64_lines(&[0u8; 100]);
        assert_eq!(s.lines().next().unwrap().len(), 76);
        assert_eq!(unb64(&s).unwrap(), vec![0u8; 100]);
    }
}
