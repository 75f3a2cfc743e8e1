//! Registrations ("Registrierung an der Schnittstelle"): an insurer sends its Telematik-ID, Haupt-IK, its
//! SMC-B's C.AUT certificate and the ExternalAuthenticate signature over SHA-256(`TelematikId|HauptIK`);
//! the VST checks the signature and registers it.

use super::{Data, Error, VstState};
use crate::config::Registration;
use crate::process::InsurerId;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;
use ti_core::ids::IkError;
use ti_core::pki::TestPki;
use ti_core::{EcPublicKey, b64_decode, b64_encode};
use x509_cert::Certificate;

/// A registered insurer.
#[derive(Clone, Debug)]
pub struct Insurer {
    pub id: InsurerId,
    pub aut_cert_der: Vec<u8>,
    pub aut_key: EcPublicKey,
    /// For values the VST encrypts for this insurer (requests, anonymizations).
    pub enc_key: Option<EcPublicKey>,
    pub registered_at: String,
}

/// What the admin API shows of an insurer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct InsurerView {
    #[serde(rename = "TelematikId")]
    pub telematik_id: String,
    #[serde(rename = "HauptIK")]
    pub haupt_ik: String,
    pub certificate_subject: String,
    pub can_receive_encrypted: bool,
    pub registered_at: String,
}

/// Why a registration is refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("TelematikId is empty or contains `|`")]
    TelematikId,
    #[error("HauptIK `{ik}` {source}")]
    HauptIk {
        ik: String,
        #[source]
        source: IkError,
    },
    #[error("{what}: {source}")]
    Certificate {
        what: &'static str,
        #[source]
        source: ti_core::Error,
    },
    #[error("the certificate belongs to Telematik-ID `{found}`, not `{claimed}`")]
    ForeignTelematikId { found: String, claimed: String },
    #[error("the certificate names IK `{found}`, not `{claimed}`")]
    ForeignIk { found: String, claimed: String },
    #[error("signature: {0}")]
    SignatureEncoding(#[source] ti_core::Error),
    #[error(
        "the signature does not verify with the certificate's key over SHA-256(`{telematik_id}|{haupt_ik}`){}",
        if *.double_hashed { " (near miss: it is over SHA-256 of the digest; ExternalAuthenticate must receive SHA-256(TelematikId|HauptIK))" } else { "" }
    )]
    Signature {
        telematik_id: String,
        haupt_ik: String,
        double_hashed: bool,
    },
}

/// Parse a certificate given as PEM or base64 DER.
pub fn parse_certificate(text: &str) -> Result<Certificate, ti_core::Error> {
    use der::Decode as _;
    let t = text.trim();
    let der = if t.contains("-----BEGIN") {
        let (label, der) = ti_core::pem_decode(t)?;
        if label != "CERTIFICATE" {
            return Err(ti_core::Error::Input(format!(
                "expected a PEM CERTIFICATE, found `{label}`"
            )));
        }
        der
    } else {
        let compact: String = t.split_whitespace().collect();
        b64_decode(&compact)?
    };
    Certificate::from_der(&der)
        .map_err(|e| ti_core::Error::Certificate(format!("not an X.509 certificate: {e}")))
}

fn certificate(
    text: &str,
    what: &'static str,
    anchors: &[Certificate],
) -> Result<(Certificate, EcPublicKey), RegistrationError> {
    let err = |source| RegistrationError::Certificate { what, source };
    let cert = parse_certificate(text).map_err(err)?;
    ti_core::pki::verify_chain(&cert, &[], anchors, SystemTime::now()).map_err(err)?;
    let key = ti_core::pki::public_key_of_cert(&cert).map_err(err)?;
    Ok((cert, key))
}

/// Check a registration: certificate chains to the CA, belongs to the Telematik-ID/IK it names (when it
/// names them), IK check digit, ExternalAuthenticate signature over SHA-256(`TelematikId|HauptIK`).
pub fn verify_registration(
    r: &Registration,
    anchors: &[Certificate],
) -> Result<Insurer, RegistrationError> {
    use der::Encode as _;
    if r.telematik_id.trim().is_empty() || r.telematik_id.contains('|') {
        return Err(RegistrationError::TelematikId);
    }
    ti_core::ids::check_ik(&r.haupt_ik).map_err(|source| RegistrationError::HauptIk {
        ik: r.haupt_ik.clone(),
        source,
    })?;
    let (cert, aut_key) = certificate(&r.certificate, "certificate", anchors)?;
    let (tid, ik) = ti_core::pki::insurer_of_cert(&cert);
    if let Some(t) = tid.filter(|t| t != &r.telematik_id) {
        return Err(RegistrationError::ForeignTelematikId {
            found: t,
            claimed: r.telematik_id.clone(),
        });
    }
    if let Some(i) = ik.filter(|i| i != &r.haupt_ik) {
        return Err(RegistrationError::ForeignIk {
            found: i,
            claimed: r.haupt_ik.clone(),
        });
    }
    let sig = b64_decode(r.signature.trim()).map_err(RegistrationError::SignatureEncoding)?;
    let input = ti_core::sig_input::registration_input(&r.telematik_id, &r.haupt_ik);
    let digest = ti_core::sha256(&input);
    if aut_key.verify_prehash(&digest, &sig).is_err() {
        return Err(RegistrationError::Signature {
            telematik_id: r.telematik_id.clone(),
            haupt_ik: r.haupt_ik.clone(),
            double_hashed: aut_key
                .verify_prehash(&ti_core::sha256(&digest), &sig)
                .is_ok(),
        });
    }
    let enc_key = match &r.encryption_certificate {
        Some(text) => Some(certificate(text, "encryption certificate", anchors)?.1),
        None => None,
    };
    let aut_cert_der = cert.to_der().map_err(|e| RegistrationError::Certificate {
        what: "certificate",
        source: ti_core::Error::Certificate(e.to_string()),
    })?;
    Ok(Insurer {
        id: InsurerId {
            telematik_id: r.telematik_id.clone(),
            haupt_ik: r.haupt_ik.clone(),
        },
        aut_cert_der,
        aut_key,
        enc_key,
        registered_at: sim_kit::now_rfc3339(),
    })
}

/// The PKI's default insurer, registered with a signature made by its C.AUT key.
pub fn default_registration(pki: &TestPki) -> Registration {
    let input = ti_core::sig_input::registration_input(&pki.insurer.telematik_id, &pki.insurer.ik);
    let sig = pki.insurer_aut.key.sign_sha256_der(&input);
    Registration {
        telematik_id: pki.insurer.telematik_id.clone(),
        haupt_ik: pki.insurer.ik.clone(),
        certificate: pki.insurer_aut.cert_pem(),
        signature: b64_encode(&sig),
        encryption_certificate: Some(pki.insurer_enc.cert_pem()),
    }
}

impl Data {
    pub(super) fn insurer_or_default(&self, tid: Option<&str>) -> Result<&Insurer, Error> {
        match tid {
            Some(t) => self
                .insurers
                .iter()
                .find(|i| i.id.telematik_id == t)
                .ok_or_else(|| Error::UnknownInsurer(t.into())),
            None => self
                .insurers
                .first()
                .ok_or_else(|| Error::UnknownInsurer("(default: none registered)".into())),
        }
    }
}

impl VstState {
    /// Verify a registration ("Registrierung an der Schnittstelle") and register (or replace) the insurer.
    pub fn register_insurer(&self, r: Registration) -> Result<(), Error> {
        let insurer = verify_registration(&r, &self.inner.anchors)?;
        let mut d = self.data();
        d.insurers
            .retain(|i| i.id.telematik_id != insurer.id.telematik_id);
        d.mailboxes
            .entry(insurer.id.telematik_id.clone())
            .or_default();
        d.insurers.push(insurer);
        drop(d);
        self.forget_logins();
        Ok(())
    }

    /// Remove a registration. Its mailbox stays until reset.
    pub fn unregister_insurer(&self, telematik_id: &str) -> Result<(), Error> {
        let mut d = self.data();
        let before = d.insurers.len();
        d.insurers.retain(|i| i.id.telematik_id != telematik_id);
        if d.insurers.len() == before {
            return Err(Error::UnknownInsurer(telematik_id.into()));
        }
        drop(d);
        self.forget_logins();
        Ok(())
    }

    pub fn insurers(&self) -> Vec<InsurerView> {
        use der::Decode as _;
        self.data()
            .insurers
            .iter()
            .map(|i| InsurerView {
                telematik_id: i.id.telematik_id.clone(),
                haupt_ik: i.id.haupt_ik.clone(),
                certificate_subject: Certificate::from_der(&i.aut_cert_der)
                    .map(|c| ti_core::pki::subject_string(&c))
                    .unwrap_or_default(),
                can_receive_encrypted: i.enc_key.is_some(),
                registered_at: i.registered_at.clone(),
            })
            .collect()
    }

    /// The registrations of the configuration (and the PKI's default insurer).
    pub(super) fn register_configured(&self) -> Result<(), Error> {
        if self.inner.config.register_default_insurer {
            self.register_insurer(default_registration(&self.inner.pki))?;
        }
        for r in self.inner.config.insurers.clone() {
            self.register_insurer(r)?;
        }
        Ok(())
    }
}
