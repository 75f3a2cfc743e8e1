//! Field encryption as the IRD spec prescribes it ("Verschlüsselung der Eingangsdaten", modelled on the
//! gematik e-Rezept VAU): ECDH with a fresh ephemeral key per value, HKDF-SHA256 with empty salt and the
//! info `VST-IRD-Transport`, AES-GCM with a random 12-byte IV, and the layout
//! `0x01 || X(32) || Y(32) || IV(12) || ciphertext || tag(16)`.
//!
//! When a value fails to decrypt, [`decrypt`] names the likely mistake (near-miss diagnosis): the e-Rezept
//! info string, AES-256 instead of AES-128, a point on the other curve, a bad version byte, a truncated value.

use crate::keys::{Curve, EcPublicKey, EcSecretKey};
use aes_gcm::aead::{Aead, KeyInit};
use serde::{Deserialize, Serialize};

/// HKDF info the IRD spec fixes ("Als Info für die HKDF wird der fixe Wert "VST-IRD-Transport" verwendet").
pub const IRD_INFO: &str = "VST-IRD-Transport";
/// HKDF info of the e-Rezept VAU, which clients copy by mistake.
pub const VAU_INFO: &str = "ecies-vau-transport";
/// The only version byte the spec defines ("Diese ist nach der derzeitigen Implementierung "1"").
pub const VERSION: u8 = 0x01;
pub const IV_LEN: usize = 12;
pub const TAG_LEN: usize = 16;
/// Version + X + Y + IV + tag: the shortest value that can hold an empty plaintext.
pub const MIN_LEN: usize = 1 + 32 + 32 + IV_LEN + TAG_LEN;

/// AES key length. The spec only says AES-GCM; 128 bit follows the VAU it refers to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AesKeySize {
    #[default]
    #[serde(rename = "128")]
    Aes128,
    #[serde(rename = "256")]
    Aes256,
}

impl AesKeySize {
    pub fn bits(self) -> u16 {
        match self {
            AesKeySize::Aes128 => 128,
            AesKeySize::Aes256 => 256,
        }
    }
    pub fn from_bits(bits: u16) -> Option<Self> {
        match bits {
            128 => Some(AesKeySize::Aes128),
            256 => Some(AesKeySize::Aes256),
            _ => None,
        }
    }
}

/// What the sender and receiver must agree on besides the keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EciesParams {
    pub info: String,
    pub aes: AesKeySize,
}

impl Default for EciesParams {
    fn default() -> Self {
        EciesParams {
            info: IRD_INFO.to_string(),
            aes: AesKeySize::Aes128,
        }
    }
}

/// The parts of an encrypted value, borrowed from the buffer.
#[derive(Clone, Copy, Debug)]
pub struct EncryptedField<'a> {
    pub version: u8,
    pub x: &'a [u8],
    pub y: &'a [u8],
    pub iv: &'a [u8],
    /// Ciphertext followed by the 16-byte tag.
    pub ciphertext: &'a [u8],
}

/// Why a value did not decrypt, naming the likely mistake where one matches.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecryptFailure {
    #[error(
        "value is {len} bytes; at least {MIN_LEN} are needed (version 1 + X 32 + Y 32 + IV 12 + tag 16)"
    )]
    Truncated { len: usize },
    #[error("version byte is 0x{found:02x}; the spec defines only 0x01")]
    BadVersion { found: u8 },
    #[error("ephemeral point is not on {expected:?}{}", if *.on_other_curve { "; it lies on the other curve: the value was encrypted with the wrong curve" } else { "" })]
    PointNotOnCurve {
        expected: Curve,
        on_other_curve: bool,
    },
    #[error(
        "near miss: the value decrypts with HKDF info `{used}` instead of `{expected}` (info string copied from e-Rezept?)"
    )]
    WrongInfo { used: String, expected: String },
    #[error(
        "near miss: the value decrypts with an AES-256 key (32 bytes from HKDF) instead of AES-128"
    )]
    WrongAesKeySize {
        used: AesKeySize,
        expected: AesKeySize,
    },
    #[error("near miss: the value decrypts with HKDF info `{used_info}` and AES-{}", .used_aes.bits())]
    WrongInfoAndAes {
        used_info: String,
        used_aes: AesKeySize,
    },
    #[error(
        "authentication tag does not verify: encrypted for another recipient key, or corrupted"
    )]
    TagMismatch,
}

impl DecryptFailure {
    /// A stable rule name for journals and diagnoses.
    pub fn rule(&self) -> &'static str {
        match self {
            DecryptFailure::Truncated { .. } => "ecies.truncated",
            DecryptFailure::BadVersion { .. } => "ecies.version",
            DecryptFailure::PointNotOnCurve { .. } => "ecies.curve",
            DecryptFailure::WrongInfo { .. } => "ecies.hkdf-info",
            DecryptFailure::WrongAesKeySize { .. } => "ecies.aes-key-size",
            DecryptFailure::WrongInfoAndAes { .. } => "ecies.hkdf-info-and-aes",
            DecryptFailure::TagMismatch => "ecies.tag",
        }
    }
}

/// Split a value into its parts. Checks only lengths and the version byte.
pub fn parse(data: &[u8]) -> Result<EncryptedField<'_>, DecryptFailure> {
    if data.is_empty() {
        return Err(DecryptFailure::Truncated { len: 0 });
    }
    if data[0] != VERSION {
        return Err(DecryptFailure::BadVersion { found: data[0] });
    }
    if data.len() < MIN_LEN {
        return Err(DecryptFailure::Truncated { len: data.len() });
    }
    Ok(EncryptedField {
        version: data[0],
        x: &data[1..33],
        y: &data[33..65],
        iv: &data[65..77],
        ciphertext: &data[77..],
    })
}

fn derive_key(shared_x: &[u8; 32], info: &[u8], aes: AesKeySize) -> Vec<u8> {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, shared_x);
    let mut okm = vec![0u8; aes.bits() as usize / 8];
    hk.expand(info, &mut okm)
        .expect("HKDF output of 16 or 32 bytes is always valid");
    okm
}

fn aes_gcm_open(key: &[u8], iv: &[u8], ct: &[u8]) -> Option<Vec<u8>> {
    let nonce = aes_gcm::Nonce::<aes_gcm::aes::cipher::consts::U12>::try_from(iv).ok()?;
    match key.len() {
        16 => aes_gcm::Aes128Gcm::new_from_slice(key)
            .ok()?
            .decrypt(&nonce, ct)
            .ok(),
        32 => aes_gcm::Aes256Gcm::new_from_slice(key)
            .ok()?
            .decrypt(&nonce, ct)
            .ok(),
        _ => None,
    }
}

fn aes_gcm_seal(key: &[u8], iv: &[u8; IV_LEN], pt: &[u8]) -> Vec<u8> {
    let nonce = aes_gcm::Nonce::<aes_gcm::aes::cipher::consts::U12>::from(*iv);
    match key.len() {
        16 => aes_gcm::Aes128Gcm::new_from_slice(key)
            .expect("16-byte key")
            .encrypt(&nonce, pt),
        _ => aes_gcm::Aes256Gcm::new_from_slice(key)
            .expect("32-byte key")
            .encrypt(&nonce, pt),
    }
    .expect("AES-GCM encryption of an in-memory buffer")
}

/// Encrypt with a fresh ephemeral key and a fresh random IV (as the spec demands for every value).
pub fn encrypt(recipient: &EcPublicKey, plaintext: &[u8], params: &EciesParams) -> Vec<u8> {
    let eph = EcSecretKey::generate(recipient.curve());
    let iv = crate::keys::random_bytes::<IV_LEN>();
    encrypt_with(recipient, &eph, &iv, plaintext, params)
        .expect("ephemeral key is generated on the recipient's curve")
}

/// Encrypt with a given ephemeral key and IV (test vectors, and deliberate-mistake clients).
pub fn encrypt_with(
    recipient: &EcPublicKey,
    ephemeral: &EcSecretKey,
    iv: &[u8; IV_LEN],
    plaintext: &[u8],
    params: &EciesParams,
) -> Result<Vec<u8>, crate::Error> {
    let shared = ephemeral.diffie_hellman(recipient)?;
    let key = derive_key(&shared, params.info.as_bytes(), params.aes);
    let ct = aes_gcm_seal(&key, iv, plaintext);
    let (x, y) = ephemeral.public_key().xy();
    let mut out = Vec::with_capacity(1 + 64 + IV_LEN + ct.len());
    out.push(VERSION);
    out.extend_from_slice(&x);
    out.extend_from_slice(&y);
    out.extend_from_slice(iv);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Decrypt a value for `key`. On failure, the error names the mistake that matches, if any.
///
/// The near-miss trials reuse the one ECDH shared secret, so a failed value costs the same scalar
/// multiplication as a good one plus a few HKDF/AES-GCM attempts.
pub fn decrypt(
    key: &EcSecretKey,
    data: &[u8],
    params: &EciesParams,
) -> Result<Vec<u8>, DecryptFailure> {
    let field = parse(data)?;
    let curve = key.curve();
    let Ok(eph) = EcPublicKey::from_xy(curve, field.x, field.y) else {
        let on_other_curve = EcPublicKey::from_xy(curve.other(), field.x, field.y).is_ok();
        return Err(DecryptFailure::PointNotOnCurve {
            expected: curve,
            on_other_curve,
        });
    };
    let shared = key
        .diffie_hellman(&eph)
        .expect("ephemeral point parsed on the key's curve");
    let k = derive_key(&shared, params.info.as_bytes(), params.aes);
    if let Some(pt) = aes_gcm_open(&k, field.iv, field.ciphertext) {
        return Ok(pt);
    }
    Err(near_miss(&shared, &field, params))
}

fn near_miss(
    shared: &[u8; 32],
    field: &EncryptedField<'_>,
    params: &EciesParams,
) -> DecryptFailure {
    let other_aes = match params.aes {
        AesKeySize::Aes128 => AesKeySize::Aes256,
        AesKeySize::Aes256 => AesKeySize::Aes128,
    };
    let infos: Vec<&str> = [
        VAU_INFO,
        IRD_INFO,
        "",
        "VST-IRD-transport",
        "vst-ird-transport",
    ]
    .into_iter()
    .filter(|i| *i != params.info)
    .collect();
    for info in &infos {
        let k = derive_key(shared, info.as_bytes(), params.aes);
        if aes_gcm_open(&k, field.iv, field.ciphertext).is_some() {
            return DecryptFailure::WrongInfo {
                used: (*info).to_string(),
                expected: params.info.clone(),
            };
        }
    }
    let k = derive_key(shared, params.info.as_bytes(), other_aes);
    if aes_gcm_open(&k, field.iv, field.ciphertext).is_some() {
        return DecryptFailure::WrongAesKeySize {
            used: other_aes,
            expected: params.aes,
        };
    }
    for info in &infos {
        let k = derive_key(shared, info.as_bytes(), other_aes);
        if aes_gcm_open(&k, field.iv, field.ciphertext).is_some() {
            return DecryptFailure::WrongInfoAndAes {
                used_info: (*info).to_string(),
                used_aes: other_aes,
            };
        }
    }
    DecryptFailure::TagMismatch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// gematik VAUFixed.cs vector, as recorded in reference/vectors.md.
    #[test]
    fn vau_fixed_vector_reproduced_exactly() {
        let recipient = EcPublicKey::from_xy(
            Curve::BrainpoolP256r1,
            &h("8634212830dad457ca05305e6687134166b9c21a65ffebf555f4e75dfb048888"),
            &h("66e4b6843624cbda43c97ea89968bc41fd53576f82c03efa7d601b9facac2b29"),
        )
        .unwrap();
        let eph = EcSecretKey::from_scalar_bytes(
            Curve::BrainpoolP256r1,
            &h("5bbba34d47502bd588ed680dfa2309ca375eb7a35ddbbd67cc7f8b6b687a1c1d"),
        )
        .unwrap();
        let shared = eph.diffie_hellman(&recipient).unwrap();
        assert!(hex::encode(shared).starts_with("9656c2b4"));
        assert!(hex::encode(shared).ends_with("ceaa"));
        assert_eq!(
            hex::encode(derive_key(&shared, VAU_INFO.as_bytes(), AesKeySize::Aes128)),
            "23977ba552a21363916af9b5147c83d4"
        );
        let iv: [u8; 12] = h("257db4604af8ae0dfced37ce").try_into().unwrap();
        let params = EciesParams {
            info: VAU_INFO.into(),
            aes: AesKeySize::Aes128,
        };
        let out = encrypt_with(&recipient, &eph, &iv, b"Hallo Test", &params).unwrap();
        let expected = concat!(
            "01",
            "754e548941e5cd073fed6d734578a484be9f0bbfa1b6fa3168ed7ffb22878f0f",
            "9aef9bbd932a020d8828367bd080a3e72b36c41ee40c87253f9b1b0beb8371bf",
            "257db4604af8ae0dfced37ce",
            "86c2b491c7a8309e750b",
            "4e6e307219863938c204dfe85502ee0a"
        );
        assert_eq!(hex::encode(out), expected);
    }

    #[test]
    fn roundtrip_both_curves_and_fresh_randomness() {
        for curve in [Curve::BrainpoolP256r1, Curve::P256] {
            let k = EcSecretKey::generate(curve);
            let p = EciesParams::default();
            let a = encrypt(&k.public_key(), b"A111100008", &p);
            let b = encrypt(&k.public_key(), b"A111100008", &p);
            assert_eq!(a.len(), 1 + 64 + 12 + 10 + 16);
            assert_ne!(a[1..33], b[1..33], "fresh ephemeral key per value");
            assert_ne!(a[65..77], b[65..77], "fresh IV per value");
            assert_eq!(decrypt(&k, &a, &p).unwrap(), b"A111100008");
        }
    }

    #[test]
    fn near_misses_are_named() {
        let k = EcSecretKey::generate(Curve::BrainpoolP256r1);
        let p = EciesParams::default();
        let vau = encrypt(
            &k.public_key(),
            b"x",
            &EciesParams {
                info: VAU_INFO.into(),
                aes: AesKeySize::Aes128,
            },
        );
        assert_eq!(
            decrypt(&k, &vau, &p).unwrap_err(),
            DecryptFailure::WrongInfo {
                used: VAU_INFO.into(),
                expected: IRD_INFO.into()
            }
        );
        let a256 = encrypt(
            &k.public_key(),
            b"x",
            &EciesParams {
                info: IRD_INFO.into(),
                aes: AesKeySize::Aes256,
            },
        );
        assert!(matches!(
            decrypt(&k, &a256, &p).unwrap_err(),
            DecryptFailure::WrongAesKeySize { .. }
        ));
        let both = encrypt(
            &k.public_key(),
            b"x",
            &EciesParams {
                info: VAU_INFO.into(),
                aes: AesKeySize::Aes256,
            },
        );
        assert!(matches!(
            decrypt(&k, &both, &p).unwrap_err(),
            DecryptFailure::WrongInfoAndAes { .. }
        ));
        // Encrypted for P-256.
        let other = EcSecretKey::generate(Curve::P256);
        let wrong_curve = encrypt(&other.public_key(), b"x", &p);
        assert_eq!(
            decrypt(&k, &wrong_curve, &p).unwrap_err(),
            DecryptFailure::PointNotOnCurve {
                expected: Curve::BrainpoolP256r1,
                on_other_curve: true
            }
        );
        // Another recipient.
        let stranger = EcSecretKey::generate(Curve::BrainpoolP256r1);
        let foreign = encrypt(&stranger.public_key(), b"x", &p);
        assert_eq!(
            decrypt(&k, &foreign, &p).unwrap_err(),
            DecryptFailure::TagMismatch
        );
        let mut bad_version = foreign.clone();
        bad_version[0] = 2;
        assert_eq!(
            decrypt(&k, &bad_version, &p).unwrap_err(),
            DecryptFailure::BadVersion { found: 2 }
        );
        assert_eq!(
            decrypt(&k, &foreign[..50], &p).unwrap_err(),
            DecryptFailure::Truncated { len: 50 }
        );
    }

    proptest::proptest! {
        #[test]
        fn decrypt_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let k = EcSecretKey::from_scalar_bytes(Curve::BrainpoolP256r1, &[7u8; 32]).unwrap();
            let _ = decrypt(&k, &data, &EciesParams::default());
        }

        #[test]
        fn mutated_values_never_decrypt_silently(idx in 0usize..103, bit in 0u8..8) {
            let k = EcSecretKey::from_scalar_bytes(Curve::BrainpoolP256r1, &[9u8; 32]).unwrap();
            let p = EciesParams::default();
            let mut v = encrypt(&k.public_key(), b"A111100008", &p);
            v[idx] ^= 1 << bit;
            proptest::prop_assert!(decrypt(&k, &v, &p).is_err());
        }
    }
}
