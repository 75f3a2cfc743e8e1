//! `getStatusList` (MsgBoxPort): the entries of the caller's mailbox — as `MsgAttributes` or as
//! `MessageMetaData` (`ListForm`), at most `maxListItems` at a time; more are pending behind the
//! MsgBoxRequestID for getNextStatusList.

use super::msgbox::{
    ListForm, Pending, Selector, new_request_id, response_header, select, selector, status_list,
};
use super::{Answer, Ctx, body, store_fault};
use crate::db::{self, IterKind, Iterator};
use crate::fault::{XtaFault, codes};
use crate::ns::{self, Op};
use crate::soap::Envelope;

pub struct Request {
    pub max_items: Option<u32>,
    pub form: ListForm,
    pub selector: Option<Selector>,
}

const PATH: &str = "/Envelope/Body/MsgBoxStatusListRequest";

/// `maxListItems`: a positive integer.
pub fn max_items(el: &crate::xml::Element, path: &str) -> Result<Option<u32>, XtaFault> {
    match el.attr("maxListItems") {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(XtaFault::of(
                codes::INVALID_COMBINATION,
                "xta.msgbox.max-list-items",
                format!("maxListItems '{v}' is not a positive integer"),
            )
            .at(format!("{path}/@maxListItems"))),
        },
    }
}

impl Request {
    pub fn parse(env: &Envelope) -> Result<Request, XtaFault> {
        let b = body(env, Op::GetStatusList)?
            .ok_or_else(|| XtaFault::of(codes::NO_PARAMETERS, "xta.body.missing", "empty"))?;
        Ok(Request {
            max_items: max_items(b, PATH)?,
            form: ListForm::parse(b.attr("ListForm"), PATH)?,
            selector: selector(b, PATH)?,
        })
    }

    pub fn apply(self, cx: &Ctx<'_>, env: &Envelope) -> Result<Answer, XtaFault> {
        let caller = cx.caller(env)?;
        let me = caller.account.id.clone();
        let request_id = new_request_id();
        if let Some(why) = self.selector.as_ref().and_then(|s| s.invalid.clone()) {
            let mut a = Answer::xml(status_list(&[], self.form)).notes(caller.notes);
            a.headers.push(response_header(
                &request_id,
                Pending::None(ns::REASON_SEARCH_ARGS_INVALID),
            ));
            return Ok(a.note(
                sim_kit::Diagnosis::new("xta.msgbox.search-args-invalid", why)
                    .at(format!("{PATH}/MsgSelector")),
            ));
        }
        let rows = cx
            .st
            .store()
            .read(|c| db::mailbox(c, &me))
            .map_err(store_fault)?;
        let mut rows = select(rows, self.selector.as_ref(), cx.now);
        let total = rows.len();
        let page = self
            .max_items
            .map(|m| m as usize)
            .unwrap_or(usize::MAX)
            .min(total);
        let rest: Vec<String> = rows.split_off(page).into_iter().map(|m| m.id).collect();
        let pending = if total == 0 {
            Pending::None(ns::REASON_NO_MATCH)
        } else {
            Pending::Items(rest.len())
        };
        let it = Iterator {
            id: request_id.clone(),
            account: me,
            kind: IterKind::List,
            list_form: Some(self.form.as_str().into()),
            page: self.max_items,
            items: rest.clone(),
            delivered: rows.iter().map(|m| m.id.clone()).collect(),
            created_at: cx.now_str(),
        };
        cx.st
            .store()
            .write(|tx| db::put_iterator(tx, &it))
            .map_err(store_fault)?;
        let mut a = Answer::xml(status_list(&rows, self.form))
            .notes(caller.notes)
            .data(serde_json::json!({
                "listed": rows.iter().map(|m| &m.id).collect::<Vec<_>>(),
                "pending": rest.len(),
                "request_id": request_id,
            }));
        a.headers.push(response_header(&request_id, pending));
        Ok(a)
    }
}
