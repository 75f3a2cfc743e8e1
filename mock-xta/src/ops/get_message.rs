//! `getMessage` (MsgBoxPort): fetch a message from the caller's mailbox — the one the selector names, else
//! the oldest waiting one. The answer carries its transport order (MessageMetaData header), the content,
//! and an iterator over the further matches (ItemsPending). Fetching is not yet receiving: the message
//! counts as fetched once the reader confirms it with `close`.

use super::msgbox::{
    Pending, Selector, deliver, new_request_id, response_header, select, selector,
};
use super::{Answer, BodyOut, Ctx, body, store_fault};
use crate::db::{self, IterKind, Iterator};
use crate::fault::{XtaFault, codes};
use crate::ns::{self, Op};
use crate::soap::Envelope;
use sim_kit::Diagnosis;

pub struct Request {
    pub selector: Option<Selector>,
    pub msg_part: String,
}

const PATH: &str = "/Envelope/Body/MsgBoxFetchRequest";

impl Request {
    pub fn parse(env: &Envelope) -> Result<Request, XtaFault> {
        let b = body(env, Op::GetMessage)?
            .ok_or_else(|| XtaFault::of(codes::NO_PARAMETERS, "xta.body.missing", "empty"))?;
        let msg_part = b.attr("MsgPart").unwrap_or("Envelope").trim().to_string();
        if !matches!(msg_part.as_str(), "Envelope" | "Header" | "Body") {
            return Err(XtaFault::of(
                codes::INVALID_COMBINATION,
                "xta.schema.type",
                format!("MsgPart '{msg_part}' is not Envelope, Header or Body"),
            )
            .at(format!("{PATH}/@MsgPart")));
        }
        Ok(Request {
            selector: selector(b, PATH)?,
            msg_part,
        })
    }

    pub fn apply(self, cx: &Ctx<'_>, env: &Envelope) -> Result<Answer, XtaFault> {
        let caller = cx.caller(env)?;
        let me = caller.account.id.clone();
        let mut notes = caller.notes.clone();
        if self.msg_part != "Envelope" {
            notes.push(Diagnosis::new(
                "xta.msgbox.msg-part",
                format!(
                    "MsgPart '{}' is answered with the whole message",
                    self.msg_part
                ),
            ));
        }
        let request_id = new_request_id();
        if let Some(why) = self.selector.as_ref().and_then(|s| s.invalid.clone()) {
            let mut a = Answer::empty().notes(notes);
            a.headers.push(response_header(
                &request_id,
                Pending::None(ns::REASON_SEARCH_ARGS_INVALID),
            ));
            return Ok(a.note(Diagnosis::new("xta.msgbox.search-args-invalid", why)));
        }
        let rows = cx
            .st
            .store()
            .read(|c| db::mailbox(c, &me))
            .map_err(store_fault)?;
        let named: Vec<String> = self
            .selector
            .as_ref()
            .map(|s| s.ids.clone())
            .unwrap_or_default();
        // A MessageID the caller names explicitly must be in its mailbox, even when already confirmed.
        let mut sel = self.selector.clone();
        if !named.is_empty() {
            for id in &named {
                if !rows
                    .iter()
                    .any(|m| m.id == *id && super::msgbox::delivered(m, cx.now))
                {
                    return Err(XtaFault::of(
                        codes::UNKNOWN_MESSAGE_ID,
                        "xta.msgbox.unknown-message",
                        format!("message '{id}' is not in the mailbox of account '{me}'"),
                    )
                    .at(format!("{PATH}/MsgSelector/MessageID")));
                }
            }
            if let Some(s) = sel.as_mut() {
                s.new_entry.get_or_insert(false);
            }
        }
        let mut found = select(rows, sel.as_ref(), cx.now);
        if found.is_empty() {
            let mut a = Answer::empty().notes(notes);
            a.headers.push(response_header(
                &request_id,
                Pending::None(ns::REASON_NO_MATCH),
            ));
            return Ok(a.note(Diagnosis::new(
                "xta.msgbox.no-message",
                format!("no message waiting for '{me}' matches"),
            )));
        }
        let first = found.remove(0);
        let rest: Vec<String> = found.into_iter().map(|m| m.id).collect();
        let it = Iterator {
            id: request_id.clone(),
            account: me,
            kind: IterKind::Message,
            list_form: None,
            page: None,
            items: rest.clone(),
            delivered: vec![first.id.clone()],
            created_at: cx.now_str(),
        };
        cx.st
            .store()
            .write(|tx| db::put_iterator(tx, &it))
            .map_err(store_fault)?;
        let (meta, body): (String, BodyOut) = deliver(cx, &first, &mut notes)?;
        Ok(Answer {
            headers: vec![
                meta,
                response_header(&request_id, Pending::Items(rest.len())),
            ],
            body,
            notes,
            data: Some(
                serde_json::json!({ "message_id": first.id, "pending": rest.len(), "request_id": request_id }),
            ),
        })
    }
}
