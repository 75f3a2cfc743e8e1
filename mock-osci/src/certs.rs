//! X.509 certificates as OSCI uses them: parsed from the base64 in `ds:X509Certificate`, named by the
//! library's ids (`<role>_cipher_<sha256-hex>`), their RSA keys, and the intermediary's inspection against
//! the configured CA (the InspectionReport: MathResult = the issuer's signature over the certificate,
//! OfflineResult = validity period and trust, no online check).

use crate::crypto;
use der::{Decode, Encode};
use rsa::PublicKey as RsaPublicKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use x509_cert::Certificate;

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("not a DER X.509 certificate: {0}")]
    Der(String),
    #[error("the certificate's key is not RSA")]
    NotRsa,
}

/// A parsed certificate with what OSCI needs of it.
#[derive(Clone, Debug)]
pub struct Cert {
    pub der: Vec<u8>,
    pub cert: Certificate,
    /// SHA-256 of the DER, lower-case hex (the library's certificate id suffix).
    pub fingerprint: String,
}

impl PartialEq for Cert {
    fn eq(&self, other: &Cert) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl Eq for Cert {}

const OID_SHA256_RSA: &str = "1.2.840.113549.1.1.11";
const OID_SHA384_RSA: &str = "1.2.840.113549.1.1.12";
const OID_SHA512_RSA: &str = "1.2.840.113549.1.1.13";
const OID_SHA1_RSA: &str = "1.2.840.113549.1.1.5";

impl Cert {
    pub fn from_der(der: &[u8]) -> Result<Cert, CertError> {
        let cert = Certificate::from_der(der).map_err(|e| CertError::Der(e.to_string()))?;
        Ok(Cert {
            der: der.to_vec(),
            cert,
            fingerprint: hex::encode(crypto::sha256(der)),
        })
    }
    pub fn from_base64(b64: &str) -> Result<Cert, CertError> {
        let der = crypto::unb64(b64).ok_or_else(|| CertError::Der("invalid base64".into()))?;
        Cert::from_der(&der)
    }
    pub fn from_pem(pem: &str) -> Result<Cert, CertError> {
        let body: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("");
        Cert::from_base64(&body)
    }
    pub fn to_pem(&self) -> String {
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            crypto::b64_lines(&self.der)
        )
    }
    /// The RSA public key.
    pub fn rsa_key(&self) -> Result<RsaPublicKey, CertError> {
        let spki = &self.cert.tbs_certificate().subject_public_key_info();
        if spki.algorithm.oid.to_string() != "1.2.840.113549.1.1.1" {
            return Err(CertError::NotRsa);
        }
        RsaPublicKey::from_pkcs1_der(spki.subject_public_key.raw_bytes())
            .map_err(|_| CertError::NotRsa)
    }
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }
    pub fn issuer(&self) -> String {
        self.cert.tbs_certificate().issuer().to_string()
    }
    /// The serial number as a decimal string (as the InspectionReport writes `X509SerialNumber`).
    pub fn serial_decimal(&self) -> String {
        let bytes = self.cert.tbs_certificate().serial_number().as_bytes();
        decimal(bytes)
    }
    /// Validity as Unix seconds (not before, not after).
    pub fn validity(&self) -> (i64, i64) {
        let v = self.cert.tbs_certificate().validity();
        (
            v.not_before.to_unix_duration().as_secs() as i64,
            v.not_after.to_unix_duration().as_secs() as i64,
        )
    }
    /// Whether `issuer`'s key made the signature on this certificate.
    pub fn signed_by(&self, issuer: &Cert) -> bool {
        let Ok(key) = issuer.rsa_key() else {
            return false;
        };
        let Ok(tbs) = self.cert.tbs_certificate().to_der() else {
            return false;
        };
        let Some(sig) = self.cert.signature().as_bytes() else {
            return false;
        };
        let alg = self.cert.signature_algorithm().oid.to_string();
        use sha2::Digest;
        let ok = match alg.as_str() {
            OID_SHA256_RSA => key.verify(
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                &sha2::Sha256::digest(&tbs),
                sig,
            ),
            OID_SHA384_RSA => key.verify(
                rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                &sha2::Sha384::digest(&tbs),
                sig,
            ),
            OID_SHA512_RSA => key.verify(
                rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                &sha2::Sha512::digest(&tbs),
                sig,
            ),
            OID_SHA1_RSA => key.verify(
                rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
                &<sha1::Sha1 as sha1::Digest>::digest(&tbs),
                sig,
            ),
            _ => return false,
        };
        ok.is_ok()
    }
    pub fn is_self_signed(&self) -> bool {
        self.subject() == self.issuer() && self.signed_by(self)
    }
    /// Values of a subject attribute (e.g. `2.5.4.3` CN, `2.5.4.11` OU).
    pub fn subject_values(&self, oid: &str) -> Vec<String> {
        let mut v = Vec::new();
        for rdn in self.cert.tbs_certificate().subject().iter_rdn() {
            for atv in rdn.iter() {
                if atv.oid.to_string() == oid {
                    if let Ok(s) = der::asn1::Utf8StringRef::try_from(&atv.value) {
                        v.push(s.as_str().to_string());
                    } else if let Ok(s) = der::asn1::PrintableStringRef::try_from(&atv.value) {
                        v.push(s.as_str().to_string());
                    }
                }
            }
        }
        v
    }
    pub fn common_name(&self) -> String {
        self.subject_values("2.5.4.3")
            .into_iter()
            .next()
            .unwrap_or_default()
    }
    /// A person's certificate carries a given name or surname in the subject (organisation certificates
    /// name the organisational unit only) — how the seed's "keine Signatur einer Person" is told apart.
    pub fn names_a_person(&self) -> bool {
        !self.subject_values("2.5.4.42").is_empty()
            || !self.subject_values("2.5.4.4").is_empty()
            || !self.subject_values("2.5.4.65").is_empty()
    }
}

fn decimal(be: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0];
    for &byte in be {
        let mut carry = byte as u32;
        for d in &mut digits {
            let v = (*d as u32) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    digits.iter().rev().map(|d| (b'0' + d) as char).collect()
}

/// The intermediary's verdict on one certificate (one `osci:Inspection`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inspection {
    pub timestamp: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    /// `advanced|qualified|accredited|unknown`
    pub cert_type: String,
    /// `ok|corrupted`
    pub math_result: String,
    /// `valid|invalid`
    pub offline_result: String,
    /// Why, when not ok/valid (our addition for the journal; not on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The result of checking a certificate against the trusted CAs at time `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    NotYetValid,
    Expired,
    /// No trusted CA issued it (or the issuer's signature does not verify).
    Untrusted,
    Revoked,
}

/// The trusted CAs (the configured DOI-CA) and the revoked serials.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    pub cas: Vec<Cert>,
    /// Fingerprints of revoked certificates.
    pub revoked: Vec<String>,
}

impl Trust {
    pub fn check(&self, c: &Cert, now: i64) -> Verdict {
        if self.revoked.contains(&c.fingerprint) {
            return Verdict::Revoked;
        }
        let trusted = self
            .cas
            .iter()
            .any(|ca| ca.subject() == c.issuer() && c.signed_by(ca))
            || self.cas.iter().any(|ca| ca.fingerprint == c.fingerprint);
        if !trusted {
            return Verdict::Untrusted;
        }
        let (nb, na) = c.validity();
        if now < nb {
            Verdict::NotYetValid
        } else if now > na {
            Verdict::Expired
        } else {
            Verdict::Ok
        }
    }

    pub fn inspect(&self, c: &Cert, now: i64, timestamp: &str) -> Inspection {
        let v = self.check(c, now);
        let problem = match v {
            Verdict::Ok => None,
            Verdict::NotYetValid => Some("not yet valid".to_string()),
            Verdict::Expired => Some("expired".to_string()),
            Verdict::Untrusted => Some("not issued by a configured CA".to_string()),
            Verdict::Revoked => Some("revoked".to_string()),
        };
        Inspection {
            timestamp: timestamp.to_string(),
            subject: c.subject(),
            issuer: c.issuer(),
            serial: c.serial_decimal(),
            cert_type: "advanced".into(),
            math_result: if v == Verdict::Untrusted {
                "corrupted"
            } else {
                "ok"
            }
            .into(),
            offline_result: if v == Verdict::Ok { "valid" } else { "invalid" }.into(),
            problem,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal_serials() {
        assert_eq!(super::decimal(&[0x01, 0x00]), "256");
        assert_eq!(super::decimal(&[0x00]), "0");
        assert_eq!(super::decimal(&[0xff, 0xff, 0xff, 0xff]), "4294967295");
    }
}
