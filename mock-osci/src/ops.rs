//! One request through the intermediary: open the transport layer, read the request, check certificates,
//! signature and control block, execute the operation against the mailboxes, and write the answer
//! (encrypted for the client when the request was). Refusals become the OSCI SOAP fault or feedback the
//! library expects, with a diagnosis for the journal. The clock comes in as a parameter.

use crate::certs::{Cert, Inspection};
use crate::dialog::{Answer, DialogError};
use crate::mailbox::{self, IdState, Pick, ProcessCard, StoredPart};
use crate::request::{Kind, Request, Selection};
use crate::write::{self, Response};
use crate::{
    OsciState, ProfileMode, crypto, laufzettel, mime, outer, profile, request, sigcheck, xml,
};
use serde_json::json;
use sim_kit::Diagnosis;

/// The answer to one POST.
#[derive(Debug, Default)]
pub struct Reply {
    pub body: Vec<u8>,
    /// The SOAP fault code when the answer is a fault.
    pub fault: Option<&'static str>,
    pub operation: Option<String>,
    pub diagnoses: Vec<Diagnosis>,
    pub data: serde_json::Value,
    /// Feedback codes of a regular answer.
    pub codes: Vec<String>,
}

impl Reply {
    pub fn refused(&self) -> bool {
        self.fault.is_some() || self.codes.iter().any(|c| c.starts_with('9'))
    }
}

const SEED: &str = "001 \"4.2 OSCI-Transportprofil\"";

fn fault(
    code: &'static str,
    rule: &str,
    reason: &str,
    location: Option<&str>,
    op: Option<Kind>,
) -> Reply {
    let mut d = Diagnosis::new(rule, format!("OSCI {code}: {reason}"));
    if let Some(l) = location {
        d = d.at(l);
    }
    Reply {
        body: write::soap_fault(code, "de", &write::boundary()),
        fault: Some(code),
        operation: op.map(|k| k.name().to_string()),
        diagnoses: vec![d],
        data: json!({ "fault": code }),
        codes: Vec::new(),
    }
}

/// A profile diagnosis (rule number and seed passage).
pub fn profile_diagnosis(rule_no: u8, rule: &str, message: &str) -> Diagnosis {
    Diagnosis::new(rule, format!("profile rule {rule_no}: {message}"))
        .seed(format!("{SEED}, Nr. {rule_no}"))
}

/// What an operation produced.
#[derive(Default)]
struct Done {
    /// Header elements after the ControlBlock (id, xml).
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    content: Option<mailbox::Content>,
    codes: Vec<String>,
    data: serde_json::Value,
    diagnoses: Vec<Diagnosis>,
}

pub fn handle(st: &OsciState, body: Vec<u8>, now_ms: i64, corrupt_signature: bool) -> Reply {
    let cfg = st.config();
    let keys = st.keys();
    let limits = xml::Limits::default();
    let opened = match outer::open(
        body,
        std::slice::from_ref(&(keys.cipher.0.clone(), keys.cipher.1.clone())),
        limits,
    ) {
        Ok(o) => o,
        Err(e) => {
            let mut r = fault(e.code, e.rule, &e.reason, None, None);
            if let Some(n) = e.profile_rule {
                r.diagnoses.push(profile_diagnosis(n, e.rule, &e.reason));
            }
            return r;
        }
    };
    let mp = match mime::parse(&opened.inner, mime::Limits::default()) {
        Ok(m) => m,
        Err(e) => {
            return fault(
                "9100",
                "osci.mime",
                &format!("inner message: {e}"),
                None,
                None,
            );
        }
    };
    let Some(soap) = mp.parts.first() else {
        return fault("9100", "osci.mime", "no SOAP part", None, None);
    };
    let doc = match xml::parse(&opened.inner[soap.body.clone()], limits) {
        Ok(d) => d,
        Err(e) => return fault("9100", e.rule, &e.reason, e.location.as_deref(), None),
    };
    let req = match request::parse(&doc) {
        Ok(r) => r,
        Err(e) => return fault(e.code, e.rule, &e.reason, Some(&e.location), None),
    };
    let kind = req.kind;
    let mut diagnoses = Vec::new();
    if !opened.encrypted && cfg.profile != ProfileMode::Off {
        let d = profile_diagnosis(
            6,
            "osci.profile.usage-data-encrypted",
            "the request is not transport-encrypted; usage data must be encrypted (Nutzungsdaten müssen verschlüsselt werden)",
        );
        if cfg.profile == ProfileMode::Enforce {
            let mut r = fault(
                "9300",
                "osci.profile.usage-data-encrypted",
                "usage data must be encrypted",
                None,
                Some(kind),
            );
            r.diagnoses.push(d);
            return r;
        }
        diagnoses.push(d);
    }
    let client_cipher = req.cert("CipherCertificateOriginator").cloned();
    let attachment = |cid: &str| mp.part(cid).map(|p| &opened.inner[p.body.clone()]);
    if req.signature.is_some() {
        if let Err(e) = sigcheck::verify(&doc, &req, attachment) {
            return fault(
                e.code,
                e.rule,
                &e.reason,
                Some("/soap:Envelope/soap:Header/osci:ClientSignature"),
                Some(kind),
            );
        }
    } else if cfg.require_client_signature {
        return fault(
            "9600",
            "osci.signature.required",
            "the request is not signed, but this intermediary requires signed requests",
            None,
            Some(kind),
        );
    }
    if cfg.profile != ProfileMode::Off {
        let mut vs = profile::certificates(&req, &keys.trust, now_ms / 1000);
        vs.extend(profile::content(
            &req,
            &doc,
            opened.inner.len(),
            &st.profile().parameters,
        ));
        if vs.is_empty() {
            vs.extend(recipient_role(st, &req, &doc, attachment));
        }
        if let Some(first) = vs.first() {
            let ds = vs.iter().map(|v| {
                let d = profile_diagnosis(
                    v.rule_no,
                    v.rule,
                    &format!("{} (OSCI {})", v.message, v.code),
                );
                match &v.location {
                    Some(l) => d.at(l.clone()),
                    None => d,
                }
            });
            if cfg.profile == ProfileMode::Enforce {
                let mut r = fault(
                    first.code,
                    first.rule,
                    &first.message,
                    first.location.as_deref(),
                    Some(kind),
                );
                r.diagnoses = ds.collect();
                return r;
            }
            diagnoses.extend(ds);
        }
    }
    let challenge = crypto::random_token(10).unwrap_or_default();
    let answer = {
        let mut dialogs = st.dialogs();
        dialogs.idle_timeout = cfg.dialog_timeout_secs;
        dialogs.apply(
            kind,
            &req.control_block,
            client_cipher.as_ref(),
            now_ms / 1000,
            challenge,
        )
    };
    let now = laufzettel::timestamp(now_ms);
    let answer = match answer {
        Ok(a) => a,
        Err(DialogError {
            code: "9802",
            rule,
            reason,
        }) => {
            diagnoses.push(Diagnosis::new(rule, format!("OSCI 9802: {reason}")));
            let a = Answer {
                conversation_id: String::new(),
                response: req.control_block.challenge.clone().unwrap_or_default(),
                challenge: Some(crypto::random_token(10).unwrap_or_default()),
                sequence_number: req.control_block.sequence_number,
                explicit: false,
                received: Vec::new(),
                client: None,
            };
            let done = Done {
                codes: vec!["9802".into()],
                ..Done::default()
            };
            return finish(
                st,
                &req,
                &opened,
                client_cipher.as_ref(),
                a,
                done_with(done, kind, &req, &now),
                diagnoses,
                corrupt_signature,
            );
        }
        Err(e) => {
            return fault(
                e.code,
                e.rule,
                &e.reason,
                Some("/soap:Envelope/soap:Header/osci:ControlBlock"),
                Some(kind),
            );
        }
    };
    let client_cipher = client_cipher.or_else(|| answer.client.clone());
    if opened.encrypted && client_cipher.is_none() {
        return fault(
            "9500",
            "osci.certificates.client-cipher",
            "the request (and its dialog) has no CipherCertificateOriginator to encrypt the answer for",
            Some("/soap:Envelope/soap:Header/osci:NonIntermediaryCertificates"),
            Some(kind),
        );
    }
    let client_fp = client_cipher.as_ref().map(|c| c.fingerprint.clone());
    if !answer.received.is_empty()
        && let Err(e) = mailbox::set_reception(st.store(), &answer.received, &now)
    {
        return fault("9000", "osci.store", &e.to_string(), None, Some(kind));
    }
    let done = match kind {
        Kind::InitDialog | Kind::ExitDialog => Ok(Done::default()),
        Kind::GetMessageId => get_message_id(st, &now),
        Kind::StoreDelivery => store_delivery(st, &req, &mp, &opened.inner, now_ms, &now),
        Kind::FetchDelivery => fetch_delivery(st, &req, client_fp.as_deref(), &answer, &now),
        Kind::FetchProcessCard => fetch_process_card(st, &req, client_fp.as_deref()),
    };
    let mut done = match done {
        Ok(d) => d,
        Err(e) => return fault("9000", "osci.store", &e.to_string(), None, Some(kind)),
    };
    if done.codes.is_empty() {
        done.codes
            .push(if answer.explicit { "0801" } else { "0800" }.into());
    }
    diagnoses.append(&mut done.diagnoses);
    finish(
        st,
        &req,
        &opened,
        client_cipher.as_ref(),
        answer,
        done_with(done, kind, &req, &now),
        diagnoses,
        corrupt_signature,
    )
}

/// The recipient role: decrypt the content for an addressee whose key we hold and check what only the
/// recipient can see (profile rules 3 and 10).
fn recipient_role<'a>(
    st: &OsciState,
    req: &Request,
    doc: &xml::Document<'_>,
    attachment: impl Fn(&str) -> Option<&'a [u8]>,
) -> Vec<profile::Violation> {
    if req.kind != Kind::StoreDelivery {
        return Vec::new();
    }
    let Some(addressee) = req.cert("CipherCertificateAddressee") else {
        return Vec::new();
    };
    let Some((cert, key)) = st.keys().recipients.iter().find(|(c, _)| c == addressee) else {
        return Vec::new();
    };
    let ed = doc
        .root
        .child(xml::SOAP, "Body")
        .and_then(|b| b.child(xml::OSCI, "ContentPackage"))
        .and_then(|p| p.child(xml::XENC, "EncryptedData"));
    let Some(ed) = ed else { return Vec::new() };
    match crate::recipient::decrypt(ed, doc.src, cert, key) {
        Ok(plain) => crate::recipient::check_container(
            &plain,
            &req.certs,
            attachment,
            &st.profile().parameters,
        ),
        Err(e) => vec![profile::Violation {
            rule_no: 4,
            rule: "osci.profile.content-decryptable",
            code: "9300",
            message: format!("the content cannot be decrypted with the addressee's key: {e}"),
            location: Some(
                "/soap:Envelope/soap:Body/osci:ContentPackage/xenc:EncryptedData".into(),
            ),
        }],
    }
}

/// Put the feedback where the response type has it (header element or body).
fn done_with(mut d: Done, kind: Kind, req: &Request, _now: &str) -> Done {
    let codes: Vec<&str> = d.codes.iter().map(String::as_str).collect();
    let fb = write::feedback(&codes, &req.languages);
    match kind {
        Kind::InitDialog => {
            d.body =
                format!("<osci:responseToInitDialog>{fb}</osci:responseToInitDialog>").into_bytes();
        }
        Kind::ExitDialog => {
            d.body =
                format!("<osci:responseToExitDialog>{fb}</osci:responseToExitDialog>").into_bytes();
        }
        Kind::GetMessageId => {
            let id = d
                .data
                .get("message_id")
                .and_then(|v| v.as_str())
                .map(|m| {
                    format!(
                        "<osci:MessageId>{}</osci:MessageId>",
                        crypto::b64(m.as_bytes())
                    )
                })
                .unwrap_or_default();
            d.body = format!("<osci:responseToGetMessageId>{fb}{id}</osci:responseToGetMessageId>")
                .into_bytes();
        }
        Kind::StoreDelivery => {
            let pcb = d.headers.pop().map(|(_, x)| x).unwrap_or_default();
            d.headers.push((
                "responsetostoredelivery".into(),
                write::osci_header("responseToStoreDelivery", &format!("{fb}{pcb}")),
            ));
        }
        Kind::FetchDelivery => {
            let mut rest = std::mem::take(&mut d.headers);
            let echo = fetch_echo(req);
            let pcb = rest
                .iter()
                .position(|(id, _)| id == "pcb")
                .map(|i| rest.remove(i).1)
                .unwrap_or_default();
            d.headers.push((
                "responsetofetchdelivery".into(),
                write::osci_header("responseToFetchDelivery", &format!("{fb}{echo}{pcb}")),
            ));
            d.headers.append(&mut rest);
        }
        Kind::FetchProcessCard => {
            let sel = fetch_process_card_echo(req);
            let cards = String::from_utf8(std::mem::take(&mut d.body)).unwrap_or_default();
            d.body = format!("<osci:responseToFetchProcessCard>{fb}{sel}{cards}</osci:responseToFetchProcessCard>").into_bytes();
        }
    }
    d
}

fn fetch_echo(req: &Request) -> String {
    match &req.selection {
        Selection::MessageId(id) => format!(
            "<osci:fetchDelivery><osci:SelectionRule><osci:MessageId>{}</osci:MessageId></osci:SelectionRule></osci:fetchDelivery>",
            crypto::b64(id.as_bytes())
        ),
        Selection::ReceptionOfDelivery(t) => format!(
            "<osci:fetchDelivery><osci:SelectionRule><osci:ReceptionOfDelivery>{}</osci:ReceptionOfDelivery></osci:SelectionRule></osci:fetchDelivery>",
            xml::esc(t)
        ),
        _ => "<osci:fetchDelivery></osci:fetchDelivery>".into(),
    }
}

fn fetch_process_card_echo(req: &Request) -> String {
    let role = req
        .selection_role
        .as_deref()
        .map(|r| format!(" Role=\"{}\"", xml::esc(r)))
        .unwrap_or_default();
    let rule = match &req.selection {
        Selection::MessageId(id) => format!(
            "<osci:SelectionRule><osci:MessageId>{}</osci:MessageId></osci:SelectionRule>",
            crypto::b64(id.as_bytes())
        ),
        Selection::ReceptionOfDelivery(t) => format!(
            "<osci:SelectionRule><osci:ReceptionOfDelivery{role}>{}</osci:ReceptionOfDelivery></osci:SelectionRule>",
            xml::esc(t)
        ),
        Selection::RecentModification(t) => format!(
            "<osci:SelectionRule><osci:RecentModification{role}>{}</osci:RecentModification></osci:SelectionRule>",
            xml::esc(t)
        ),
        Selection::Next => String::new(),
    };
    format!("<osci:fetchProcessCard>{rule}</osci:fetchProcessCard>")
}

#[allow(clippy::too_many_arguments)]
fn finish(
    st: &OsciState,
    req: &Request,
    opened: &outer::Opened,
    client_cipher: Option<&Cert>,
    answer: Answer,
    done: Done,
    diagnoses: Vec<Diagnosis>,
    corrupt_signature: bool,
) -> Reply {
    let kind = req.kind;
    let mut headers = vec![("controlblock".to_string(), write::control_block(&answer))];
    headers.extend(done.headers);
    let attachments: Vec<write::Attachment<'_>> = done
        .content
        .as_ref()
        .map(|c| {
            c.parts()
                .into_iter()
                .map(|(p, b)| write::Attachment {
                    content_id: p.content_id.clone(),
                    headers: p.headers.clone(),
                    body: b,
                })
                .collect()
        })
        .unwrap_or_default();
    let resp = Response {
        headers,
        body: done.body,
        attachments,
    };
    let keys = st.keys();
    let signer = write::Signer {
        key: &keys.signature.1,
        cert: &keys.signature.0,
    };
    let signer = st.config().sign_responses.then_some(&signer);
    let boundary = write::boundary();
    let inner = match write::inner_message(kind, resp, signer, &boundary, corrupt_signature) {
        Ok(b) => b,
        Err(e) => return fault("9000", "osci.sign", &e.to_string(), None, Some(kind)),
    };
    let body = match (opened.encrypted, client_cipher) {
        (true, Some(c)) => match write::encrypt_for(c, &inner, &write::boundary()) {
            Ok(b) => b,
            Err(e) => return fault("9000", "osci.encrypt", &e.to_string(), None, Some(kind)),
        },
        _ => inner,
    };
    let mut data = done.data;
    if !data.is_object() {
        data = json!({});
    }
    data["conversation_id"] = json!(answer.conversation_id);
    data["feedback"] = json!(done.codes);
    if !answer.received.is_empty() {
        data["received"] = json!(answer.received);
    }
    Reply {
        body,
        fault: None,
        operation: Some(kind.name().into()),
        diagnoses,
        data,
        codes: done.codes,
    }
}

fn get_message_id(st: &OsciState, now: &str) -> Result<Done, sim_kit::store::StoreError> {
    let id = format!(
        "konform-osci-{}",
        crypto::random_token(12)
            .unwrap_or_default()
            .replace(['/', '+', '='], "")
    );
    mailbox::issue_message_id(st.store(), &id, now)?;
    Ok(Done {
        data: json!({ "message_id": id }),
        ..Done::default()
    })
}

/// An inspection of every certificate in the request.
fn inspections(st: &OsciState, req: &Request, now_ms: i64, now: &str) -> Vec<Inspection> {
    req.certs
        .iter()
        .map(|c| st.keys().trust.inspect(&c.cert, now_ms / 1000, now))
        .collect()
}

fn store_delivery(
    st: &OsciState,
    req: &Request,
    mp: &mime::Multipart,
    inner: &[u8],
    now_ms: i64,
    now: &str,
) -> Result<Done, sim_kit::store::StoreError> {
    let feedback = |code: &str, rule: &str, msg: &str| Done {
        codes: vec![code.to_string()],
        diagnoses: vec![Diagnosis::new(rule, format!("OSCI {code}: {msg}"))],
        headers: vec![("pcb".into(), String::new())],
        ..Done::default()
    };
    let Some(mid) = req.message_id.as_deref() else {
        return Ok(feedback(
            "9800",
            "osci.store.no-message-id",
            "StoreDelivery without MessageId",
        ));
    };
    let mid = crypto::unb64(mid)
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| mid.to_string());
    match mailbox::message_id_state(st.store(), &mid)? {
        IdState::Fresh => {}
        IdState::Unknown => {
            return Ok(feedback(
                "9801",
                "osci.store.message-id-unknown",
                &format!(
                    "MessageId `{mid}` was not issued by this intermediary (GetMessageId first)"
                ),
            ));
        }
        IdState::Used => {
            return Ok(feedback(
                "9801",
                "osci.store.message-id-reused",
                &format!("MessageId `{mid}` was already used for a delivery"),
            ));
        }
    }
    let Some(addressee) = req.cert("CipherCertificateAddressee") else {
        return Ok(feedback(
            "9300",
            "osci.store.no-addressee",
            "StoreDelivery names no CipherCertificateAddressee",
        ));
    };
    let nic = req
        .nic_range
        .clone()
        .map(|r| &inner[mp.parts[0].body.start + r.start..mp.parts[0].body.start + r.end])
        .unwrap_or(&[]);
    let content = req
        .content_range
        .clone()
        .map(|r| &inner[mp.parts[0].body.start + r.start..mp.parts[0].body.start + r.end])
        .unwrap_or(&[]);
    let parts: Vec<(StoredPart, &[u8])> = mp.parts[1..]
        .iter()
        .map(|p| {
            (
                StoredPart {
                    content_id: p.content_id.clone(),
                    headers: p.headers.clone(),
                    len: p.body.len(),
                },
                &inner[p.body.clone()],
            )
        })
        .collect();
    let card = ProcessCard {
        message_id: mid.clone(),
        addressee: addressee.fingerprint.clone(),
        originator: req
            .cert("CipherCertificateOriginator")
            .map(|c| c.fingerprint.clone()),
        subject: req.subject.clone(),
        creation: now.to_string(),
        forwarding: None,
        reception: None,
        recent_modification: now.to_string(),
        inspections: inspections(st, req, now_ms, now),
    };
    mailbox::store_delivery(st.store(), &card, nic, content, &parts)?;
    Ok(Done {
        headers: vec![("pcb".into(), laufzettel::bundle("ProcessCardBundle", &card))],
        data: json!({ "message_id": mid, "addressee": card.addressee, "size": inner.len() }),
        ..Done::default()
    })
}

fn fetch_delivery(
    st: &OsciState,
    req: &Request,
    client: Option<&str>,
    answer: &Answer,
    now: &str,
) -> Result<Done, sim_kit::store::StoreError> {
    let client = client.unwrap_or("");
    let pick = match &req.selection {
        Selection::MessageId(id) => Pick::MessageId(id),
        Selection::ReceptionOfDelivery(t) => Pick::ReceivedAfter(t),
        _ => Pick::Next,
    };
    let found = mailbox::find_deliveries(st.store(), client, &pick)?;
    let Some((card, blob)) = found.first() else {
        return Ok(Done {
            codes: vec!["9803".into()],
            diagnoses: vec![Diagnosis::new(
                "osci.fetch.none",
                "OSCI 9803: no delivery for this client matches the selection",
            )],
            ..Done::default()
        });
    };
    let content = mailbox::read_content(st.store(), blob)?;
    mailbox::set_forwarding(st.store(), &card.message_id, now)?;
    let mut card = card.clone();
    card.forwarding.get_or_insert_with(|| now.to_string());
    card.recent_modification = now.to_string();
    if let Some(d) = st.dialogs().get_mut(&answer.conversation_id) {
        d.pending_reception.push(card.message_id.clone());
    }
    let mut codes = vec![if answer.explicit { "0801" } else { "0800" }.to_string()];
    if found.len() > 1
        || (matches!(pick, Pick::Next)
            && mailbox::find_deliveries(st.store(), client, &Pick::Next)?.len() > 1)
    {
        codes.push("3800".into());
    }
    let mut headers = vec![(
        "pcb".to_string(),
        laufzettel::bundle("ProcessCardBundle", &card),
    )];
    if !content.nic().is_empty() {
        headers.push((
            "nonintermediarycertificates".into(),
            String::from_utf8_lossy(content.nic()).into_owned(),
        ));
    }
    let mut body = b"<osci:ContentPackage>".to_vec();
    body.extend_from_slice(content.content_package());
    body.extend_from_slice(b"</osci:ContentPackage>");
    Ok(Done {
        headers,
        body,
        data: json!({ "message_id": card.message_id }),
        codes,
        content: Some(content),
        diagnoses: Vec::new(),
    })
}

fn fetch_process_card(
    st: &OsciState,
    req: &Request,
    client: Option<&str>,
) -> Result<Done, sim_kit::store::StoreError> {
    let client = client.unwrap_or("");
    let cards = mailbox::find_cards(st.store(), client, req.selection_role.as_deref())?;
    let chosen: Vec<&ProcessCard> = cards
        .iter()
        .filter(|c| match &req.selection {
            Selection::MessageId(id) => &c.message_id == id,
            Selection::ReceptionOfDelivery(t) => {
                c.reception.as_deref().is_some_and(|r| r > t.as_str())
            }
            Selection::RecentModification(t) => c.recent_modification.as_str() > t.as_str(),
            Selection::Next => true,
        })
        .collect();
    if chosen.is_empty() {
        return Ok(Done {
            codes: vec!["9804".into()],
            diagnoses: vec![Diagnosis::new(
                "osci.process-card.none",
                "OSCI 9804: no process card matches the selection",
            )],
            ..Done::default()
        });
    }
    let body: String = chosen
        .iter()
        .map(|c| laufzettel::bundle("ProcessCardBundle", c))
        .collect();
    Ok(Done {
        body: body.into_bytes(),
        data: json!({ "process_cards": chosen.iter().map(|c| &c.message_id).collect::<Vec<_>>() }),
        ..Done::default()
    })
}
