//! The operation table: which SOAPAction and body element belong to which operation of which service, and
//! the WSDL version of each service as connector.sds lists it. Data only.

use crate::schema::ns;
use crate::xml::Element;

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

/// The operations this simulator serves; each has its own module under [`crate::ops`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    GetCards,
    GetCardTerminals,
    VerifyPin,
    GetPinStatus,
    ReadCardCertificate,
    VerifyCertificate,
    SignDocument,
    GetJobNumber,
    ExternalAuthenticate,
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
    /// What serves it; `None`: recognised but not implemented (answered with a SOAP fault saying so).
    pub kind: Option<OpKind>,
}

impl Operation {
    pub fn implemented(&self) -> bool {
        self.kind.is_some()
    }
}

const fn op(
    name: &'static str,
    service: Service,
    ns: &'static str,
    action: &'static str,
    kind: Option<OpKind>,
) -> Operation {
    Operation {
        name,
        service,
        ns,
        action,
        kind,
    }
}

/// Every operation of the served WSDL versions.
pub const OPERATIONS: &[Operation] = &[
    op(
        "GetCards",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#GetCards",
        Some(OpKind::GetCards),
    ),
    op(
        "GetCardTerminals",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#GetCardTerminals",
        Some(OpKind::GetCardTerminals),
    ),
    op(
        "Subscribe",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#Subscribe",
        None,
    ),
    op(
        "Unsubscribe",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#Unsubscribe",
        None,
    ),
    op(
        "GetSubscription",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#GetSubscription",
        None,
    ),
    op(
        "GetResourceInformation",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#GetResourceInformation",
        None,
    ),
    op(
        "RenewSubscriptions",
        Service::Event,
        ns::EVT,
        "http://ws.gematik.de/conn/EventService/v7.2#RenewSubscriptions",
        None,
    ),
    op(
        "VerifyPin",
        Service::Card,
        ns::CARD,
        "http://ws.gematik.de/conn/CardService/v8.1#VerifyPin",
        Some(OpKind::VerifyPin),
    ),
    op(
        "GetPinStatus",
        Service::Card,
        ns::CARD,
        "http://ws.gematik.de/conn/CardService/v8.1#GetPinStatus",
        Some(OpKind::GetPinStatus),
    ),
    op(
        "ChangePin",
        Service::Card,
        ns::CARD,
        "http://ws.gematik.de/conn/CardService/v8.1#ChangePin",
        None,
    ),
    op(
        "UnblockPin",
        Service::Card,
        ns::CARD,
        "http://ws.gematik.de/conn/CardService/v8.1#UnblockPin",
        None,
    ),
    op(
        "EnablePin",
        Service::Card,
        ns::CARD,
        "http://ws.gematik.de/conn/CardService/v8.1#EnablePin",
        None,
    ),
    op(
        "DisablePin",
        Service::Card,
        ns::CARD,
        "http://ws.gematik.de/conn/CardService/v8.1#DisablePin",
        None,
    ),
    op(
        "ReadCardCertificate",
        Service::Certificate,
        ns::CERT,
        "http://ws.gematik.de/conn/CertificateService/v6.0#ReadCardCertificate",
        Some(OpKind::ReadCardCertificate),
    ),
    op(
        "VerifyCertificate",
        Service::Certificate,
        ns::CERT,
        "http://ws.gematik.de/conn/CertificateService/v6.0#VerifyCertificate",
        Some(OpKind::VerifyCertificate),
    ),
    op(
        "CheckCertificateExpiration",
        Service::Certificate,
        ns::CERT,
        "http://ws.gematik.de/conn/CertificateService/v6.0#CheckCertificateExpiration",
        None,
    ),
    op(
        "SignDocument",
        Service::Signature,
        ns::SIG,
        "http://ws.gematik.de/conn/SignatureService/v7.4#SignDocument",
        Some(OpKind::SignDocument),
    ),
    op(
        "GetJobNumber",
        Service::Signature,
        ns::SIG,
        "http://ws.gematik.de/conn/SignatureService/v7.4#GetJobNumber",
        Some(OpKind::GetJobNumber),
    ),
    op(
        "VerifyDocument",
        Service::Signature,
        ns::SIG,
        "http://ws.gematik.de/conn/SignatureService/v7.4#VerifyDocument",
        None,
    ),
    op(
        "StopSignature",
        Service::Signature,
        ns::SIG,
        "http://ws.gematik.de/conn/SignatureService/v7.4#StopSignature",
        None,
    ),
    // The AuthSignatureService WSDL binds ExternalAuthenticate to the SignatureService namespace and SOAPAction.
    op(
        "ExternalAuthenticate",
        Service::AuthSignature,
        ns::SIG,
        "http://ws.gematik.de/conn/SignatureService/v7.4#ExternalAuthenticate",
        Some(OpKind::ExternalAuthenticate),
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

pub fn by_element(el: &Element<'_>) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| el.is(o.ns, o.name))
}
