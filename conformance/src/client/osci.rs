//! Reference-client actions for OSCI-Transport 1.2 (`docs/osci.md`), as the sending and the receiving
//! authority of the FIM scenario "One-Way-Message, aktiver Empfänger":
//!
//! | action | does | output |
//! |---|---|---|
//! | `osci.store` | GetMessageId, StoreDelivery for the recipient (one AES-256-GCM container `FIM_DATA`, attachments as given) | `{message_id, feedback, process_cards}` |
//! | `osci.fetch` | InitDialog, FetchDelivery (by `message_id` or the next), ExitDialog, as the recipient | `{message_id?, feedback, attachments, content_bytes}` |
//! | `osci.process_card` | InitDialog, FetchProcessCard (by `message_id`), ExitDialog, as the sender | `{feedback, process_cards, reception}` |
//!
//! Keys come from `KONFORM_OSCI_PKI_DIR` (the OSCI test PKI's PEM files), the endpoint from
//! `KONFORM_OSCI_URL`. A SOAP fault or a 9xxx feedback outside 9803/9804 fails the action.

use super::{Action, ClientEnv, ClientError, Defect};
use crate::http;
use mock_osci::client::{Answer, Client, ClientError as OsciError};
use mock_osci::{OsciPki, crypto};
use serde_json::{Value, json};

pub const ACTIONS: &[Action] = &[
    Action {
        name: "osci.store",
        run: store,
    },
    Action {
        name: "osci.fetch",
        run: fetch,
    },
    Action {
        name: "osci.process_card",
        run: process_card,
    },
];

fn pki(env: &ClientEnv) -> Result<OsciPki, ClientError> {
    let dir = env
        .var("KONFORM_OSCI_PKI_DIR")
        .ok_or_else(|| ClientError::Setup("KONFORM_OSCI_PKI_DIR is not set".into()))?;
    let dir = std::path::PathBuf::from(dir);
    OsciPki::from_files(&|n| std::fs::read_to_string(dir.join(n)).map_err(|e| e.to_string()))
        .map_err(|e| ClientError::Setup(e.to_string()))
}

fn url(env: &ClientEnv) -> String {
    env.var("KONFORM_OSCI_URL")
        .unwrap_or("http://127.0.0.1:8084/osci")
        .to_string()
}

/// A client for a party, with the defects that shape every request applied.
fn client(env: &ClientEnv, p: &OsciPki, sender: bool) -> Client {
    let (cipher, sig) = if sender {
        (&p.sender_cipher, &p.sender_signature)
    } else {
        (&p.recipient_cipher, &p.recipient_signature)
    };
    let mut intermediary = p.intermediary_cipher.cert.clone();
    if env.has(Defect::OsciWrongCipherCertificate) {
        // Encrypted for the addressee instead of the intermediary.
        intermediary = p.recipient_cipher.cert.clone();
    }
    let mut c = Client::new(cipher.clone(), sig.clone(), intermediary);
    if env.has(Defect::OsciAesCbcTransport) {
        c.opts.transport_alg = crypto::AES256_CBC.into();
    }
    if env.has(Defect::OsciUnencryptedUsageData) {
        c.opts.encrypt = false;
    }
    if env.has(Defect::OsciReusedChallenge) {
        c.opts.fixed_challenge = Some("a29uZm9ybQ==".into());
    }
    if env.has(Defect::OsciIgnoreServerChallenge) {
        c.opts.ignore_server_challenge = true;
    }
    c
}

fn exchange(
    env: &ClientEnv,
    c: &mut Client,
    build: impl FnOnce(&mut Client) -> Result<Vec<u8>, OsciError>,
) -> Result<Answer, ClientError> {
    let body = build(c).map_err(|e| ClientError::Setup(e.to_string()))?;
    let resp = http::request(
        "POST",
        &url(env),
        &[("Content-Type", "text/xml")],
        &body,
        env.timeout,
    )?;
    if resp.status != 200 {
        return Err(ClientError::Status {
            service: "osci",
            status: resp.status,
            diagnosis: resp.header("x-konform-diagnosis").map(str::to_string),
        });
    }
    let a = c.open(&resp.body).map_err(|e| {
        ClientError::Refused(match e {
            OsciError::Fault { code, text } => format!("OSCI fault {code}: {text}"),
            other => other.to_string(),
        })
    })?;
    if let Some(bad) = a
        .codes
        .iter()
        .find(|c| c.starts_with('9') && *c != "9803" && *c != "9804")
    {
        return Err(ClientError::Refused(format!("OSCI feedback {bad}")));
    }
    Ok(a)
}

/// The ContentPackage: one encrypted container (the content itself is end-to-end encrypted for the
/// addressee; the intermediary never reads it, so a stand-in ciphertext of the right form is enough).
fn package(env: &ClientEnv, ref_id: &str) -> String {
    let alg = if env.has(Defect::OsciAesCbcContent) {
        crypto::AES256_CBC
    } else {
        crypto::AES256_GCM
    };
    let enc = |id: &str| {
        format!(
            "<xenc:EncryptedData Id=\"{id}\" MimeType=\"text/xml\"><xenc:EncryptionMethod Algorithm=\"{alg}\"></xenc:EncryptionMethod><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>",
            crypto::b64(ref_id.as_bytes())
        )
    };
    if env.has(Defect::OsciPlainContent) {
        return format!(
            "<osci:ContentContainer Id=\"{ref_id}\"><osci:Content Id=\"content0\"><osci:Base64Content Id=\"b0\">PHhtbC8+</osci:Base64Content></osci:Content></osci:ContentContainer>"
        );
    }
    if env.has(Defect::OsciTwoContainers) {
        return format!("{}{}", enc("encdata_0"), enc("encdata_1"));
    }
    enc("encdata_0")
}

fn store(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let p = pki(env)?;
    let mut c = client(env, &p, true);
    let subject = input.get("subject").and_then(Value::as_str);
    let atts: Vec<(String, Vec<u8>)> = input
        .get("attachments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    Some((
                        x.get("name")?.as_str()?.to_string(),
                        x.get("text")?.as_str()?.as_bytes().to_vec(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let count = input
        .get("count")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .clamp(1, 10);
    let mut ids = Vec::new();
    let mut last = None;
    for _ in 0..count {
        let mid = match (env.has(Defect::OsciReuseMessageId), ids.first()) {
            (true, Some(first)) => String::clone(first),
            _ => exchange(env, &mut c, |c| c.get_message_id())?
                .message_id
                .ok_or_else(|| ClientError::Refused("no MessageId in the answer".into()))?,
        };
        let pkg = package(env, "FIM_DATA");
        let a = exchange(env, &mut c, |c| {
            c.store_delivery(&mid, &p.recipient_cipher.cert, subject, &pkg, &atts)
        })?;
        ids.push(mid);
        last = Some(a);
    }
    let a = last.unwrap_or_default();
    Ok(
        json!({ "message_id": ids.last(), "message_ids": ids, "feedback": a.codes, "process_cards": a.process_cards }),
    )
}

fn fetch(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let p = pki(env)?;
    let mut c = client(env, &p, false);
    let mid = input.get("message_id").and_then(Value::as_str);
    if !env.has(Defect::OsciFetchWithoutDialog) {
        exchange(env, &mut c, |c| c.init_dialog())?;
    }
    let a = exchange(env, &mut c, |c| c.fetch_delivery(mid))?;
    if !env.has(Defect::OsciSkipExitDialog) {
        exchange(env, &mut c, |c| c.exit_dialog())?;
    }
    Ok(json!({
        "message_id": a.message_id,
        "feedback": a.codes,
        "attachments": a.attachments.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "content_bytes": a.content_package.as_ref().map(|c| c.len()).unwrap_or(0),
    }))
}

fn process_card(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let p = pki(env)?;
    let mut c = client(env, &p, true);
    let mid = input.get("message_id").and_then(Value::as_str);
    exchange(env, &mut c, |c| c.init_dialog())?;
    let a = exchange(env, &mut c, |c| c.fetch_process_card(mid))?;
    exchange(env, &mut c, |c| c.exit_dialog())?;
    Ok(
        json!({ "feedback": a.codes, "process_cards": a.process_cards, "reception": a.reception_seen }),
    )
}
