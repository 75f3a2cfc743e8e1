//! `getNextStatusList` (MsgBoxPort): the next page of a status list iterator. An unknown, expired or
//! foreign MsgBoxRequestID is answered with NoMessageAvailable/RequestIdInvalid (iterator misuse is not a
//! SOAP fault in OSCI's MsgBox).

use super::msgbox::{ListForm, Pending, load_iterator, response_header, select, status_list};
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

/// MsgBoxRequestID and LastMsgReceived of a getNext/close request.
pub fn iterator_args(
    b: &crate::xml::Element,
    path: &str,
) -> Result<(String, Vec<String>), XtaFault> {
    crate::model::sequence(b, path, &[(ns::OSCI, "LastMsgReceived", 0, usize::MAX)])?;
    let Some(id) = b
        .attr("MsgBoxRequestID")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Err(XtaFault::of(
            codes::NO_PARAMETERS,
            "xta.msgbox.request-id-missing",
            format!("{path} lacks its required attribute MsgBoxRequestID"),
        )
        .at(path.to_string()));
    };
    Ok((
        id.to_string(),
        b.children.iter().map(|c| c.trimmed().to_string()).collect(),
    ))
}

impl Request {
    pub fn parse(env: &Envelope) -> Result<Request, XtaFault> {
        let b = body(env, Op::GetNextStatusList)?
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
        let Some(mut it) = load_iterator(cx, &self.request_id, &me, IterKind::List)? else {
            let mut a = Answer::xml(status_list(&[], ListForm::Attributes)).notes(caller.notes);
            a.headers.push(response_header(
                &self.request_id,
                Pending::None(ns::REASON_REQUEST_ID_INVALID),
            ));
            return Ok(a.note(
                Diagnosis::new(
                    "xta.msgbox.request-id-invalid",
                    format!(
                        "MsgBoxRequestID '{}' is no live status list iterator of account '{me}'",
                        self.request_id
                    ),
                )
                .at(format!("{PATH}/@MsgBoxRequestID"))
                .hint(
                    "use the MsgBoxRequestID of the last getStatusList answer, before it expires",
                ),
            ));
        };
        let form = if it.list_form.as_deref() == Some("MessageMetaData") {
            ListForm::MetaData
        } else {
            ListForm::Attributes
        };
        let rows = cx
            .st
            .store()
            .read(|c| db::mailbox(c, &me))
            .map_err(store_fault)?;
        let live: Vec<_> = select(rows, None, cx.now)
            .into_iter()
            .filter(|m| it.items.contains(&m.id))
            .collect();
        let n = it
            .page
            .map(|p| p as usize)
            .unwrap_or(usize::MAX)
            .min(live.len());
        let page: Vec<_> = live.into_iter().take(n).collect();
        let ids: Vec<String> = page.iter().map(|m| m.id.clone()).collect();
        it.items.retain(|i| !ids.contains(i));
        it.delivered.extend(ids.iter().cloned());
        cx.st
            .store()
            .write(|tx| db::put_iterator(tx, &it))
            .map_err(store_fault)?;
        let pending = if page.is_empty() {
            Pending::None(ns::REASON_NO_MATCH)
        } else {
            Pending::Items(it.items.len())
        };
        let mut a = Answer::xml(status_list(&page, form))
            .notes(caller.notes)
            .data(serde_json::json!({ "listed": ids, "pending": it.items.len() }));
        a.headers.push(response_header(&self.request_id, pending));
        Ok(a)
    }
}
