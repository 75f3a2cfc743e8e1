//! CertificateService 6.0 ReadCardCertificate: C.AUT, C.ENC, C.SIG (C.QES on an HBA) of a card, ECC only
//! (`Crypt` RSA → 4149); issuer and subject as RFC 4514 strings, serial in decimal.

use super::common::{CARD_HANDLE, CONTEXT, CallContext, CardRef};
use super::{OpErr, OpOk, OpResult};
use crate::KonnektorState;
use crate::fault::codes;
use crate::schema::{Child, Particle, ns, optional, repeated, required};
use crate::write::XmlWriter;
use serde_json::json;

const CERT_REF_LIST: Particle = required(ns::CERT, "CertRefList");
const CERT_REF: Particle = repeated(ns::CERT, "CertRef", 1);
const CRYPT: Particle = optional(ns::CERT, "Crypt");

#[derive(Debug)]
pub struct ReadCardCertificateRequest {
    pub card: CardRef,
    pub context: CallContext,
    pub refs: Vec<String>,
    pub refs_path: String,
    pub crypt: Option<(String, String)>,
}

impl ReadCardCertificateRequest {
    pub fn parse(el: &Child<'_>) -> OpResult<ReadCardCertificateRequest> {
        el.allowed_attrs(&[])?;
        let m = el.sequence(&[CARD_HANDLE, CONTEXT, CERT_REF_LIST, CRYPT])?;
        let card = CardRef::parse(&m.required(CARD_HANDLE)?)?;
        let context = CallContext::parse(&m.required(CONTEXT)?)?;
        let list = m.required(CERT_REF_LIST)?;
        let refs = list
            .sequence(&[CERT_REF])?
            .repeated(CERT_REF)
            .iter()
            .map(|r| r.enumeration(&["C.AUT", "C.ENC", "C.SIG", "C.QES"], true))
            .collect::<Result<Vec<_>, _>>()?;
        let crypt = match m.optional(CRYPT) {
            Some(c) => Some((c.enumeration(&["RSA", "ECC"], true)?, c.path)),
            None => None,
        };
        Ok(ReadCardCertificateRequest {
            card,
            context,
            refs,
            refs_path: list.path,
            crypt,
        })
    }

    pub fn apply(self, st: &KonnektorState) -> OpResult<OpOk> {
        let mut notes = Vec::new();
        self.context.check(st, &mut notes)?;
        let i = self.card.inserted(st)?;
        let card = st.card_at(i);
        let handle = &self.card.handle;
        if let Some((crypt, path)) = &self.crypt
            && crypt == "RSA"
        {
            return Err(OpErr::new(
                    codes::NO_CERTIFICATE,
                    "konnektor.certificate.crypt",
                    format!("card '{handle}' has ECC (brainpoolP256r1) certificates only; Crypt=RSA cannot be served"),
                )
                .at(path.clone())
                .hint("ask for Crypt=ECC or leave Crypt out"));
        }
        let mut w = XmlWriter::new();
        w.open(
            "CERT:ReadCardCertificateResponse",
            &[
                ("xmlns:CERT", ns::CERT),
                ("xmlns:CONN", ns::CONN),
                ("xmlns:CERTCMN", ns::CERTCMN),
            ],
        );
        w.status_ok().open("CERTCMN:X509DataInfoList", &[]);
        for r in &self.refs {
            let Some(id) = card.certificate(r) else {
                return Err(OpErr::new(
                    codes::NO_CERTIFICATE,
                    "konnektor.certificate.ref",
                    format!(
                        "card '{handle}' ({}) has no {r} certificate",
                        card.cfg.card_type
                    ),
                )
                .at(self.refs_path.clone())
                .hint(match crate::config::cert_refs(&card.cfg.card_type) {
                    [] => format!("a {} card carries no certificates", card.cfg.card_type),
                    refs => format!("a {} card carries {}", card.cfg.card_type, refs.join(", ")),
                }));
            };
            let cert = id.cert();
            let tbs = cert.tbs_certificate();
            w.open("CERTCMN:X509DataInfo", &[])
                .leaf("CERTCMN:CertRef", r)
                .open("CERTCMN:X509Data", &[])
                .open("CERTCMN:X509IssuerSerial", &[])
                .leaf("CERTCMN:X509IssuerName", &tbs.issuer().to_string())
                .leaf(
                    "CERTCMN:X509SerialNumber",
                    &big_decimal(tbs.serial_number().as_bytes()),
                )
                .close("CERTCMN:X509IssuerSerial")
                .leaf("CERTCMN:X509SubjectName", &tbs.subject().to_string())
                .leaf(
                    "CERTCMN:X509Certificate",
                    &ti_core::b64_encode(&id.cert_der),
                )
                .close("CERTCMN:X509Data")
                .close("CERTCMN:X509DataInfo");
        }
        w.close("CERTCMN:X509DataInfoList")
            .close("CERT:ReadCardCertificateResponse");
        Ok(OpOk {
            body: w.buf,
            data: Some(json!({ "card": handle, "refs": self.refs })),
            notes,
        })
    }
}

/// Unsigned big-endian bytes as a decimal string.
pub fn big_decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0];
    for &b in bytes {
        let mut carry = u32::from(b);
        for d in &mut digits {
            let v = u32::from(*d) * 256 + carry;
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
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

#[cfg(test)]
mod tests {
    use super::big_decimal;

    #[test]
    fn decimal_serials() {
        assert_eq!(big_decimal(&[0]), "0");
        assert_eq!(big_decimal(&[0x01, 0x00]), "256");
        assert_eq!(big_decimal(&[0x5c, 0x4a, 0x2e, 0xed]), "1548365549");
        assert_eq!(big_decimal(&u64::MAX.to_be_bytes()), u64::MAX.to_string());
    }
}
