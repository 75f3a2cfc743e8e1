//! `xta.send` — the portal sends a FIM message: checkAccountActive → lookupService → createMessageId →
//! sendMessage (MTOM) → getTransportReport. The transport order is filled from the FIM message header, as
//! seed 001 §4.1 III requires (the header is authoritative).
//!
//! Input: `{"message": "files/anzeige.xml", "attachments": ["files/Lageplan.pdf"], "reader"?, "service"?,
//! "packaging"?: "mtom_cxf" | "mtom_metro" | "inline", "not_before"?}`; output `{"message_id", "status",
//! "warnings"}`.

use super::{Who, Xta, input_path};
use crate::client::{ClientEnv, ClientError, Defect};
use mock_xta::ns::{Op, Port};
use mock_xta::wire::{self, ContentSpec, Packaging, PartySpec};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    message: String,
    #[serde(default)]
    attachments: Vec<String>,
    #[serde(default)]
    reader: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    packaging: Option<Packaging>,
    #[serde(default)]
    not_before: Option<String>,
}

/// Routing data of the FIM header (G05001479), if the message has one.
#[derive(Default)]
struct Header {
    message_type: Option<String>,
    service: Option<String>,
    reader: Option<String>,
}

fn header_of(msg: &[u8]) -> Header {
    let spec = mock_xta::xml::scan::ScanSpec {
        capture: vec!["G05001479".into()],
        collect: vec![],
    };
    let Ok(scan) = mock_xta::xml::scan::scan(msg, &spec) else {
        return Header::default();
    };
    let Some(h) = scan.captured.get("G05001479") else {
        return Header::default();
    };
    let get = |a: &str, b: &str| {
        h.element
            .children
            .iter()
            .find(|c| c.local == a)
            .and_then(|g| g.children.iter().find(|c| c.local == b))
            .map(|e| e.trimmed().to_string())
    };
    Header {
        message_type: get("G05001480", "F05002752"),
        service: get("G05001480", "F05002753"),
        reader: get("G05001481", "F05002755"),
    }
}

fn content_type_of(name: &str) -> &'static str {
    match name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("xml") => "application/xml",
        Some("txt") => "text/plain",
        _ => "application/octet-stream",
    }
}

fn read(env: &ClientEnv, p: &str) -> Result<(String, Vec<u8>), ClientError> {
    let path = input_path(env, p);
    let data =
        std::fs::read(&path).map_err(|e| ClientError::Input(format!("{}: {e}", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((name, data))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn latin1(msg: &[u8]) -> Vec<u8> {
    let text =
        String::from_utf8_lossy(msg).replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"", 1);
    text.chars()
        .map(|c| {
            if (c as u32) < 256 {
                c as u32 as u8
            } else {
                b'?'
            }
        })
        .collect()
}

pub fn send(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let inp: Input = serde_json::from_value(input.clone())
        .map_err(|e| ClientError::Input(format!("xta.send: {e}")))?;
    let x = Xta::new(env, Who::Portal)?;
    let (msg_name, mut msg) = read(env, &inp.message)?;
    let mut atts = Vec::new();
    for p in &inp.attachments {
        let (name, data) = read(env, p)?;
        let filename = if env.has(Defect::XtaAttachmentPathAsFilename) {
            p.clone()
        } else if env.has(Defect::XtaFilenameUrlEncoded) {
            percent_encode(&name)
        } else {
            name.clone()
        };
        atts.push(ContentSpec::new(
            content_type_of(&name),
            Some(&filename),
            data,
        ));
    }
    if env.has(Defect::XtaZipAttachments) && !atts.is_empty() {
        let files: Vec<(String, Vec<u8>)> = atts
            .drain(..)
            .map(|a| (a.attrs.filename.unwrap_or_default(), a.data))
            .collect();
        atts.push(ContentSpec::new(
            "application/zip",
            Some("Nachweise.zip"),
            super::manage::zip_stored(&files),
        ));
    }
    let h = header_of(&msg);
    let reader = match (&h.reader, env.has(Defect::XtaMetaNotFromHeader)) {
        (Some(r), false) => r.clone(),
        _ => inp.reader.clone().unwrap_or_else(|| {
            env.var("KONFORM_XTA_AUTHORITY")
                .unwrap_or(mock_xta::config::AUTHORITY_ID)
                .to_string()
        }),
    };
    let service = inp
        .service
        .clone()
        .or(h.service.clone())
        .unwrap_or_else(|| mock_xta::config::FIM_SERVICE.to_string());

    x.call(Op::CheckAccountActive, "")?;
    let look = x.call(
        Op::LookupService,
        &wire::lookup_request(&PartySpec::new(&reader), &service),
    )?;
    if look.text("ServiceIsAvailable").as_deref() != Some("true") {
        return Err(ClientError::Refused(format!(
            "lookupService: '{reader}' does not offer '{service}'"
        )));
    }
    let id = if env.has(Defect::XtaOwnMessageId) {
        format!("urn:uuid:{}", mock_xta::soap::uuid())
    } else {
        let a = x.call(Op::CreateMessageId, "")?;
        a.body()
            .map(|b| b.trimmed().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ClientError::Refused("createMessageId answered no MessageID".into()))?
    };

    let author = if env.has(Defect::XtaProductionAuthorKey) {
        PartySpec::new("ehp:010100100000")
    } else {
        x.me()
    };
    let mut meta = wire::fim_meta(&id, author, PartySpec::new(&reader));
    meta.service =
        if env.has(Defect::XtaServiceMisspelt) && service == mock_xta::config::FIM_SERVICE {
            "urn:fim:Versamlungsanzeige:1.4".into()
        } else {
            service.clone()
        };
    if let Some(mt) = &h.message_type {
        meta.message_type.code = mt.clone();
    }
    if env.has(Defect::XtaPayloadSchema12) {
        meta.payload_schema = "urn:xoev-de:xfall:standard:fim-s17000652_1.2".into();
    }
    if env.has(Defect::XtaBusinessScenarioUndefined) {
        meta.business_scenario = None;
        meta.business_scenario_text = Some("FIM_DATA".into());
    }
    meta.not_before = inp.not_before.clone();
    let mut message = ContentSpec::new("application/xml", Some(&msg_name), Vec::new());
    message.attrs.encoding = Some("UTF-8".into());
    if env.has(Defect::XtaMessageDoubleBase64) {
        msg = ti_core::b64_encode(&msg).into_bytes();
    }
    if env.has(Defect::XtaLatin1Message) {
        msg = latin1(&msg);
        message.attrs.encoding = Some("ISO-8859-1".into());
    }
    message.data = msg;
    let b = wire::send(
        Op::SendMessage,
        &x.port_url(Port::Send),
        &wire::meta_xml(&meta),
        &message,
        &atts,
        inp.packaging.unwrap_or(Packaging::MtomCxf),
    );
    x.post(Op::SendMessage, b)?;
    x.remember(&id);

    let rep = x.call(Op::GetTransportReport, &wire::message_id_body(&id))?;
    let status: i64 = rep
        .text("Status")
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1);
    let warnings: Vec<String> = rep
        .all("Warning")
        .iter()
        .filter_map(|w| {
            w.children
                .iter()
                .find(|c| c.local == "Code")
                .and_then(|c| c.child_unqualified("code"))
                .map(|c| c.trimmed().to_string())
        })
        .collect();
    Ok(json!({ "message_id": id, "status": status, "warnings": warnings }))
}
