//! `cancelMessage` (ManagementPort): withdraw a scheduled send. Only the sender may, only when the order
//! set `NotBefore` (else 9101) and that time has not yet come (else 9100). The report turns red.

use super::{Answer, Ctx, message_id_body, store_fault};
use crate::db::{Record, RecordKind};
use crate::fault::{XtaFault, codes};
use crate::model::xsd_time;
use crate::ns::Op;
use crate::soap::Envelope;

pub struct Request {
    pub message_id: String,
}

impl Request {
    pub fn parse(env: &Envelope) -> Result<Request, XtaFault> {
        Ok(Request {
            message_id: message_id_body(env, Op::CancelMessage)?,
        })
    }

    pub fn apply(self, cx: &Ctx<'_>, env: &Envelope) -> Result<Answer, XtaFault> {
        let caller = cx.caller(env)?;
        let me = caller.account.id.clone();
        let m = cx
            .st
            .store()
            .read(|c| crate::db::message(c, &self.message_id))
            .map_err(store_fault)?;
        // cancelMessage declares no InvalidMessageID fault: an id that is not the caller's is a bad parameter.
        let Some(m) = m.filter(|m| m.sender == me) else {
            return Err(XtaFault::of(
                codes::INVALID_COMBINATION,
                "xta.cancel.unknown-message",
                format!("account '{me}' sent no message '{}'", self.message_id),
            )
            .at("/Envelope/Body/MessageID"));
        };
        if m.cancelled_at.is_some() {
            return Err(XtaFault::of(
                codes::INVALID_COMBINATION,
                "xta.cancel.already-cancelled",
                format!(
                    "message '{}' was cancelled at {}",
                    m.id,
                    m.cancelled_at.as_deref().unwrap_or("")
                ),
            ));
        }
        let Some(nb) = m.not_before.as_deref() else {
            return Err(XtaFault::of(
                codes::NO_NOT_BEFORE,
                "xta.cancel.no-not-before",
                format!("message '{}' was sent without DeliveryAttributes/NotBefore, so it was delivered at once", m.id),
            )
            .hint("only sends scheduled with NotBefore can be cancelled"));
        };
        let due = xsd_time::parse_datetime(nb)
            .map(|t| t <= cx.now)
            .unwrap_or(true);
        if due || m.fetched_at.is_some() {
            return Err(XtaFault::of(
                codes::NOT_BEFORE_PASSED,
                "xta.cancel.not-before-passed",
                format!(
                    "NotBefore {nb} of message '{}' has passed (now {})",
                    m.id,
                    cx.now_str()
                ),
            ));
        }
        let now = cx.now_str();
        cx.st
            .store()
            .write(|tx| {
                crate::db::mark(tx, &m.id, "cancelled_at", &now)?;
                crate::db::add_record(
                    tx,
                    &m.id,
                    &Record {
                        kind: RecordKind::Error,
                        at: now.clone(),
                        code: "xta.cancelled".into(),
                        reason: format!(
                            "Nachricht vom Absender storniert (NotBefore {nb} noch nicht erreicht)"
                        ),
                    },
                )
            })
            .map_err(store_fault)?;
        Ok(Answer::empty()
            .notes(caller.notes)
            .data(serde_json::json!({ "message_id": m.id, "cancelled": true })))
    }
}
