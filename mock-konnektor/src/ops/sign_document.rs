//! SignatureService 7.4 SignDocument: CMS SignedData (`urn:ietf:rfc:5652`), ECDSA-SHA256 by the card's
//! C.SIG, detached unless `IncludeEContent` is true; one SignResponse per SignRequest (RequestID echoed).
//! The seed's example writes `<ns4:IncludeEContent>>false</…>`: taken literally not a boolean, hence 4000
//! with a hint naming the stray `>`.

use super::common::{CARD_HANDLE, CONTEXT, CallContext, CardRef, require_verified};
use super::{OpEnv, OpErr, OpOk, OpResult, hex};
use crate::KonnektorState;
use crate::config::can_sign;
use crate::fault::codes;
use crate::schema::{Child, Particle, collapse, ns, optional, repeated, required};
use crate::write::{XmlWriter, date};
use crate::xml::{XmlError, quote};
use serde_json::json;
use sim_kit::Diagnosis;

pub const CMS: &str = "urn:ietf:rfc:5652";
pub const ECDSA: &str = "urn:bsi:tr:03111:ecdsa";

const CRYPT: Particle = optional(ns::SIG, "Crypt");
const TV_MODE: Particle = required(ns::SIG, "TvMode");
const JOB_NUMBER: Particle = optional(ns::SIG, "JobNumber");
const SIGN_REQUEST: Particle = repeated(ns::SIG, "SignRequest", 1);

const OPTIONAL_INPUTS: Particle = optional(ns::SIG, "OptionalInputs");
const DOCUMENT: Particle = required(ns::SIG, "Document");
const INCLUDE_REVOCATION_INFO: Particle = required(ns::SIG, "IncludeRevocationInfo");

const SIGNATURE_TYPE: Particle = optional(ns::DSS, "SignatureType");
const INCLUDE_ECONTENT: Particle = optional(ns::SIG, "IncludeEContent");
/// The `<all>` of SignRequest/OptionalInputs (SignatureService 7.4.4).
const SIGN_OPTIONS: &[Particle] = &[
    SIGNATURE_TYPE,
    optional(ns::DSS, "Properties"),
    INCLUDE_ECONTENT,
    optional(ns::SIG, "IncludeObjects"),
    optional(ns::DSS, "SignaturePlacement"),
    optional(ns::DSS, "ReturnUpdatedSignature"),
    optional(ns::DSS, "Schemas"),
    optional(ns::SP, "GenerateUnderSignaturePolicy"),
    optional(ns::SIG, "ViewerInfo"),
];

const BASE64_XML: Particle = optional(ns::CONN, "Base64XML");
const BASE64_DATA: Particle = optional(ns::DSS, "Base64Data");

/// One SignRequest.
#[derive(Debug)]
pub struct SignRequest {
    pub request_id: String,
    pub content: Vec<u8>,
    pub embed: bool,
    pub short_text: Option<String>,
    /// SignatureType as sent, with its XPath.
    pub signature_type: Option<(String, String)>,
    pub path: String,
}

#[derive(Debug)]
pub struct SignDocumentRequest {
    pub card: CardRef,
    pub crypt: Option<(String, String)>,
    pub context: CallContext,
    pub job_number: Option<String>,
    pub requests: Vec<SignRequest>,
}

impl SignDocumentRequest {
    pub fn parse(el: &Child<'_>) -> OpResult<SignDocumentRequest> {
        el.allowed_attrs(&[])?;
        let m = el.sequence(&[
            CARD_HANDLE,
            CRYPT,
            CONTEXT,
            TV_MODE,
            JOB_NUMBER,
            SIGN_REQUEST,
        ])?;
        let card = CardRef::parse(&m.required(CARD_HANDLE)?)?;
        let crypt = match m.optional(CRYPT) {
            Some(c) => Some((c.enumeration(&["RSA", "ECC", "RSA_ECC"], false)?, c.path)),
            None => None,
        };
        let context = CallContext::parse(&m.required(CONTEXT)?)?;
        m.required(TV_MODE)?
            .enumeration(&["NONE", "UNCONFIRMED", "CONFIRMED"], false)?;
        let job_number = m.optional(JOB_NUMBER).map(|j| job_number(&j)).transpose()?;
        let requests = m
            .repeated(SIGN_REQUEST)
            .iter()
            .map(SignRequest::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SignDocumentRequest {
            card,
            crypt,
            context,
            job_number,
            requests,
        })
    }

    pub fn apply(self, st: &KonnektorState, env: &OpEnv) -> OpResult<OpOk> {
        let mut notes = Vec::new();
        self.context.check(st, &mut notes)?;
        let i = self.card.inserted(st)?;
        let card = st.card_at(i);
        let handle = &self.card.handle;
        if !can_sign(&card.cfg.card_type) {
            return Err(OpErr::new(
                codes::CARD_TYPE,
                "konnektor.card.type",
                format!("a {} card cannot sign documents", card.cfg.card_type),
            )
            .at(self.card.path.clone()));
        }
        if let Some((crypt, path)) = &self.crypt
            && crypt == "RSA"
        {
            return Err(OpErr::new(
                codes::NO_CERTIFICATE,
                "konnektor.certificate.crypt",
                format!("card '{handle}' has ECC keys only; Crypt=RSA cannot be served"),
            )
            .at(path.clone())
            .hint("use Crypt=ECC (or RSA_ECC, or leave it out)"));
        }
        for r in &self.requests {
            r.check_signature_type()?;
        }
        require_verified(st, i, &self.card.path, "SignDocument")?;
        if card.expiration_date < date(env.now) {
            notes.push(
                Diagnosis::new(
                    "konnektor.certificate.expired",
                    format!(
                        "card '{handle}' signs with a C.SIG certificate that expired on {}",
                        card.expiration_date
                    ),
                )
                .hint("the simulator signs anyway so the receiver's expiry check can be tested"),
            );
        }
        let mut w = XmlWriter::new();
        w.open(
            "SIG:SignDocumentResponse",
            &[
                ("xmlns:SIG", ns::SIG),
                ("xmlns:CONN", ns::CONN),
                ("xmlns:dss", ns::DSS),
            ],
        );
        let mut data = Vec::new();
        for r in &self.requests {
            let mut cms = ti_core::cms::sign(
                &r.content,
                &card.sig.key,
                &card.sig.cert_der,
                r.embed,
                env.now,
            )
            .map_err(|e| {
                OpErr::new(
                    codes::INTERNAL,
                    "konnektor.internal",
                    format!("CMS signing failed: {e}"),
                )
                .at(r.path.clone())
            })?;
            if env.corrupt_signature
                && let Some(last) = cms.last_mut()
            {
                *last ^= 0x01;
            }
            w.open("SIG:SignResponse", &[("RequestID", &r.request_id)])
                .status_ok()
                .open("dss:SignatureObject", &[])
                .leaf_attrs(
                    "dss:Base64Signature",
                    &[("Type", CMS)],
                    &ti_core::b64_encode(&cms),
                )
                .close("dss:SignatureObject")
                .close("SIG:SignResponse");
            data.push(json!({
                "request_id": r.request_id,
                "content_sha256": hex(&ti_core::sha256(&r.content)),
                "content_len": r.content.len(),
                "embedded": r.embed,
                "short_text": r.short_text,
            }));
        }
        w.close("SIG:SignDocumentResponse");
        Ok(OpOk {
            body: w.buf,
            data: Some(json!({
                "card": handle,
                "job_number": self.job_number,
                "documents": data,
                "corrupted": env.corrupt_signature,
            })),
            notes,
        })
    }
}

/// JobNumber: `[A-Z][A-Z][A-Z]-[0-9][0-9][0-9]`.
fn job_number(j: &Child<'_>) -> OpResult<String> {
    let v = j.text()?;
    let b = v.as_bytes();
    let ok = b.len() == 7
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && b[3] == b'-'
        && b[4..].iter().all(u8::is_ascii_digit);
    if !ok {
        return Err(XmlError::new(
            "schema.pattern",
            format!(
                "cvc-pattern-valid: Value '{}' is not facet-valid with respect to pattern '[A-Z][A-Z][A-Z]-[0-9][0-9][0-9]' for type of element '{}'.",
                quote(v),
                quote(j.qname())
            ),
        )
        .at(j.path.clone())
        .into());
    }
    Ok(v.to_string())
}

impl SignRequest {
    fn parse(el: &Child<'_>) -> OpResult<SignRequest> {
        el.allowed_attrs(&["RequestID"])?;
        let request_id = el.required_attr("RequestID")?.to_string();
        let m = el.sequence(&[OPTIONAL_INPUTS, DOCUMENT, INCLUDE_REVOCATION_INFO])?;
        let (signature_type, embed) = match m.optional(OPTIONAL_INPUTS) {
            Some(oi) => sign_options(&oi)?,
            None => (None, false),
        };
        let doc = m.required(DOCUMENT)?;
        let (content, short_text) = document(&doc)?;
        m.required(INCLUDE_REVOCATION_INFO)?.boolean()?;
        Ok(SignRequest {
            request_id,
            content,
            embed,
            short_text,
            signature_type,
            path: el.path.clone(),
        })
    }

    /// 4111 for any SignatureType but CMS.
    fn check_signature_type(&self) -> OpResult<()> {
        let Some((v, tp)) = &self.signature_type else {
            return Ok(());
        };
        if v == CMS {
            return Ok(());
        }
        let hint = if v == ECDSA {
            "urn:bsi:tr:03111:ecdsa is ExternalAuthenticate's type; SignDocument makes CMS: urn:ietf:rfc:5652".to_string()
        } else {
            format!(
                "the IRD signature is CMS: urn:ietf:rfc:5652 (this simulator makes no other type; request at {})",
                self.path
            )
        };
        Err(OpErr::new(
            codes::SIGNATURE_TYPE,
            "konnektor.sign.signature-type",
            format!("SignatureType '{}' is not supported", quote(v)),
        )
        .at(tp.clone())
        .hint(hint)
        .seed("Signierung der Eingangsdaten"))
    }
}

/// SignatureType (with its XPath) and IncludeEContent of SignRequest/OptionalInputs.
fn sign_options(oi: &Child<'_>) -> OpResult<(Option<(String, String)>, bool)> {
    let om = oi.all(SIGN_OPTIONS)?;
    let sig_type = match om.optional(SIGNATURE_TYPE) {
        Some(t) => Some((collapse(t.text()?), t.path)),
        None => None,
    };
    let embed = match om.optional(INCLUDE_ECONTENT) {
        None => false,
        Some(c) => c.boolean().map_err(|e| {
            let mut err: OpErr = e.into();
            if c.el.text().trim_start().starts_with('>') {
                err = err
                    .hint("a stray '>' before the value: the IRD seed's example reads `<ns4:IncludeEContent>>false</ns4:IncludeEContent>`, write `<ns4:IncludeEContent>false</ns4:IncludeEContent>`")
                    .seed("Signierung der Eingangsdaten");
            }
            err
        })?,
    };
    Ok((sig_type, embed))
}

/// The document content (Base64XML or Base64Data, exactly one) and its ShortText.
fn document(doc: &Child<'_>) -> OpResult<(Vec<u8>, Option<String>)> {
    doc.allowed_attrs(&["ID", "RefURI", "RefType", "SchemaRefs", "ShortText"])?;
    let dm = doc.sequence(&[BASE64_XML, BASE64_DATA])?;
    let content = match (dm.optional(BASE64_XML), dm.optional(BASE64_DATA)) {
        (Some(x), None) => x.base64()?,
        (None, Some(d)) => {
            d.allowed_attrs(&["MimeType"])?;
            d.base64()?
        }
        (None, None) => {
            return Err(XmlError::new(
                "schema.missing-element",
                format!(
                    "cvc-complex-type.2.4.b: The content of element '{}' is not complete. One of '{{\"{}\":Base64XML, \"{}\":Base64Data}}' is expected.",
                    quote(doc.qname()),
                    ns::CONN,
                    ns::DSS
                ),
            )
            .at(doc.path.clone())
            .into());
        }
        (Some(_), Some(d)) => {
            return Err(XmlError::new(
                "schema.unexpected-element",
                format!(
                    "cvc-complex-type.2.4.d: Invalid content was found starting with element '{}'. No child element is expected at this point.",
                    quote(d.qname())
                ),
            )
            .at(d.path)
            .into());
        }
    };
    let short_text = doc.el.attr("ShortText");
    if short_text.is_some_and(|s| s.chars().count() > 1000) {
        return Err(XmlError::new(
            "schema.max-length",
            "cvc-maxLength-valid: ShortText is longer than 1000 characters.",
        )
        .at(doc.path.clone())
        .into());
    }
    Ok((content, short_text.map(str::to_string)))
}
