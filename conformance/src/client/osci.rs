//! Reference-client actions for OSCI-Transport 1.2 (`docs/osci.md`), as the sending and the receiving
//! authority of the FIM scenario "One-Way-Message, aktiver Empfänger":
//!
//! | action | does | output |
//! |---|---|---|
//! | `osci.store` | GetMessageId, StoreDelivery for the recipient (one container `FIM_DATA`: the FIM message naming the attachments as `F60000296` proofs, signed with the sender's organisation key, AES-256-GCM, encrypted for the recipient) | `{message_id, feedback, process_cards}` |
//! | `osci.fetch` | InitDialog, FetchDelivery (by `message_id` or the next), ExitDialog, as the recipient | `{message_id?, feedback, attachments, content_bytes}` |
//! | `osci.process_card` | InitDialog, FetchProcessCard (by `message_id`), ExitDialog, as the sender | `{feedback, process_cards, reception}` |
//!
//! Keys come from `KONFORM_OSCI_PKI_DIR` (the OSCI test PKI's PEM files), the endpoint from
//! `KONFORM_OSCI_URL`. A SOAP fault or a 9xxx feedback outside 9803/9804 fails the action.

use super::{Action, ClientEnv, ClientError, Defect};
use mock_osci::client::{Answer, Client, ClientError as OsciError, FimContent, Parts, fim_package};
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
    let resp = env
        .http()?
        .request("POST", &url(env), &[("Content-Type", "text/xml")], &body)?;
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

/// A FIM message naming the proofs (`F60000296`), as the seed's FIM-Versammlungsanzeige carries them.
fn fim_message(proofs: &[String]) -> Vec<u8> {
    let mut m =
        String::from("<xfd:G17000652 xmlns:xfd=\"urn:xoev-de:xfall:standard:fim-s17000652_1.4\">");
    for p in proofs {
        m.push_str(&format!("<F60000296>{p}</F60000296>"));
    }
    m.push_str("</xfd:G17000652>");
    m.into_bytes()
}

/// The ContentPackage and attachment parts: one container `FIM_DATA`, signed with the sending
/// authority's organisation key, every part AES-256-GCM, encrypted for the recipient.
fn package(
    env: &ClientEnv,
    p: &OsciPki,
    c: &mut Client,
    atts: &[(String, Vec<u8>)],
) -> Result<(String, Parts), ClientError> {
    let mut proofs: Vec<String> = atts.iter().map(|(n, _)| n.clone()).collect();
    if env.has(Defect::OsciAttachmentNotAProof) {
        // The message names the proofs differently from the attachments' RefIDs.
        proofs = proofs.iter().map(|n| format!("Nachweis-{n}")).collect();
    }
    let mut message = fim_message(&proofs);
    if env.has(Defect::OsciCompressedContent) {
        message = gzip_stored(&message);
    }
    let (signer, signer_ref) = if env.has(Defect::OsciPersonSignature) {
        c.opts.other_author = Some(p.person_signature.cert.clone());
        (
            &p.person_signature,
            mock_osci::client::author_ref(&p.person_signature.cert),
        )
    } else {
        (&p.sender_signature, c.signature_ref())
    };
    let content = FimContent {
        ref_id: if env.has(Defect::OsciWrongRefId) {
            "Versammlungsanzeige"
        } else {
            "FIM_DATA"
        },
        message: &message,
        attachments: atts,
        signer: Some(signer),
        signer_ref,
        addressee: &p.recipient_cipher.cert,
        alg: if env.has(Defect::OsciAesCbcContent) {
            crypto::AES256_CBC
        } else {
            crypto::AES256_GCM
        },
    };
    let err = |e: mock_osci::client::ClientError| ClientError::Setup(e.to_string());
    let (pkg, parts) = fim_package(&content).map_err(err)?;
    if env.has(Defect::OsciPlainContent) {
        let plain = "<osci:ContentContainer Id=\"FIM_DATA\"><osci:Content><osci:Base64Content Id=\"content0\">PHhtbC8+</osci:Base64Content></osci:Content></osci:ContentContainer>";
        return Ok((plain.into(), parts));
    }
    if env.has(Defect::OsciTwoContainers) {
        let (second, _) = fim_package(&content).map_err(err)?;
        return Ok((
            format!("{pkg}{}", second.replace("encdata_0", "encdata_1")),
            parts,
        ));
    }
    Ok((pkg, parts))
}

/// A gzip member holding `data` in stored (uncompressed) deflate blocks: what a client that gzips
/// before sending puts inside the container, without a compression library.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let chunks: Vec<&[u8]> = data.chunks(65535).collect();
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let n = c.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&[0; 4]); // CRC-32 left out: the recipient recognises the format by its magic
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
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
            _ => exchange(env, &mut c, mock_osci::client::Client::get_message_id)?
                .message_id
                .ok_or_else(|| ClientError::Refused("no MessageId in the answer".into()))?,
        };
        let (pkg, parts) = package(env, &p, &mut c, &atts)?;
        let a = exchange(env, &mut c, |c| {
            c.store_delivery(&mid, &p.recipient_cipher.cert, subject, &pkg, &parts)
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
        exchange(env, &mut c, mock_osci::client::Client::init_dialog)?;
    }
    let a = exchange(env, &mut c, |c| c.fetch_delivery(mid))?;
    if !env.has(Defect::OsciSkipExitDialog) {
        exchange(env, &mut c, mock_osci::client::Client::exit_dialog)?;
    }
    Ok(json!({
        "message_id": a.message_id,
        "feedback": a.codes,
        "attachments": a.attachments.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "content_bytes": a.content_package.as_ref().map(std::string::String::len).unwrap_or(0),
    }))
}

fn process_card(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let p = pki(env)?;
    let mut c = client(env, &p, true);
    let mid = input.get("message_id").and_then(Value::as_str);
    exchange(env, &mut c, mock_osci::client::Client::init_dialog)?;
    let a = exchange(env, &mut c, |c| c.fetch_process_card(mid))?;
    exchange(env, &mut c, mock_osci::client::Client::exit_dialog)?;
    Ok(
        json!({ "feedback": a.codes, "process_cards": a.process_cards, "reception": a.reception_seen }),
    )
}
