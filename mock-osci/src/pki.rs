//! The intermediary's keys and trust: its RSA cipher key pair (requests are encrypted for it), its RSA
//! signature key pair (answers are signed with it) and the trusted CA certificates (the configured
//! DOI-CA) the InspectionReport checks every certificate against. Loaded from the library's sample
//! certificates (`--osci-sample-certs DIR`) or from the test PKI (`konform pki`).

use crate::certs::{Cert, Trust};
use crate::p12;
use rsa::PrivateKey as RsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

fn ferr(path: &Path, reason: impl ToString) -> PkiError {
    PkiError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// A certificate with its private key.
#[derive(Clone, Debug)]
pub struct Identity {
    pub cert: Cert,
    pub key: RsaPrivateKey,
}

/// What the intermediary holds.
#[derive(Clone, Debug)]
pub struct IntermediaryKeys {
    pub cipher: (Cert, RsaPrivateKey),
    pub signature: (Cert, RsaPrivateKey),
    pub trust: Trust,
}

/// The PIN of the library's sample PKCS#12 files.
pub const SAMPLE_PIN: &str = "123456";

/// Read a PKCS#12 file: the identity and the CA certificates that came with it.
pub fn read_p12(path: &Path, pin: &str) -> Result<(Identity, Vec<Cert>), PkiError> {
    let der = std::fs::read(path).map_err(|e| ferr(path, e))?;
    let p = p12::parse(&der, pin).map_err(|e| ferr(path, e))?;
    let key_der = p
        .key_pkcs8
        .ok_or_else(|| ferr(path, "no private key in the file"))?;
    let key = RsaPrivateKey::from_pkcs8_der(&key_der)
        .map_err(|e| ferr(path, format!("private key: {e}")))?;
    let mut certs = Vec::new();
    for c in &p.certs {
        certs.push(Cert::from_der(c).map_err(|e| ferr(path, e))?);
    }
    // The leaf is the certificate whose key is ours.
    let public = key.to_public_key();
    let pos = certs
        .iter()
        .position(|c| c.rsa_key().ok().as_ref() == Some(&public))
        .ok_or_else(|| ferr(path, "no certificate matches the private key"))?;
    let leaf = certs.remove(pos);
    Ok((Identity { cert: leaf, key }, certs))
}

impl IntermediaryKeys {
    /// The library's sample keys: `osci_manager_cipher_4096.p12` and `osci_manager_signature_4096.p12`
    /// in `dir` (…/samples/zertifikate); the CA chain inside them becomes the trusted CA.
    pub fn from_sample_dir(dir: &Path) -> Result<IntermediaryKeys, PkiError> {
        let (cipher, mut cas) = read_p12(&dir.join("osci_manager_cipher_4096.p12"), SAMPLE_PIN)?;
        let (signature, more) = read_p12(&dir.join("osci_manager_signature_4096.p12"), SAMPLE_PIN)?;
        for c in more {
            if !cas.iter().any(|x| x.fingerprint == c.fingerprint) {
                cas.push(c);
            }
        }
        Ok(IntermediaryKeys {
            cipher: (cipher.cert, cipher.key),
            signature: (signature.cert, signature.key),
            trust: Trust {
                cas,
                revoked: Vec::new(),
            },
        })
    }
}
