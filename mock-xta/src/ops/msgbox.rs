//! What the five MsgBox operations share: the selector (`osci:MsgSelector`), which messages a mailbox
//! shows, the `osci:MsgBoxResponse` header, status list entries, iterators (MsgBoxRequestID) and the
//! container answer of a fetch.
//!
//! A mailbox shows the messages for its account that are not cancelled, whose NotBefore has come, and that
//! the reader has not confirmed with `close` — `newEntry="false"` shows the confirmed ones too. A message
//! counts as fetched only after `close`.

use super::{BodyOut, ContentOut, Ctx, Source, store_fault};
use crate::db::{self, IterKind, Iterator, MessageRow, Record, RecordKind};
use crate::fault::{XtaFault, codes};
use crate::model::xsd_time;
use crate::ns;
use crate::soap::uuid;
use crate::xml::{Element, W};
use sim_kit::Diagnosis;
use time::OffsetDateTime;

/// `osci:MsgSelector`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    pub ids: Vec<String>,
    pub relates_to: Vec<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub new_entry: Option<bool>,
    /// Why the search arguments are unusable (answered with NoMessageAvailable/SearchArgsInvalid).
    pub invalid: Option<String>,
}

/// Read the selector of a MsgBox request element.
pub fn selector(req: &Element, path: &str) -> Result<Option<Selector>, XtaFault> {
    let Some(s) = req.child(ns::OSCI, "MsgSelector") else {
        if let Some(other) = req.children.first() {
            return Err(crate::soap::sender_fault(
                "xta.msgbox.unexpected",
                format!(
                    "{path}: element {} is not allowed here (only osci:MsgSelector)",
                    other.qname
                ),
            )
            .at(format!("{path}/{}", other.qname)));
        }
        return Ok(None);
    };
    let sp = format!("{path}/MsgSelector");
    crate::model::sequence(
        s,
        &sp,
        &[
            (ns::WSA, "MessageID", 0, usize::MAX),
            (ns::WSA, "RelatesTo", 0, usize::MAX),
            (ns::OSCI, "MsgBoxEntryTimeFrom", 0, 1),
            (ns::OSCI, "MsgBoxEntryTimeTo", 0, 1),
            (ns::OSCI, "Extension", 0, 1),
        ],
    )?;
    let mut sel = Selector::default();
    for c in &s.children {
        match c.local.as_str() {
            "MessageID" => sel.ids.push(c.trimmed().to_string()),
            "RelatesTo" => sel.relates_to.push(c.trimmed().to_string()),
            "MsgBoxEntryTimeFrom" | "MsgBoxEntryTimeTo" => {
                match xsd_time::parse_datetime(c.trimmed()) {
                    Some(t) if c.local == "MsgBoxEntryTimeFrom" => sel.from = Some(t),
                    Some(t) => sel.to = Some(t),
                    None => {
                        sel.invalid = Some(format!(
                            "{} '{}' is not an xs:dateTime",
                            c.local,
                            c.trimmed()
                        ));
                    }
                }
            }
            "Extension" => {
                sel.invalid =
                    Some("osci:Extension search arguments are not supported by this server".into());
            }
            _ => {}
        }
    }
    if let (Some(f), Some(t)) = (sel.from, sel.to)
        && f > t
    {
        sel.invalid = Some("MsgBoxEntryTimeFrom is later than MsgBoxEntryTimeTo".into());
    }
    match s.attr("newEntry").map(str::trim) {
        None => {}
        Some("true") | Some("1") => sel.new_entry = Some(true),
        Some("false") | Some("0") => sel.new_entry = Some(false),
        Some(other) => {
            return Err(XtaFault::of(
                codes::INVALID_COMBINATION,
                "xta.schema.type",
                format!("newEntry '{other}' is not a boolean"),
            )
            .at(sp));
        }
    }
    Ok(Some(sel))
}

/// Whether a message is in the mailbox at `now` (not cancelled, NotBefore reached).
pub fn delivered(m: &MessageRow, now: OffsetDateTime) -> bool {
    m.cancelled_at.is_none()
        && m.not_before
            .as_deref()
            .and_then(xsd_time::parse_datetime)
            .is_none_or(|nb| nb <= now)
}

/// The mailbox messages a selector picks, in order of entry.
pub fn select(
    rows: Vec<MessageRow>,
    sel: Option<&Selector>,
    now: OffsetDateTime,
) -> Vec<MessageRow> {
    let show_closed = sel.and_then(|s| s.new_entry) == Some(false);
    rows.into_iter()
        .filter(|m| delivered(m, now))
        .filter(|m| show_closed || m.closed_at.is_none())
        .filter(|m| match sel {
            None => true,
            Some(s) => {
                let entered = xsd_time::parse_datetime(&m.entered_at);
                (s.ids.is_empty() || s.ids.contains(&m.id))
                    && (s.relates_to.is_empty()
                        || m.in_reply_to.iter().any(|r| s.relates_to.contains(r)))
                    && s.from.is_none_or(|f| entered.is_some_and(|e| e >= f))
                    && s.to.is_none_or(|t| entered.is_some_and(|e| e <= t))
            }
        })
        .collect()
}

/// What `osci:MsgBoxResponse` says.
pub enum Pending {
    Items(usize),
    None(&'static str),
}

pub fn response_header(request_id: &str, p: Pending) -> String {
    let mut w = W::new();
    w.open(
        "osci:MsgBoxResponse",
        &[("xmlns:osci", ns::OSCI), ("MsgBoxRequestID", request_id)],
    );
    match p {
        Pending::Items(n) => {
            w.leaf("osci:ItemsPending", &n.to_string());
        }
        Pending::None(reason) => {
            w.empty("osci:NoMessageAvailable", &[("reason", reason)]);
        }
    }
    w.close("osci:MsgBoxResponse");
    w.buf
}

/// A new iterator id.
pub fn new_request_id() -> String {
    format!("urn:de:xta:msgbox:request:konform:{}", uuid())
}

/// `ListForm` of a status list request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListForm {
    /// `MsgAtrributes` (sic: the schema's spelling).
    Attributes,
    MetaData,
}

impl ListForm {
    pub fn parse(v: Option<&str>, path: &str) -> Result<ListForm, XtaFault> {
        match v.map(str::trim) {
            None | Some("MsgAtrributes") => Ok(ListForm::Attributes),
            Some("MessageMetaData") => Ok(ListForm::MetaData),
            Some("MsgAttributes") => Err(XtaFault::of(
                codes::INVALID_COMBINATION,
                "xta.msgbox.list-form",
                "ListForm 'MsgAttributes': the schema spells the value 'MsgAtrributes' (sic)",
            )
            .at(format!("{path}/@ListForm"))
            .hint("send ListForm=\"MsgAtrributes\" or ListForm=\"MessageMetaData\"")),
            Some(o) => Err(XtaFault::of(
                codes::INVALID_COMBINATION,
                "xta.msgbox.list-form",
                format!("ListForm '{o}' is neither 'MsgAtrributes' nor 'MessageMetaData'"),
            )
            .at(format!("{path}/@ListForm"))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ListForm::Attributes => "MsgAtrributes",
            ListForm::MetaData => "MessageMetaData",
        }
    }
}

/// `osci:MsgStatusList` with the entries in the requested form.
pub fn status_list(rows: &[MessageRow], form: ListForm) -> String {
    let mut w = W::new();
    w.open(
        "osci:MsgStatusList",
        &[("xmlns:osci", ns::OSCI), ("xmlns:wsa", ns::WSA)],
    );
    for m in rows {
        match form {
            ListForm::MetaData => {
                w.raw(&m.meta_xml);
            }
            ListForm::Attributes => {
                w.open("osci:MsgAttributes", &[])
                    .leaf("wsa:MessageID", &m.id);
                for r in &m.in_reply_to {
                    w.leaf("wsa:RelatesTo", r);
                }
                w.leaf("osci:TypeOfBusinessScenario", &m.business_scenario)
                    .leaf("osci:MsgSize", &m.size.min(i32::MAX as u64).to_string());
                if let Some(o) = &m.obsolete_after {
                    w.leaf("osci:ObsoleteAfterDate", o);
                }
                w.leaf("osci:DeliveryTime", &delivery_time(m));
                if let Some(f) = &m.fetched_at {
                    w.leaf("osci:InitialFetchedTime", f);
                }
                w.close("osci:MsgAttributes");
            }
        }
    }
    w.close("osci:MsgStatusList");
    w.buf
}

/// When the message reached the mailbox: its entry, or NotBefore for a scheduled send.
fn delivery_time(m: &MessageRow) -> String {
    match &m.not_before {
        Some(nb) if *nb > m.entered_at => nb.clone(),
        _ => m.entered_at.clone(),
    }
}

/// Load a live iterator of this account and kind; `None` (→ RequestIdInvalid) otherwise.
pub fn load_iterator(
    cx: &Ctx<'_>,
    id: &str,
    account: &str,
    kind: IterKind,
) -> Result<Option<Iterator>, XtaFault> {
    let it = cx
        .st
        .store()
        .read(|c| db::iterator(c, id))
        .map_err(store_fault)?;
    let ttl = cx.st.config().limits.iterator_ttl_secs as i64;
    Ok(it.filter(|it| {
        it.account == account
            && it.kind == kind
            && xsd_time::parse_datetime(&it.created_at)
                .is_some_and(|c| c + time::Duration::seconds(ttl) > cx.now)
    }))
}

/// Deliver one message: mark the first fetch, note it in the report, and build the answer's header and body.
pub fn deliver(
    cx: &Ctx<'_>,
    m: &MessageRow,
    notes: &mut Vec<Diagnosis>,
) -> Result<(String, BodyOut), XtaFault> {
    let now = cx.now_str();
    if m.closed_at.is_some() {
        notes.push(Diagnosis::new(
            "xta.msgbox.refetch",
            format!(
                "message '{}' was already confirmed with close at {}; fetched again",
                m.id,
                m.closed_at.as_deref().unwrap_or("")
            ),
        ));
    }
    let first = m.fetched_at.is_none();
    cx.st
        .store()
        .write(|tx| {
            if db::mark(tx, &m.id, "fetched_at", &now)? {
                db::add_record(
                    tx,
                    &m.id,
                    &Record {
                        kind: RecordKind::Info,
                        at: now.clone(),
                        code: "xta.fetched".into(),
                        reason: format!(
                            "Nachricht von {} abgerufen (Abholung noch nicht mit close bestätigt)",
                            m.reader
                        ),
                    },
                )?;
            }
            Ok(())
        })
        .map_err(store_fault)?;
    let _ = first;
    let body = match (&m.message_blob, &m.encrypted_xml) {
        (Some(blob), _) => {
            let atts = cx
                .st
                .store()
                .read(|c| db::attachments(c, &m.id))
                .map_err(store_fault)?;
            let len = cx.st.store().blob_len(blob).map_err(store_fault)?;
            BodyOut::Container {
                message: ContentOut {
                    attrs: m.message_attrs.clone(),
                    src: Source::Blob {
                        id: blob.clone(),
                        len,
                    },
                },
                attachments: atts
                    .into_iter()
                    .map(|a| ContentOut {
                        attrs: a.attrs,
                        src: Source::Blob {
                            id: a.blob,
                            len: a.size,
                        },
                    })
                    .collect(),
            }
        }
        (None, Some(x)) => BodyOut::Encrypted(x.clone()),
        (None, None) => {
            return Err(XtaFault::internal(format!(
                "message '{}' has no stored content",
                m.id
            )));
        }
    };
    Ok((m.meta_xml.clone(), body))
}
