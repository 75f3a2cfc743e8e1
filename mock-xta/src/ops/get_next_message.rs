//! `getNextMessage` (MsgBoxPort): the next message of a getMessage iterator (MsgBoxRequestID). An
//! unknown, expired or foreign iterator is answered with NoMessageAvailable/RequestIdInvalid.

use super::get_next_status_list::iterator_args;
use super::msgbox::{Pending, deliver, load_iterator, response_header, select};
use super::{Answer, Ctx, body, store_fault};
use crate::db::{self, IterKind};
use crate::fault::{XtaFault, codes};
use crate::ns::{self, Op};
use crate::soap::Envelope;
use sim_kit::Diagnosis;

pub struct Request {
    pub request_id: String,
    pub last_received: Vec<String>,
}

const PATH: &str = "/Envelope/Body/MsgBoxGetNextRequest";

impl Request {
    pub fn parse(env: &Envelope) -> Result<Request, XtaFault> {
        let b = body(env, Op::GetNextMessage)?
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
        let Some(mut it) = load_iterator(cx, &self.request_id, &me, IterKind::Message)? else {
            let mut a = Answer::empty().notes(notes);
            a.headers.push(response_header(
                &self.request_id,
                Pending::None(ns::REASON_REQUEST_ID_INVALID),
            ));
            return Ok(a.note(
                Diagnosis::new(
                    "xta.msgbox.request-id-invalid",
                    format!(
                        "MsgBoxRequestID '{}' is no live getMessage iterator of account '{me}'",
                        self.request_id
                    ),
                )
                .at(format!("{PATH}/@MsgBoxRequestID")),
            ));
        };
        for id in &self.last_received {
            if !it.delivered.contains(id) {
                notes.push(
                    Diagnosis::new(
                        "xta.msgbox.last-received",
                        format!("LastMsgReceived '{id}' was not delivered through this iterator"),
                    )
                    .at(format!("{PATH}/LastMsgReceived")),
                );
            }
        }
        let rows = cx
            .st
            .store()
            .read(|c| db::mailbox(c, &me))
            .map_err(store_fault)?;
        let mut live: Vec<_> = select(rows, None, cx.now)
            .into_iter()
            .filter(|m| it.items.contains(&m.id))
            .collect();
        if live.is_empty() {
            it.items.clear();
            cx.st
                .store()
                .write(|tx| db::put_iterator(tx, &it))
                .map_err(store_fault)?;
            let mut a = Answer::empty().notes(notes);
            a.headers.push(response_header(
                &self.request_id,
                Pending::None(ns::REASON_NO_MATCH),
            ));
            return Ok(a);
        }
        let next = live.remove(0);
        it.items.retain(|i| *i != next.id);
        it.delivered.push(next.id.clone());
        cx.st
            .store()
            .write(|tx| db::put_iterator(tx, &it))
            .map_err(store_fault)?;
        let (meta, body) = deliver(cx, &next, &mut notes)?;
        Ok(Answer {
            headers: vec![
                meta,
                response_header(&self.request_id, Pending::Items(it.items.len())),
            ],
            body,
            notes,
            data: Some(serde_json::json!({ "message_id": next.id, "pending": it.items.len() })),
        })
    }
}
