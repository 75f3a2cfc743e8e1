//! Typed views of the XTA/OSCI structures a request carries: parties (`oscimeta:PartyType`), XÖV codes
//! (`KeyCodeType`), the transport order `oscimeta:MessageMetaData` and the `ContentType` attributes.
//! Each is read from the element tree with the schema's cardinalities checked; what the server echoes back
//! (MessageMetaData) is kept as the element itself.

pub mod xsd_time;

use crate::fault::{XtaFault, codes};
use crate::ns;
use crate::xml::Element;
use time::{Date, OffsetDateTime};

/// A child the schema requires: the first child with this name, or 9020 naming the path.
pub fn required<'a>(
    el: &'a Element,
    ns: &str,
    local: &str,
    path: &str,
) -> Result<&'a Element, XtaFault> {
    el.child(ns, local).ok_or_else(|| {
        XtaFault::of(
            codes::NO_PARAMETERS,
            "xta.schema.missing",
            format!("{path} lacks its required child {local} ({ns})"),
        )
        .at(path.to_string())
    })
}

/// Check the element children against a sequence of `(namespace or "" for unqualified, local, min, max)`,
/// as the XSD declares it: order, cardinalities, nothing unknown. 9022 on a violation.
pub fn sequence(
    el: &Element,
    path: &str,
    seq: &[(&str, &str, usize, usize)],
) -> Result<(), XtaFault> {
    let mut i = 0;
    let kids = &el.children;
    for (nsu, local, min, max) in seq {
        let mut n = 0;
        while i < kids.len() && n < *max && matches_name(&kids[i], nsu, local) {
            i += 1;
            n += 1;
        }
        if n < *min {
            let found = kids
                .get(i)
                .map(|k| k.qname.clone())
                .unwrap_or_else(|| "the end".into());
            return Err(XtaFault::of(
                codes::NO_PARAMETERS,
                "xta.schema.missing",
                format!("{path}: {local} expected, found {found}"),
            )
            .at(format!("{path}/{local}")));
        }
    }
    if let Some(extra) = kids.get(i) {
        return Err(XtaFault::of(
            codes::INVALID_COMBINATION,
            "xta.schema.unexpected",
            format!(
                "{path}: element {} ({}) is not allowed here by the schema",
                extra.qname,
                extra.ns.as_deref().unwrap_or("no namespace")
            ),
        )
        .at(format!("{path}/{}", extra.qname)));
    }
    Ok(())
}

fn matches_name(e: &Element, nsu: &str, local: &str) -> bool {
    e.local == local && e.ns.as_deref().unwrap_or("") == nsu
}

/// A URI-ish value (`xs:anyURI` is lax; we require a scheme, as every XTA identifier has one).
pub fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    !rest.is_empty()
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !s.chars().any(char::is_whitespace)
}

/// `oscimeta:PartyType`: the identifier (with its `type`, `name`, `category`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Party {
    pub id: String,
    pub id_type: String,
    pub name: Option<String>,
    pub category: Option<String>,
}

impl Party {
    pub fn parse(el: &Element, path: &str) -> Result<Party, XtaFault> {
        let id = required(el, ns::OSCIMETA, "Identifier", path)?;
        let ipath = format!("{path}/Identifier");
        let value = id.trimmed();
        if value.is_empty() {
            return Err(XtaFault::of(
                codes::NO_PARAMETERS,
                "xta.party.empty",
                format!("{ipath} is empty"),
            )
            .at(ipath));
        }
        let Some(ty) = id.attr("type").filter(|t| !t.trim().is_empty()) else {
            return Err(XtaFault::of(
                codes::NO_PARAMETERS,
                "xta.schema.missing",
                format!("{ipath} lacks its required attribute type (e.g. type=\"xoev\")"),
            )
            .at(ipath));
        };
        Ok(Party {
            id: value.to_string(),
            id_type: ty.trim().to_string(),
            name: id.attr("name").map(str::to_string),
            category: id.attr("category").map(str::to_string),
        })
    }
}

/// `oscimeta:KeyCodeType` (also the base of `MessageType`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KeyCode {
    pub code: String,
    pub name: Option<String>,
    pub list_uri: String,
    pub list_version_id: String,
}

impl KeyCode {
    pub fn parse(el: &Element, path: &str) -> Result<KeyCode, XtaFault> {
        let Some(code) = el.child_unqualified("code") else {
            let hint = if el.children.iter().any(|c| c.local == "code") {
                " (found a namespace-qualified code: XÖV codes declare `code` and `name` unqualified)"
            } else {
                ""
            };
            return Err(XtaFault::of(
                codes::NO_PARAMETERS,
                "xta.schema.code",
                format!("{path} lacks its unqualified child code{hint}"),
            )
            .at(format!("{path}/code")));
        };
        let attr = |n: &str| -> Result<String, XtaFault> {
            el.attr(n).map(|v| v.trim().to_string()).ok_or_else(|| {
                XtaFault::of(
                    codes::NO_PARAMETERS,
                    "xta.schema.missing",
                    format!("{path} lacks its required attribute {n}"),
                )
                .at(path.to_string())
            })
        };
        Ok(KeyCode {
            code: code.trimmed().to_string(),
            name: el
                .child_unqualified("name")
                .map(|n| n.trimmed().to_string()),
            list_uri: attr("listURI")?,
            list_version_id: attr("listVersionID")?,
        })
    }
}

/// `BusinessScenario`: a code from a list, or free text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum BusinessScenario {
    Defined(KeyCode),
    Undefined(String),
}

/// The routing view of a transport order, and the order itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    pub element: Element,
    pub test_msg: bool,
    pub not_before: Option<OffsetDateTime>,
    pub obsolete_after: Option<Date>,
    pub author: Party,
    pub sender: Option<Party>,
    pub reader: Party,
    pub message_id: String,
    pub service: String,
    pub business_scenario: BusinessScenario,
    pub message_type: KeyCode,
    pub payload_schema: String,
    pub msg_size: Option<u64>,
}

const META_SEQ: &[(&str, &str, usize, usize)] = &[
    (ns::OSCIMETA, "DeliveryAttributes", 1, 1),
    (ns::OSCIMETA, "Originators", 1, 1),
    (ns::OSCIMETA, "Destinations", 1, 1),
    (ns::OSCIMETA, "MsgIdentification", 1, 1),
    (ns::OSCIMETA, "Qualifier", 1, 1),
    (ns::OSCIMETA, "MessageProperties", 0, 1),
    (ns::OSCIMETA, "MsgSize", 0, 1),
];

fn time_value<T>(
    parent: &Element,
    local: &str,
    path: &str,
    parse: fn(&str) -> Option<T>,
    what: &str,
) -> Result<Option<T>, XtaFault> {
    match parent.child(ns::OSCIMETA, local) {
        None => Ok(None),
        Some(e) => parse(e.trimmed()).map(Some).ok_or_else(|| {
            XtaFault::of(
                codes::INVALID_COMBINATION,
                "xta.schema.type",
                format!("{path}/{local} '{}' is not an {what}", e.trimmed()),
            )
            .at(format!("{path}/{local}"))
        }),
    }
}

impl Meta {
    /// Read a `MessageMetaData` header block (`path` is its XPath for diagnoses).
    pub fn parse(el: &Element, path: &str) -> Result<Meta, XtaFault> {
        sequence(el, path, META_SEQ)?;
        let da_path = format!("{path}/DeliveryAttributes");
        let da = required(el, ns::OSCIMETA, "DeliveryAttributes", path)?;
        let not_before = time_value(
            da,
            "NotBefore",
            &da_path,
            xsd_time::parse_datetime,
            "xs:dateTime",
        )?;
        let obsolete_after = time_value(
            da,
            "ObsoleteAfter",
            &da_path,
            xsd_time::parse_date,
            "xs:date",
        )?;
        let or_path = format!("{path}/Originators");
        let originators = required(el, ns::OSCIMETA, "Originators", path)?;
        let author = Party::parse(
            required(originators, ns::OSCIMETA, "Author", &or_path)?,
            &format!("{or_path}/Author"),
        )?;
        let sender = match originators.child(ns::OSCIMETA, "Sender") {
            Some(s) => Some(Party::parse(s, &format!("{or_path}/Sender"))?),
            None => None,
        };
        let de_path = format!("{path}/Destinations");
        let dest = required(el, ns::OSCIMETA, "Destinations", path)?;
        let reader = Party::parse(
            required(dest, ns::OSCIMETA, "Reader", &de_path)?,
            &format!("{de_path}/Reader"),
        )?;
        let mi_path = format!("{path}/MsgIdentification");
        let mi = required(el, ns::OSCIMETA, "MsgIdentification", path)?;
        let message_id = required(mi, ns::WSA, "MessageID", &mi_path)?
            .trimmed()
            .to_string();
        if !is_uri(&message_id) {
            return Err(XtaFault::of(
                codes::INVALID_URI,
                "xta.meta.message-id",
                format!("MessageID '{message_id}' is not a URI"),
            )
            .at(format!("{mi_path}/MessageID"))
            .hint("use the id createMessageId returned"));
        }
        let q_path = format!("{path}/Qualifier");
        let q = required(el, ns::OSCIMETA, "Qualifier", path)?;
        sequence(
            q,
            &q_path,
            &[
                (ns::OSCIMETA, "Subject", 0, 1),
                (ns::OSCIMETA, "Service", 1, 1),
                (ns::OSCIMETA, "BusinessScenario", 1, 1),
                (ns::OSCIMETA, "MessageType", 1, 1),
            ],
        )?;
        let service = required(q, ns::OSCIMETA, "Service", &q_path)?
            .trimmed()
            .to_string();
        if !is_uri(&service) {
            return Err(XtaFault::of(
                codes::INVALID_URI,
                "xta.meta.service",
                format!("Service '{service}' is not a URI"),
            )
            .at(format!("{q_path}/Service")));
        }
        let bs_path = format!("{q_path}/BusinessScenario");
        let bs = required(q, ns::OSCIMETA, "BusinessScenario", &q_path)?;
        let business_scenario = if let Some(d) = bs.child(ns::OSCIMETA, "Defined") {
            BusinessScenario::Defined(KeyCode::parse(d, &format!("{bs_path}/Defined"))?)
        } else if let Some(u) = bs.child(ns::OSCIMETA, "Undefined") {
            BusinessScenario::Undefined(u.trimmed().to_string())
        } else {
            return Err(XtaFault::of(
                codes::NO_PARAMETERS,
                "xta.schema.missing",
                format!("{bs_path} holds neither Defined nor Undefined"),
            )
            .at(bs_path));
        };
        let mt_path = format!("{q_path}/MessageType");
        let mt = required(q, ns::OSCIMETA, "MessageType", &q_path)?;
        let message_type = KeyCode::parse(mt, &mt_path)?;
        let Some(payload_schema) = mt.attr("payloadSchema").map(|s| s.trim().to_string()) else {
            return Err(XtaFault::of(
                codes::NO_PARAMETERS,
                "xta.schema.missing",
                format!("{mt_path} lacks its required attribute payloadSchema"),
            )
            .at(mt_path));
        };
        let msg_size = match el.child(ns::OSCIMETA, "MsgSize") {
            Some(s) => Some(s.trimmed().parse::<u64>().map_err(|_| {
                XtaFault::of(
                    codes::INVALID_COMBINATION,
                    "xta.schema.type",
                    format!("MsgSize '{}' is not a positive integer", s.trimmed()),
                )
                .at(format!("{path}/MsgSize"))
            })?),
            None => None,
        };
        let test_msg = matches!(el.attr("TestMsg").map(str::trim), Some("true") | Some("1"));
        Ok(Meta {
            element: el.clone(),
            test_msg,
            not_before,
            obsolete_after,
            author,
            sender,
            reader,
            message_id,
            service,
            business_scenario,
            message_type,
            payload_schema,
            msg_size,
        })
    }
}

/// The attributes of an `xta:ContentType` element (Message or Attachment).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContentAttrs {
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl ContentAttrs {
    pub fn parse(el: &Element, path: &str) -> Result<ContentAttrs, XtaFault> {
        let Some(ct) = el.attr("contentType").filter(|c| !c.trim().is_empty()) else {
            return Err(XtaFault::of(
                codes::NO_PARAMETERS,
                "xta.schema.missing",
                format!("{path} lacks its required attribute contentType"),
            )
            .at(path.to_string()));
        };
        let size =
            match el.attr("size") {
                Some(s) => Some(s.trim().parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(
                    || {
                        XtaFault::of(
                            codes::INVALID_COMBINATION,
                            "xta.schema.type",
                            format!("{path}/@size '{s}' is not a positive integer"),
                        )
                        .at(path.to_string())
                    },
                )?),
                None => None,
            };
        let opt = |n: &str| el.attr(n).map(str::to_string);
        Ok(ContentAttrs {
            content_type: ct.trim().to_string(),
            content_description: opt("contentDescription"),
            encoding: opt("encoding"),
            filename: opt("filename"),
            id: opt("id"),
            lang: opt("lang"),
            size,
        })
    }

    /// The attributes as written on a response element.
    pub fn xml_attrs(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("contentType", self.content_type.clone())];
        let mut push = |k: &'static str, o: &Option<String>| {
            if let Some(x) = o {
                v.push((k, x.clone()));
            }
        };
        push("contentDescription", &self.content_description);
        push("encoding", &self.encoding);
        push("filename", &self.filename);
        push("id", &self.id);
        push("lang", &self.lang);
        if let Some(s) = self.size {
            v.push(("size", s.to_string()));
        }
        v
    }
}
