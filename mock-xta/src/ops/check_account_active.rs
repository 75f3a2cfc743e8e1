//! `checkAccountActive` (ManagementPort): is the caller's account usable? An empty answer says yes;
//! PermissionDenied (9011 locked, 9012 unknown, 9014 certificate mismatch) says no.

use super::{Answer, Ctx, body};
use crate::fault::XtaFault;
use crate::ns::Op;
use crate::soap::Envelope;

pub struct Request;

impl Request {
    pub fn parse(env: &Envelope) -> Result<Request, XtaFault> {
        body(env, Op::CheckAccountActive)?;
        Ok(Request)
    }

    pub fn apply(self, cx: &Ctx<'_>, env: &Envelope) -> Result<Answer, XtaFault> {
        let caller = cx.caller(env)?;
        Ok(Answer::empty()
            .notes(caller.notes)
            .data(serde_json::json!({ "account": caller.account.id })))
    }
}
