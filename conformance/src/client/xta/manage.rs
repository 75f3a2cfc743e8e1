//! Portal-side management: `xta.transport_report` (input `{"message_id"?}`, default: the last message this
//! client sent; output `{"message_id", "status", "status_name", "errors", "warnings", "infos"}`),
//! `xta.cancel` (input `{"message_id"?}`; output `{"cancelled": true}`) and `xta.lookup` (input
//! `{"reader", "service"?}`; output `{"available": bool, "certificate": base64?}`).

use super::{Who, Xta};
use crate::client::{ClientEnv, ClientError};
use mock_xta::ns::Op;
use mock_xta::wire::{self, PartySpec};
use serde_json::{Value, json};

fn message_id(x: &Xta<'_>, input: &Value) -> Result<String, ClientError> {
    match input.get("message_id").and_then(Value::as_str) {
        Some(id) => Ok(id.to_string()),
        None => x.last_sent().ok_or_else(|| {
            ClientError::Input("no message_id given and no message sent in this scenario".into())
        }),
    }
}

fn records(a: &super::Answer, local: &str) -> Vec<Value> {
    a.all(local)
        .iter()
        .map(|r| {
            let code = r
                .children
                .iter()
                .find(|c| c.local == "Code")
                .and_then(|c| c.child_unqualified("code"))
                .map(|c| c.trimmed().to_string());
            let reason = r
                .children
                .iter()
                .find(|c| c.local == "Reason")
                .map(|c| c.trimmed().to_string());
            json!({ "code": code, "reason": reason })
        })
        .collect()
}

pub fn transport_report(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let x = Xta::new(env, Who::Portal)?;
    let id = message_id(&x, input)?;
    let rep = x.call(Op::GetTransportReport, &wire::message_id_body(&id))?;
    let status: i64 = rep
        .text("Status")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ClientError::Refused("transport report without Status".into()))?;
    let name = match status {
        0 => "offen",
        1 => "grün",
        2 => "gelb",
        _ => "rot",
    };
    Ok(json!({
        "message_id": id,
        "status": status,
        "status_name": name,
        "errors": records(&rep, "Error"),
        "warnings": records(&rep, "Warning"),
        "infos": records(&rep, "Info"),
    }))
}

pub fn cancel(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let x = Xta::new(env, Who::Portal)?;
    let id = message_id(&x, input)?;
    x.call(Op::CancelMessage, &wire::message_id_body(&id))?;
    Ok(json!({ "message_id": id, "cancelled": true }))
}

pub fn lookup(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let x = Xta::new(env, Who::Portal)?;
    let reader = input
        .get("reader")
        .and_then(Value::as_str)
        .ok_or_else(|| ClientError::Input("xta.lookup needs `reader`".into()))?;
    let service = input
        .get("service")
        .and_then(Value::as_str)
        .unwrap_or(mock_xta::config::FIM_SERVICE);
    let a = x.call(
        Op::LookupService,
        &wire::lookup_request(&PartySpec::new(reader), service),
    )?;
    Ok(json!({
        "available": a.text("ServiceIsAvailable").as_deref() == Some("true"),
        "certificate": a.text("Resource"),
    }))
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A ZIP archive with the files stored uncompressed (what a client that bundles attachments sends).
pub fn zip_stored(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let (n, l) = (name.as_bytes(), data.len() as u32);
        let mut local = vec![0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        local.extend_from_slice(&crc.to_le_bytes());
        local.extend_from_slice(&l.to_le_bytes());
        local.extend_from_slice(&l.to_le_bytes());
        local.extend_from_slice(&(n.len() as u16).to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&local);
        out.extend_from_slice(n);
        out.extend_from_slice(data);
        let mut c = vec![0x50, 0x4b, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        c.extend_from_slice(&crc.to_le_bytes());
        c.extend_from_slice(&l.to_le_bytes());
        c.extend_from_slice(&l.to_le_bytes());
        c.extend_from_slice(&(n.len() as u16).to_le_bytes());
        c.extend_from_slice(&[0; 12]);
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(n);
        central.extend_from_slice(&c);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0]);
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32_check_value() {
        assert_eq!(super::crc32(b"123456789"), 0xcbf4_3926);
        let z = super::zip_stored(&[("a.txt".into(), b"hi".to_vec())]);
        assert!(z.starts_with(b"PK\x03\x04"));
    }
}
