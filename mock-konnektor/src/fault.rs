//! SOAP 1.1 faults in the shape real Konnektors send (`reference/konnektor/recorded/responses/
//! soap-error-response.xml`): `faultcode`, `faultstring` = the error text, and a tel/error 2.0 `Error` with
//! MessageID, Timestamp and one Trace (EventID, Instance, LogReference, CompType, Code, Severity, ErrorType,
//! ErrorText, optional Detail). Sent with HTTP 500 as SOAP 1.1 §6.2 prescribes.

use crate::write::{XmlWriter, envelope};
use crate::xml::cut;

/// Longest `Detail` text a fault carries (a validator message quoting request text is cut with its size).
pub const MAX_DETAIL: usize = 2000;

/// Who is at fault in SOAP terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultCode {
    Client,
    Server,
    VersionMismatch,
    MustUnderstand,
}

impl FaultCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultCode::Client => "S:Client",
            FaultCode::Server => "S:Server",
            FaultCode::VersionMismatch => "S:VersionMismatch",
            FaultCode::MustUnderstand => "S:MustUnderstand",
        }
    }
}

/// A tel/error code with its text, type and severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub code: u32,
    pub text: &'static str,
    pub error_type: &'static str,
    pub severity: &'static str,
    pub faultcode: FaultCode,
}

const fn c(code: u32, text: &'static str, error_type: &'static str, faultcode: FaultCode) -> Code {
    Code {
        code,
        text,
        error_type,
        severity: "Error",
        faultcode,
    }
}

use FaultCode::{Client, Server};

/// Every code this simulator sends. Codes and texts marked "recorded" appear in the recorded responses or
/// `reference/vectors.md`; the others are this simulator's choice and documented as such in
/// `docs/konnektor.md`.
pub mod codes {
    use super::*;
    /// recorded: `readcertificate-error-response.xml`
    pub const SYNTAX: Code = c(4000, "Syntaxfehler", "Technical", Client);
    /// Internal error (a simulator bug or an impossible state).
    pub const INTERNAL: Code = c(4001, "Interner Fehler", "Technical", Server);
    /// recorded: `soap-error-response.xml`
    pub const MANDANT: Code = c(4004, "Ungültige Mandanten-ID", "Technical", Server);
    pub const CLIENT_SYSTEM: Code = c(4005, "Ungültige Clientsystem-ID", "Technical", Server);
    pub const WORKPLACE: Code = c(4006, "Ungültige Arbeitsplatz-ID", "Technical", Server);
    pub const CARD_NOT_INSERTED: Code = c(
        4008,
        "Karte nicht als gesteckt identifiziert",
        "Technical",
        Server,
    );
    pub const CONTEXT_INCOMPLETE: Code = c(
        4021,
        "Es sind nicht alle Pflichtparameter (MandantId, ClientSystemId, WorkplaceId) gefüllt",
        "Technical",
        Server,
    );
    pub const PIN_BLOCKED: Code = c(4063, "PIN bereits blockiert", "Security", Server);
    pub const TRANSPORT_PIN: Code = c(
        4065,
        "Karte ist mit Transport-PIN geschützt: die PIN muss zuerst geändert werden",
        "Security",
        Server,
    );
    pub const ACCESS_CONDITIONS: Code = c(
        4085,
        "Zugriffsbedingungen nicht erfüllt",
        "Security",
        Server,
    );
    pub const SIGNATURE_TYPE: Code = c(4111, "Ungültiger Signaturtyp", "Technical", Server);
    /// Our choice: the asked certificate or algorithm (Crypt) is not on the card.
    pub const NO_CERTIFICATE: Code = c(
        4149,
        "Zertifikat für die angeforderte Referenz und das angeforderte Verfahren (Crypt) nicht auf der Karte vorhanden",
        "Technical",
        Server,
    );
    /// Our choice: ExternalAuthenticate input is not a 32-byte hash for `urn:bsi:tr:03111:ecdsa`.
    pub const BAD_INPUT_LENGTH: Code = c(
        4114,
        "Ungültige Länge der zu signierenden Daten",
        "Technical",
        Server,
    );
    /// Our choice: PinTyp not valid for the card type.
    pub const PIN_TYPE: Code = c(4209, "Ungültiger PIN-Typ", "Technical", Server);
    /// Our choice: the card type cannot do the operation (e.g. signing with an eGK).
    pub const CARD_TYPE: Code = c(4058, "Ungültiger Kartentyp", "Technical", Server);

    pub const ALL: &[Code] = &[
        SYNTAX,
        INTERNAL,
        MANDANT,
        CLIENT_SYSTEM,
        WORKPLACE,
        CARD_NOT_INSERTED,
        CONTEXT_INCOMPLETE,
        PIN_BLOCKED,
        TRANSPORT_PIN,
        ACCESS_CONDITIONS,
        SIGNATURE_TYPE,
        NO_CERTIFICATE,
        BAD_INPUT_LENGTH,
        PIN_TYPE,
        CARD_TYPE,
    ];

    pub fn lookup(code: u32) -> Option<Code> {
        ALL.iter().copied().find(|c| c.code == code)
    }
}

/// One fault to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelFault {
    pub code: Code,
    /// Overrides the code's text (injected faults).
    pub text: Option<String>,
    /// Validator text or explanation, goes into `Trace/Detail`.
    pub detail: Option<String>,
}

impl TelFault {
    pub fn new(code: Code) -> TelFault {
        TelFault {
            code,
            text: None,
            detail: None,
        }
    }
    pub fn detail(mut self, d: impl Into<String>) -> TelFault {
        self.detail = Some(d.into());
        self
    }
    pub fn text(&self) -> &str {
        self.text.as_deref().unwrap_or(self.code.text)
    }
}

/// A random UUID v4 string (MessageID, EventID).
pub fn uuid() -> String {
    let mut b: [u8; 16] = ti_core::keys::random_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h =
        |r: std::ops::Range<usize>| -> String { b[r].iter().map(|x| format!("{x:02x}")).collect() };
    format!(
        "{}-{}-{}-{}-{}",
        h(0..4),
        h(4..6),
        h(6..8),
        h(8..10),
        h(10..16)
    )
}

/// The tel/error `Error` element (prefix `GERROR`, namespace declared on it); `timestamp` is xs:dateTime.
pub fn error_element(f: &TelFault, instance: &str, timestamp: &str) -> String {
    let event = uuid();
    let mut w = XmlWriter::new();
    w.open(
        "GERROR:Error",
        &[("xmlns:GERROR", crate::schema::ns::GERROR)],
    )
    .leaf("GERROR:MessageID", &uuid())
    .leaf("GERROR:Timestamp", timestamp)
    .open("GERROR:Trace", &[])
    .leaf("GERROR:EventID", &event)
    .leaf("GERROR:Instance", instance)
    .leaf("GERROR:LogReference", &event)
    .leaf("GERROR:CompType", "Konnektor")
    .leaf("GERROR:Code", &f.code.code.to_string())
    .leaf("GERROR:Severity", f.code.severity)
    .leaf("GERROR:ErrorType", f.code.error_type)
    .leaf("GERROR:ErrorText", &cut(f.text(), MAX_DETAIL));
    if let Some(d) = &f.detail {
        w.leaf_attrs(
            "GERROR:Detail",
            &[("Encoding", "UTF-8")],
            &cut(d, MAX_DETAIL),
        );
    }
    w.close("GERROR:Trace").close("GERROR:Error");
    w.buf
}

/// The whole fault envelope.
pub fn fault_envelope(f: &TelFault, instance: &str, timestamp: &str) -> String {
    let mut w = XmlWriter::new();
    w.open("S:Fault", &[])
        .leaf("faultcode", f.code.faultcode.as_str())
        .leaf("faultstring", &cut(f.text(), MAX_DETAIL))
        .open("detail", &[])
        .raw(&error_element(f, instance, timestamp))
        .close("detail")
        .close("S:Fault");
    envelope(&w.buf)
}

/// A plain SOAP fault without tel/error detail (version mismatch, unknown SOAPAction).
pub fn plain_fault_envelope(code: FaultCode, text: &str) -> String {
    let mut w = XmlWriter::new();
    w.open("S:Fault", &[])
        .leaf("faultcode", code.as_str())
        .leaf("faultstring", &cut(text, MAX_DETAIL))
        .close("S:Fault");
    envelope(&w.buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape_and_codes_unique() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        let mut seen = std::collections::HashSet::new();
        for c in codes::ALL {
            assert!(seen.insert(c.code), "duplicate code {}", c.code);
        }
        assert_eq!(
            codes::lookup(4085).unwrap().text,
            "Zugriffsbedingungen nicht erfüllt"
        );
    }

    #[test]
    fn fault_has_recorded_shape() {
        let f = TelFault::new(codes::MANDANT).detail("MandantId 'x' <unknown>");
        let s = fault_envelope(&f, "Konnektor-Lokal", "2024-01-01T00:00:00.000Z");
        assert!(s.contains("<faultcode>S:Server</faultcode>"));
        assert!(s.contains("<faultstring>Ungültige Mandanten-ID</faultstring>"));
        assert!(s.contains("<GERROR:Code>4004</GERROR:Code>"));
        assert!(s.contains("&lt;unknown&gt;"));
        assert!(s.contains("<GERROR:Timestamp>2024-01-01T00:00:00.000Z</GERROR:Timestamp>"));
        let doc = crate::xml::parse(s.as_bytes(), Default::default()).unwrap();
        assert!(doc.root().is(crate::schema::ns::SOAP11, "Envelope"));
        // A huge detail is cut with its size noted.
        let f = TelFault::new(codes::SYNTAX).detail("x".repeat(1_000_000));
        let s = fault_envelope(&f, "Konnektor-Lokal", "2024-01-01T00:00:00.000Z");
        assert!(
            s.len() < 4000 && s.contains("(1,000,000 bytes)"),
            "{}",
            s.len()
        );
    }
}
