//! EC keys on the two curves the TI uses: brainpoolP256r1 (default, TI certificates) and NIST P-256
//! (for clients whose crypto lacks brainpool, and for TLS).
//!
//! The enums dispatch by macro instead of generics: the elliptic-curve trait bounds are long and both
//! curves share the same code shape.

use crate::Error;
use ecdsa::signature::hazmat::PrehashVerifier;
use elliptic_curve::Generate;
use elliptic_curve::sec1::ToSec1Point;
use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rand_core::UnwrapErr;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The curve of a key. Default brainpoolP256r1: the seed's encrypted example point lies on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Curve {
    #[default]
    #[serde(rename = "brainpool", alias = "brainpoolP256r1", alias = "BP-256")]
    BrainpoolP256r1,
    #[serde(rename = "p256", alias = "P-256", alias = "secp256r1")]
    P256,
}

impl Curve {
    /// JWK `crv` name (gematik uses `BP-256` for brainpoolP256r1).
    pub fn jwk_name(self) -> &'static str {
        match self {
            Curve::BrainpoolP256r1 => "BP-256",
            Curve::P256 => "P-256",
        }
    }
    /// JWS `alg` (gematik: `BP256R1`).
    pub fn jws_alg(self) -> &'static str {
        match self {
            Curve::BrainpoolP256r1 => "BP256R1",
            Curve::P256 => "ES256",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Curve::BrainpoolP256r1 => "brainpoolP256r1",
            Curve::P256 => "P-256 (prime256v1)",
        }
    }
    pub fn other(self) -> Curve {
        match self {
            Curve::BrainpoolP256r1 => Curve::P256,
            Curve::P256 => Curve::BrainpoolP256r1,
        }
    }
    pub fn from_jwk_name(s: &str) -> Option<Curve> {
        match s {
            "BP-256" | "brainpoolP256r1" => Some(Curve::BrainpoolP256r1),
            "P-256" => Some(Curve::P256),
            _ => None,
        }
    }
}

impl std::str::FromStr for Curve {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "brainpool" | "brainpoolp256r1" | "bp-256" | "bp256" => Ok(Curve::BrainpoolP256r1),
            "p256" | "p-256" | "prime256v1" | "secp256r1" => Ok(Curve::P256),
            _ => Err(Error::Input(format!(
                "unknown curve `{s}` (expected `brainpool` or `p256`)"
            ))),
        }
    }
}

/// The system RNG as a `rand_core` 0.10 RNG.
pub fn os_rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

/// Fill a buffer from the OS RNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("OS random source unavailable");
    b
}

/// A public EC key on one of the supported curves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcPublicKey {
    Bp(elliptic_curve::PublicKey<bp256::BrainpoolP256r1>),
    P256(p256::PublicKey),
}

/// A private EC key on one of the supported curves.
#[derive(Clone)]
pub enum EcSecretKey {
    Bp(elliptic_curve::SecretKey<bp256::BrainpoolP256r1>),
    P256(p256::SecretKey),
}

impl std::fmt::Debug for EcSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EcSecretKey({})", self.curve().name())
    }
}

macro_rules! dispatch {
    ($v:expr, $k:ident => $body:expr) => {
        match $v {
            Self::Bp($k) => $body,
            Self::P256($k) => $body,
        }
    };
}

impl EcPublicKey {
    pub fn curve(&self) -> Curve {
        match self {
            EcPublicKey::Bp(_) => Curve::BrainpoolP256r1,
            EcPublicKey::P256(_) => Curve::P256,
        }
    }

    /// From the affine coordinates (32 bytes each). Fails if the point is not on `curve`.
    pub fn from_xy(curve: Curve, x: &[u8], y: &[u8]) -> Result<Self, Error> {
        if x.len() != 32 || y.len() != 32 {
            return Err(Error::Input("coordinates must be 32 bytes each".into()));
        }
        let mut sec1 = [0u8; 65];
        sec1[0] = 4;
        sec1[1..33].copy_from_slice(x);
        sec1[33..].copy_from_slice(y);
        Self::from_sec1(curve, &sec1)
    }

    /// From a SEC1 encoded point (compressed or uncompressed).
    pub fn from_sec1(curve: Curve, bytes: &[u8]) -> Result<Self, Error> {
        let not_on = || Error::PointNotOnCurve(curve);
        Ok(match curve {
            Curve::BrainpoolP256r1 => EcPublicKey::Bp(
                elliptic_curve::PublicKey::from_sec1_bytes(bytes).map_err(|_| not_on())?,
            ),
            Curve::P256 => {
                EcPublicKey::P256(p256::PublicKey::from_sec1_bytes(bytes).map_err(|_| not_on())?)
            }
        })
    }

    /// Uncompressed affine coordinates (X, Y), each left-padded to 32 bytes.
    pub fn xy(&self) -> ([u8; 32], [u8; 32]) {
        let enc = self.sec1_uncompressed();
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        x.copy_from_slice(&enc[1..33]);
        y.copy_from_slice(&enc[33..65]);
        (x, y)
    }

    /// `04 || X || Y`.
    pub fn sec1_uncompressed(&self) -> Vec<u8> {
        dispatch!(self, k => k.to_sec1_point(false).as_bytes().to_vec())
    }

    /// DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Vec<u8> {
        dispatch!(self, k => k.to_public_key_der().expect("SPKI encoding of a valid key").into_vec())
    }

    pub fn to_spki_pem(&self) -> String {
        dispatch!(self, k => k.to_public_key_pem(LineEnding::LF).expect("SPKI PEM encoding"))
    }

    /// From a DER SubjectPublicKeyInfo; the curve is taken from the algorithm parameters.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        use der::Decode;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| Error::Input(format!("not a SubjectPublicKeyInfo: {e}")))?;
        Self::from_spki(&spki)
    }

    pub fn from_spki(spki: &spki::SubjectPublicKeyInfoRef<'_>) -> Result<Self, Error> {
        let curve = curve_of_algorithm(&spki.algorithm)?;
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::Input("public key bit string has unused bits".into()))?;
        Self::from_sec1(curve, bits)
    }

    /// Accepts a PEM `PUBLIC KEY` or a PEM `CERTIFICATE` (the key is taken from it).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let (label, der) = crate::pem_decode(pem)?;
        match label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&der),
            "CERTIFICATE" => crate::pki::public_key_of_cert_der(&der),
            other => Err(Error::Input(format!(
                "expected a PEM PUBLIC KEY or CERTIFICATE, found `{other}`"
            ))),
        }
    }

    /// Verify an ECDSA signature over a 32-byte prehash. `sig` may be raw r||s (64 bytes) or DER.
    pub fn verify_prehash(&self, digest: &[u8], sig: &[u8]) -> Result<(), Error> {
        let bad = || Error::BadSignature("ECDSA signature does not verify".into());
        dispatch!(self, k => {
            let vk = ecdsa::VerifyingKey::from(k);
            let s = if sig.len() == 64 {
                ecdsa::Signature::from_slice(sig).map_err(|_| bad())?
            } else {
                ecdsa::Signature::from_der(sig).map_err(|_| Error::BadSignature("signature is neither raw r||s (64 bytes) nor DER".into()))?
            };
            vk.verify_prehash(digest, &s).map_err(|_| bad())
        })
    }

    /// Verify an ECDSA-SHA256 signature over `msg`.
    pub fn verify_sha256(&self, msg: &[u8], sig: &[u8]) -> Result<(), Error> {
        self.verify_prehash(&Sha256::digest(msg), sig)
    }
}

/// The curve named by an `id-ecPublicKey` algorithm identifier.
pub fn curve_of_algorithm(alg: &spki::AlgorithmIdentifierRef<'_>) -> Result<Curve, Error> {
    if alg.oid != crate::oids::EC_PUBLIC_KEY {
        return Err(Error::Input(format!(
            "not an EC public key (algorithm {})",
            alg.oid
        )));
    }
    let params = alg
        .parameters
        .as_ref()
        .ok_or_else(|| Error::Input("EC key without curve parameters".into()))?;
    let oid: const_oid::ObjectIdentifier = params.decode_as().map_err(|_| {
        Error::Input("EC key with explicit curve parameters (named curve expected)".into())
    })?;
    if oid == crate::oids::BRAINPOOL_P256R1 {
        Ok(Curve::BrainpoolP256r1)
    } else if oid == crate::oids::SECP256R1 {
        Ok(Curve::P256)
    } else {
        Err(Error::Input(format!(
            "unsupported curve {oid} (brainpoolP256r1 or P-256 expected)"
        )))
    }
}

impl EcSecretKey {
    pub fn generate(curve: Curve) -> Self {
        let mut rng = os_rng();
        match curve {
            Curve::BrainpoolP256r1 => {
                EcSecretKey::Bp(elliptic_curve::SecretKey::generate_from_rng(&mut rng))
            }
            Curve::P256 => EcSecretKey::P256(p256::SecretKey::generate_from_rng(&mut rng)),
        }
    }

    /// From the 32-byte big-endian scalar.
    pub fn from_scalar_bytes(curve: Curve, d: &[u8]) -> Result<Self, Error> {
        let bad = || Error::Input("private scalar is zero, too large or not 32 bytes".into());
        Ok(match curve {
            Curve::BrainpoolP256r1 => {
                EcSecretKey::Bp(elliptic_curve::SecretKey::from_slice(d).map_err(|_| bad())?)
            }
            Curve::P256 => EcSecretKey::P256(p256::SecretKey::from_slice(d).map_err(|_| bad())?),
        })
    }

    pub fn curve(&self) -> Curve {
        match self {
            EcSecretKey::Bp(_) => Curve::BrainpoolP256r1,
            EcSecretKey::P256(_) => Curve::P256,
        }
    }

    pub fn public_key(&self) -> EcPublicKey {
        match self {
            EcSecretKey::Bp(k) => EcPublicKey::Bp(k.public_key()),
            EcSecretKey::P256(k) => EcPublicKey::P256(k.public_key()),
        }
    }

    /// ECDH: the x-coordinate of `d · Q`, 32 bytes. Fails if `peer` is on the other curve.
    pub fn diffie_hellman(&self, peer: &EcPublicKey) -> Result<[u8; 32], Error> {
        let mut out = [0u8; 32];
        match (self, peer) {
            (EcSecretKey::Bp(d), EcPublicKey::Bp(q)) => {
                let s = elliptic_curve::ecdh::diffie_hellman(d.to_nonzero_scalar(), q.as_affine());
                out.copy_from_slice(s.raw_secret_bytes());
            }
            (EcSecretKey::P256(d), EcPublicKey::P256(q)) => {
                let s = elliptic_curve::ecdh::diffie_hellman(d.to_nonzero_scalar(), q.as_affine());
                out.copy_from_slice(s.raw_secret_bytes());
            }
            _ => {
                return Err(Error::Input(format!(
                    "key agreement between {} and {} keys",
                    self.curve().name(),
                    peer.curve().name()
                )));
            }
        }
        Ok(out)
    }

    /// PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> Vec<u8> {
        dispatch!(self, k => k.to_pkcs8_der().expect("PKCS#8 encoding").as_bytes().to_vec())
    }

    /// PKCS#8 PEM (`PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> String {
        dispatch!(self, k => k.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8 PEM encoding").to_string())
    }

    /// From PKCS#8 DER; the curve is taken from the algorithm parameters.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        use der::Decode;
        let pki = pkcs8::PrivateKeyInfoRef::from_der(der)
            .map_err(|e| Error::Input(format!("not a PKCS#8 private key: {e}")))?;
        let curve = curve_of_algorithm(&pki.algorithm)?;
        let bad = |e: pkcs8::Error| Error::Input(format!("bad {} private key: {e}", curve.name()));
        Ok(match curve {
            Curve::BrainpoolP256r1 => {
                EcSecretKey::Bp(elliptic_curve::SecretKey::from_pkcs8_der(der).map_err(bad)?)
            }
            Curve::P256 => EcSecretKey::P256(p256::SecretKey::from_pkcs8_der(der).map_err(bad)?),
        })
    }

    /// From PEM: PKCS#8 `PRIVATE KEY` (or SEC1 `EC PRIVATE KEY` with a named curve).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let (label, der) = crate::pem_decode(pem)?;
        match label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "EC PRIVATE KEY" => {
                // SEC1: try both curves; the embedded OID decides.
                if let Ok(k) =
                    elliptic_curve::SecretKey::<bp256::BrainpoolP256r1>::from_sec1_der(&der)
                {
                    return Ok(EcSecretKey::Bp(k));
                }
                p256::SecretKey::from_sec1_der(&der)
                    .map(EcSecretKey::P256)
                    .map_err(|_| Error::Input("bad SEC1 EC private key".into()))
            }
            other => Err(Error::Input(format!(
                "expected a PEM PRIVATE KEY, found `{other}`"
            ))),
        }
    }

    /// ECDSA over a 32-byte prehash, raw r||s (64 bytes). Deterministic (RFC 6979).
    pub fn sign_prehash_raw(&self, digest: &[u8]) -> Result<[u8; 64], Error> {
        if digest.len() != 32 {
            return Err(Error::Input(format!(
                "ECDSA prehash must be 32 bytes, got {}",
                digest.len()
            )));
        }
        let mut out = [0u8; 64];
        // Straight from the secret scalar (RFC 6979 nonce): building an `ecdsa::SigningKey` would derive
        // the public key, one extra scalar multiplication per signature.
        match self {
            EcSecretKey::Bp(k) => {
                let (sig, _) = ecdsa::hazmat::sign_prehashed_rfc6979::<
                    bp256::BrainpoolP256r1,
                    sha2::Sha256,
                >(&k.to_nonzero_scalar(), digest, &[]);
                out.copy_from_slice(&sig.to_bytes());
            }
            EcSecretKey::P256(k) => {
                let (sig, _) = ecdsa::hazmat::sign_prehashed_rfc6979::<p256::NistP256, sha2::Sha256>(
                    &k.to_nonzero_scalar(),
                    digest,
                    &[],
                );
                out.copy_from_slice(&sig.to_bytes());
            }
        }
        Ok(out)
    }

    /// ECDSA over a 32-byte prehash, DER encoded (as ExternalAuthenticate returns it).
    pub fn sign_prehash_der(&self, digest: &[u8]) -> Result<Vec<u8>, Error> {
        let raw = self.sign_prehash_raw(digest)?;
        crate::sig::raw_to_der(&raw)
    }

    /// ECDSA-SHA256 over `msg`, raw r||s.
    pub fn sign_sha256_raw(&self, msg: &[u8]) -> [u8; 64] {
        self.sign_prehash_raw(&Sha256::digest(msg))
            .expect("32-byte digest")
    }

    /// ECDSA-SHA256 over `msg`, DER.
    pub fn sign_sha256_der(&self, msg: &[u8]) -> Vec<u8> {
        self.sign_prehash_der(&Sha256::digest(msg))
            .expect("32-byte digest")
    }
}
