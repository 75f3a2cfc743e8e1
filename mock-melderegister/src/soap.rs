//! The default binding (modelled on AKDB's OK.KOMM `XoevService`, see `reference/xmeld/NOTES.md` §2.6):
//! SOAP 1.1, body `callApplicationByte/xmlParameter` = base64 of the XMeld message in namespace
//! `urn:akdb:ok.komm:xmeld-service`; answer `callApplicationByteResponse/callApplicationByteReturn`.
//! The Kundennummer travels, by default, in the SOAP header element `Kundennummer` of namespace
//! `urn:konform:melderegister` (a konform choice). No I/O.

use crate::xmeld::write::esc;
use base64::Engine;
use sim_kit::xmltree::{Element, Limits, XmlError, parse};

pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const SERVICE_NS: &str = "urn:akdb:ok.komm:xmeld-service";
pub const KONFORM_NS: &str = "urn:konform:melderegister";
pub const PATH: &str = "/okkommbis/services/XoevService";

/// Why an envelope is not a call: each becomes a SOAP fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EnvelopeError {
    pub rule: &'static str,
    pub message: String,
    pub location: Option<String>,
    pub hint: Option<String>,
    pub version_mismatch: bool,
}

impl EnvelopeError {
    fn new(rule: &'static str, message: impl Into<String>) -> EnvelopeError {
        EnvelopeError {
            rule,
            message: message.into(),
            location: None,
            hint: None,
            version_mismatch: false,
        }
    }
    fn at(mut self, l: &str) -> Self {
        self.location = Some(l.into());
        self
    }
    fn hint(mut self, h: &str) -> Self {
        self.hint = Some(h.into());
        self
    }
}

impl From<XmlError> for EnvelopeError {
    fn from(e: XmlError) -> Self {
        EnvelopeError {
            rule: e.rule,
            message: e.reason,
            location: e.location,
            hint: None,
            version_mismatch: false,
        }
    }
}

/// A parsed `callApplicationByte`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aufruf {
    /// Decoded `xmlParameter`.
    pub nachricht: Vec<u8>,
    /// `Kundennummer` from the SOAP header, if present.
    pub kundennummer_header: Option<String>,
}

/// Strict base64 (standard alphabet, padding required; white space between characters allowed, as
/// XML schema's base64Binary permits).
pub fn decode_base64(text: &str, max: usize) -> Result<Vec<u8>, EnvelopeError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.len() / 4 * 3 > max + 3 {
        return Err(EnvelopeError::new(
            "melderegister.soap.message-size",
            format!("xmlParameter: the decoded XMeld message exceeds {max} bytes"),
        )
        .at("/Envelope/Body/callApplicationByte/xmlParameter"));
    }
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| {
            EnvelopeError::new(
                "melderegister.soap.base64",
                format!("xmlParameter is not valid base64 (xs:base64Binary): {e}"),
            )
            .at("/Envelope/Body/callApplicationByte/xmlParameter")
            .hint("send the XMeld message UTF-8 encoded and base64 encoded (standard alphabet, with padding)")
        })
}

fn child<'a>(el: &'a Element, ns: &str, local: &str) -> Option<&'a Element> {
    el.children.iter().find(|c| c.is(ns, local))
}

/// Parse the envelope and extract the call.
pub fn parse_call(
    body: &[u8],
    limits: Limits,
    max_message: usize,
) -> Result<Aufruf, EnvelopeError> {
    let env = parse(body, limits)?;
    if env.local == "Envelope" && env.ns.as_deref() == Some(SOAP12) {
        let mut e = EnvelopeError::new(
            "melderegister.soap.version",
            "SOAP 1.2 envelope: the XoevService binds SOAP 1.1",
        )
        .hint("use the envelope namespace http://schemas.xmlsoap.org/soap/envelope/ and Content-Type text/xml");
        e.version_mismatch = true;
        return Err(e);
    }
    if !env.is(SOAP11, "Envelope") {
        return Err(EnvelopeError::new(
            "melderegister.soap.envelope",
            format!("root element `{}` is not a SOAP 1.1 Envelope", env.qname),
        )
        .at("/"));
    }
    let kundennummer_header = child(&env, SOAP11, "Header")
        .and_then(|h| child(h, KONFORM_NS, "Kundennummer"))
        .map(|k| k.text.trim().to_string());
    let body = child(&env, SOAP11, "Body").ok_or_else(|| {
        EnvelopeError::new("melderegister.soap.body", "the Envelope has no Body").at("/Envelope")
    })?;
    let call = body.children.first().ok_or_else(|| {
        EnvelopeError::new("melderegister.soap.body", "the Body is empty").at("/Envelope/Body")
    })?;
    if !call.is(SERVICE_NS, "callApplicationByte") {
        return Err(EnvelopeError::new(
            "melderegister.soap.operation",
            format!(
                "No such operation '{}' ({})",
                call.local,
                call.ns.as_deref().unwrap_or("no namespace")
            ),
        )
        .at(&format!("/Envelope/Body/{}", call.qname))
        .hint(&format!(
            "the service has one operation: callApplicationByte in namespace {SERVICE_NS}"
        )));
    }
    let Some(param) = child(call, SERVICE_NS, "xmlParameter") else {
        let unq = call.children.iter().any(|c| c.local == "xmlParameter");
        return Err(EnvelopeError::new(
            "melderegister.soap.xml-parameter",
            if unq {
                "xmlParameter must be namespace-qualified".to_string()
            } else {
                "callApplicationByte has no xmlParameter".to_string()
            },
        )
        .at("/Envelope/Body/callApplicationByte/xmlParameter")
        .hint(&format!(
            "send <ns:xmlParameter> in namespace {SERVICE_NS}, as the known OK.KOMM clients do"
        )));
    };
    Ok(Aufruf {
        nachricht: decode_base64(&param.text, max_message)?,
        kundennummer_header,
    })
}

/// The SOAP 1.1 answer carrying the XMeld answer.
pub fn response(xmeld: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(xmeld.as_bytes());
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"{SOAP11}\"><soapenv:Body><ns1:callApplicationByteResponse xmlns:ns1=\"{SERVICE_NS}\"><ns1:callApplicationByteReturn>{b64}</ns1:callApplicationByteReturn></ns1:callApplicationByteResponse></soapenv:Body></soapenv:Envelope>"
    )
}

/// Who is at fault (SOAP 1.1 §4.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultCode {
    Client,
    Server,
    VersionMismatch,
}

/// A SOAP 1.1 fault; `detail` names the konform rule (the faultstring is what a client shows).
pub fn fault(code: FaultCode, faultstring: &str, rule: &str) -> String {
    let c = match code {
        FaultCode::Client => "soapenv:Client",
        FaultCode::Server => "soapenv:Server",
        FaultCode::VersionMismatch => "soapenv:VersionMismatch",
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"{SOAP11}\"><soapenv:Body><soapenv:Fault><faultcode>{c}</faultcode><faultstring>{}</faultstring><detail><konform:regel xmlns:konform=\"{KONFORM_NS}\">{}</konform:regel></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>",
        esc(faultstring),
        esc(rule)
    )
}

/// A request envelope (for clients, tests and fuzz seeds).
pub fn request(xmeld: &[u8], kundennummer: Option<&str>) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(xmeld);
    let header = kundennummer
        .map(|k| format!("<soapenv:Header><k:Kundennummer xmlns:k=\"{KONFORM_NS}\">{}</k:Kundennummer></soapenv:Header>", esc(k)))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"{SOAP11}\">{header}<soapenv:Body><x:callApplicationByte xmlns:x=\"{SERVICE_NS}\"><x:xmlParameter>{b64}</x:xmlParameter></x:callApplicationByte></soapenv:Body></soapenv:Envelope>"
    )
}

/// Extract the XMeld answer from a response envelope (clients and tests).
pub fn parse_response(body: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let env = parse(body, Limits::default())?;
    let b =
        child(&env, SOAP11, "Body").ok_or_else(|| EnvelopeError::new("soap.body", "no Body"))?;
    if let Some(f) = child(b, SOAP11, "Fault") {
        let s = f
            .children
            .iter()
            .find(|c| c.local == "faultstring")
            .map(|c| c.text.clone())
            .unwrap_or_default();
        return Err(EnvelopeError::new("soap.fault", s));
    }
    let r = child(b, SERVICE_NS, "callApplicationByteResponse")
        .and_then(|r| child(r, SERVICE_NS, "callApplicationByteReturn"))
        .ok_or_else(|| EnvelopeError::new("soap.response", "no callApplicationByteReturn"))?;
    decode_base64(&r.text, 64 * 1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let env = request(b"<x/>", Some("03241001"));
        let a = parse_call(env.as_bytes(), Limits::default(), 1000).unwrap();
        assert_eq!(a.nachricht, b"<x/>");
        assert_eq!(a.kundennummer_header.as_deref(), Some("03241001"));
        let bad = env.replace("PHgvPg==", "PHgvPg=!");
        assert_eq!(
            parse_call(bad.as_bytes(), Limits::default(), 1000)
                .unwrap_err()
                .rule,
            "melderegister.soap.base64"
        );
        let unq = env.replace("x:xmlParameter", "xmlParameter");
        assert_eq!(
            parse_call(unq.as_bytes(), Limits::default(), 1000)
                .unwrap_err()
                .rule,
            "melderegister.soap.xml-parameter"
        );
        let v12 = env.replace(SOAP11, SOAP12);
        assert!(
            parse_call(v12.as_bytes(), Limits::default(), 1000)
                .unwrap_err()
                .version_mismatch
        );
        let op = env.replace("callApplicationByte", "callApplication");
        assert_eq!(
            parse_call(op.as_bytes(), Limits::default(), 1000)
                .unwrap_err()
                .rule,
            "melderegister.soap.operation"
        );
        let big = request(&vec![b'a'; 5000], None);
        assert_eq!(
            parse_call(big.as_bytes(), Limits::default(), 1000)
                .unwrap_err()
                .rule,
            "melderegister.soap.message-size"
        );
        let dtd = format!("<!DOCTYPE x [<!ENTITY e 'y'>]>{env}");
        assert_eq!(
            parse_call(dtd.as_bytes(), Limits::default(), 1000)
                .unwrap_err()
                .rule,
            "xml.doctype"
        );
        assert_eq!(
            parse_response(response("<a/>").as_bytes()).unwrap(),
            b"<a/>"
        );
        assert!(parse_response(fault(FaultCode::Client, "nein", "r").as_bytes()).is_err());
    }
}
