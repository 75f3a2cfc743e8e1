//! `createMessageId` (ManagementPort): a new MessageID for the caller's next send, reserved for its
//! account (sendMessage checks it, see `behaviour.require_issued_message_id`).

use super::{Answer, Ctx, body, store_fault};
use crate::fault::XtaFault;
use crate::ns::{self, Op};
use crate::soap::{Envelope, leaf_ns, uuid};

pub struct Request;

/// The form of the ids this server issues (Governikus issues `urn:de:xta:messageid:<product>:<id>`).
pub const ID_PREFIX: &str = "urn:de:xta:messageid:konform:";

impl Request {
    pub fn parse(env: &Envelope) -> Result<Request, XtaFault> {
        body(env, Op::CreateMessageId)?;
        Ok(Request)
    }

    pub fn apply(self, cx: &Ctx<'_>, env: &Envelope) -> Result<Answer, XtaFault> {
        let caller = cx.caller(env)?;
        let id = format!("{ID_PREFIX}{}", uuid());
        let now = cx.now_str();
        cx.st
            .store()
            .write(|tx| crate::db::issue_message_id(tx, &id, &caller.account.id, &now))
            .map_err(store_fault)?;
        Ok(Answer::xml(leaf_ns("wsa", "MessageID", ns::WSA, &id))
            .notes(caller.notes)
            .data(serde_json::json!({ "account": caller.account.id, "message_id": id })))
    }
}
