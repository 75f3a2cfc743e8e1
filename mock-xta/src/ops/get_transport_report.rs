//! `getTransportReport` (ManagementPort): the transport report of a message, for its sender or its
//! reader; any other caller, or an unknown id, gets InvalidMessageID 9070.

use super::{Answer, Ctx, message_id_body, store_fault};
use crate::fault::{XtaFault, codes};
use crate::ns::Op;
use crate::soap::Envelope;

pub struct Request {
    pub message_id: String,
}

impl Request {
    pub fn parse(env: &Envelope) -> Result<Request, XtaFault> {
        Ok(Request {
            message_id: message_id_body(env, Op::GetTransportReport)?,
        })
    }

    pub fn apply(self, cx: &Ctx<'_>, env: &Envelope) -> Result<Answer, XtaFault> {
        let caller = cx.caller(env)?;
        let me = &caller.account.id;
        let (m, rep) = cx
            .st
            .store()
            .read(|c| {
                Ok((
                    crate::db::message(c, &self.message_id)?,
                    crate::db::report(c, &self.message_id)?,
                ))
            })
            .map_err(store_fault)?;
        let (Some(m), Some(rep)) = (m, rep) else {
            return Err(XtaFault::of(
                codes::UNKNOWN_MESSAGE_ID,
                "xta.report.unknown-message",
                format!(
                    "no message '{}' was sent through this server",
                    self.message_id
                ),
            )
            .at("/Envelope/Body/MessageID"));
        };
        if m.sender != *me && m.reader != *me && m.author != *me {
            return Err(XtaFault::of(
                codes::UNKNOWN_MESSAGE_ID,
                "xta.report.foreign-message",
                format!(
                    "message '{}' is neither from nor for account '{me}'",
                    self.message_id
                ),
            )
            .at("/Envelope/Body/MessageID"));
        }
        let status = crate::report::status(&m, &rep.records);
        let xml = crate::report::transport_report(
            &m,
            &rep.report_time,
            &rep.records,
            &cx.st.config().server_identity,
        );
        Ok(Answer::xml(xml)
            .notes(caller.notes)
            .data(serde_json::json!({
                "message_id": m.id,
                "status": status,
                "status_name": crate::report::status_name(status),
                "records": rep.records,
            })))
    }
}
