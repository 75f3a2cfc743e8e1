//! AuthSignatureService 7.4 ExternalAuthenticate: `urn:bsi:tr:03111:ecdsa` (or no SignatureType, noted)
//! over exactly 32 bytes (a SHA-256), DER ECDSA by the card's C.AUT.

use super::common::{CARD_HANDLE, CONTEXT, CallContext, CardRef, require_verified};
use super::sign_document::{CMS, ECDSA};
use super::{OpEnv, OpErr, OpOk, OpResult, hex};
use crate::KonnektorState;
use crate::config::can_sign;
use crate::fault::codes;
use crate::schema::{Child, Particle, collapse, ns, optional, required};
use crate::write::XmlWriter;
use crate::xml::quote;
use serde_json::json;
use sim_kit::Diagnosis;

const OPTIONAL_INPUTS: Particle = optional(ns::SIG, "OptionalInputs");
const BINARY_STRING: Particle = required(ns::SIG, "BinaryString");
const SIGNATURE_TYPE: Particle = optional(ns::DSS, "SignatureType");
const SIGNATURE_SCHEMES: Particle = optional(ns::SIG, "SignatureSchemes");
const BASE64_DATA: Particle = required(ns::DSS, "Base64Data");

#[derive(Debug)]
pub struct ExternalAuthenticateRequest {
    pub card: CardRef,
    pub context: CallContext,
    /// SignatureType as sent, with its XPath.
    pub signature_type: Option<(String, String)>,
    pub signature_scheme: Option<String>,
    pub input: Vec<u8>,
    pub input_path: String,
}

impl ExternalAuthenticateRequest {
    pub fn parse(el: &Child<'_>) -> OpResult<ExternalAuthenticateRequest> {
        el.allowed_attrs(&[])?;
        let m = el.sequence(&[CARD_HANDLE, CONTEXT, OPTIONAL_INPUTS, BINARY_STRING])?;
        let card = CardRef::parse(&m.required(CARD_HANDLE)?)?;
        let context = CallContext::parse(&m.required(CONTEXT)?)?;
        let mut signature_type = None;
        let mut signature_scheme = None;
        if let Some(oi) = m.optional(OPTIONAL_INPUTS) {
            let om = oi.all(&[SIGNATURE_TYPE, SIGNATURE_SCHEMES])?;
            if let Some(t) = om.optional(SIGNATURE_TYPE) {
                signature_type = Some((collapse(t.text()?), t.path));
            }
            if let Some(s) = om.optional(SIGNATURE_SCHEMES) {
                signature_scheme =
                    Some(s.enumeration(&["RSASSA-PSS", "RSASSA-PKCS1-v1_5"], false)?);
            }
        }
        let bs = m.required(BINARY_STRING)?;
        bs.allowed_attrs(&["ID", "RefURI", "RefType", "SchemaRefs"])?;
        let data = bs.all(&[BASE64_DATA])?.required(BASE64_DATA)?;
        data.allowed_attrs(&["MimeType"])?;
        Ok(ExternalAuthenticateRequest {
            card,
            context,
            signature_type,
            signature_scheme,
            input: data.base64()?,
            input_path: data.path,
        })
    }

    pub fn apply(self, st: &KonnektorState, env: &OpEnv) -> OpResult<OpOk> {
        let mut notes = Vec::new();
        self.context.check(st, &mut notes)?;
        let i = self.card.inserted(st)?;
        let card = st.card_at(i);
        if !can_sign(&card.cfg.card_type) {
            return Err(OpErr::new(
                codes::CARD_TYPE,
                "konnektor.card.type",
                format!("a {} card cannot authenticate", card.cfg.card_type),
            )
            .at(self.card.path.clone()));
        }
        self.check_signature_type(&mut notes)?;
        if let Some(s) = &self.signature_scheme {
            notes.push(Diagnosis::new(
                "konnektor.auth.signature-scheme-ignored",
                format!("SignatureSchemes '{s}' applies to RSA only and is ignored for ECDSA"),
            ));
        }
        self.check_length()?;
        require_verified(st, i, &self.card.path, "ExternalAuthenticate")?;
        let mut sig = card.aut.key.sign_prehash_der(&self.input).map_err(|e| {
            OpErr::new(
                codes::INTERNAL,
                "konnektor.internal",
                format!("ECDSA failed: {e}"),
            )
        })?;
        if env.corrupt_signature
            && let Some(b) = sig.get_mut(10)
        {
            *b ^= 0x01;
        }
        let mut w = XmlWriter::new();
        w.open(
            "SIG:ExternalAuthenticateResponse",
            &[
                ("xmlns:SIG", ns::SIG),
                ("xmlns:CONN", ns::CONN),
                ("xmlns:dss", ns::DSS),
            ],
        );
        w.status_ok()
            .open("dss:SignatureObject", &[])
            .leaf_attrs(
                "dss:Base64Signature",
                &[("Type", ECDSA)],
                &ti_core::b64_encode(&sig),
            )
            .close("dss:SignatureObject")
            .close("SIG:ExternalAuthenticateResponse");
        Ok(OpOk {
            body: w.buf,
            data: Some(json!({
                "card": self.card.handle,
                "input_hex": hex(&self.input),
                "corrupted": env.corrupt_signature,
            })),
            notes,
        })
    }

    /// `urn:bsi:tr:03111:ecdsa`, or none (noted); anything else 4111.
    fn check_signature_type(&self, notes: &mut Vec<Diagnosis>) -> OpResult<()> {
        match &self.signature_type {
            None => {
                notes.push(Diagnosis::new(
                    "konnektor.auth.signature-type-default",
                    "no SignatureType given: the card is ECC-only, so urn:bsi:tr:03111:ecdsa is used",
                ));
                Ok(())
            }
            Some((v, _)) if v == ECDSA => Ok(()),
            Some((v, p)) => {
                let hint = if v == "urn:ietf:rfc:3447" {
                    "urn:ietf:rfc:3447 is RSA; the test cards are brainpoolP256r1 ECC: use urn:bsi:tr:03111:ecdsa"
                } else if v == CMS {
                    "urn:ietf:rfc:5652 is SignDocument's type; ExternalAuthenticate uses urn:bsi:tr:03111:ecdsa"
                } else {
                    "use urn:bsi:tr:03111:ecdsa"
                };
                Err(OpErr::new(
                    codes::SIGNATURE_TYPE,
                    "konnektor.auth.signature-type",
                    format!(
                        "SignatureType '{}' cannot be used with this ECC card",
                        quote(v)
                    ),
                )
                .at(p.clone())
                .hint(hint)
                .seed("Operation ExternalAuthenticate"))
            }
        }
    }

    /// ECDSA over brainpoolP256r1 signs one 32-byte hash.
    fn check_length(&self) -> OpResult<()> {
        let n = self.input.len();
        if n == 32 {
            return Ok(());
        }
        let hint = if n > 32 {
            "send the SHA-256 of the data (32 bytes), not the data itself: urn:bsi:tr:03111:ecdsa signs a hash value"
        } else {
            "urn:bsi:tr:03111:ecdsa signs exactly one 32-byte hash (SHA-256)"
        };
        Err(OpErr::new(
            codes::BAD_INPUT_LENGTH,
            "konnektor.auth.input-length",
            format!("BinaryString has {n} bytes; ECDSA over brainpoolP256r1 takes a 32-byte hash"),
        )
        .at(self.input_path.clone())
        .hint(hint)
        .seed("Operation ExternalAuthenticate"))
    }
}
