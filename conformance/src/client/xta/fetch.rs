//! `xta.fetch` — the authority empties its mailbox: getStatusList (and getNextStatusList while items are
//! pending) → per message getMessage → close with that fetch's MsgBoxRequestID. A message counts as
//! received only after `close`.
//!
//! Input (optional): `{"max_list_items": 10, "out_dir": "…"}`; output `{"messages": [{"message_id",
//! "service", "author", "message_sha256", "message_size", "attachments": [{"filename", "size", "sha256"}]}]}`.

use super::{Who, Xta, sha256_hex};
use crate::client::{ClientEnv, ClientError, Defect};
use mock_xta::ns::Op;
use mock_xta::wire;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Input {
    #[serde(default)]
    max_list_items: Option<u32>,
    #[serde(default)]
    out_dir: Option<String>,
}

fn attr(a: &super::Answer, local: &str, name: &str) -> Option<String> {
    a.all(local)
        .first()
        .and_then(|e| e.attr(name))
        .map(str::to_string)
}

/// The MessageIDs of a status list (in MessageMetaData form).
fn listed(a: &super::Answer) -> Vec<String> {
    a.all("MsgIdentification")
        .iter()
        .filter_map(|mi| mi.children.iter().find(|c| c.local == "MessageID"))
        .map(|e| e.trimmed().to_string())
        .collect()
}

pub fn fetch(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let inp: Input = if input.is_null() {
        Input::default()
    } else {
        serde_json::from_value(input.clone())
            .map_err(|e| ClientError::Input(format!("xta.fetch: {e}")))?
    };
    let x = Xta::new(env, Who::Authority)?;
    let form = if env.has(Defect::XtaListFormTypo) {
        "MsgAttributes"
    } else {
        "MessageMetaData"
    };
    let list = x.call(
        Op::GetStatusList,
        &wire::status_list_request(Some(inp.max_list_items.unwrap_or(50)), Some(form), ""),
    )?;
    let mut ids = listed(&list);
    let mut pending: u64 = list
        .text("ItemsPending")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let rid = attr(&list, "MsgBoxResponse", "MsgBoxRequestID").unwrap_or_default();
    while pending > 0 && !env.has(Defect::XtaFirstPageOnly) {
        let next = x.call(
            Op::GetNextStatusList,
            &wire::iterator_request("MsgBoxGetNextRequest", &rid, &[]),
        )?;
        let more = listed(&next);
        if more.is_empty() {
            break;
        }
        ids.extend(more);
        pending = next
            .text("ItemsPending")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
    }
    let mut out = Vec::new();
    for id in ids {
        let got = x.call(
            Op::GetMessage,
            &wire::fetch_request(&wire::msgbox_selector(&[&id], None)),
        )?;
        let cc = got.all("ContentContainer");
        let Some(cc) = cc.first() else {
            return Err(ClientError::Refused(format!(
                "getMessage '{id}' answered no ContentContainer"
            )));
        };
        let names: Vec<Option<String>> = cc
            .children
            .iter()
            .map(|c| c.attr("filename").map(str::to_string))
            .collect();
        let msg = got.contents.first().cloned().unwrap_or_default();
        if let Some(dir) = &inp.out_dir {
            let d = super::input_path(env, dir).join(id.replace([':', '/'], "_"));
            std::fs::create_dir_all(&d)
                .map_err(|e| ClientError::Setup(format!("{}: {e}", d.display())))?;
            for (i, c) in got.contents.iter().enumerate() {
                let n = names
                    .get(i)
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| format!("content-{i}"));
                let safe: String = n.chars().filter(|c| !matches!(c, '/' | '\\')).collect();
                std::fs::write(d.join(safe), c).map_err(|e| ClientError::Setup(e.to_string()))?;
            }
        }
        let attachments: Vec<Value> = got
            .contents
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, c)| json!({ "filename": names.get(i).cloned().flatten(), "size": c.len(), "sha256": sha256_hex(c) }))
            .collect();
        let meta = got.all("MessageMetaData");
        let first = |local: &str| {
            meta.first().and_then(|m| {
                let mut v = Vec::new();
                super::walk(m, local, &mut v);
                v.first().map(|e| e.trimmed().to_string())
            })
        };
        out.push(json!({
            "message_id": id,
            "service": first("Service"),
            "author": meta.first().and_then(|m| m.children.iter().find(|c| c.local == "Originators")).and_then(|o| o.children.first()).and_then(|a| a.children.first()).map(|i| i.trimmed().to_string()),
            "message_sha256": sha256_hex(&msg),
            "message_size": msg.len(),
            "attachments": attachments,
        }));
        if !env.has(Defect::XtaNoClose) {
            let rid = attr(&got, "MsgBoxResponse", "MsgBoxRequestID").unwrap_or_default();
            x.call(
                Op::Close,
                &wire::iterator_request("MsgBoxCloseRequest", &rid, &[&id]),
            )?;
        }
    }
    Ok(json!({ "messages": out }))
}
