//! What a TI certificate is for. The real profile (gemSpec_PKI, gemSpec_OID) marks a certificate's role by
//! its certificatePolicies OID and its keyUsage: an SMC-B carries C.HCI.AUT (authentication,
//! `digitalSignature`), C.HCI.OSIG (the organisation's signature, `nonRepudiation`) and C.HCI.ENC
//! (encryption); a service (Fachdienst) C.FD.AUT, C.FD.SIG, C.FD.ENC. The seed asks for the SMC-B's
//! "Signatur-Zertifikat" for the CMS signature of a delivery and the VST's "AUT-Zertifikat" for the
//! `.well-known` token.

use crate::oids;
use const_oid::ObjectIdentifier as Oid;
use serde::Serialize;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{CertificatePolicies, KeyUsage, KeyUsages};

/// The role of a TI certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum CertRole {
    /// SMC-B authentication certificate (`C.HCI.AUT`, the seed's "AUT-Zertifikat der SMC-B").
    SmcbAut,
    /// SMC-B signature certificate (`C.HCI.OSIG`, the seed's "Signatur-Zertifikat auf der SMC-B-Karte").
    SmcbSig,
    /// SMC-B encryption certificate (`C.HCI.ENC`).
    SmcbEnc,
    /// A service's authentication certificate (`C.FD.AUT`).
    FdAut,
    /// A service's signature certificate (`C.FD.SIG`).
    FdSig,
    /// A service's encryption certificate (`C.FD.ENC`).
    FdEnc,
}

impl CertRole {
    /// The certificate type as gemSpec_PKI names it.
    pub fn name(self) -> &'static str {
        match self {
            CertRole::SmcbAut => "C.HCI.AUT",
            CertRole::SmcbSig => "C.HCI.OSIG",
            CertRole::SmcbEnc => "C.HCI.ENC",
            CertRole::FdAut => "C.FD.AUT",
            CertRole::FdSig => "C.FD.SIG",
            CertRole::FdEnc => "C.FD.ENC",
        }
    }

    /// The certificatePolicies OID of the role (gemSpec_OID).
    pub fn policy(self) -> Oid {
        match self {
            CertRole::SmcbAut => oids::POLICY_SMC_B_AUT,
            CertRole::SmcbSig => oids::POLICY_SMC_B_OSIG,
            CertRole::SmcbEnc => oids::POLICY_SMC_B_ENC,
            CertRole::FdAut => oids::POLICY_FD_AUT,
            CertRole::FdSig => oids::POLICY_FD_SIG,
            CertRole::FdEnc => oids::POLICY_FD_ENC,
        }
    }

    fn from_policy(oid: &Oid) -> Option<CertRole> {
        [
            CertRole::SmcbAut,
            CertRole::SmcbSig,
            CertRole::SmcbEnc,
            CertRole::FdAut,
            CertRole::FdSig,
            CertRole::FdEnc,
        ]
        .into_iter()
        .find(|r| r.policy() == *oid)
    }
}

impl std::fmt::Display for CertRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A certificate's role and what it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleReading {
    /// `None` when nothing in the certificate names a role.
    pub role: Option<CertRole>,
    /// Where the role was read from, for diagnoses ("certificatePolicies 1.2.276.0.76.4.77", …).
    pub basis: String,
}

fn key_usage(cert: &Certificate) -> Option<KeyUsage> {
    cert.tbs_certificate()
        .get_extension::<KeyUsage>()
        .ok()
        .flatten()
        .map(|(_, ku)| ku)
}

/// Read the role of an SMC-B or service certificate: from its certificatePolicies when it has a TI policy
/// OID; else from an unambiguous keyUsage of a card certificate (`nonRepudiation` only: signature;
/// `digitalSignature` only: authentication; `keyAgreement`: encryption); else from the role written in
/// the subject's CN (`C.AUT`, `C.SIG`, `C.ENC`, as test PKIs of older konform versions name them).
pub fn role_of(cert: &Certificate) -> RoleReading {
    if let Ok(Some((_, policies))) = cert
        .tbs_certificate()
        .get_extension::<CertificatePolicies>()
    {
        for p in &policies.0 {
            if let Some(role) = CertRole::from_policy(&p.policy_identifier) {
                return RoleReading {
                    role: Some(role),
                    basis: format!("certificatePolicies {}", p.policy_identifier),
                };
            }
        }
    }
    if let Some(ku) = key_usage(cert) {
        let (ds, nr, ka) = (
            ku.0.contains(KeyUsages::DigitalSignature),
            ku.0.contains(KeyUsages::NonRepudiation),
            ku.0.contains(KeyUsages::KeyAgreement),
        );
        let role = match (ds, nr, ka) {
            (false, true, false) => Some(CertRole::SmcbSig),
            (true, false, false) => Some(CertRole::SmcbAut),
            (false, false, true) => Some(CertRole::SmcbEnc),
            _ => None,
        };
        if let Some(role) = role {
            return RoleReading {
                role: Some(role),
                basis: format!("keyUsage {:?}", ku.0),
            };
        }
    }
    let cn = super::subject_string(cert);
    let role = if cn.contains("C.SIG") || cn.contains("OSIG") {
        Some(CertRole::SmcbSig)
    } else if cn.contains("C.AUT") {
        Some(CertRole::SmcbAut)
    } else if cn.contains("C.ENC") {
        Some(CertRole::SmcbEnc)
    } else {
        None
    };
    RoleReading {
        role,
        basis: if role.is_some() {
            "the role named in the subject".into()
        } else {
            "no TI policy OID, no unambiguous keyUsage, no role in the subject".into()
        },
    }
}
