//! The client side of the wire format: building XTA requests as a portal or an authority sends them —
//! SOAP 1.2 envelopes with WS-Addressing, the transport order (MessageMetaData), a FIM message with its
//! header (seed 001 §5), and the three packagings: inline base64, MTOM as Apache CXF writes it (action as
//! its own parameter, the Message also as a part) and as Metro writes it (action inside `start-info`).
//! Used by the tests, the benchmark, the fuzz seeds and the reference client.

use crate::model::ContentAttrs;
use crate::ns::{self, Op};
use crate::soap::uuid;
use crate::xml::{W, escape};
use base64::Engine;

/// An organisation as a transport order names it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartySpec {
    pub id: String,
    #[serde(default = "xoev")]
    pub id_type: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
}

fn xoev() -> String {
    "xoev".into()
}

impl PartySpec {
    pub fn new(id: &str) -> PartySpec {
        PartySpec {
            id: id.into(),
            id_type: xoev(),
            name: None,
            category: None,
        }
    }
    fn write(&self, w: &mut W, element: &str) {
        let mut attrs = vec![("type", self.id_type.as_str())];
        if let Some(n) = &self.name {
            attrs.push(("name", n));
        }
        if let Some(c) = &self.category {
            attrs.push(("category", c));
        }
        w.open(element, &[])
            .leaf_attrs("oscimeta:Identifier", &attrs, &self.id)
            .close(element);
    }
}

/// A code from a code list.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CodeSpec {
    pub code: String,
    pub list_uri: String,
    pub list_version_id: String,
}

/// A transport order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MetaSpec {
    pub message_id: String,
    pub author: PartySpec,
    #[serde(default)]
    pub sender: Option<PartySpec>,
    pub reader: PartySpec,
    pub service: String,
    /// `Defined` with this code; `None` writes `Undefined` with `business_scenario_text`.
    pub business_scenario: Option<CodeSpec>,
    #[serde(default)]
    pub business_scenario_text: Option<String>,
    pub message_type: CodeSpec,
    pub payload_schema: String,
    #[serde(default)]
    pub not_before: Option<String>,
    #[serde(default)]
    pub in_reply_to: Vec<String>,
    #[serde(default)]
    pub test_msg: bool,
    #[serde(default)]
    pub msg_size: Option<u64>,
}

/// The seed's FIM transport order (001 §4.1 II).
pub fn fim_meta(message_id: &str, author: PartySpec, reader: PartySpec) -> MetaSpec {
    MetaSpec {
        message_id: message_id.into(),
        author,
        sender: None,
        reader,
        service: crate::config::FIM_SERVICE.into(),
        business_scenario: Some(CodeSpec {
            code: "FIM_DATA".into(),
            list_uri: "urn:de:xta:codeliste:business.scenario".into(),
            list_version_id: "1".into(),
        }),
        business_scenario_text: None,
        message_type: CodeSpec {
            code: "fim.S17000652.17000652001004".into(),
            list_uri: "urn:de:payloadSchema:elementName".into(),
            list_version_id: "1.0".into(),
        },
        payload_schema: "urn:xoev-de:xfall:standard:fim-s17000652_1.4".into(),
        not_before: None,
        in_reply_to: Vec::new(),
        test_msg: false,
        msg_size: None,
    }
}

/// `oscimeta:MessageMetaData` (namespaces declared on it).
pub fn meta_xml(m: &MetaSpec) -> String {
    let mut w = W::new();
    let mut attrs = vec![("xmlns:oscimeta", ns::OSCIMETA), ("xmlns:wsa", ns::WSA)];
    if m.test_msg {
        attrs.push(("TestMsg", "true"));
    }
    w.open("oscimeta:MessageMetaData", &attrs)
        .open("oscimeta:DeliveryAttributes", &[]);
    if let Some(nb) = &m.not_before {
        w.leaf("oscimeta:NotBefore", nb);
    }
    w.close("oscimeta:DeliveryAttributes")
        .open("oscimeta:Originators", &[]);
    m.author.write(&mut w, "oscimeta:Author");
    if let Some(s) = &m.sender {
        s.write(&mut w, "oscimeta:Sender");
    }
    w.close("oscimeta:Originators")
        .open("oscimeta:Destinations", &[]);
    m.reader.write(&mut w, "oscimeta:Reader");
    w.close("oscimeta:Destinations")
        .open("oscimeta:MsgIdentification", &[])
        .leaf("wsa:MessageID", &m.message_id);
    for r in &m.in_reply_to {
        w.leaf("oscimeta:In-Reply-To", r);
    }
    w.close("oscimeta:MsgIdentification")
        .open("oscimeta:Qualifier", &[])
        .leaf("oscimeta:Service", &m.service)
        .open("oscimeta:BusinessScenario", &[]);
    match &m.business_scenario {
        Some(c) => {
            w.open(
                "oscimeta:Defined",
                &[
                    ("listURI", &c.list_uri),
                    ("listVersionID", &c.list_version_id),
                ],
            )
            .leaf("code", &c.code)
            .close("oscimeta:Defined");
        }
        None => {
            w.leaf(
                "oscimeta:Undefined",
                m.business_scenario_text.as_deref().unwrap_or("undefined"),
            );
        }
    }
    w.close("oscimeta:BusinessScenario")
        .open(
            "oscimeta:MessageType",
            &[
                ("listURI", &m.message_type.list_uri),
                ("listVersionID", &m.message_type.list_version_id),
                ("payloadSchema", &m.payload_schema),
            ],
        )
        .leaf("code", &m.message_type.code)
        .close("oscimeta:MessageType")
        .close("oscimeta:Qualifier");
    if let Some(s) = m.msg_size {
        w.leaf("oscimeta:MsgSize", &s.to_string());
    }
    w.close("oscimeta:MessageMetaData");
    w.buf
}

/// One organisation in the FIM header (G05001481 Leser, G05001482 Autor).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FimOrg {
    pub name: String,
    pub key: String,
    pub category: String,
}

/// The FIM message header G05001479 (seed 001 §5.1).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FimHeader {
    pub uuid: String,
    pub created: String,
    pub message_type: String,
    pub service: String,
    pub reader: FimOrg,
    pub author: FimOrg,
}

/// The seed's own example header (001 §5.2), values as printed there (the author's name wraps a line).
pub fn seed_header_example() -> FimHeader {
    FimHeader {
        uuid: "d447e43a-5723-4821-a170-cb44d2dbf143".into(),
        created: "2022-08-15T09:30:47".into(),
        message_type: "fim.S17000652.17000652001004".into(),
        service: "urn:fim:Versammlungsanzeige:1.4".into(),
        reader: FimOrg {
            name: "Kreisordnungsbehörde Dithmarschen".into(),
            key: "vbe:010510440100".into(),
            category: "Versammlungsbehörde".into(),
        },
        author: FimOrg {
            name: "OSI-Onlinedienst Schleswig-Holstein\n    Versammlungsanzeige".into(),
            key: "ehp:010100100000".into(),
            category: "Engagement- und Hobbyportal".into(),
        },
    }
}

/// A header for the default test accounts.
pub fn default_header() -> FimHeader {
    let mut h = seed_header_example();
    h.uuid = uuid();
    h.reader.key = crate::config::AUTHORITY_ID.into();
    h.author.key = crate::config::PORTAL_ID.into();
    h.author.name = "EFA-Onlinedienst Versammlungsanzeige Schleswig-Holstein".into();
    h
}

/// The header as the seed writes it, with prefix `xfd` bound to `ns`.
pub fn fim_header_xml(h: &FimHeader) -> String {
    let org = |tag: &str, o: &FimOrg| {
        format!(
            "<xfd:{tag}><xfd:F05002754>{}</xfd:F05002754><xfd:F05002755>{}</xfd:F05002755><xfd:F05002756>{}</xfd:F05002756></xfd:{tag}>",
            escape(&o.name),
            escape(&o.key),
            escape(&o.category)
        )
    };
    format!(
        "<xfd:G05001479><xfd:G05001480><xfd:F05002750>{}</xfd:F05002750><xfd:F05002751>{}</xfd:F05002751><xfd:F05002752>{}</xfd:F05002752><xfd:F05002753>{}</xfd:F05002753></xfd:G05001480>{}{}</xfd:G05001479>",
        escape(&h.uuid),
        escape(&h.created),
        escape(&h.message_type),
        escape(&h.service),
        org("G05001481", &h.reader),
        org("G05001482", &h.author)
    )
}

/// Namespace konform's sample FIM messages bind `xfd` to (the seed names none).
pub const FIM_SAMPLE_NS: &str = "urn:xoev-de:xfall:standard:fim-s17000652_1.4";

/// A FIM Versammlungsanzeige message (a sample structure around the seed's header): the header and one
/// `F60000296` proof name per attachment, nested as evidence groups are.
pub fn fim_message(h: &FimHeader, proofs: &[&str]) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><xfd:S17000652 xmlns:xfd=\"{FIM_SAMPLE_NS}\">{}<xfd:G17003529><xfd:F17009191>Kundgebung für den Klimaschutz</xfd:F17009191><xfd:F17009192>2026-05-01T10:00:00</xfd:F17009192><xfd:F17009193>Marktplatz Heide</xfd:F17009193></xfd:G17003529>",
        fim_header_xml(h)
    );
    for p in proofs {
        s.push_str(&format!(
            "<xfd:G60000145><xfd:F60000296>{}</xfd:F60000296></xfd:G60000145>",
            escape(p)
        ));
    }
    s.push_str("</xfd:S17000652>");
    s
}

/// How a request's content travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Packaging {
    Inline,
    MtomCxf,
    MtomMetro,
}

/// Content to send.
#[derive(Clone, Debug)]
pub struct ContentSpec {
    pub attrs: ContentAttrs,
    pub data: Vec<u8>,
}

impl ContentSpec {
    pub fn new(content_type: &str, filename: Option<&str>, data: Vec<u8>) -> ContentSpec {
        ContentSpec {
            attrs: ContentAttrs {
                content_type: content_type.into(),
                filename: filename.map(str::to_string),
                ..ContentAttrs::default()
            },
            data,
        }
    }
}

/// `oscimeta:Author` header block.
pub fn author_header(p: &PartySpec) -> String {
    let mut w = W::new();
    w.open("oscimeta:Author", &[("xmlns:oscimeta", ns::OSCIMETA)]);
    let mut attrs = vec![("type", p.id_type.as_str())];
    if let Some(n) = &p.name {
        attrs.push(("name", n));
    }
    w.leaf_attrs("oscimeta:Identifier", &attrs, &p.id)
        .close("oscimeta:Author");
    w.buf
}

/// A SOAP 1.2 envelope with WS-Addressing headers (Action, MessageID, To, ReplyTo anonymous).
pub fn envelope(action: &str, to: &str, headers: &[String], body: &str) -> String {
    let mut s = String::with_capacity(body.len() + 1024);
    s.push_str(crate::soap::XML_DECL);
    s.push_str(&format!(
        "<soap:Envelope xmlns:soap=\"{}\" xmlns:wsa=\"{}\"><soap:Header><wsa:Action>{}</wsa:Action><wsa:MessageID>urn:uuid:{}</wsa:MessageID><wsa:To>{}</wsa:To><wsa:ReplyTo><wsa:Address>{}</wsa:Address></wsa:ReplyTo>",
        ns::SOAP12,
        ns::WSA,
        escape(action),
        uuid(),
        escape(to),
        ns::WSA_ANONYMOUS
    ));
    for h in headers {
        s.push_str(h);
    }
    s.push_str("</soap:Header><soap:Body>");
    s.push_str(body);
    s.push_str("</soap:Body></soap:Envelope>");
    s
}

/// A request ready to post: Content-Type and body.
pub struct Built {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A request without content (all operations but the sends): SOAP 1.2, action in the Content-Type.
pub fn simple(op: Op, to: &str, headers: &[String], body: &str) -> Built {
    Built {
        content_type: format!(
            "application/soap+xml; charset=UTF-8; action=\"{}\"",
            op.action()
        ),
        body: envelope(op.action(), to, headers, body).into_bytes(),
    }
}

fn content_open(attrs: &ContentAttrs, tag: &str) -> String {
    let mut w = W::new();
    let a = attrs.xml_attrs();
    let refs: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, v.as_str())).collect();
    w.open(tag, &refs);
    w.buf
}

/// sendMessage / sendMessageSync with content, in the chosen packaging.
pub fn send(
    op: Op,
    to: &str,
    meta_xml: &str,
    message: &ContentSpec,
    attachments: &[ContentSpec],
    packaging: Packaging,
) -> Built {
    let headers = [meta_xml.to_string()];
    let all: Vec<(&str, &ContentSpec)> = std::iter::once(("xta:Message", message))
        .chain(attachments.iter().map(|a| ("xta:Attachment", a)))
        .collect();
    let mtom = packaging != Packaging::Inline;
    let mut body = format!(
        "<xta:GenericContentContainer xmlns:xta=\"{}\"><xta:ContentContainer>",
        ns::XTA
    );
    let mut parts: Vec<(String, &[u8])> = Vec::new();
    for (i, (tag, c)) in all.iter().enumerate() {
        body.push_str(&content_open(&c.attrs, tag));
        if mtom {
            let cid = format!("{}-{i}@konform.example", uuid());
            body.push_str(&format!(
                "<xop:Include xmlns:xop=\"{}\" href=\"cid:{}\"/>",
                ns::XOP,
                cid.replace('@', "%40")
            ));
            parts.push((cid, &c.data));
        } else {
            body.push_str(&base64::engine::general_purpose::STANDARD.encode(&c.data));
        }
        body.push_str(&format!("</{tag}>"));
    }
    body.push_str("</xta:ContentContainer></xta:GenericContentContainer>");
    let env = envelope(op.action(), to, &headers, &body);
    if !mtom {
        return Built {
            content_type: format!(
                "application/soap+xml; charset=UTF-8; action=\"{}\"",
                op.action()
            ),
            body: env.into_bytes(),
        };
    }
    let boundary = format!("uuid:{}", uuid());
    let (start, ct) = match packaging {
        Packaging::MtomMetro => (
            format!("rootpart*{}@example.jaxws.sun.com", uuid()),
            String::new(),
        ),
        _ => ("root.message@cxf.apache.org".to_string(), String::new()),
    };
    let _ = ct;
    let content_type = match packaging {
        Packaging::MtomMetro => format!(
            "multipart/related;start=\"<{start}>\";type=\"application/xop+xml\";boundary=\"{boundary}\";start-info=\"application/soap+xml;action=\\\"{}\\\"\"",
            op.action()
        ),
        _ => format!(
            "multipart/related; type=\"application/xop+xml\"; boundary=\"{boundary}\"; start=\"<{start}>\"; start-info=\"application/soap+xml\"; action=\"{}\"",
            op.action()
        ),
    };
    let mut out =
        Vec::with_capacity(env.len() + parts.iter().map(|p| p.1.len() + 200).sum::<usize>());
    out.extend_from_slice(format!(
        "--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{start}>\r\n\r\n"
    ).as_bytes());
    out.extend_from_slice(env.as_bytes());
    for (cid, data) in parts {
        out.extend_from_slice(format!(
            "\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{cid}>\r\n\r\n"
        ).as_bytes());
        out.extend_from_slice(data);
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Built {
        content_type,
        body: out,
    }
}

/// A MsgBox request body: `osci:MsgBoxStatusListRequest` etc. with an optional selector.
pub fn msgbox_selector(message_ids: &[&str], new_entry: Option<bool>) -> String {
    if message_ids.is_empty() && new_entry.is_none() {
        return String::new();
    }
    let ne = new_entry
        .map(|b| format!(" newEntry=\"{b}\""))
        .unwrap_or_default();
    let mut s = format!("<osci:MsgSelector{ne}>");
    for id in message_ids {
        s.push_str(&format!(
            "<wsa:MessageID xmlns:wsa=\"{}\">{}</wsa:MessageID>",
            ns::WSA,
            escape(id)
        ));
    }
    s.push_str("</osci:MsgSelector>");
    s
}

pub fn status_list_request(
    max_items: Option<u32>,
    list_form: Option<&str>,
    selector: &str,
) -> String {
    let mut attrs = String::new();
    if let Some(m) = max_items {
        attrs.push_str(&format!(" maxListItems=\"{m}\""));
    }
    if let Some(f) = list_form {
        attrs.push_str(&format!(" ListForm=\"{}\"", escape(f)));
    }
    format!(
        "<osci:MsgBoxStatusListRequest xmlns:osci=\"{}\"{attrs}>{selector}</osci:MsgBoxStatusListRequest>",
        ns::OSCI
    )
}

pub fn fetch_request(selector: &str) -> String {
    format!(
        "<osci:MsgBoxFetchRequest xmlns:osci=\"{}\">{selector}</osci:MsgBoxFetchRequest>",
        ns::OSCI
    )
}

/// `MsgBoxGetNextRequest` or `MsgBoxCloseRequest` (`element`) with its iterator and confirmed ids.
pub fn iterator_request(element: &str, request_id: &str, last_received: &[&str]) -> String {
    let mut s = format!(
        "<osci:{element} xmlns:osci=\"{}\" xmlns:wsa=\"{}\" MsgBoxRequestID=\"{}\">",
        ns::OSCI,
        ns::WSA,
        escape(request_id)
    );
    for id in last_received {
        s.push_str(&format!(
            "<osci:LastMsgReceived>{}</osci:LastMsgReceived>",
            escape(id)
        ));
    }
    s.push_str(&format!("</osci:{element}>"));
    s
}

pub fn message_id_body(id: &str) -> String {
    format!(
        "<wsa:MessageID xmlns:wsa=\"{}\">{}</wsa:MessageID>",
        ns::WSA,
        escape(id)
    )
}

pub fn lookup_request(reader: &PartySpec, service: &str) -> String {
    let mut w = W::new();
    w.open(
        "xta:LookupServiceRequest",
        &[("xmlns:xta", ns::XTA), ("xmlns:oscimeta", ns::OSCIMETA)],
    )
    .open("xta:LookupServiceRequestList", &[])
    .open("xta:LookupService", &[]);
    reader.write(&mut w, "oscimeta:Reader");
    w.leaf("xta:ServiceType", service)
        .close("xta:LookupService")
        .close("xta:LookupServiceRequestList")
        .close("xta:LookupServiceRequest");
    w.buf
}
