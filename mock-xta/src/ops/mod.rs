//! The twelve operations, one file each: every file parses its typed request from the checked envelope
//! and applies it to the state (the mini-redis shape). This module holds what they share: the request
//! context, the answer, dispatch on `wsa:Action`, and the identity of the caller.

pub mod cancel_message;
pub mod check_account_active;
pub mod close;
pub mod create_message_id;
pub mod get_message;
pub mod get_next_message;
pub mod get_next_status_list;
pub mod get_status_list;
pub mod get_transport_report;
pub mod lookup_service;
pub mod msgbox;
pub mod send_message;
pub mod send_message_sync;

use crate::XtaState;
use crate::auth::{Caller, Transport, authenticate};
use crate::fault::{XtaFault, codes};
use crate::model::{ContentAttrs, Party};
use crate::ns::{self, Op, Port};
use crate::soap::{Envelope, sender_fault};
use crate::xml::Element;
use sim_kit::Diagnosis;
use sim_kit::store::NewBlob;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Everything an operation needs besides its request.
pub struct Ctx<'a> {
    pub st: &'a XtaState,
    pub op: Op,
    pub transport: &'a Transport,
    pub now: OffsetDateTime,
    /// The request came as MTOM (answers go out as MTOM too).
    pub mtom: bool,
}

impl Ctx<'_> {
    pub fn now_str(&self) -> String {
        crate::model::xsd_time::format_datetime(self.now)
    }

    /// The caller as the `oscimeta:Author` header names it (management and msgBox operations).
    pub fn caller(&self, env: &Envelope) -> Result<Caller, XtaFault> {
        let author = author_header(env)?;
        authenticate(
            self.transport,
            author.as_ref(),
            "/Envelope/Header/Author/Identifier",
            |id| self.st.account(id),
        )
    }
}

/// One piece of content of an answer: a committed blob, or bytes.
#[derive(Clone, Debug)]
pub enum Source {
    Blob { id: String, len: u64 },
    Bytes(Vec<u8>),
}

impl Source {
    pub fn len(&self) -> u64 {
        match self {
            Source::Blob { len, .. } => *len,
            Source::Bytes(b) => b.len() as u64,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone, Debug)]
pub struct ContentOut {
    pub attrs: ContentAttrs,
    pub src: Source,
}

/// What an operation answers.
#[derive(Debug)]
pub enum BodyOut {
    Empty,
    Xml(String),
    /// `xta:GenericContentContainer` with content streamed from the store.
    Container {
        message: ContentOut,
        attachments: Vec<ContentOut>,
    },
    /// `xta:GenericContentContainer` holding an encrypted container (stored XML).
    Encrypted(String),
}

#[derive(Debug)]
pub struct Answer {
    /// Extra SOAP header blocks (MessageMetaData, MsgBoxResponse).
    pub headers: Vec<String>,
    pub body: BodyOut,
    pub notes: Vec<Diagnosis>,
    pub data: Option<serde_json::Value>,
}

impl Answer {
    pub fn empty() -> Answer {
        Answer {
            headers: Vec::new(),
            body: BodyOut::Empty,
            notes: Vec::new(),
            data: None,
        }
    }
    pub fn xml(body: String) -> Answer {
        Answer {
            body: BodyOut::Xml(body),
            ..Answer::empty()
        }
    }
    pub fn note(mut self, d: Diagnosis) -> Answer {
        self.notes.push(d);
        self
    }
    pub fn notes(mut self, d: Vec<Diagnosis>) -> Answer {
        self.notes.extend(d);
        self
    }
    pub fn data(mut self, v: serde_json::Value) -> Answer {
        self.data = Some(v);
        self
    }
}

/// Content received with a request (streamed into blobs; not yet part of the store).
pub struct Slot {
    pub blob: NewBlob,
    pub len: u64,
    /// The first bytes (magic numbers of compressed containers).
    pub head: Vec<u8>,
}

/// The content of a request: sink slots (inline base64 and MTOM parts) and MTOM Content-IDs.
#[derive(Default)]
pub struct Incoming {
    pub slots: Vec<Option<Slot>>,
    pub by_cid: HashMap<String, usize>,
}

impl Incoming {
    /// Take the content a content element refers to.
    pub fn take(&mut self, r: &crate::xml::ContentRef, path: &str) -> Result<Slot, XtaFault> {
        let slot = match r {
            crate::xml::ContentRef::Inline { slot } => *slot,
            crate::xml::ContentRef::Xop { cid } => *self.by_cid.get(cid).ok_or_else(|| {
                sender_fault(
                    "xop.dangling-include",
                    format!("xop:Include href=\"cid:{cid}\" refers to no MIME part of the request"),
                )
                .at(path.to_string())
                .hint("every xop:Include needs a MIME part with that Content-ID (without angle brackets, URL-encoded in the href)")
            })?,
        };
        self.slots
            .get_mut(slot)
            .and_then(Option::take)
            .ok_or_else(|| {
                sender_fault(
                    "xop.reused-part",
                    "one MIME part is referred to by two xop:Include elements",
                )
                .at(path.to_string())
            })
    }
}

/// The `oscimeta:Author` header block, if sent.
pub fn author_header(env: &Envelope) -> Result<Option<Party>, XtaFault> {
    match env.header(ns::OSCIMETA, "Author") {
        Some(a) => Party::parse(a, "/Envelope/Header/Author").map(Some),
        None => Ok(None),
    }
}

/// The operation a request asks for: `wsa:Action` (required, WS-Addressing policy of the WSDL), agreeing
/// with the HTTP action parameter if any, served on this port.
pub fn resolve_op(
    headers: &[Element],
    http_action: Option<&str>,
    port: Port,
    require_message_id: bool,
) -> Result<(Op, Vec<Diagnosis>), XtaFault> {
    let mut notes = Vec::new();
    let action = headers
        .iter()
        .find(|h| h.is(ns::WSA, "Action"))
        .map(|h| h.trimmed().to_string());
    let Some(action) = action else {
        let hint = http_action
            .and_then(Op::by_action)
            .map(|o| {
                format!(
                    "for {} send <wsa:Action>{}</wsa:Action>",
                    o.name(),
                    o.action()
                )
            })
            .unwrap_or_else(|| {
                "enable WS-Addressing in the client (e.g. CXF WSAddressingFeature)".into()
            });
        return Err(sender_fault(
            "xta.wsa.action-missing",
            "no wsa:Action header: the XTA WSDL requires WS-Addressing (wsam:Addressing, not optional)",
        )
        .at("/Envelope/Header")
        .hint(hint)
        .reason("A required header representing a Message Addressing Property is not present"));
    };
    if let Some(h) = http_action
        && h != action
    {
        return Err(sender_fault(
            "xta.wsa.action-mismatch",
            format!("the HTTP action parameter '{h}' differs from wsa:Action '{action}'"),
        )
        .at("/Envelope/Header/Action")
        .reason("Action mismatch between SOAP and HTTP"));
    }
    let Some(op) = Op::by_action(&action) else {
        let near = Op::ALL.iter().find(|o| {
            o.action().eq_ignore_ascii_case(&action)
                || o.action().trim_end_matches('/') == action.trim_end_matches('/')
        });
        let mut f = sender_fault(
            "xta.wsa.action-unknown",
            format!("wsa:Action '{action}' names no XTA-WS 2.1.1 operation"),
        )
        .at("/Envelope/Header/Action")
        .reason(format!("The endpoint does not support the action {action}"));
        if let Some(o) = near {
            f = f.hint(format!("did you mean {} ({})?", o.action(), o.name()));
        }
        return Err(f);
    };
    if op.port() != port {
        return Err(sender_fault(
            "xta.port",
            format!(
                "{} belongs to the {} (path {}), not to this endpoint",
                op.name(),
                op.port().wsdl_name(),
                op.port().path()
            ),
        )
        .at("/Envelope/Header/Action")
        .hint("take the port addresses from GET /xta.wsdl"));
    }
    let has_id = headers
        .iter()
        .any(|h| h.is(ns::WSA, "MessageID") && h.has_text());
    if !has_id {
        let msg = "no wsa:MessageID header: WS-Addressing 1.0 requires one when a reply is expected, and the answer's wsa:RelatesTo refers to it";
        if require_message_id {
            return Err(sender_fault("xta.wsa.message-id-missing", msg)
                .at("/Envelope/Header")
                .reason(
                    "A required header representing a Message Addressing Property is not present",
                ));
        }
        notes.push(Diagnosis::new("xta.wsa.message-id-missing", msg));
    }
    Ok((op, notes))
}

/// Checks made when the SOAP Header is complete and the Body starts: version, operation, and for the send
/// operations the caller and the size limit — so a refused sender's 40 MB are never stored.
pub struct Precheck {
    pub op: Op,
    /// Decoded content limit and where it comes from.
    pub limit: u64,
    pub limit_rule: String,
}

pub fn precheck(
    st: &XtaState,
    transport: &Transport,
    root: &Element,
    http_action: Option<&str>,
    port: Port,
) -> Result<Precheck, XtaFault> {
    crate::soap::check_root(root)?;
    let headers: &[Element] = root
        .children
        .first()
        .filter(|h| h.is(ns::SOAP12, "Header"))
        .map(|h| h.children.as_slice())
        .unwrap_or(&[]);
    let (op, _) = resolve_op(
        headers,
        http_action,
        port,
        st.config().behaviour.require_wsa_message_id,
    )?;
    let mut limit = st.config().limits.max_message_bytes;
    let mut limit_rule = "server limit (limits.max_message_bytes)".to_string();
    if matches!(op, Op::SendMessage | Op::SendMessageSync)
        && let Some(m) = headers
            .iter()
            .find(|h| h.is(ns::OSCIMETA, "MessageMetaData"))
    {
        let meta = crate::model::Meta::parse(m, "/Envelope/Header/MessageMetaData")?;
        let claimed = meta.sender.as_ref().unwrap_or(&meta.author);
        authenticate(transport, Some(claimed), send_message::CLAIM_PATH, |id| {
            st.account(id)
        })?;
        if let Some(p) = st.profiles().for_service(&meta.service)
            && let Some(ms) = &p.max_size
        {
            limit = ms.bytes();
            limit_rule = format!(
                "transport profile {} ({})",
                p.id,
                ms.passage.as_deref().unwrap_or("max_size")
            );
        }
    }
    Ok(Precheck {
        op,
        limit,
        limit_rule,
    })
}

/// The body element the operation takes, or a fault naming what came instead.
pub fn body(env: &Envelope, op: Op) -> Result<Option<&Element>, XtaFault> {
    match (op.body_element(), &env.body) {
        (None, None) => Ok(None),
        (None, Some(b)) => Err(sender_fault(
            "xta.body.unexpected",
            format!(
                "{} takes an empty Body, but it holds {}",
                op.name(),
                b.expanded()
            ),
        )
        .at(format!("/Envelope/Body/{}", b.qname))),
        (Some((ns, local)), None) => Err(XtaFault::of(
            codes::NO_PARAMETERS,
            "xta.body.missing",
            format!(
                "{} needs {local} ({ns}) in the Body, which is empty",
                op.name()
            ),
        )
        .at("/Envelope/Body")),
        (Some((ns, local)), Some(b)) => {
            if b.is(ns, local) {
                Ok(Some(b))
            } else {
                Err(sender_fault(
                    "xta.body.element",
                    format!(
                        "{} needs {{{ns}}}{local} in the Body, found {}",
                        op.name(),
                        b.expanded()
                    ),
                )
                .at(format!("/Envelope/Body/{}", b.qname)))
            }
        }
    }
}

/// A `wsa:MessageID` body (getTransportReport, cancelMessage).
pub fn message_id_body(env: &Envelope, op: Op) -> Result<String, XtaFault> {
    let b = body(env, op)?
        .ok_or_else(|| XtaFault::of(codes::NO_PARAMETERS, "xta.body.missing", "no MessageID"))?;
    let id = b.trimmed();
    if id.is_empty() {
        return Err(XtaFault::of(
            codes::NO_PARAMETERS,
            "xta.message-id.empty",
            "the MessageID in the Body is empty",
        )
        .at("/Envelope/Body/MessageID"));
    }
    if !crate::model::is_uri(id) {
        return Err(XtaFault::of(
            codes::INVALID_URI,
            "xta.message-id.uri",
            format!("MessageID '{id}' is not a URI"),
        )
        .at("/Envelope/Body/MessageID"));
    }
    Ok(id.to_string())
}

/// Run the operation.
pub fn dispatch(cx: &Ctx<'_>, env: &Envelope, incoming: &mut Incoming) -> Result<Answer, XtaFault> {
    match cx.op {
        Op::CheckAccountActive => check_account_active::Request::parse(env)?.apply(cx, env),
        Op::CreateMessageId => create_message_id::Request::parse(env)?.apply(cx, env),
        Op::LookupService => lookup_service::Request::parse(env)?.apply(cx, env),
        Op::GetTransportReport => get_transport_report::Request::parse(env)?.apply(cx, env),
        Op::CancelMessage => cancel_message::Request::parse(env)?.apply(cx, env),
        Op::SendMessage => send_message::Request::parse(env, incoming, Op::SendMessage)?.apply(cx),
        Op::SendMessageSync => send_message_sync::Request::parse(env, incoming)?.apply(cx),
        Op::GetStatusList => get_status_list::Request::parse(env)?.apply(cx, env),
        Op::GetMessage => get_message::Request::parse(env)?.apply(cx, env),
        Op::GetNextMessage => get_next_message::Request::parse(env)?.apply(cx, env),
        Op::GetNextStatusList => get_next_status_list::Request::parse(env)?.apply(cx, env),
        Op::Close => close::Request::parse(env)?.apply(cx, env),
    }
}

/// A store failure is the server's problem: 9030.
pub fn store_fault(e: sim_kit::store::StoreError) -> XtaFault {
    match e {
        sim_kit::store::StoreError::Rejected(m) => XtaFault::internal(m),
        other => XtaFault::internal(format!("the message store failed: {other}")),
    }
}
