//! SOAP 1.2 envelopes with WS-Addressing 2005/08: the checks a SOAP 1.2 node makes on a parsed envelope
//! (version, structure, `mustUnderstand`), the addressing properties of a request, and the response
//! envelope with `wsa:Action`, `wsa:MessageID` and `wsa:RelatesTo`.

use crate::fault::{SoapCode, XtaFault, codes};
use crate::ns;
use crate::xml::{Element, W, escape};
use sim_kit::Diagnosis;

/// WS-Addressing message addressing properties of a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addressing {
    pub action: Option<String>,
    pub message_id: Option<String>,
    pub to: Option<String>,
    pub reply_to: Option<String>,
}

/// A checked request envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Header blocks in order.
    pub headers: Vec<Element>,
    /// The one body element; `None` for an empty body (checkAccountActive, createMessageId).
    pub body: Option<Element>,
    pub wsa: Addressing,
}

impl Envelope {
    /// The first header block with this name.
    pub fn header(&self, ns: &str, local: &str) -> Option<&Element> {
        self.headers.iter().find(|h| h.is(ns, local))
    }
}

/// Header blocks this server processes (a `mustUnderstand` on anything else is a MustUnderstand fault).
fn understood(h: &Element) -> bool {
    match h.ns.as_deref() {
        Some(ns::WSA) => true,
        Some(ns::OSCIMETA) => h.local == "Author" || h.local == "MessageMetaData",
        Some(ns::OSCI) => h.local == "X509TokenContainer",
        _ => false,
    }
}

fn is_true(v: Option<&str>) -> bool {
    matches!(v.map(str::trim), Some("1") | Some("true"))
}

/// An envelope-level fault: Sender, with the XTA detail 9000 (free text) and the diagnosis.
pub fn sender_fault(rule: &str, message: impl Into<String>) -> XtaFault {
    let message = message.into();
    XtaFault::new(codes::UNSPECIFIED, Diagnosis::new(rule, message.clone()))
        .reason(format!("{}: {message}", codes::UNSPECIFIED.name))
}

/// The root namespace check done before the body is read (so a SOAP 1.1 request is refused early).
pub fn check_root(root: &Element) -> Result<(), XtaFault> {
    if root.local == "Envelope" && root.ns.as_deref() == Some(ns::SOAP12) {
        return Ok(());
    }
    if root.local == "Envelope" {
        let got = root.ns.as_deref().unwrap_or("");
        let what = if got == ns::SOAP11 {
            "a SOAP 1.1 envelope"
        } else {
            "an envelope in another namespace"
        };
        return Err(XtaFault::plain(
            SoapCode::VersionMismatch,
            "Wrong Version",
            Diagnosis::new(
                "xta.soap.version",
                format!("{what} ({got}); XTA-WS 2.1.1 binds SOAP 1.2 (http://www.w3.org/2003/05/soap-envelope)"),
            )
            .at(format!("/{}", root.qname))
            .hint("send a SOAP 1.2 envelope with Content-Type application/soap+xml"),
        ));
    }
    Err(sender_fault(
        "xta.soap.envelope",
        format!(
            "the root element is '{}', not a SOAP 1.2 Envelope",
            root.expanded()
        ),
    )
    .at(format!("/{}", root.qname)))
}

/// Check a parsed envelope and extract its parts.
pub fn envelope(root: Element) -> Result<Envelope, XtaFault> {
    check_root(&root)?;
    let env_path = format!("/{}", root.qname);
    if root.has_text() {
        return Err(sender_fault(
            "xta.soap.envelope",
            "character data directly in the Envelope",
        )
        .at(env_path));
    }
    let mut children = root.children.into_iter();
    let mut headers = Vec::new();
    let mut next = children.next();
    if let Some(h) = &next
        && h.is(ns::SOAP12, "Header")
    {
        if h.has_text() {
            return Err(
                sender_fault("xta.soap.header", "character data directly in the Header")
                    .at(format!("{env_path}/{}", h.qname)),
            );
        }
        headers = next.take().map(|h| h.children).unwrap_or_default();
        next = children.next();
    }
    let Some(body) = next else {
        return Err(sender_fault("xta.soap.body", "the Envelope has no Body").at(env_path));
    };
    if !body.is(ns::SOAP12, "Body") {
        return Err(sender_fault(
            "xta.soap.body",
            format!("'{}' where the SOAP 1.2 Body is expected", body.expanded()),
        )
        .at(format!("{env_path}/{}", body.qname)));
    }
    if let Some(extra) = children.next() {
        return Err(sender_fault(
            "xta.soap.envelope",
            format!(
                "'{}' after the Body: nothing may follow it",
                extra.expanded()
            ),
        )
        .at(format!("{env_path}/{}", extra.qname)));
    }
    let body_path = format!("{env_path}/{}", body.qname);
    if body.has_text() {
        return Err(
            sender_fault("xta.soap.body", "character data directly in the Body").at(body_path),
        );
    }
    for h in &headers {
        if is_true(h.attr_ns(ns::SOAP12, "mustUnderstand")) && !understood(h) {
            return Err(XtaFault::plain(
                SoapCode::MustUnderstand,
                format!("Header block {} is not understood", h.expanded()),
                Diagnosis::new(
                    "xta.soap.must-understand",
                    format!(
                        "header block '{}' carries mustUnderstand=\"true\" and this XTA server does not process it",
                        h.expanded()
                    ),
                )
                .at(format!("{env_path}/Header/{}", h.qname)),
            ));
        }
    }
    let mut items = body.children.into_iter();
    let payload = items.next();
    if let Some(extra) = items.next() {
        return Err(sender_fault(
            "xta.soap.body",
            format!("the Body holds more than one element ('{}' after the first): document/literal has one", extra.qname),
        )
        .at(format!("{body_path}/{}", extra.qname)));
    }
    let wsa = addressing(&headers);
    Ok(Envelope {
        headers,
        body: payload,
        wsa,
    })
}

fn addressing(headers: &[Element]) -> Addressing {
    let get = |local: &str| {
        headers
            .iter()
            .find(|h| h.is(ns::WSA, local))
            .map(|h| h.trimmed().to_string())
    };
    Addressing {
        action: get("Action"),
        message_id: get("MessageID"),
        to: get("To"),
        reply_to: headers
            .iter()
            .find(|h| h.is(ns::WSA, "ReplyTo"))
            .and_then(|r| r.child(ns::WSA, "Address"))
            .map(|a| a.trimmed().to_string()),
    }
}

/// A random UUID v4.
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

pub const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// Start of a response envelope up to and including `<env:Body>`: addressing headers (Action, a new
/// MessageID, To anonymous, RelatesTo the request's MessageID) and the operation's own header blocks.
pub fn envelope_head(action: &str, relates_to: Option<&str>, extra_headers: &[String]) -> String {
    let mut w = W::new();
    w.raw(XML_DECL).open(
        "env:Envelope",
        &[("xmlns:env", ns::SOAP12), ("xmlns:wsa", ns::WSA)],
    );
    w.open("env:Header", &[])
        .leaf("wsa:Action", action)
        .leaf("wsa:MessageID", &format!("urn:uuid:{}", uuid()))
        .leaf("wsa:To", ns::WSA_ANONYMOUS);
    if let Some(r) = relates_to {
        w.leaf("wsa:RelatesTo", r);
    }
    for h in extra_headers {
        w.raw(h);
    }
    w.close("env:Header").open("env:Body", &[]);
    w.buf
}

pub const ENVELOPE_TAIL: &str = "</env:Body></env:Envelope>";

/// A complete response envelope.
pub fn response(action: &str, relates_to: Option<&str>, headers: &[String], body: &str) -> String {
    let mut s = envelope_head(action, relates_to, headers);
    s.push_str(body);
    s.push_str(ENVELOPE_TAIL);
    s
}

/// A complete fault envelope. VersionMismatch answers carry the `env:Upgrade` header SOAP 1.2 §5.4.7
/// prescribes; MustUnderstand faults name the header in `env:NotUnderstood`.
pub fn fault_response(
    action: &str,
    relates_to: Option<&str>,
    f: &XtaFault,
    with_detail: bool,
) -> String {
    let mut headers = Vec::new();
    if f.soap == SoapCode::VersionMismatch {
        headers.push(format!(
            "<env:Upgrade><env:SupportedEnvelope qname=\"e:Envelope\" xmlns:e=\"{}\"/></env:Upgrade>",
            ns::SOAP12
        ));
    }
    let body = crate::fault::fault_element(f, with_detail);
    response(action, relates_to, &headers, &body)
}

/// `<p:local xmlns:p="ns">text</p:local>`
pub fn leaf_ns(prefix: &str, local: &str, namespace: &str, text: &str) -> String {
    format!(
        "<{prefix}:{local} xmlns:{prefix}=\"{namespace}\">{}</{prefix}:{local}>",
        escape(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::reader::parse_document;

    fn env(s: &str) -> Result<Envelope, XtaFault> {
        envelope(parse_document(s.as_bytes(), Default::default()).unwrap())
    }

    const OK: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="true">http://www.xta.de/XTA/CheckAccountActive</a:Action><a:MessageID>urn:uuid:1</a:MessageID><a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo></s:Header><s:Body/></s:Envelope>"#;

    #[test]
    fn envelope_and_addressing() {
        let e = env(OK).unwrap();
        assert_eq!(
            e.wsa.action.as_deref(),
            Some("http://www.xta.de/XTA/CheckAccountActive")
        );
        assert_eq!(e.wsa.message_id.as_deref(), Some("urn:uuid:1"));
        assert_eq!(e.wsa.reply_to.as_deref(), Some(ns::WSA_ANONYMOUS));
        assert!(e.body.is_none());
    }

    #[test]
    fn envelope_faults() {
        let v11 = OK.replace("http://www.w3.org/2003/05/soap-envelope", ns::SOAP11);
        assert_eq!(env(&v11).unwrap_err().soap, SoapCode::VersionMismatch);
        let mu = OK.replace(
            "</s:Header>",
            r#"<x:Sec xmlns:x="urn:x" s:mustUnderstand="1"/></s:Header>"#,
        );
        assert_eq!(env(&mu).unwrap_err().soap, SoapCode::MustUnderstand);
        let two = OK.replace("<s:Body/>", "<s:Body><a/><b/></s:Body>");
        assert_eq!(env(&two).unwrap_err().code_number(), Some(9000));
        let nobody = OK.replace("<s:Body/>", "");
        assert_eq!(env(&nobody).unwrap_err().diagnosis.rule, "xta.soap.body");
    }

    #[test]
    fn responses_are_well_formed() {
        let f = XtaFault::plain(
            SoapCode::VersionMismatch,
            "Wrong Version",
            Diagnosis::new("r", "m"),
        );
        let s = fault_response(ns::WSA_FAULT_ACTION, Some("urn:uuid:1"), &f, true);
        let root = parse_document(s.as_bytes(), Default::default()).unwrap();
        assert!(root.is(ns::SOAP12, "Envelope"));
        assert!(s.contains("<wsa:RelatesTo>urn:uuid:1</wsa:RelatesTo>"));
        assert!(s.contains("env:Upgrade"));
    }
}
