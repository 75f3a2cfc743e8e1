//! The decrypted OSCI request: the SOAP envelope of the inner MIME entity read into a typed request. The
//! message type is told by the envelope's `xsi:schemaLocation` (as the library's `OSCIEnvelopeBuilder`
//! does) and by the header/body elements; header order is checked against the XSDs; what the intermediary
//! passes on (NonIntermediaryCertificates, the ContentPackage) keeps its byte range in the source.

use crate::certs::Cert;
use crate::xml::{DS, Document, Element, OSCI, OSCI2017, SOAP, XENC};
use std::ops::Range;

/// The request types of the scenario (others are recognised and refused as unsupported).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Kind {
    InitDialog,
    ExitDialog,
    GetMessageId,
    StoreDelivery,
    FetchDelivery,
    FetchProcessCard,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::InitDialog => "InitDialog",
            Kind::ExitDialog => "ExitDialog",
            Kind::GetMessageId => "GetMessageId",
            Kind::StoreDelivery => "StoreDelivery",
            Kind::FetchDelivery => "FetchDelivery",
            Kind::FetchProcessCard => "FetchProcessCard",
        }
    }
    /// The schema file the library names in `xsi:schemaLocation`.
    pub fn schema(self) -> &'static str {
        match self {
            Kind::InitDialog => "soapInitDialog.xsd",
            Kind::ExitDialog => "soapExitDialog.xsd",
            Kind::GetMessageId => "soapGetMessageId.xsd",
            Kind::StoreDelivery => "soapStoreDelivery.xsd",
            Kind::FetchDelivery => "soapFetchDelivery.xsd",
            Kind::FetchProcessCard => "soapFetchProcessCard.xsd",
        }
    }
    /// The response's schema file.
    pub fn response_schema(self) -> &'static str {
        match self {
            Kind::InitDialog => "soapResponseToInitDialog.xsd",
            Kind::ExitDialog => "soapResponseToExitDialog.xsd",
            Kind::GetMessageId => "soapResponseToGetMessageId.xsd",
            Kind::StoreDelivery => "soapResponseToStoreDelivery.xsd",
            Kind::FetchDelivery => "soapResponseToFetchDelivery.xsd",
            Kind::FetchProcessCard => "soapResponseToFetchProcessCard.xsd",
        }
    }
    pub fn all() -> [Kind; 6] {
        [
            Kind::InitDialog,
            Kind::ExitDialog,
            Kind::GetMessageId,
            Kind::StoreDelivery,
            Kind::FetchDelivery,
            Kind::FetchProcessCard,
        ]
    }
}

/// The library's full `xsi:schemaLocation` for a schema file.
pub fn schema_location(file: &str) -> String {
    format!(
        "http://schemas.xmlsoap.org/soap/envelope/ {file} http://www.w3.org/2000/09/xmldsig# oscisig.xsd http://www.w3.org/2001/04/xmlenc# oscienc.xsd"
    )
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ControlBlock {
    pub conversation_id: Option<String>,
    /// `None` when absent; the raw text when not a number is refused while parsing.
    pub sequence_number: Option<u64>,
    pub response: Option<String>,
    pub challenge: Option<String>,
}

/// FetchDelivery / FetchProcessCard selection.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Selection {
    /// No rule: the next delivery.
    Next,
    /// The MessageId (decoded from its base64 wire form).
    MessageId(String),
    /// Deliveries received (stored) after this time.
    ReceptionOfDelivery(String),
    /// Process cards modified after this time.
    RecentModification(String),
}

/// One certificate of `NonIntermediaryCertificates`.
#[derive(Clone, Debug)]
pub struct RoleCert {
    /// Element name, e.g. `CipherCertificateAddressee`.
    pub role: String,
    pub id: Option<String>,
    pub cert: Cert,
}

/// `ds:Reference` of a message signature.
#[derive(Clone, Debug)]
pub struct SigReference {
    pub uri: String,
    pub digest_method: String,
    pub digest: Vec<u8>,
}

/// The `ClientSignature` as parsed (verified later against the canonical form).
#[derive(Clone, Debug)]
pub struct Signature {
    pub signature_method: String,
    pub c14n_method: String,
    pub references: Vec<SigReference>,
    pub value: Vec<u8>,
    /// `ds:RetrievalMethod/@URI` without `#`.
    pub key_ref: Option<String>,
}

#[derive(Debug)]
pub struct Request {
    pub kind: Kind,
    pub control_block: ControlBlock,
    pub signature: Option<Signature>,
    pub languages: String,
    /// (creation cryptographic?, reception cryptographic?) from the two QualityOfTimestamp headers.
    pub quality: Option<(bool, bool)>,
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub selection: Selection,
    /// FetchProcessCard: `Role` attribute of the selection (`Addressee`/`Originator`).
    pub selection_role: Option<String>,
    pub certs: Vec<RoleCert>,
    /// Byte range of `NonIntermediaryCertificates` in the SOAP part.
    pub nic_range: Option<Range<usize>>,
    /// Byte range of the ContentPackage's children (inside `soap:Body`).
    pub content_range: Option<Range<usize>>,
    /// Ids of header and body parts that carry one (all must be signed when signed).
    pub ids: Vec<String>,
    /// `cid:` references found in the body (attachments).
    pub cid_refs: Vec<String>,
    /// Custom (`##other`) header element names.
    pub custom_headers: Vec<String>,
}

impl Request {
    pub fn cert(&self, role: &str) -> Option<&Cert> {
        self.certs.iter().find(|c| c.role == role).map(|c| &c.cert)
    }
}

/// Why a request was not understood: the OSCI code (9100 message level, 9300 not a valid request, 9400
/// control block, 9500 missing client cipher certificate) and the location.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct RequestError {
    pub code: &'static str,
    pub rule: &'static str,
    pub reason: String,
    pub location: String,
}

fn err(
    code: &'static str,
    rule: &'static str,
    reason: impl Into<String>,
    loc: &str,
) -> RequestError {
    RequestError {
        code,
        rule,
        reason: reason.into(),
        location: loc.to_string(),
    }
}

fn control_block(el: &Element, src: &str) -> Result<ControlBlock, RequestError> {
    let loc = "/soap:Envelope/soap:Header/osci:ControlBlock";
    let seq = match el.attr("SequenceNumber") {
        None => None,
        Some(s) => Some(s.parse::<u64>().map_err(|_| {
            err(
                "9400",
                "osci.controlblock.sequence",
                format!("SequenceNumber `{s}` is not a number"),
                loc,
            )
        })?),
    };
    if let Some(c) = el.attr("ConversationId")
        && (c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(err(
            "9400",
            "osci.controlblock.conversation",
            format!("ConversationId `{c}` is not an osci:Number"),
            loc,
        ));
    }
    let mut cb = ControlBlock {
        conversation_id: el.attr("ConversationId").map(str::to_string),
        sequence_number: seq,
        response: None,
        challenge: None,
    };
    for c in el.elements() {
        let t = c.text(src).into_owned();
        match (c.ns.as_deref(), c.local.as_str()) {
            (Some(OSCI), "Response") if cb.response.is_none() => cb.response = Some(t),
            (Some(OSCI), "Challenge") if cb.challenge.is_none() => cb.challenge = Some(t),
            _ => {
                return Err(err(
                    "9400",
                    "osci.controlblock.element",
                    format!("unexpected element `{}` in the ControlBlock", c.qname),
                    loc,
                ));
            }
        }
    }
    Ok(cb)
}

fn signature(el: &Element, src: &str) -> Result<Signature, RequestError> {
    let loc = "/soap:Envelope/soap:Header/osci:ClientSignature/ds:Signature";
    let bad = |m: &str| err("9601", "osci.signature.structure", m.to_string(), loc);
    let sig = el
        .child(DS, "Signature")
        .ok_or_else(|| bad("no ds:Signature"))?;
    let si = sig
        .child(DS, "SignedInfo")
        .ok_or_else(|| bad("no ds:SignedInfo"))?;
    let alg = |e: Option<&Element>| {
        e.and_then(|e| e.attr("Algorithm"))
            .unwrap_or("")
            .to_string()
    };
    let mut references = Vec::new();
    for r in si.children_named(DS, "Reference") {
        let digest = r
            .child(DS, "DigestValue")
            .and_then(|d| crate::crypto::unb64(&d.text(src)))
            .ok_or_else(|| bad("a ds:Reference has no valid ds:DigestValue"))?;
        references.push(SigReference {
            uri: r.attr("URI").unwrap_or("").to_string(),
            digest_method: alg(r.child(DS, "DigestMethod")),
            digest,
        });
    }
    let value = sig
        .child(DS, "SignatureValue")
        .and_then(|v| crate::crypto::unb64(&v.text(src)))
        .ok_or_else(|| bad("no valid ds:SignatureValue"))?;
    let key_ref = sig
        .child(DS, "KeyInfo")
        .and_then(|k| k.child(DS, "RetrievalMethod"))
        .and_then(|r| r.attr("URI"))
        .map(|u| u.trim_start_matches('#').to_string());
    Ok(Signature {
        signature_method: alg(si.child(DS, "SignatureMethod")),
        c14n_method: alg(si.child(DS, "CanonicalizationMethod")),
        references,
        value,
        key_ref,
    })
}

fn certificates(el: &Element, src: &str, out: &mut Vec<RoleCert>) -> Result<(), RequestError> {
    let loc = "/soap:Envelope/soap:Header/osci:NonIntermediaryCertificates";
    for c in el.elements() {
        let x = c
            .child(DS, "X509Data")
            .and_then(|d| d.child(DS, "X509Certificate"))
            .ok_or_else(|| {
                err(
                    "9300",
                    "osci.certificates.structure",
                    format!("`{}` has no ds:X509Data/ds:X509Certificate", c.qname),
                    loc,
                )
            })?;
        let cert = Cert::from_base64(&x.text(src)).map_err(|e| {
            err(
                "9300",
                "osci.certificates.der",
                format!("`{}`: {e}", c.qname),
                &format!("{loc}/{}", c.qname),
            )
        })?;
        out.push(RoleCert {
            role: c.local.clone(),
            id: c.attr("Id").map(str::to_string),
            cert,
        });
    }
    Ok(())
}

fn collect_cids(el: &Element, out: &mut Vec<String>) {
    for a in &el.attrs {
        if (a.local == "href" || a.local == "URI") && a.value.starts_with("cid:") {
            out.push(a.value[4..].to_string());
        }
    }
    for c in el.elements() {
        collect_cids(c, out);
    }
}

fn selection(el: &Element, src: &str) -> (Selection, Option<String>) {
    let Some(rule) = el.child(OSCI, "SelectionRule") else {
        return (Selection::Next, None);
    };
    if let Some(m) = rule.child(OSCI, "MessageId") {
        let raw = m.text(src);
        let decoded = crate::crypto::unb64(&raw)
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_else(|| raw.to_string());
        return (Selection::MessageId(decoded), None);
    }
    if let Some(r) = rule.child(OSCI, "ReceptionOfDelivery") {
        return (
            Selection::ReceptionOfDelivery(r.text(src).trim().to_string()),
            r.attr("Role").map(str::to_string),
        );
    }
    if let Some(r) = rule.child(OSCI, "RecentModification") {
        return (
            Selection::RecentModification(r.text(src).trim().to_string()),
            r.attr("Role").map(str::to_string),
        );
    }
    (Selection::Next, None)
}

fn kind_of_schema(loc: &str) -> Option<Kind> {
    Kind::all()
        .into_iter()
        .find(|k| loc.split_whitespace().nth(1) == Some(k.schema()))
}

/// Read a decrypted SOAP envelope into a request.
pub fn parse(doc: &Document<'_>) -> Result<Request, RequestError> {
    let src = doc.src;
    let env = &doc.root;
    if !env.is(SOAP, "Envelope") {
        return Err(err(
            "9100",
            "osci.envelope",
            format!("root element is `{}`, not soap:Envelope", env.qname),
            "/",
        ));
    }
    let schema = env.attr_ns(crate::xml::XSI, "schemaLocation").unwrap_or("");
    let header = env.child(SOAP, "Header");
    let body = env
        .child(SOAP, "Body")
        .ok_or_else(|| err("9100", "osci.envelope", "no soap:Body", "/soap:Envelope"))?;
    let mut kind = kind_of_schema(schema);
    let mut cb = None;
    let mut sig = None;
    let mut languages = String::new();
    let mut quality: (Option<bool>, Option<bool>) = (None, None);
    let mut message_id = None;
    let mut subject = None;
    let mut sel = (Selection::Next, None);
    let mut certs = Vec::new();
    let mut nic_range = None;
    let mut ids = Vec::new();
    let mut custom = Vec::new();
    let hloc = "/soap:Envelope/soap:Header";
    if let Some(h) = header {
        for el in h.elements() {
            if let Some(id) = el.attr("Id")
                && el.local != "ClientSignature"
            {
                ids.push(id.to_string());
            }
            match (el.ns.as_deref(), el.local.as_str()) {
                (Some(OSCI), "ControlBlock") => {
                    if cb.is_some() {
                        return Err(err(
                            "9400",
                            "osci.controlblock.duplicate",
                            "two ControlBlocks",
                            hloc,
                        ));
                    }
                    cb = Some(control_block(el, src)?);
                }
                (Some(OSCI), "ClientSignature") => sig = Some(signature(el, src)?),
                (Some(OSCI), "DesiredLanguages") => {
                    languages = el.attr("LanguagesList").unwrap_or("de").to_string();
                }
                (Some(OSCI), "QualityOfTimestamp") => {
                    let crypto = el.attr("Quality") == Some("cryptographic");
                    match el.attr("Service") {
                        Some("creation") => quality.0 = Some(crypto),
                        Some("reception") => quality.1 = Some(crypto),
                        other => {
                            return Err(err(
                                "9300",
                                "osci.quality-of-timestamp",
                                format!(
                                    "QualityOfTimestamp Service `{}` is neither creation nor reception",
                                    other.unwrap_or("")
                                ),
                                hloc,
                            ));
                        }
                    }
                }
                (Some(OSCI), "storeDelivery") => {
                    kind.get_or_insert(Kind::StoreDelivery);
                    message_id = el
                        .child(OSCI, "MessageId")
                        .map(|m| m.text(src).trim().to_string());
                    subject = el.child(OSCI, "Subject").map(|s| s.text(src).into_owned());
                }
                (Some(OSCI), "fetchDelivery") => {
                    kind.get_or_insert(Kind::FetchDelivery);
                    sel = selection(el, src);
                }
                (Some(OSCI), "fetchProcessCard") => {
                    kind.get_or_insert(Kind::FetchProcessCard);
                    sel = selection(el, src);
                }
                (Some(OSCI), "NonIntermediaryCertificates") => {
                    nic_range = Some(el.span.clone());
                    certificates(el, src, &mut certs)?;
                }
                (Some(OSCI2017), "FeatureDescription") => {}
                (Some(OSCI), other) => {
                    return Err(err(
                        "9300",
                        "osci.header.unsupported",
                        format!(
                            "header `osci:{other}` is not part of a request this intermediary supports"
                        ),
                        hloc,
                    ));
                }
                _ => custom.push(el.qname.clone()),
            }
        }
    }
    if let Some(id) = body.attr("Id") {
        ids.push(id.to_string());
    }
    let mut content_range = None;
    for el in body.elements() {
        match (el.ns.as_deref(), el.local.as_str()) {
            (Some(OSCI), "initDialog") => {
                kind.get_or_insert(Kind::InitDialog);
            }
            (Some(OSCI), "exitDialog") => {
                kind.get_or_insert(Kind::ExitDialog);
            }
            (Some(OSCI), "getMessageId") => {
                kind.get_or_insert(Kind::GetMessageId);
            }
            (Some(OSCI), "fetchProcessCard") => {
                kind.get_or_insert(Kind::FetchProcessCard);
                sel = selection(el, src);
            }
            (Some(OSCI), "ContentPackage") => {
                let inner_start = el.elements().next().map(|e| e.span.start);
                let inner_end = el.elements().last().map(|e| e.span.end);
                if let (Some(s), Some(e)) = (inner_start, inner_end) {
                    content_range = Some(s..e);
                }
            }
            (Some(XENC), "EncryptedData") => {
                return Err(err(
                    "9300",
                    "osci.body.encrypted-data",
                    "an xenc:EncryptedData in the inner soap:Body: the message is encrypted twice",
                    "/soap:Envelope/soap:Body",
                ));
            }
            _ => {
                return Err(err(
                    "9300",
                    "osci.body.unsupported",
                    format!(
                        "body element `{}` is not part of a supported request",
                        el.qname
                    ),
                    "/soap:Envelope/soap:Body",
                ));
            }
        }
    }
    let kind = kind.ok_or_else(|| {
        err(
            "9300",
            "osci.message-type",
            format!("message type not recognised (xsi:schemaLocation `{schema}`)"),
            "/soap:Envelope/@xsi:schemaLocation",
        )
    })?;
    let control_block = cb.ok_or_else(|| {
        err(
            "9400",
            "osci.controlblock.missing",
            "no osci:ControlBlock header",
            hloc,
        )
    })?;
    let mut cid_refs = Vec::new();
    collect_cids(body, &mut cid_refs);
    Ok(Request {
        kind,
        control_block,
        signature: sig,
        languages,
        quality: match quality {
            (Some(c), Some(r)) => Some((c, r)),
            _ => None,
        },
        message_id,
        subject,
        selection: sel.0,
        selection_role: sel.1,
        certs,
        nic_range,
        content_range,
        ids,
        cid_refs,
        custom_headers: custom,
    })
}
