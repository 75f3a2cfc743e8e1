//! The seed's OSCI profile (001, section 4.2; rules and parameters in `profiles/fim-osci.yaml`) checked
//! where the intermediary can see it: certificates (rule 1), content encrypted (rule 4), exactly one
//! content container (rule 10), its size (rule 10), AES-256-GCM for the content (rule 11). Transport
//! encryption (rules 6 and 11 for usage data) is checked in `outer`/`ops`. Each violation names the rule
//! and the OSCI code it is refused with. No I/O.

use crate::certs::{Trust, Verdict};
use crate::request::{Kind, Request};
use crate::xml::{Document, OSCI, SOAP, XENC};
use serde::Deserialize;

/// The profile file.
#[derive(Clone, Debug, Deserialize)]
pub struct Profile {
    pub name: String,
    pub seed: String,
    pub rules: Vec<Rule>,
    pub parameters: Parameters,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Rule {
    pub no: u8,
    pub topic: String,
    pub asks: String,
    pub checked: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Parameters {
    pub container_ref_id: String,
    pub proof_element: String,
    pub max_message_bytes: usize,
    pub symmetric: String,
    pub digest: String,
}

pub const FIM_PROFILE_YAML: &str = include_str!("../profiles/fim-osci.yaml");

/// The FIM profile shipped with mock-osci.
pub fn fim() -> Result<Profile, String> {
    serde_saphyr::from_str(FIM_PROFILE_YAML).map_err(|e| format!("profiles/fim-osci.yaml: {e}"))
}

impl Profile {
    pub fn rule(&self, no: u8) -> Option<&Rule> {
        self.rules.iter().find(|r| r.no == no)
    }
}

/// One violation: the profile rule, a stable rule name, the OSCI code it is refused with, why, where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub rule_no: u8,
    pub rule: &'static str,
    pub code: &'static str,
    pub message: String,
    pub location: Option<String>,
}

/// (untrusted or out of validity, revoked) codes per certificate role (OSCI 1.2 feedback table).
fn role_codes(role: &str) -> (&'static str, &'static str) {
    match role {
        "CipherCertificateOriginator" => ("9501", "9502"),
        "SignatureCertificateOriginator" => ("9700", "9701"),
        "CipherCertificateAddressee" => ("9706", "9707"),
        "SignatureCertificateAddressee" => ("9711", "9712"),
        "CipherCertificateOtherReader" => ("9708", "9709"),
        "CipherCertificateOtherAuthor" => ("9704", "9705"),
        _ => ("9710", "9710"),
    }
}

/// Rule 1 for every certificate of the request.
pub fn certificates(req: &Request, trust: &Trust, now: i64) -> Vec<Violation> {
    let mut v = Vec::new();
    for c in &req.certs {
        let verdict = trust.check(&c.cert, now);
        let (bad, revoked) = role_codes(&c.role);
        let (code, why) = match verdict {
            Verdict::Ok => continue,
            Verdict::Untrusted => (bad, "is not issued by the configured DOI-CA"),
            Verdict::Expired => (bad, "is expired"),
            Verdict::NotYetValid => (bad, "is not yet valid"),
            Verdict::Revoked => (revoked, "is revoked"),
        };
        v.push(Violation {
            rule_no: 1,
            rule: "osci.profile.certificate",
            code,
            message: format!("{} `{}` {why}", c.role, c.cert.subject()),
            location: Some(format!(
                "/soap:Envelope/soap:Header/osci:NonIntermediaryCertificates/osci:{}",
                c.role
            )),
        });
    }
    v
}

/// Rules 4, 10 (one container, size) and 11 for a StoreDelivery.
pub fn content(
    req: &Request,
    doc: &Document<'_>,
    message_len: usize,
    p: &Parameters,
) -> Vec<Violation> {
    let mut v = Vec::new();
    if req.kind != Kind::StoreDelivery {
        return v;
    }
    let loc = "/soap:Envelope/soap:Body/osci:ContentPackage";
    if message_len > p.max_message_bytes {
        v.push(Violation {
            rule_no: 10,
            rule: "osci.profile.size",
            code: "9904",
            message: format!(
                "the message has {message_len} bytes; at most {} (40 MB) are allowed as a whole",
                p.max_message_bytes
            ),
            location: None,
        });
    }
    let package = doc
        .root
        .child(SOAP, "Body")
        .and_then(|b| b.child(OSCI, "ContentPackage"));
    let Some(package) = package else {
        v.push(Violation {
            rule_no: 10,
            rule: "osci.profile.one-container",
            code: "9300",
            message: "no ContentPackage: a delivery carries exactly one content container".into(),
            location: Some(loc.into()),
        });
        return v;
    };
    let encrypted: Vec<_> = package.children_named(XENC, "EncryptedData").collect();
    let plain: Vec<_> = package.children_named(OSCI, "ContentContainer").collect();
    for c in &plain {
        v.push(Violation {
            rule_no: 4,
            rule: "osci.profile.content-encrypted",
            code: "9300",
            message: format!("content container `{}` is not encrypted; content data must be encrypted for the addressee", c.attr("Id").unwrap_or("?")),
            location: Some(format!("{loc}/osci:ContentContainer")),
        });
    }
    if encrypted.len() + plain.len() != 1 {
        v.push(Violation {
            rule_no: 10,
            rule: "osci.profile.one-container",
            code: "9300",
            message: format!(
                "{} content containers; exactly one (RefID {}) is allowed",
                encrypted.len() + plain.len(),
                p.container_ref_id
            ),
            location: Some(loc.into()),
        });
    }
    for e in &encrypted {
        let alg = e
            .child(XENC, "EncryptionMethod")
            .and_then(|m| m.attr("Algorithm"))
            .unwrap_or("");
        if alg != p.symmetric {
            v.push(Violation {
                rule_no: 11,
                rule: "osci.profile.aes-256-gcm",
                code: "9300",
                message: format!(
                    "the content is encrypted with {}; only AES-256-GCM is allowed",
                    crate::crypto::sym_name(alg)
                ),
                location: Some(format!("{loc}/xenc:EncryptedData/xenc:EncryptionMethod")),
            });
        }
    }
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_profile_file_names_every_rule() {
        let p = super::fim().unwrap();
        for n in [1, 2, 3, 4, 5, 6, 7, 8, 10, 11] {
            assert!(p.rule(n).is_some(), "rule {n}");
        }
        assert_eq!(p.parameters.container_ref_id, "FIM_DATA");
        assert_eq!(p.parameters.max_message_bytes, 40 * 1024 * 1024);
    }
}
