//! XTA faults in the real shape: a SOAP 1.2 `env:Fault` (Code Sender/Receiver, Reason) whose `env:Detail`
//! holds the exception element the WSDL names for the operation (`xta:PermissionDeniedException`, …) with
//! one `xta:errorCode` from the code list `urn:de:xta:webservice:codeliste:fehlernummer` 1.0 (`code` and
//! `name` unqualified, as the XÖV code type declares them). The complete list 9000–9101 is below, texts as
//! in `XTA-Webservice-Datentypen.xsd` (`Codelist.Fehlernummer`).

use crate::ns;
use crate::xml::W;
use sim_kit::Diagnosis;

/// The exception elements of `XTA-Webservice-Exceptions.xsd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Exception {
    PermissionDenied,
    ParameterIsNotValid,
    XtaWsTechnicalProblem,
    MessageSchemaViolation,
    MessageVirusDetection,
    SyncAsync,
    InvalidMessageId,
    CancelDenied,
}

impl Exception {
    pub fn element(self) -> &'static str {
        match self {
            Exception::PermissionDenied => "PermissionDeniedException",
            Exception::ParameterIsNotValid => "ParameterIsNotValidException",
            Exception::XtaWsTechnicalProblem => "XTAWSTechnicalProblemException",
            Exception::MessageSchemaViolation => "MessageSchemaViolationException",
            Exception::MessageVirusDetection => "MessageVirusDetectionException",
            Exception::SyncAsync => "SyncAsyncException",
            Exception::InvalidMessageId => "InvalidMessageIDException",
            Exception::CancelDenied => "CancelDeniedException",
        }
    }
}

/// One entry of the code list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub code: u16,
    pub name: &'static str,
    /// The exception that carries this code.
    pub exception: Exception,
}

const fn c(code: u16, name: &'static str, exception: Exception) -> Code {
    Code {
        code,
        name,
        exception,
    }
}

use Exception::*;

/// Every code of `urn:de:xta:webservice:codeliste:fehlernummer` version 1.0.
pub mod codes {
    use super::*;
    pub const UNSPECIFIED: Code = c(
        9000,
        "Unspezifizierter Fehler, als Freitext beschrieben",
        ParameterIsNotValid,
    );
    pub const CERT_EXPIRED: Code = c(
        9010,
        "Authentisierung/Zertifikat ist abgelaufen.",
        PermissionDenied,
    );
    pub const ACCOUNT_LOCKED: Code = c(9011, "Account ist gesperrt.", PermissionDenied);
    pub const NO_ACCOUNT: Code = c(9012, "Account nicht vorhanden.", PermissionDenied);
    pub const NOT_BOOKED: Code = c(9013, "Dienst ist nicht gebucht.", PermissionDenied);
    pub const CERT_MISMATCH: Code = c(
        9014,
        "Authentisierung/Zertifikat passt nicht zur Absenderkennung.",
        PermissionDenied,
    );
    pub const NO_PARAMETERS: Code = c(9020, "Keine Parameter vorhanden", ParameterIsNotValid);
    pub const INVALID_URI: Code = c(9021, "Keine gültige URI", ParameterIsNotValid);
    pub const INVALID_COMBINATION: Code =
        c(9022, "Ungültige Parameterkombination", ParameterIsNotValid);
    pub const TOO_LARGE: Code = c(
        9023,
        "Die Nachricht überschreitet die Größenbeschränkung.",
        ParameterIsNotValid,
    );
    pub const ID_TAKEN: Code = c(9024, "MessageID ist bereits vergeben.", ParameterIsNotValid);
    pub const INTERNAL: Code = c(
        9030,
        "Interner Fehler beim XTA-Server bzw. XTA-Dienstleister",
        XtaWsTechnicalProblem,
    );
    pub const DIRECTORY: Code = c(
        9031,
        "Fehler beim externen Verzeichnisdienst",
        XtaWsTechnicalProblem,
    );
    pub const DELIVERY: Code = c(9032, "Fehler bei der Zustellung", XtaWsTechnicalProblem);
    pub const NOT_SCHEMA_VALID: Code = c(
        9050,
        "Fachnachricht ist nicht schemakonform",
        MessageSchemaViolation,
    );
    pub const WRONG_ENCODING: Code = c(
        9051,
        "Fachnachricht trägt ein falsches Encoding.",
        MessageSchemaViolation,
    );
    pub const PROFILE_VIOLATION: Code = c(
        9052,
        "Nachricht verletzt das entsprechende Service Profil.",
        MessageSchemaViolation,
    );
    pub const VIRUS: Code = c(
        9060,
        "Es wurde schadhafter Code ermittelt.",
        MessageVirusDetection,
    );
    pub const UNKNOWN_MESSAGE_ID: Code = c(
        9070,
        "MessageID für den Account nicht bekannt.",
        InvalidMessageId,
    );
    pub const ONLY_ASYNC: Code = c(9080, "Der Dienst wird nur asynchron angeboten.", SyncAsync);
    pub const ONLY_SYNC: Code = c(9081, "Der Dienst wird nur synchron angeboten.", SyncAsync);
    pub const NOT_BEFORE_PASSED: Code = c(
        9100,
        "Der durch den Schalter NotBefore gesetzte Termin ist verstrichen.",
        CancelDenied,
    );
    pub const NO_NOT_BEFORE: Code = c(
        9101,
        "Der Schalter NotBefore wurde nicht gesetzt.",
        CancelDenied,
    );

    pub const ALL: [Code; 23] = [
        UNSPECIFIED,
        CERT_EXPIRED,
        ACCOUNT_LOCKED,
        NO_ACCOUNT,
        NOT_BOOKED,
        CERT_MISMATCH,
        NO_PARAMETERS,
        INVALID_URI,
        INVALID_COMBINATION,
        TOO_LARGE,
        ID_TAKEN,
        INTERNAL,
        DIRECTORY,
        DELIVERY,
        NOT_SCHEMA_VALID,
        WRONG_ENCODING,
        PROFILE_VIOLATION,
        VIRUS,
        UNKNOWN_MESSAGE_ID,
        ONLY_ASYNC,
        ONLY_SYNC,
        NOT_BEFORE_PASSED,
        NO_NOT_BEFORE,
    ];

    pub fn lookup(code: u16) -> Option<Code> {
        ALL.iter().copied().find(|c| c.code == code)
    }
}

/// SOAP 1.2 fault codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SoapCode {
    Sender,
    Receiver,
    VersionMismatch,
    MustUnderstand,
}

impl SoapCode {
    pub fn qname(self) -> &'static str {
        match self {
            SoapCode::Sender => "env:Sender",
            SoapCode::Receiver => "env:Receiver",
            SoapCode::VersionMismatch => "env:VersionMismatch",
            SoapCode::MustUnderstand => "env:MustUnderstand",
        }
    }
}

/// A fault to answer with, and why (the diagnosis goes to the journal and `X-Konform-Diagnosis`). Boxed,
/// so that `Result<_, XtaFault>` stays small on the happy path; fields are reached through `Deref`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XtaFault(Box<Fault>);

impl std::ops::Deref for XtaFault {
    type Target = Fault;
    fn deref(&self) -> &Fault {
        &self.0
    }
}

impl std::ops::DerefMut for XtaFault {
    fn deref_mut(&mut self) -> &mut Fault {
        &mut self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub soap: SoapCode,
    /// The XTA error code in the detail; `None` for plain SOAP faults (version mismatch, mustUnderstand).
    pub code: Option<Code>,
    /// `env:Reason/env:Text`; defaults to the code's name.
    pub reason: String,
    pub diagnosis: Diagnosis,
    /// Further diagnoses (warnings seen before the fault).
    pub more: Vec<Diagnosis>,
}

impl XtaFault {
    /// A fault with an XTA error code: Receiver for the server's own problems (9030–9032), Sender otherwise.
    pub fn new(code: Code, diagnosis: Diagnosis) -> XtaFault {
        let soap = if matches!(code.exception, Exception::XtaWsTechnicalProblem) {
            SoapCode::Receiver
        } else {
            SoapCode::Sender
        };
        XtaFault(Box::new(Fault {
            soap,
            code: Some(code),
            reason: code.name.to_string(),
            diagnosis,
            more: Vec::new(),
        }))
    }

    /// Shortcut: code, rule, message.
    pub fn of(code: Code, rule: &str, message: impl Into<String>) -> XtaFault {
        XtaFault::new(code, Diagnosis::new(rule, message))
    }

    /// A SOAP fault without XTA detail.
    pub fn plain(soap: SoapCode, reason: impl Into<String>, diagnosis: Diagnosis) -> XtaFault {
        XtaFault(Box::new(Fault {
            soap,
            code: None,
            reason: reason.into(),
            diagnosis,
            more: Vec::new(),
        }))
    }

    pub fn at(mut self, location: impl Into<String>) -> XtaFault {
        self.diagnosis.location = Some(location.into());
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> XtaFault {
        self.diagnosis.hint = Some(hint.into());
        self
    }
    pub fn seed(mut self, seed: impl Into<String>) -> XtaFault {
        self.diagnosis.seed = Some(seed.into());
        self
    }
    /// The reason text: the code's name followed by an explanation.
    pub fn reason(mut self, reason: impl Into<String>) -> XtaFault {
        self.reason = reason.into();
        self
    }

    /// A fault of the server itself (a simulator bug or an I/O failure): 9030, Receiver.
    pub fn internal(message: impl Into<String>) -> XtaFault {
        XtaFault::of(codes::INTERNAL, "xta.internal", message)
    }

    pub fn code_number(&self) -> Option<u16> {
        self.code.map(|c| c.code)
    }
}

/// The `env:Fault` element (namespace prefix `env` must be bound by the caller's envelope).
pub fn fault_element(f: &XtaFault, with_detail: bool) -> String {
    let mut w = W::new();
    w.open("env:Fault", &[])
        .open("env:Code", &[])
        .leaf("env:Value", f.soap.qname())
        .close("env:Code")
        .open("env:Reason", &[])
        .leaf_attrs("env:Text", &[("xml:lang", "de")], &f.reason)
        .close("env:Reason");
    if let (Some(code), true) = (f.code, with_detail) {
        let el = format!("xta:{}", code.exception.element());
        w.open("env:Detail", &[])
            .open(&el, &[("xmlns:xta", ns::XTA)])
            .open(
                "xta:errorCode",
                &[("listURI", ns::FEHLERNUMMER_LIST), ("listVersionID", "1.0")],
            )
            .leaf("code", &code.code.to_string())
            .leaf("name", code.name)
            .close("xta:errorCode")
            .close(&el)
            .close("env:Detail");
    }
    w.close("env:Fault");
    w.buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_list_is_complete_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in codes::ALL {
            assert!(seen.insert(c.code), "{}", c.code);
        }
        assert_eq!(codes::ALL.len(), 23);
        assert_eq!(
            codes::lookup(9052).unwrap().exception,
            Exception::MessageSchemaViolation
        );
        assert_eq!(
            XtaFault::of(codes::INTERNAL, "x", "y").soap,
            SoapCode::Receiver
        );
        assert_eq!(
            XtaFault::of(codes::NO_ACCOUNT, "x", "y").soap,
            SoapCode::Sender
        );
    }

    #[test]
    fn fault_shape() {
        let f = XtaFault::of(codes::NO_ACCOUNT, "xta.account.unknown", "no account ehp:1");
        let s = fault_element(&f, true);
        assert!(s.contains("<env:Value>env:Sender</env:Value>"), "{s}");
        assert!(s.contains("<xta:PermissionDeniedException xmlns:xta=\"http://xoev.de/transport/xta/211\"><xta:errorCode listURI=\"urn:de:xta:webservice:codeliste:fehlernummer\" listVersionID=\"1.0\"><code>9012</code><name>Account nicht vorhanden.</name>"), "{s}");
        assert!(!fault_element(&f, false).contains("Detail"));
    }
}
