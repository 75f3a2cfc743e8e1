//! `sendMessageSync` (SendXtaPort): the same checks as sendMessage, for a service the reader offers
//! synchronously (an asynchronous one gets 9080); the answer comes from the configured responder at once:
//! a transport order back to the sender (header MessageMetaData, In-Reply-To the request) and the reply.

use super::send_message::{Request as SendRequest, accept};
use super::{Answer, BodyOut, ContentOut, Ctx, Incoming, Source, store_fault};
use crate::config::Mode;
use crate::fault::XtaFault;
use crate::model::ContentAttrs;
use crate::ns::Op;
use crate::soap::{Envelope, uuid};
use crate::wire::{CodeSpec, MetaSpec, PartySpec, meta_xml};

pub struct Request(SendRequest);

impl Request {
    pub fn parse(env: &Envelope, incoming: &mut Incoming) -> Result<Request, XtaFault> {
        SendRequest::parse(env, incoming, Op::SendMessageSync).map(Request)
    }

    pub fn apply(self, cx: &Ctx<'_>) -> Result<Answer, XtaFault> {
        let acc = accept(cx, self.0, Mode::Sync)?;
        let row = &acc.row;
        let now = cx.now_str();
        cx.st
            .store()
            .write(|tx| {
                tx.execute(
                    "UPDATE xta_message SET sync = 1, fetched_at = ?2, closed_at = ?2 WHERE id = ?1",
                    [&row.id, &now],
                )?;
                Ok(())
            })
            .map_err(store_fault)?;
        let reader = cx.st.account(&row.reader);
        let reply = reader
            .as_ref()
            .and_then(|a| a.offers.iter().find(|o| o.service == row.service))
            .and_then(|o| o.reply.clone())
            .ok_or_else(|| {
                XtaFault::internal(format!("no responder configured for {}", row.service))
            })?;
        let answer_id = format!("{}{}", super::create_message_id::ID_PREFIX, uuid());
        let me = reader.as_ref();
        let meta = MetaSpec {
            message_id: answer_id.clone(),
            author: PartySpec {
                id: row.reader.clone(),
                id_type: "xoev".into(),
                name: me.map(|a| a.name.clone()),
                category: me.map(|a| a.category.clone()),
            },
            sender: None,
            reader: PartySpec::new(&row.sender),
            service: row.service.clone(),
            business_scenario: None,
            business_scenario_text: Some("Synchrone Antwort".into()),
            message_type: CodeSpec {
                code: "Antwort".into(),
                list_uri: "urn:de:payloadSchema:elementName".into(),
                list_version_id: "1.0".into(),
            },
            payload_schema: "urn:konform:xta:sync-reply".into(),
            not_before: None,
            in_reply_to: vec![row.id.clone()],
            test_msg: false,
            msg_size: Some(reply.text.len().max(1) as u64),
        };
        let bytes = reply.text.into_bytes();
        Ok(Answer {
            headers: vec![meta_xml(&meta)],
            body: BodyOut::Container {
                message: ContentOut {
                    attrs: ContentAttrs {
                        content_type: reply.content_type,
                        filename: reply.filename,
                        encoding: Some("UTF-8".into()),
                        size: Some(bytes.len().max(1) as u64),
                        ..ContentAttrs::default()
                    },
                    src: Source::Bytes(bytes),
                },
                attachments: Vec::new(),
            },
            notes: acc.notes,
            data: Some(serde_json::json!({ "request": acc.data, "answer_id": answer_id })),
        })
    }
}
