//! The SOAP 1.1 envelope and the operation table: which SOAPAction and body element belong to which operation
//! of which service. No I/O: [`parse_envelope`] takes bytes and returns the body element or a fault.

use crate::schema::ns;
use crate::xml::{Element, Limits, XmlError, parse};

/// The Konnektor services this simulator serves, with the endpoint path of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    Event,
    Card,
    Certificate,
    Signature,
    AuthSignature,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::Event,
        Service::Card,
        Service::Certificate,
        Service::Signature,
        Service::AuthSignature,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Service::Event => "EventService",
            Service::Card => "CardService",
            Service::Certificate => "CertificateService",
            Service::Signature => "SignatureService",
            Service::AuthSignature => "AuthSignatureService",
        }
    }
    /// Endpoint path of the service.
    pub fn path(self) -> &'static str {
        match self {
            Service::Event => "/ws/EventService",
            Service::Card => "/ws/CardService",
            Service::Certificate => "/ws/CertificateService",
            Service::Signature => "/ws/SignatureService",
            Service::AuthSignature => "/ws/AuthSignatureService",
        }
    }
    /// (WSDL target namespace, version) as listed in connector.sds.
    pub fn sds_version(self) -> (&'static str, &'static str) {
        match self {
            Service::Event => ("http://ws.gematik.de/conn/EventService/WSDL/v7.2", "7.2.0"),
            Service::Card => ("http://ws.gematik.de/conn/CardService/WSDL/v8.1", "8.1.2"),
            Service::Certificate => (
                "http://ws.gematik.de/conn/CertificateService/WSDL/v6.0",
                "6.0.1",
            ),
            Service::Signature => (
                "http://ws.gematik.de/conn/SignatureService/WSDL/v7.4",
                "7.4.2",
            ),
            Service::AuthSignature => (
                "http://ws.gematik.de/conn/AuthSignatureService/WSDL/v7.4",
                "7.4.1",
            ),
        }
    }
    pub fn abstract_text(self) -> &'static str {
        match self {
            Service::Event => "Ereignisdienst: Karten und Kartenterminals (konform-Simulator)",
            Service::Card => "Kartendienst: PIN-Verwaltung (konform-Simulator)",
            Service::Certificate => {
                "Zertifikatsdienst: Kartenzertifikate lesen und prüfen (konform-Simulator)"
            }
            Service::Signature => {
                "Signaturdienst: nonQES-Dokumentensignatur CMS (konform-Simulator)"
            }
            Service::AuthSignature => {
                "Authentifizierungsdienst: Signatur von Binärstrings (konform-Simulator)"
            }
        }
    }
}

/// One operation of the WSDLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    pub name: &'static str,
    pub service: Service,
    /// Namespace of the request and response elements.
    pub ns: &'static str,
    /// SOAPAction of the official WSDL binding.
    pub action: &'static str,
    /// Served by this simulator (the others answer a SOAP fault saying so).
    pub implemented: bool,
}

const fn op(
    name: &'static str,
    service: Service,
    ns: &'static str,
    action: &'static str,
    implemented: bool,
) -> Operation {
    Operation {
        name,
        service,
        ns,
        action,
        implemented,
    }
}

/// Every operation of the served WSDL versions.
pub const OPERATIONS: &[Operation] = &[
    op(
        "GetCards",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#GetCards",
        true,
    ),
    op(
        "GetCardTerminals",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#GetCardTerminals",
        true,
    ),
    op(
        "Subscribe",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#Subscribe",
        false,
    ),
    op(
        "Unsubscribe",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#Unsubscribe",
        false,
    ),
    op(
        "GetSubscription",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#GetSubscription",
        false,
    ),
    op(
        "GetResourceInformation",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#GetResourceInformation",
        false,
    ),
    op(
        "RenewSubscriptions",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#RenewSubscriptions",
        false,
    ),
    op(
        "VerifyPin",
        Service::Card,
        ns::CARD,
        "http://ws.gematik.de/conn/CardService/v8.1#VerifyPin",
        true,
    ),
    op(
        "GetPinStatus",
        Service::Card,
        ns::CARD,
        "http://ws.gematik.de/conn/CardService/v8.1#GetPinStatus",
        true,
    ),
    op(
        "ChangePin",
        Service::Card,
        ns::CARD,
        "http://ws.gematik.de/conn/CardService/v8.1#ChangePin",
        false,
    ),
    op(
        "UnblockPin",
        Service::Card,
        ns::CARD,
        "http://ws.gematik.de/conn/CardService/v8.1#UnblockPin",
        false,
    ),
    op(
        "EnablePin",
        Service::Card,
        ns::CARD,
        "http://ws.gematik.de/conn/CardService/v8.1#EnablePin",
        false,
    ),
    op(
        "DisablePin",
        Service::Card,
        ns::CARD,
        "http://ws.gematik.de/conn/CardService/v8.1#DisablePin",
        false,
    ),
    op(
        "ReadCardCertificate",
        Service::Certificate,
        ns::CERT,
        "http://ws.gematik.de/conn/CertificateService/v6.0#ReadCardCertificate",
        true,
    ),
    op(
        "VerifyCertificate",
        Service::Certificate,
        ns::CERT,
        "http://ws.gematik.de/conn/CertificateService/v6.0#VerifyCertificate",
        true,
    ),
    op(
        "CheckCertificateExpiration",
        Service::Certificate,
        ns::CERT,
        "http://ws.gematik.de/conn/CertificateService/v6.0#CheckCertificateExpiration",
        false,
    ),
    op(
        "SignDocument",
        Service::Signature,
        ns::SIG,
        "http://ws.gematik.de/conn/SignatureService/v7.4#SignDocument",
        true,
    ),
    op(
        "GetJobNumber",
        Service::Signature,
        ns::SIG,
        "http://ws.gematik.de/conn/SignatureService/v7.4#GetJobNumber",
        true,
    ),
    op(
        "VerifyDocument",
        Service::Signature,
        ns::SIG,
        "http://ws.gematik.de/conn/SignatureService/v7.4#VerifyDocument",
        false,
    ),
    op(
        "StopSignature",
        Service::Signature,
        ns::SIG,
        "http://ws.gematik.de/conn/SignatureService/v7.4#StopSignature",
        false,
    ),
    // The AuthSignatureService WSDL binds ExternalAuthenticate to the SignatureService namespace and SOAPAction.
    op(
        "ExternalAuthenticate",
        Service::AuthSignature,
        ns::SIG,
        "http://ws.gematik.de/conn/SignatureService/v7.4#ExternalAuthenticate",
        true,
    ),
];

/// A SOAPAction some clients send for ExternalAuthenticate, derived from the service name; accepted too.
pub const ALT_EXTERNAL_AUTHENTICATE_ACTION: &str =
    "http://ws.gematik.de/conn/AuthSignatureService/v7.4#ExternalAuthenticate";

pub fn by_action(action: &str) -> Option<&'static Operation> {
    if action == ALT_EXTERNAL_AUTHENTICATE_ACTION {
        return OPERATIONS.iter().find(|o| o.name == "ExternalAuthenticate");
    }
    OPERATIONS.iter().find(|o| o.action == action)
}

pub fn by_element(el: &Element) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| el.is(o.ns, o.name))
}

/// The SOAPAction header value without surrounding quotes; `None` when absent or empty.
pub fn clean_action(raw: Option<&str>) -> Option<String> {
    let v = raw?.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
        .trim();
    if v.is_empty() {
        None
    } else {
        Some(v.to_string())
    }
}

/// What is wrong with an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not SOAP 1.1: a SOAP 1.2 envelope or another root namespace.
    VersionMismatch(String),
    /// A header block with `mustUnderstand="1"`.
    MustUnderstand(String),
    /// Not well-formed, forbidden constructs, or not an envelope with one body element.
    Syntax(XmlError),
}

/// Parse a request and return the single element in `Body`.
pub fn parse_envelope(input: &[u8], limits: Limits) -> Result<Element, EnvelopeError> {
    let root = parse(input, limits).map_err(EnvelopeError::Syntax)?;
    if root.local == "Envelope" && root.ns.as_deref() == Some(ns::SOAP12) {
        return Err(EnvelopeError::VersionMismatch(
            "SOAP 1.2 envelope received; this endpoint speaks SOAP 1.1 (namespace http://schemas.xmlsoap.org/soap/envelope/)".into(),
        ));
    }
    if root.local == "Envelope" && root.ns.as_deref() != Some(ns::SOAP11) {
        return Err(EnvelopeError::VersionMismatch(format!(
            "Envelope in namespace '{}' instead of the SOAP 1.1 namespace http://schemas.xmlsoap.org/soap/envelope/",
            root.ns.as_deref().unwrap_or("")
        )));
    }
    if !root.is(ns::SOAP11, "Envelope") {
        return Err(EnvelopeError::Syntax(
            XmlError::new(
                "soap.envelope",
                format!(
                    "cvc-elt.1.a: Cannot find the declaration of element '{}' (a SOAP 1.1 Envelope is expected).",
                    root.qname
                ),
            )
            .at(format!("/{}", root.qname)),
        ));
    }
    let env_path = format!("/{}", root.qname);
    if root.has_text() {
        return Err(EnvelopeError::Syntax(
            XmlError::new(
                "soap.envelope",
                format!(
                    "cvc-complex-type.2.3: Element '{}' cannot have character [children], because the type's content type is element-only.",
                    root.qname
                ),
            )
            .at(env_path),
        ));
    }
    let mut children = root.children.into_iter();
    let mut first = children.next();
    if let Some(h) = &first {
        if h.is(ns::SOAP11, "Header") {
            for block in &h.children {
                let mu = block.attr_ns(ns::SOAP11, "mustUnderstand").map(str::trim);
                if mu == Some("1") || mu == Some("true") {
                    return Err(EnvelopeError::MustUnderstand(format!(
                        "Header block '{}' ({}) has mustUnderstand=\"1\" and is not understood",
                        block.qname,
                        block.ns.as_deref().unwrap_or("")
                    )));
                }
            }
            first = children.next();
        }
    }
    let Some(body) = first else {
        return Err(EnvelopeError::Syntax(
            XmlError::new(
                "soap.body",
                format!(
                    "cvc-complex-type.2.4.b: The content of element '{}' is not complete. One of '{{\"{}\":Header, \"{}\":Body}}' is expected.",
                    root.qname,
                    ns::SOAP11,
                    ns::SOAP11
                ),
            )
            .at(env_path),
        ));
    };
    if !body.is(ns::SOAP11, "Body") {
        return Err(EnvelopeError::Syntax(
            XmlError::new(
                "soap.body",
                format!(
                    "cvc-complex-type.2.4.a: Invalid content was found starting with element '{}'. One of '{{\"{}\":Body}}' is expected.",
                    body.qname,
                    ns::SOAP11
                ),
            )
            .at(format!("{env_path}/{}", body.qname)),
        ));
    }
    let body_path = format!("{env_path}/{}", body.qname);
    if body.has_text() {
        return Err(EnvelopeError::Syntax(
            XmlError::new(
                "soap.body",
                format!(
                    "cvc-complex-type.2.3: Element '{}' cannot have character [children].",
                    body.qname
                ),
            )
            .at(body_path),
        ));
    }
    let mut items = body.children.into_iter();
    let Some(payload) = items.next() else {
        return Err(EnvelopeError::Syntax(
            XmlError::new(
                "soap.body",
                "The SOAP Body is empty: exactly one operation element is expected.",
            )
            .at(body_path),
        ));
    };
    if let Some(extra) = items.next() {
        return Err(EnvelopeError::Syntax(
            XmlError::new(
                "soap.body",
                format!(
                    "The SOAP Body contains more than one element ('{}' after '{}'): exactly one operation element is expected (document/literal).",
                    extra.qname, payload.qname
                ),
            )
            .at(format!("{body_path}/{}", extra.qname)),
        ));
    }
    Ok(payload)
}

/// XPath of the operation element in a typical request (for diagnoses).
pub fn payload_path(el: &Element) -> String {
    format!("/Envelope/Body/{}", el.qname)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/><soap:Body><x:GetCards xmlns:x="http://ws.gematik.de/conn/EventService/v7.2"/></soap:Body></soap:Envelope>"#;

    #[test]
    fn envelope_and_dispatch() {
        let el = parse_envelope(ENV.as_bytes(), Limits::default()).unwrap();
        assert_eq!(by_element(&el).unwrap().name, "GetCards");
        assert_eq!(
            by_action("http://ws.gematik.de/conn/SignatureService/v7.4#ExternalAuthenticate")
                .unwrap()
                .service,
            Service::AuthSignature
        );
        assert_eq!(
            by_action(ALT_EXTERNAL_AUTHENTICATE_ACTION).unwrap().name,
            "ExternalAuthenticate"
        );
        assert!(by_action("urn:nothing").is_none());
        assert_eq!(clean_action(Some("\"a#b\"")).as_deref(), Some("a#b"));
        assert_eq!(clean_action(Some("\"\"")), None);
    }

    #[test]
    fn envelope_errors() {
        let soap12 = ENV.replace(
            "http://schemas.xmlsoap.org/soap/envelope/",
            "http://www.w3.org/2003/05/soap-envelope",
        );
        assert!(matches!(
            parse_envelope(soap12.as_bytes(), Limits::default()),
            Err(EnvelopeError::VersionMismatch(_))
        ));
        let mu = ENV.replace(
            "<soap:Header/>",
            r#"<soap:Header><h:x xmlns:h="urn:h" soap:mustUnderstand="1"/></soap:Header>"#,
        );
        assert!(matches!(
            parse_envelope(mu.as_bytes(), Limits::default()),
            Err(EnvelopeError::MustUnderstand(_))
        ));
        for bad in [
            "<x/>",
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>"#,
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>"#,
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a/><b/></soap:Body></soap:Envelope>"#,
        ] {
            assert!(
                matches!(
                    parse_envelope(bad.as_bytes(), Limits::default()),
                    Err(EnvelopeError::Syntax(_))
                ),
                "{bad}"
            );
        }
    }
}
