//! SOAP 1.1 as the Konnektor speaks it, as decisions without I/O: is the Content-Type one we read
//! ([`check_content_type`]), is the document a SOAP 1.1 envelope with one body element ([`payload`]), and
//! which operation does a request name ([`resolve`]: SOAPAction, body element and endpoint must agree).

pub use crate::services::{
    ALT_EXTERNAL_AUTHENTICATE_ACTION, OPERATIONS, OpKind, Operation, Service, by_action, by_element,
};

use crate::schema::ns;
use crate::xml::{Document, Element, XmlError, quote};

/// Why a request's Content-Type is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContentTypeError {
    /// `application/soap+xml`: SOAP 1.2, answered as a version mismatch.
    #[error("Content-Type application/soap+xml (SOAP 1.2); the Konnektor WSDLs bind SOAP 1.1")]
    Soap12,
    /// Another media type than `text/xml` (or `application/xml`).
    #[error("Content-Type '{0}' is not text/xml")]
    NotXml(String),
    /// No Content-Type at all (SOAP 1.1 §6.1.1: HTTP messages with SOAP entity bodies use text/xml).
    #[error("no Content-Type header: a SOAP 1.1 request is sent as text/xml")]
    Missing,
}

/// The media types a SOAP 1.1 request may declare: `text/xml` (SOAP 1.1 §6.1.1), `application/xml`
/// (accepted as XML too). Parameters (`charset`) are not checked here; the document must be UTF-8.
pub fn check_content_type(header: Option<&[u8]>) -> Result<(), ContentTypeError> {
    let Some(raw) = header else {
        return Err(ContentTypeError::Missing);
    };
    let ct = String::from_utf8_lossy(raw).to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim();
    match mime {
        "text/xml" | "application/xml" => Ok(()),
        "application/soap+xml" => Err(ContentTypeError::Soap12),
        "" => Err(ContentTypeError::Missing),
        other => Err(ContentTypeError::NotXml(quote(other).into_owned())),
    }
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
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not SOAP 1.1: a SOAP 1.2 envelope or another root namespace.
    #[error("{0}")]
    VersionMismatch(String),
    /// A header block with `mustUnderstand="1"`.
    #[error("{0}")]
    MustUnderstand(String),
    /// Not well-formed, forbidden constructs, or not an envelope with one body element.
    #[error(transparent)]
    Syntax(#[from] XmlError),
}

fn syntax(rule: &'static str, reason: String, at: String) -> EnvelopeError {
    EnvelopeError::Syntax(XmlError::new(rule, reason).at(at))
}

/// The single element in the `Body` of a SOAP 1.1 envelope.
pub fn payload<'d>(doc: &'d Document<'d>) -> Result<Element<'d>, EnvelopeError> {
    let root = doc.root();
    if root.local() == "Envelope" && root.ns() == Some(ns::SOAP12) {
        return Err(EnvelopeError::VersionMismatch(
            "SOAP 1.2 envelope received; this endpoint speaks SOAP 1.1 (namespace http://schemas.xmlsoap.org/soap/envelope/)".into(),
        ));
    }
    if root.local() == "Envelope" && root.ns() != Some(ns::SOAP11) {
        return Err(EnvelopeError::VersionMismatch(format!(
            "Envelope in namespace '{}' instead of the SOAP 1.1 namespace http://schemas.xmlsoap.org/soap/envelope/",
            quote(root.ns().unwrap_or(""))
        )));
    }
    let env_path = format!("/{}", quote(root.qname()));
    if !root.is(ns::SOAP11, "Envelope") {
        return Err(syntax(
            "soap.envelope",
            format!(
                "cvc-elt.1.a: Cannot find the declaration of element '{}' (a SOAP 1.1 Envelope is expected).",
                quote(root.qname())
            ),
            env_path,
        ));
    }
    if root.has_text() {
        return Err(syntax(
            "soap.envelope",
            format!(
                "cvc-complex-type.2.3: Element '{}' cannot have character [children], because the type's content type is element-only.",
                quote(root.qname())
            ),
            env_path,
        ));
    }
    let mut children = root.children();
    let mut first = children.next();
    if let Some(h) = first.filter(|h| h.is(ns::SOAP11, "Header")) {
        check_header(&h)?;
        first = children.next();
    }
    let Some(body) = first else {
        return Err(syntax(
            "soap.body",
            format!(
                "cvc-complex-type.2.4.b: The content of element '{}' is not complete. One of '{{\"{}\":Header, \"{}\":Body}}' is expected.",
                quote(root.qname()),
                ns::SOAP11,
                ns::SOAP11
            ),
            env_path,
        ));
    };
    if !body.is(ns::SOAP11, "Body") {
        return Err(syntax(
            "soap.body",
            format!(
                "cvc-complex-type.2.4.a: Invalid content was found starting with element '{}'. One of '{{\"{}\":Body}}' is expected.",
                quote(body.qname()),
                ns::SOAP11
            ),
            format!("{env_path}/{}", quote(body.qname())),
        ));
    }
    body_payload(&body, &env_path)
}

/// A header block with `mustUnderstand="1"` is one we do not understand (we understand none).
fn check_header(h: &Element<'_>) -> Result<(), EnvelopeError> {
    for block in h.children() {
        let mu = block.attr_ns(ns::SOAP11, "mustUnderstand").map(str::trim);
        if mu == Some("1") || mu == Some("true") {
            return Err(EnvelopeError::MustUnderstand(format!(
                "Header block '{}' ({}) has mustUnderstand=\"1\" and is not understood",
                quote(block.qname()),
                quote(block.ns().unwrap_or(""))
            )));
        }
    }
    Ok(())
}

fn body_payload<'d>(body: &Element<'d>, env_path: &str) -> Result<Element<'d>, EnvelopeError> {
    let body_path = format!("{env_path}/{}", quote(body.qname()));
    if body.has_text() {
        return Err(syntax(
            "soap.body",
            format!(
                "cvc-complex-type.2.3: Element '{}' cannot have character [children].",
                quote(body.qname())
            ),
            body_path,
        ));
    }
    let mut items = body.children();
    let Some(payload) = items.next() else {
        return Err(syntax(
            "soap.body",
            "The SOAP Body is empty: exactly one operation element is expected.".into(),
            body_path,
        ));
    };
    if let Some(extra) = items.next() {
        return Err(syntax(
            "soap.body",
            format!(
                "The SOAP Body contains more than one element ('{}' after '{}'): exactly one operation element is expected (document/literal).",
                quote(extra.qname()),
                quote(payload.qname())
            ),
            format!("{body_path}/{}", quote(extra.qname())),
        ));
    }
    Ok(payload)
}

/// XPath of the operation element in a request (for diagnoses).
pub fn payload_path(el: &Element<'_>) -> String {
    format!("/Envelope/Body/{}", quote(el.qname()))
}

/// Why a request names no operation this endpoint serves.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// The SOAPAction names an operation, the Body carries another element.
    #[error("SOAPAction '{action}' names {} but the Body carries '{body}' ({body_ns})", .named.name)]
    ActionMismatch {
        action: String,
        named: &'static Operation,
        body: String,
        body_ns: String,
        /// The operation the Body element is, if any.
        carried: Option<&'static Operation>,
        at: String,
    },
    /// A SOAPAction no WSDL of the served versions binds.
    #[error("unknown SOAPAction '{action}'")]
    UnknownAction {
        action: String,
        carried: Option<&'static Operation>,
    },
    /// No SOAPAction, and the Body element is no known operation.
    #[error("cvc-elt.1.a: Cannot find the declaration of element '{body}' ({body_ns}).")]
    UnknownOperation {
        body: String,
        body_ns: String,
        at: String,
    },
    /// The operation belongs to another service than the endpoint the request was sent to.
    #[error("{} belongs to {}, not to {} (this endpoint)", .op.name, .op.service.name(), .endpoint.name())]
    WrongEndpoint {
        op: &'static Operation,
        endpoint: Service,
    },
    /// A recognised operation this simulator does not serve.
    #[error("{} ({}) is not implemented by the konform Konnektor simulator", .op.name, .op.service.name())]
    NotImplemented { op: &'static Operation },
}

/// The operation a request names. At `/Konnektorservice` (`endpoint` None) the SOAPAction decides and must
/// match the Body element; without a SOAPAction the Body element decides. At a service endpoint the
/// operation must belong to that service.
pub fn resolve(
    endpoint: Option<Service>,
    action: Option<&str>,
    el: &Element<'_>,
) -> Result<&'static Operation, DispatchError> {
    let carried = by_element(el);
    let body = || quote(el.qname()).into_owned();
    let body_ns = || quote(el.ns().unwrap_or("no namespace")).into_owned();
    let op = match (action, carried) {
        (Some(a), _) => match by_action(a) {
            Some(o) if el.is(o.ns, o.name) => o,
            Some(o) => {
                return Err(DispatchError::ActionMismatch {
                    action: quote(a).into_owned(),
                    named: o,
                    body: body(),
                    body_ns: body_ns(),
                    carried,
                    at: payload_path(el),
                });
            }
            None => {
                return Err(DispatchError::UnknownAction {
                    action: quote(a).into_owned(),
                    carried,
                });
            }
        },
        (None, Some(o)) => o,
        (None, None) => {
            return Err(DispatchError::UnknownOperation {
                body: body(),
                body_ns: body_ns(),
                at: payload_path(el),
            });
        }
    };
    if let Some(s) = endpoint
        && op.service != s
    {
        return Err(DispatchError::WrongEndpoint { op, endpoint: s });
    }
    if !op.implemented() {
        return Err(DispatchError::NotImplemented { op });
    }
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    const ENV: &str = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/><soap:Body><x:GetCards xmlns:x="http://ws.gematik.de/conn/EventService/v7.2"/></soap:Body></soap:Envelope>"#;

    fn envelope(s: &str) -> Result<String, EnvelopeError> {
        let doc = parse(s.as_bytes(), Limits::default())?;
        payload(&doc).map(|e| e.qname().to_string())
    }

    #[test]
    fn envelope_and_dispatch() {
        let doc = parse(ENV.as_bytes(), Limits::default()).unwrap();
        let el = payload(&doc).unwrap();
        assert_eq!(by_element(&el).unwrap().name, "GetCards");
        assert_eq!(resolve(None, None, &el).unwrap().name, "GetCards");
        assert_eq!(
            resolve(Some(Service::Event), Some(OPERATIONS[0].action), &el)
                .unwrap()
                .kind,
            Some(OpKind::GetCards)
        );
        assert!(matches!(
            resolve(Some(Service::Card), None, &el),
            Err(DispatchError::WrongEndpoint { .. })
        ));
        assert!(matches!(
            resolve(None, Some("urn:x#y"), &el),
            Err(DispatchError::UnknownAction { .. })
        ));
        assert!(matches!(
            resolve(
                None,
                Some(by_action(ALT_EXTERNAL_AUTHENTICATE_ACTION).unwrap().action),
                &el
            ),
            Err(DispatchError::ActionMismatch { .. })
        ));
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
    fn content_types() {
        assert!(check_content_type(Some(b"text/xml; charset=UTF-8")).is_ok());
        assert!(check_content_type(Some(b"Application/XML")).is_ok());
        assert_eq!(
            check_content_type(Some(b"application/soap+xml")),
            Err(ContentTypeError::Soap12)
        );
        assert_eq!(check_content_type(None), Err(ContentTypeError::Missing));
        assert_eq!(
            check_content_type(Some(b" ")),
            Err(ContentTypeError::Missing)
        );
        assert!(matches!(
            check_content_type(Some(b"application/json")),
            Err(ContentTypeError::NotXml(_))
        ));
    }

    #[test]
    fn envelope_errors() {
        let soap12 = ENV.replace(
            "http://schemas.xmlsoap.org/soap/envelope/",
            "http://www.w3.org/2003/05/soap-envelope",
        );
        assert!(matches!(
            envelope(&soap12),
            Err(EnvelopeError::VersionMismatch(_))
        ));
        let mu = ENV.replace(
            "<soap:Header/>",
            r#"<soap:Header><h:x xmlns:h="urn:h" soap:mustUnderstand="1"/></soap:Header>"#,
        );
        assert!(matches!(
            envelope(&mu),
            Err(EnvelopeError::MustUnderstand(_))
        ));
        for bad in [
            "<x/>",
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>"#,
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>"#,
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a/><b/></soap:Body></soap:Envelope>"#,
        ] {
            assert!(
                matches!(envelope(bad), Err(EnvelopeError::Syntax(_))),
                "{bad}"
            );
        }
        assert_eq!(envelope(ENV).unwrap(), "x:GetCards");
    }
}
