//! The operations, one module each. Every module has a typed `…Request`, parsed once from the operation
//! element against the content model of the official XSD (schema errors → 4000 with the validator text), and
//! an `apply` that checks context, card and PIN state against the simulator and answers. Responses are
//! written with [`XmlWriter`](crate::write::XmlWriter) using the schema prefixes.
//!
//! Semantic checks run after the whole request validated, in this order: context (4021, 4004, 4005,
//! 4006), card (4008), card type / PinTyp, Crypt and SignatureType, input length, PIN state.

// A fault is the cold path and is rendered right away; boxing OpErr would only add noise.
#![allow(clippy::result_large_err)]

pub mod common;
pub mod external_authenticate;
pub mod get_card_terminals;
pub mod get_cards;
pub mod get_job_number;
pub mod get_pin_status;
pub mod read_card_certificate;
pub mod sign_document;
pub mod verify_certificate;
pub mod verify_pin;

use crate::KonnektorState;
use crate::fault::{Code, TelFault, codes};
use crate::schema::Child;
use crate::soap::{OpKind, Operation};
use crate::xml::{Element, XmlError, cut};
use sim_kit::Diagnosis;
use std::time::SystemTime;

/// The seed the Konnektor flows come from.
pub(crate) const SEED: &str = "002 \"Übergreifende Beispiele\"";

/// Longest message a diagnosis carries (request text in it is quoted short already; this is the backstop).
const MAX_MESSAGE: usize = 2000;

/// A successful answer: the body element, journal data and notes (diagnoses that did not reject).
#[derive(Debug, Default)]
pub struct OpOk {
    pub body: String,
    pub data: Option<serde_json::Value>,
    pub notes: Vec<Diagnosis>,
}

/// A fault with the diagnosis that explains it.
#[derive(Debug)]
pub struct OpErr {
    pub fault: TelFault,
    pub diagnosis: Diagnosis,
}

impl OpErr {
    pub fn new(code: Code, rule: &str, message: impl Into<String>) -> OpErr {
        let message = cut(&message.into(), MAX_MESSAGE).into_owned();
        OpErr {
            fault: TelFault::new(code).detail(message.clone()),
            diagnosis: Diagnosis::new(rule, message),
        }
    }
    pub fn at(mut self, loc: impl Into<String>) -> OpErr {
        self.diagnosis = self.diagnosis.at(loc);
        self
    }
    pub fn hint(mut self, h: impl Into<String>) -> OpErr {
        self.diagnosis = self.diagnosis.hint(h);
        self
    }
    /// Name the seed passage the rule comes from.
    pub fn seed(mut self, passage: &str) -> OpErr {
        self.diagnosis = self.diagnosis.seed(format!("{SEED}: {passage}"));
        self
    }
}

impl From<XmlError> for OpErr {
    fn from(e: XmlError) -> OpErr {
        let reason = cut(&e.reason, MAX_MESSAGE).into_owned();
        let mut d = Diagnosis::new(format!("konnektor.{}", e.rule), reason.clone());
        if let Some(l) = &e.location {
            d = d.at(cut(l, MAX_MESSAGE).into_owned());
        }
        OpErr {
            fault: TelFault::new(codes::SYNTAX).detail(reason),
            diagnosis: d,
        }
    }
}

pub type OpResult<T> = Result<T, OpErr>;

/// What an operation may depend on besides the request and the simulator state.
#[derive(Clone, Copy, Debug)]
pub struct OpEnv {
    /// The time of the request (signing time, InformationDate, default VerificationTime, expiry notes).
    pub now: SystemTime,
    /// An injected `bad_signature` fault: flip a bit in the signature.
    pub corrupt_signature: bool,
}

/// Run one operation: parse its typed request from the operation element, then apply it.
pub fn execute(
    st: &KonnektorState,
    op: &Operation,
    el: &Element<'_>,
    env: &OpEnv,
) -> OpResult<OpOk> {
    let payload = Child::payload(*el);
    let Some(kind) = op.kind else {
        return Err(OpErr::new(
            codes::INTERNAL,
            "konnektor.not-implemented",
            format!("{} is not implemented", op.name),
        ));
    };
    match kind {
        OpKind::GetCards => get_cards::GetCardsRequest::parse(&payload)?.apply(st),
        OpKind::GetCardTerminals => {
            get_card_terminals::GetCardTerminalsRequest::parse(&payload)?.apply(st, env)
        }
        OpKind::VerifyPin => verify_pin::VerifyPinRequest::parse(&payload)?.apply(st),
        OpKind::GetPinStatus => get_pin_status::GetPinStatusRequest::parse(&payload)?.apply(st),
        OpKind::ReadCardCertificate => {
            read_card_certificate::ReadCardCertificateRequest::parse(&payload)?.apply(st)
        }
        OpKind::VerifyCertificate => {
            verify_certificate::VerifyCertificateRequest::parse(&payload)?.apply(st, env)
        }
        OpKind::SignDocument => sign_document::SignDocumentRequest::parse(&payload)?.apply(st, env),
        OpKind::GetJobNumber => get_job_number::GetJobNumberRequest::parse(&payload)?.apply(st),
        OpKind::ExternalAuthenticate => {
            external_authenticate::ExternalAuthenticateRequest::parse(&payload)?.apply(st, env)
        }
    }
}

/// Lower-case hex, for journal data.
pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
