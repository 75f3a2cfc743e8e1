//! `close` (MsgBoxPort): the reader confirms what it fetched, which only now counts as received; the
//! iterator is released and the transport reports turn green (or yellow with warnings). Strictly the
//! request names the iterator of the fetch; real clients send a constant MsgBoxRequestID ("1") with the
//! fetched ids in LastMsgReceived — accepted, with a diagnosis.

use super::get_next_status_list::iterator_args;
use super::msgbox::load_iterator;
use super::{Answer, Ctx, body, store_fault};
use crate::db::{self, IterKind, Record, RecordKind};
use crate::fault::{XtaFault, codes};
use crate::ns::Op;
use crate::soap::Envelope;
use sim_kit::Diagnosis;

pub struct Request {
    pub request_id: String,
    pub last_received: Vec<String>,
}

const PATH: &str = "/Envelope/Body/MsgBoxCloseRequest";

impl Request {
    pub fn parse(env: &Envelope) -> Result<Request, XtaFault> {
        let b = body(env, Op::Close)?
            .ok_or_else(|| XtaFault::of(codes::NO_PARAMETERS, "xta.body.missing", "empty"))?;
        let (request_id, last_received) = iterator_args(b, PATH)?;
        Ok(Request {
            request_id,
            last_received,
        })
    }

    pub fn apply(self, cx: &Ctx<'_>, env: &Envelope) -> Result<Answer, XtaFault> {
        let caller = cx.caller(env)?;
        let me = caller.account.id.clone();
        let mut notes = caller.notes.clone();
        let it = match load_iterator(cx, &self.request_id, &me, IterKind::Message)? {
            Some(it) => Some(it),
            None => load_iterator(cx, &self.request_id, &me, IterKind::List)?,
        };
        let confirm: Vec<String> = match (&it, self.last_received.is_empty()) {
            (_, false) => self.last_received.clone(),
            (Some(it), true) if it.kind == IterKind::Message => it.delivered.clone(),
            (Some(_), true) => Vec::new(),
            (None, true) => {
                return Err(XtaFault::of(
                    codes::UNKNOWN_MESSAGE_ID,
                    "xta.close.nothing-to-close",
                    format!("MsgBoxRequestID '{}' is no live iterator of account '{me}', and no LastMsgReceived names a message", self.request_id),
                )
                .at(format!("{PATH}/@MsgBoxRequestID"))
                .hint("close with the MsgBoxRequestID of the getMessage answer, or list the fetched ids in LastMsgReceived"));
            }
        };
        if it.is_none() {
            notes.push(Diagnosis::new(
                "xta.close.lenient",
                format!("MsgBoxRequestID '{}' names no iterator of this account; closed by LastMsgReceived as real clients send it (a strict server could refuse this)", self.request_id),
            )
            .at(format!("{PATH}/@MsgBoxRequestID"))
            .hint("send the MsgBoxRequestID from the getMessage answer"));
        }
        let rows = cx
            .st
            .store()
            .read(|c| db::mailbox(c, &me))
            .map_err(store_fault)?;
        for id in &confirm {
            let Some(m) = rows.iter().find(|m| m.id == *id) else {
                return Err(XtaFault::of(
                    codes::UNKNOWN_MESSAGE_ID,
                    "xta.close.unknown-message",
                    format!("message '{id}' is not in the mailbox of account '{me}'"),
                )
                .at(format!("{PATH}/LastMsgReceived")));
            };
            if m.fetched_at.is_none() {
                notes.push(Diagnosis::new("xta.close.not-fetched", format!("message '{id}' is confirmed by close but was never fetched with getMessage")).at(format!("{PATH}/LastMsgReceived")));
            }
            if let Some(it) = &it
                && it.kind == IterKind::Message
                && !it.delivered.contains(id)
            {
                notes.push(Diagnosis::new(
                    "xta.close.other-iterator",
                    format!(
                        "message '{id}' was not delivered through iterator '{}'",
                        it.id
                    ),
                ));
            }
        }
        let now = cx.now_str();
        let mut closed = Vec::new();
        cx.st
            .store()
            .write(|tx| {
                for id in &confirm {
                    if db::mark(tx, id, "closed_at", &now)? {
                        db::mark(tx, id, "fetched_at", &now)?;
                        db::add_record(
                            tx,
                            id,
                            &Record {
                                kind: RecordKind::Info,
                                at: now.clone(),
                                code: "xta.received".into(),
                                reason: format!("Abholung durch {me} mit close bestätigt"),
                            },
                        )?;
                        closed.push(id.clone());
                    }
                }
                if let Some(it) = &it {
                    db::delete_iterator(tx, &it.id)?;
                }
                Ok(())
            })
            .map_err(store_fault)?;
        for id in confirm.iter().filter(|i| !closed.contains(i)) {
            notes.push(Diagnosis::new(
                "xta.close.already-closed",
                format!("message '{id}' had been confirmed before"),
            ));
        }
        Ok(Answer::empty()
            .notes(notes)
            .data(serde_json::json!({ "closed": closed, "iterator": it.map(|i| i.id) })))
    }
}
