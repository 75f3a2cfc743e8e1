//! CertificateService 6.0 VerifyCertificate: VALID when the certificate chains to the test CA and is valid
//! at `VerificationTime` (default: the time of the request), else INVALID — answered, not faulted.

use super::common::{CONTEXT, CallContext};
use super::{OpEnv, OpOk, OpResult};
use crate::KonnektorState;
use crate::schema::{Child, Particle, ns, optional, parse_date_time, required};
use crate::write::XmlWriter;
use serde_json::json;
use sim_kit::Diagnosis;
use std::time::SystemTime;

const X509_CERTIFICATE: Particle = required(ns::CERTCMN, "X509Certificate");
const VERIFICATION_TIME: Particle = optional(ns::CERT, "VerificationTime");

#[derive(Debug)]
pub struct VerifyCertificateRequest {
    pub context: CallContext,
    pub der: Vec<u8>,
    pub cert_path: String,
    pub at: Option<SystemTime>,
}

impl VerifyCertificateRequest {
    pub fn parse(el: &Child<'_>) -> OpResult<VerifyCertificateRequest> {
        let m = el.sequence(&[CONTEXT, X509_CERTIFICATE, VERIFICATION_TIME])?;
        let cert = m.required(X509_CERTIFICATE)?;
        Ok(VerifyCertificateRequest {
            context: CallContext::parse(&m.required(CONTEXT)?)?,
            der: cert.base64()?,
            cert_path: cert.path,
            at: match m.optional(VERIFICATION_TIME) {
                Some(c) => parse_date_time(&c.date_time()?),
                None => None,
            },
        })
    }

    pub fn apply(self, st: &KonnektorState, env: &OpEnv) -> OpResult<OpOk> {
        let mut notes = Vec::new();
        self.context.check(st, &mut notes)?;
        let at = self.at.unwrap_or(env.now);
        let (result, reason) = match <x509_cert::Certificate as der::Decode>::from_der(&self.der) {
            Err(e) => ("INVALID", format!("not an X.509 certificate: {e}")),
            Ok(cert) => match ti_core::pki::verify_chain(&cert, &[], &[st.pki().ca.cert()], at) {
                Ok(()) => ("VALID", "chains to the test CA and is valid".to_string()),
                Err(e) => ("INVALID", e.to_string()),
            },
        };
        if result != "VALID" {
            notes.push(
                Diagnosis::new("konnektor.certificate.invalid", reason.clone())
                    .at(self.cert_path.clone()),
            );
        }
        let mut w = XmlWriter::new();
        w.open(
            "CERT:VerifyCertificateResponse",
            &[("xmlns:CERT", ns::CERT), ("xmlns:CONN", ns::CONN)],
        );
        w.status_ok()
            .open("CERT:VerificationStatus", &[])
            .leaf("CERT:VerificationResult", result)
            .close("CERT:VerificationStatus")
            .open("CERT:RoleList", &[])
            .leaf("CERT:Role", "1.2.276.0.76.4.59")
            .close("CERT:RoleList")
            .close("CERT:VerifyCertificateResponse");
        Ok(OpOk {
            body: w.buf,
            data: Some(json!({ "result": result, "reason": reason })),
            notes,
        })
    }
}
