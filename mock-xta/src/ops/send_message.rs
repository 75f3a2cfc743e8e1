//! `sendMessage` (SendXtaPort): accept a transport order and its content into the reader's mailbox. In
//! order: the transport order (MessageMetaData header), the caller (certificate = Sender, else Author:
//! 9014), the booking of the service (9013), the MessageID (issued to the caller: 9022; unused: 9024), the
//! transport profile of the service (9052/9050/9051/9023), the reader in the DVDV directory (unknown 9012,
//! service not offered 9022, synchronous-only 9081). Then message, attachments and report are stored in one
//! transaction.

use super::{Answer, Ctx, Incoming, Slot, body, store_fault};
use crate::auth::{Caller, authenticate};
use crate::config::Mode;
use crate::db::{AttachmentRow, MessageRow, NewMessage, Record, RecordKind};
use crate::fault::{Code, XtaFault, codes};
use crate::model::{BusinessScenario, ContentAttrs, Meta, xsd_time};
use crate::ns::{self, Op};
use crate::profile::check::{AttachmentFacts, Facts, Level, Verdict};
use crate::soap::{Envelope, sender_fault};
use crate::xml::{Element, write_element};
use sim_kit::Diagnosis;
use sim_kit::store::NewBlob;

/// Where the identity of a sender is read from.
pub const CLAIM_PATH: &str = "/Envelope/Header/MessageMetaData/Originators/Author/Identifier";
const META_PATH: &str = "/Envelope/Header/MessageMetaData";
const CC: &str = "/Envelope/Body/GenericContentContainer/ContentContainer";

/// One piece of received content.
pub struct Part {
    pub attrs: ContentAttrs,
    pub slot: Slot,
}

pub enum Container {
    Plain {
        message: Box<Part>,
        attachments: Vec<Part>,
    },
    /// `xenc:EncryptedData`, serialised.
    Encrypted(String),
}

pub struct Request {
    pub meta: Meta,
    pub container: Container,
}

fn parse_content(el: &Element, path: &str, incoming: &mut Incoming) -> Result<Part, XtaFault> {
    let attrs = ContentAttrs::parse(el, path)?;
    let Some(r) = &el.content else {
        return Err(
            sender_fault("xta.content.missing", format!("{path} holds no content"))
                .at(path.to_string()),
        );
    };
    Ok(Part {
        attrs,
        slot: incoming.take(r, path)?,
    })
}

impl Request {
    pub fn parse(env: &Envelope, incoming: &mut Incoming, op: Op) -> Result<Request, XtaFault> {
        let Some(m) = env.header(ns::OSCIMETA, "MessageMetaData") else {
            return Err(XtaFault::of(
                codes::NO_PARAMETERS,
                "xta.send.no-metadata",
                "no oscimeta:MessageMetaData header: the transport order travels in the SOAP header",
            )
            .at("/Envelope/Header"));
        };
        let meta = Meta::parse(m, META_PATH)?;
        let b = body(env, op)?
            .ok_or_else(|| XtaFault::of(codes::NO_PARAMETERS, "xta.body.missing", "empty body"))?;
        let gpath = "/Envelope/Body/GenericContentContainer";
        let container = match b.children.first() {
            Some(e) if e.is(ns::XENC, "EncryptedData") => {
                let mut s = String::new();
                write_element(&mut s, e);
                Container::Encrypted(s)
            }
            Some(cc) if cc.is(ns::XTA, "ContentContainer") => {
                crate::model::sequence(
                    cc,
                    CC,
                    &[
                        (ns::XTA, "Message", 1, 1),
                        (ns::XTA, "Attachment", 0, usize::MAX),
                    ],
                )?;
                let message = parse_content(&cc.children[0], &format!("{CC}/Message"), incoming)?;
                let mut attachments = Vec::new();
                for (i, a) in cc.children[1..].iter().enumerate() {
                    attachments.push(parse_content(
                        a,
                        &format!("{CC}/Attachment[{}]", i + 1),
                        incoming,
                    )?);
                }
                Container::Plain {
                    message: Box::new(message),
                    attachments,
                }
            }
            _ => {
                return Err(XtaFault::of(
                    codes::NO_PARAMETERS,
                    "xta.send.container",
                    "GenericContentContainer holds neither ContentContainer nor xenc:EncryptedData",
                )
                .at(gpath));
            }
        };
        if b.children.len() > 1 {
            return Err(sender_fault(
                "xta.send.container",
                "GenericContentContainer holds more than one child",
            )
            .at(gpath));
        }
        Ok(Request { meta, container })
    }

    pub fn apply(self, cx: &Ctx<'_>) -> Result<Answer, XtaFault> {
        let acc = accept(cx, self, Mode::Async)?;
        Ok(Answer::empty().notes(acc.notes).data(acc.data))
    }
}

/// A send that passed every check and is stored.
pub struct Accepted {
    pub row: MessageRow,
    pub notes: Vec<Diagnosis>,
    pub data: serde_json::Value,
}

/// Rank of a profile error's code: size first, then the payload, then the profile.
fn rank(c: Code) -> u8 {
    match c.code {
        9023 => 0,
        9051 => 1,
        9050 => 2,
        _ => 3,
    }
}

/// The checks shared by sendMessage and sendMessageSync, and storing the message.
pub fn accept(cx: &Ctx<'_>, req: Request, expected: Mode) -> Result<Accepted, XtaFault> {
    let meta = &req.meta;
    let claimed = meta.sender.as_ref().unwrap_or(&meta.author);
    let claim_at = if meta.sender.is_some() {
        "/Envelope/Header/MessageMetaData/Originators/Sender/Identifier"
    } else {
        CLAIM_PATH
    };
    let caller: Caller = authenticate(cx.transport, Some(claimed), claim_at, |id| {
        cx.st.account(id)
    })?;
    let mut notes = caller.notes.clone();
    let profile = cx.st.profiles().for_service(&meta.service);
    let booked = caller.account.books.iter().any(|b| {
        *b == meta.service
            || profile.is_some_and(|p| {
                p.service.uri == *b && p.service.variants.iter().any(|v| v.uri == meta.service)
            })
    });
    if !booked {
        return Err(XtaFault::of(
            codes::NOT_BOOKED,
            "xta.send.not-booked",
            format!(
                "account '{}' has not booked the service '{}'",
                caller.account.id, meta.service
            ),
        )
        .at(format!("{META_PATH}/Qualifier/Service"))
        .hint(format!(
            "booked services: {}",
            caller.account.books.join(", ")
        )));
    }
    check_message_id(cx, &caller, meta)?;

    let (message, attachments, encrypted) = match &req.container {
        Container::Plain {
            message,
            attachments,
        } => (Some(&**message), attachments.as_slice(), None),
        Container::Encrypted(x) => (None, &[][..], Some(x.clone())),
    };
    let total: u64 = message.map(|m| m.slot.len).unwrap_or(0)
        + attachments.iter().map(|a| a.slot.len).sum::<u64>();
    let mut verdict = Verdict::default();
    verdict.routing.author = meta.author.id.clone();
    verdict.routing.reader = meta.reader.id.clone();
    verdict.routing.service = meta.service.clone();
    verdict.routing.message_type = meta.message_type.code.clone();
    if let Some(p) = profile {
        let scan = match (message, crate::profile::check::scan_spec(p)) {
            (Some(m), Some(spec)) => Some(m.slot.blob.open().map_err(store_fault).map(|f| {
                crate::xml::scan::scan(std::io::BufReader::with_capacity(64 * 1024, f), &spec)
            })?),
            _ => None,
        };
        let afacts: Vec<AttachmentFacts> = attachments
            .iter()
            .map(|a| AttachmentFacts {
                attrs: a.attrs.clone(),
                head: a.slot.head.clone(),
            })
            .collect();
        let facts = Facts {
            meta,
            message: message.map(|m| &m.attrs),
            message_head: message.map(|m| m.slot.head.as_slice()).unwrap_or(&[]),
            scan: scan.as_ref(),
            attachments: &afacts,
            encrypted: encrypted.is_some(),
            total_bytes: total,
        };
        verdict = crate::profile::check::check(p, &facts);
        let mut errors: Vec<_> = verdict.errors().cloned().collect();
        errors.sort_by_key(|f| rank(f.code));
        if let Some(first) = errors.first() {
            let mut f = XtaFault::new(first.code, first.diagnosis())
                .reason(format!("{}: {}", first.code.name, first.message));
            f.diagnosis.hint = Some(format!("transport profile {} ({})", p.id, p.title));
            f.more = errors[1..]
                .iter()
                .map(super::super::profile::check::Finding::diagnosis)
                .chain(
                    verdict
                        .findings
                        .iter()
                        .filter(|x| x.level != Level::Error)
                        .map(super::super::profile::check::Finding::diagnosis),
                )
                .collect();
            return Err(f);
        }
        notes.extend(
            verdict
                .findings
                .iter()
                .map(super::super::profile::check::Finding::diagnosis),
        );
    } else {
        let max = cx.st.config().limits.max_message_bytes;
        if total > max {
            return Err(XtaFault::of(
                codes::TOO_LARGE,
                "xta.send.size",
                format!("the content has {total} bytes; this server accepts {max}"),
            )
            .at(CC));
        }
        notes.push(Diagnosis::new(
            "xta.send.no-profile",
            format!(
                "no transport profile for the service '{}': only the XTA checks applied",
                meta.service
            ),
        ));
    }
    let reader = route(cx, &verdict, expected)?;
    extra_notes(meta, message, attachments, total, &mut notes);
    store(cx, &caller, req, &verdict, reader, total, notes)
}

fn check_message_id(cx: &Ctx<'_>, caller: &Caller, meta: &Meta) -> Result<(), XtaFault> {
    let at = format!("{META_PATH}/MsgIdentification/MessageID");
    let (issued, exists) = cx
        .st
        .store()
        .read(|c| {
            Ok((
                crate::db::issued_to(c, &meta.message_id)?,
                crate::db::message(c, &meta.message_id)?.is_some(),
            ))
        })
        .map_err(store_fault)?;
    if exists {
        return Err(XtaFault::of(
            codes::ID_TAKEN,
            "xta.send.message-id-taken",
            format!(
                "MessageID '{}' was already used for a message",
                meta.message_id
            ),
        )
        .at(at)
        .hint("ask createMessageId for a new id for every message"));
    }
    if cx.st.config().behaviour.require_issued_message_id
        && issued.as_deref() != Some(caller.account.id.as_str())
    {
        let why = match issued {
            Some(other) => format!("was issued to account '{other}'"),
            None => "was not issued by createMessageId".into(),
        };
        return Err(XtaFault::of(
            codes::INVALID_COMBINATION,
            "xta.send.message-id-not-issued",
            format!("MessageID '{}' {why}; it must come from createMessageId for account '{}'", meta.message_id, caller.account.id),
        )
        .at(at)
        .hint("call createMessageId first and use the id it returns (switch: behaviour.require_issued_message_id)"));
    }
    Ok(())
}

/// The reader's mailbox: known account (9012) offering the service (9022) in the expected mode (9080/9081).
fn route(
    cx: &Ctx<'_>,
    v: &Verdict,
    expected: Mode,
) -> Result<crate::config::AccountConfig, XtaFault> {
    let r = &v.routing;
    let Some(reader) = cx.st.account(&r.reader) else {
        return Err(XtaFault::of(
            codes::NO_ACCOUNT,
            "xta.send.unknown-reader",
            format!(
                "there is no account (DVDV entry) for the reader '{}'",
                r.reader
            ),
        )
        .at(format!("{META_PATH}/Destinations/Reader/Identifier"))
        .hint("configured readers: GET /__konform/xta/accounts"));
    };
    let profile_uri = cx
        .st
        .profiles()
        .for_service(&r.service)
        .map(|p| p.service.uri.clone());
    let offer = reader
        .offers
        .iter()
        .find(|o| o.service == r.service || Some(&o.service) == profile_uri.as_ref());
    let Some(offer) = offer else {
        return Err(XtaFault::of(
            codes::INVALID_COMBINATION,
            "xta.send.service-not-offered",
            format!(
                "reader '{}' offers no service '{}' in the DVDV directory",
                r.reader, r.service
            ),
        )
        .at(format!("{META_PATH}/Qualifier/Service"))
        .hint(format!(
            "'{}' offers: {}",
            r.reader,
            reader
                .offers
                .iter()
                .map(|o| o.service.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    match (offer.mode, expected) {
        (Mode::Sync, Mode::Async) => Err(XtaFault::of(
            codes::ONLY_SYNC,
            "xta.send.only-sync",
            format!(
                "'{}' offers '{}' only synchronously: use sendMessageSync",
                r.reader, r.service
            ),
        )),
        (Mode::Async, Mode::Sync) => Err(XtaFault::of(
            codes::ONLY_ASYNC,
            "xta.send.only-async",
            format!(
                "'{}' offers '{}' only asynchronously: use sendMessage",
                r.reader, r.service
            ),
        )),
        _ => Ok(reader),
    }
}

fn extra_notes(
    meta: &Meta,
    message: Option<&Part>,
    attachments: &[Part],
    total: u64,
    notes: &mut Vec<Diagnosis>,
) {
    if let Some(s) = meta.msg_size
        && s != total
    {
        notes.push(
            Diagnosis::new(
                "xta.send.msg-size",
                format!("MessageMetaData/MsgSize says {s} bytes; the content has {total}"),
            )
            .at(format!("{META_PATH}/MsgSize")),
        );
    }
    let parts = message
        .map(|m| ("Message".to_string(), m))
        .into_iter()
        .chain(
            attachments
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("Attachment[{}]", i + 1), a)),
        );
    for (name, p) in parts {
        if let Some(s) = p.attrs.size
            && s != p.slot.len
        {
            notes.push(
                Diagnosis::new(
                    "xta.send.content-size",
                    format!(
                        "{name}/@size says {s} bytes; the content has {}",
                        p.slot.len
                    ),
                )
                .at(format!("{CC}/{name}/@size")),
            );
        }
    }
    if meta.test_msg {
        notes.push(Diagnosis::new(
            "xta.send.test-message",
            "MessageMetaData/@TestMsg=\"true\": a test message",
        ));
    }
}

fn store(
    cx: &Ctx<'_>,
    caller: &Caller,
    req: Request,
    v: &Verdict,
    reader: crate::config::AccountConfig,
    total: u64,
    notes: Vec<Diagnosis>,
) -> Result<Accepted, XtaFault> {
    let meta = req.meta;
    let now = cx.now_str();
    let mut meta_xml = String::new();
    write_element(&mut meta_xml, &meta.element);
    let in_reply_to: Vec<String> = meta
        .element
        .child(ns::OSCIMETA, "MsgIdentification")
        .map(|mi| {
            mi.children_named(ns::OSCIMETA, "In-Reply-To")
                .map(|e| e.trimmed().to_string())
                .collect()
        })
        .unwrap_or_default();
    let mut blobs: Vec<NewBlob> = Vec::new();
    let mut atts = Vec::new();
    let (message_attrs, message_blob, encrypted_xml) = match req.container {
        Container::Plain {
            message,
            attachments,
        } => {
            let message = *message;
            let id = message.slot.blob.id().to_string();
            blobs.push(message.slot.blob);
            for (i, a) in attachments.into_iter().enumerate() {
                atts.push(AttachmentRow {
                    idx: i as i64,
                    attrs: a.attrs,
                    blob: a.slot.blob.id().to_string(),
                    size: a.slot.len,
                });
                blobs.push(a.slot.blob);
            }
            (message.attrs, Some(id), None)
        }
        Container::Encrypted(x) => (
            ContentAttrs {
                content_type: "application/xenc+xml".into(),
                ..ContentAttrs::default()
            },
            None,
            Some(x),
        ),
    };
    let row = MessageRow {
        seq: 0,
        id: meta.message_id.clone(),
        sender: caller.account.id.clone(),
        author: v.routing.author.clone(),
        reader: reader.id.clone(),
        service: v.routing.service.clone(),
        message_type: v.routing.message_type.clone(),
        business_scenario: match &meta.business_scenario {
            BusinessScenario::Defined(k) => k.code.clone(),
            BusinessScenario::Undefined(s) => s.clone(),
        },
        profile: cx
            .st
            .profiles()
            .for_service(&meta.service)
            .map(|p| p.id.clone()),
        meta_xml,
        in_reply_to,
        message_attrs,
        message_blob,
        encrypted_xml,
        size: total,
        not_before: meta.not_before.map(xsd_time::format_datetime),
        obsolete_after: meta.obsolete_after.map(xsd_time::format_date),
        entered_at: now.clone(),
        fetched_at: None,
        closed_at: None,
        cancelled_at: None,
        test_msg: meta.test_msg,
        sync: false,
    };
    let mut records: Vec<Record> = v
        .findings
        .iter()
        .filter(|f| f.level == Level::Warning)
        .map(|f| Record {
            kind: RecordKind::Warning,
            at: now.clone(),
            code: f.rule.clone(),
            reason: f.message.clone(),
        })
        .collect();
    records.push(Record {
        kind: RecordKind::Info,
        at: now.clone(),
        code: "xta.accepted".into(),
        reason: format!(
            "Nachricht angenommen und in das Postfach von {} eingestellt",
            reader.id
        ),
    });
    cx.st
        .store()
        .write_with_blobs(blobs, |tx| {
            crate::db::insert_message(
                tx,
                &NewMessage {
                    row: &row,
                    attachments: &atts,
                    records: &records,
                },
            )
        })
        .map_err(store_fault)?;
    let data = serde_json::json!({
        "message_id": row.id,
        "sender": row.sender,
        "reader": row.reader,
        "service": row.service,
        "profile": row.profile,
        "size": total,
        "attachments": atts.iter().map(|a| a.attrs.filename.clone()).collect::<Vec<_>>(),
        "warnings": v.findings.iter().filter(|f| f.level == Level::Warning).map(|f| &f.rule).collect::<Vec<_>>(),
        "routing": v.routing,
    });
    Ok(Accepted { row, notes, data })
}
