//! Konnektor operations of the reference client, with the seed's SOAPActions ("Übergreifende Beispiele"),
//! each sent to the endpoint of its service that the Konnektor's connector.sds names ("Die korrekten
//! Adressen der Endpunkte … lassen sich mithilfe der Herstellerinformationen bestimmen"). The SMC-B is the
//! one of the client's own institution (its C.AUT names the Telematik-ID / IK) when several are inserted;
//! VerifyPin is called once when the PIN is verifiable, and a rejection stops the action.

use super::soap::{
    self, NS_CARD, NS_CARDCMN, NS_CCTX, NS_CERT, NS_CONN, NS_DSS, NS_EVT, NS_SIG, esc,
};
use super::{ClientEnv, ClientError, Defect};
use crate::http;
use serde_json::{Value, json};
use ti_core::{b64_decode, b64_encode};

fn context(env: &ClientEnv) -> String {
    let (m, c, w, u) = if env.has(Defect::HardcodedContext) {
        ("Mandant1", "ClientID1", "Workplace1", "User1")
    } else {
        (
            env.mandant_id.as_str(),
            env.client_system_id.as_str(),
            env.workplace_id.as_str(),
            env.user_id.as_str(),
        )
    };
    format!(
        "<CCTX:Context><CONN:MandantId>{}</CONN:MandantId><CONN:ClientSystemId>{}</CONN:ClientSystemId><CONN:WorkplaceId>{}</CONN:WorkplaceId><CONN:UserId>{}</CONN:UserId></CCTX:Context>",
        esc(m),
        esc(c),
        esc(w),
        esc(u)
    )
}

fn envelope(body: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soap:Envelope xmlns:soap="{}" xmlns:CONN="{}" xmlns:CCTX="{}" xmlns:EVT="{}" xmlns:CARD="{}" xmlns:CARDCMN="{}" xmlns:CERT="{}" xmlns:SIG="{}" xmlns:dss="{}">"#,
            "<soap:Body>{}</soap:Body></soap:Envelope>"
        ),
        soap::NS_SOAP11,
        NS_CONN,
        NS_CCTX,
        NS_EVT,
        NS_CARD,
        NS_CARDCMN,
        NS_CERT,
        NS_SIG,
        NS_DSS,
        body
    )
}

/// The service (as connector.sds names it) and WSDL target namespace of a SOAPAction.
fn service_of(action: &str) -> (&'static str, &'static str) {
    let op = action.rsplit('#').next().unwrap_or("");
    match op {
        "GetCards" => (
            "EventService",
            "http://ws.gematik.de/conn/EventService/WSDL/v7.2",
        ),
        "VerifyPin" | "GetPinStatus" => (
            "CardService",
            "http://ws.gematik.de/conn/CardService/WSDL/v8.1",
        ),
        "ReadCardCertificate" => (
            "CertificateService",
            "http://ws.gematik.de/conn/CertificateService/WSDL/v6.0",
        ),
        "ExternalAuthenticate" => (
            "AuthSignatureService",
            "http://ws.gematik.de/conn/AuthSignatureService/WSDL/v7.4",
        ),
        _ => (
            "SignatureService",
            "http://ws.gematik.de/conn/SignatureService/WSDL/v7.4",
        ),
    }
}

/// Where to send a SOAPAction: the endpoint connector.sds names for its service.
fn endpoint(env: &ClientEnv, action: &str) -> Result<String, ClientError> {
    if env.has(Defect::IgnoreConnectorSds) {
        return Ok(http::join(&env.konnektor_url, "/Konnektorservice"));
    }
    let url = http::join(&env.konnektor_url, "/connector.sds");
    let resp = env.http()?.request("GET", &url, &[], &[])?;
    if resp.status != 200 {
        return Err(ClientError::Status {
            service: "Konnektor (connector.sds)",
            status: resp.status,
            diagnosis: resp.header("x-konform-diagnosis").map(str::to_string),
        });
    }
    let sds = soap::ServiceDirectory::parse(&resp.text())
        .map_err(|e| ClientError::Soap(format!("connector.sds: {e}")))?;
    let (service, tns) = service_of(action);
    sds.endpoint(service, tns)
        .map(str::to_string)
        .ok_or_else(|| ClientError::Soap(format!("connector.sds names no {service} ({tns})")))
}

/// POST a SOAP request; a fault becomes `ClientError::Soap`.
fn call(env: &ClientEnv, action: &str, body: &str) -> Result<Vec<soap::Node>, ClientError> {
    let url = endpoint(env, action)?;
    let soap_action = format!("\"{action}\"");
    let req = envelope(body);
    let resp = env.http()?.request(
        "POST",
        &url,
        &[
            (
                "Content-Type",
                if env.has(Defect::Soap12ContentType) {
                    "application/soap+xml; charset=UTF-8"
                } else {
                    "text/xml; charset=UTF-8"
                },
            ),
            ("SOAPAction", &soap_action),
        ],
        req.as_bytes(),
    )?;
    let text = resp.text();
    let nodes = soap::flatten(&text).map_err(|e| {
        ClientError::Soap(format!("unreadable response (HTTP {}): {e}", resp.status))
    })?;
    if let Some(f) = soap::fault_of(&nodes) {
        return Err(ClientError::Soap(f.to_string()));
    }
    if resp.status != 200 {
        return Err(ClientError::Status {
            service: "Konnektor",
            status: resp.status,
            diagnosis: resp.header("x-konform-diagnosis").map(str::to_string),
        });
    }
    if soap::text_of(&nodes, "Result").as_deref() != Some("OK") {
        return Err(ClientError::Soap(format!(
            "Status/Result is {:?}",
            soap::text_of(&nodes, "Result")
        )));
    }
    Ok(nodes)
}

#[derive(Debug, Clone)]
pub struct Card {
    pub handle: String,
    pub card_type: String,
    pub holder: String,
}

pub fn get_cards(env: &ClientEnv) -> Result<Vec<Card>, ClientError> {
    let nodes = call(
        env,
        "http://ws.gematik.de/conn/EventService/v7.2#GetCards",
        &format!(
            "<EVT:GetCards mandant-wide=\"false\">{}</EVT:GetCards>",
            context(env)
        ),
    )?;
    let mut cards = Vec::new();
    let mut cur: Option<Card> = None;
    for n in &nodes {
        match n.name.as_str() {
            "Card" if n.path.last().map(String::as_str) == Some("Cards") => {
                if let Some(c) = cur.take() {
                    cards.push(c);
                }
                cur = Some(Card {
                    handle: String::new(),
                    card_type: String::new(),
                    holder: String::new(),
                });
            }
            "CardHandle" => {
                if let Some(c) = cur.as_mut() {
                    c.handle = n.text.trim().into();
                }
            }
            "CardType" => {
                if let Some(c) = cur.as_mut() {
                    c.card_type = n.text.trim().into();
                }
            }
            "CardHolderName" => {
                if let Some(c) = cur.as_mut() {
                    c.holder = n.text.trim().into();
                }
            }
            _ => {}
        }
    }
    if let Some(c) = cur.take() {
        cards.push(c);
    }
    Ok(cards)
}

/// The configured card handle, else the SMC-B the Konnektor reports — of the client's own institution
/// (Telematik-ID / IK in its C.AUT) when several are inserted.
pub fn card_handle(env: &ClientEnv) -> Result<String, ClientError> {
    if let Some(h) = &env.card_handle {
        return Ok(h.clone());
    }
    let cards = get_cards(env)?;
    if env.has(Defect::FirstCard)
        && let Some(c) = cards.first()
    {
        return Ok(c.handle.clone());
    }
    let smcbs: Vec<&Card> = cards.iter().filter(|c| c.card_type == "SMC-B").collect();
    match smcbs.as_slice() {
        [] => Err(ClientError::Soap("no SMC-B inserted".into())),
        [one] => Ok(one.handle.clone()),
        [first, ..] if env.has(Defect::FirstSmcB) => Ok(first.handle.clone()),
        several => own_smcb(env, several),
    }
}

/// Among several SMC-Bs, the one whose C.AUT names this client's Telematik-ID and IK.
fn own_smcb(env: &ClientEnv, smcbs: &[&Card]) -> Result<String, ClientError> {
    if env.telematik_id.is_none() && env.haupt_ik.is_none() {
        return Err(ClientError::Setup(format!(
            "{} SMC-Bs are inserted; set KONFORM_TELEMATIK_ID / KONFORM_IK (or KONFORM_CARD_HANDLE) to pick the institution's own",
            smcbs.len()
        )));
    }
    for c in smcbs {
        let der = read_certificate(env, &c.handle, "C.AUT")?;
        let cert = <x509_cert::Certificate as der::Decode>::from_der(&der)
            .map_err(|e| ClientError::Soap(format!("C.AUT of {}: {e}", c.handle)))?;
        let (tid, ik) = ti_core::pki::insurer_of_cert(&cert);
        let matches = |want: &Option<String>, got: &Option<String>| {
            want.as_ref().is_none_or(|w| got.as_ref() == Some(w))
        };
        if matches(&env.telematik_id, &tid) && matches(&env.haupt_ik, &ik) {
            return Ok(c.handle.clone());
        }
    }
    Err(ClientError::Soap(format!(
        "none of the inserted SMC-Bs belongs to Telematik-ID {} / IK {}",
        env.telematik_id.as_deref().unwrap_or("-"),
        env.haupt_ik.as_deref().unwrap_or("-")
    )))
}

pub fn pin_status(env: &ClientEnv, handle: &str) -> Result<(String, Option<u32>), ClientError> {
    let nodes = call(
        env,
        "http://ws.gematik.de/conn/CardService/v8.1#GetPinStatus",
        &format!(
            "<CARD:GetPinStatus>{}<CONN:CardHandle>{}</CONN:CardHandle><CARDCMN:PinTyp>PIN.SMC</CARDCMN:PinTyp></CARD:GetPinStatus>",
            context(env),
            esc(handle)
        ),
    )?;
    Ok((
        soap::text_of(&nodes, "PinStatus").unwrap_or_default(),
        soap::text_of(&nodes, "LeftTries").and_then(|t| t.parse().ok()),
    ))
}

pub fn verify_pin(env: &ClientEnv, handle: &str) -> Result<(String, Option<u32>), ClientError> {
    let nodes = call(
        env,
        "http://ws.gematik.de/conn/CardService/v8.1#VerifyPin",
        &format!(
            "<CARD:VerifyPin>{}<CONN:CardHandle>{}</CONN:CardHandle><CARDCMN:PinTyp>PIN.SMC</CARDCMN:PinTyp></CARD:VerifyPin>",
            context(env),
            esc(handle)
        ),
    )?;
    Ok((
        soap::text_of(&nodes, "PinResult").unwrap_or_default(),
        soap::text_of(&nodes, "LeftTries").and_then(|t| t.parse().ok()),
    ))
}

/// Unlock the SMC-B if needed ("Freigabe der SMC-B durch Eingabe der PIN").
pub fn ensure_unlocked(env: &ClientEnv, handle: &str) -> Result<(), ClientError> {
    if env.has(Defect::NoVerifyPin) {
        return Ok(());
    }
    let (status, _) = pin_status(env, handle)?;
    match status.as_str() {
        "VERIFIED" => Ok(()),
        "VERIFIABLE" => loop {
            let (result, left) = verify_pin(env, handle)?;
            if result == "OK" || env.has(Defect::ContinueAfterPinRejected) {
                return Ok(());
            }
            if result == "REJECTED" && env.has(Defect::RetryVerifyPin) {
                continue;
            }
            // A wrong PIN is not retried automatically: each try costs one of three.
            return Err(ClientError::Soap(format!(
                "VerifyPin answered {result}{}",
                left.map(|l| format!(" ({l} tries left)"))
                    .unwrap_or_default()
            )));
        },
        other => Err(ClientError::Soap(format!(
            "SMC-B PIN status is {other}; cannot unlock"
        ))),
    }
}

pub fn read_certificate(
    env: &ClientEnv,
    handle: &str,
    cert_ref: &str,
) -> Result<Vec<u8>, ClientError> {
    let nodes = call(
        env,
        "http://ws.gematik.de/conn/CertificateService/v6.0#ReadCardCertificate",
        &format!(
            "<CERT:ReadCardCertificate><CONN:CardHandle>{}</CONN:CardHandle>{}<CERT:CertRefList><CERT:CertRef>{}</CERT:CertRef></CERT:CertRefList><CERT:Crypt>{}</CERT:Crypt></CERT:ReadCardCertificate>",
            esc(handle),
            context(env),
            esc(cert_ref),
            if env.has(Defect::ReadCertificateRsa) {
                "RSA"
            } else {
                "ECC"
            }
        ),
    )?;
    let b64 = soap::text_of(&nodes, "X509Certificate").ok_or_else(|| {
        ClientError::Soap("no X509Certificate in ReadCardCertificateResponse".into())
    })?;
    let clean: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    b64_decode(&clean).map_err(|e| ClientError::Soap(format!("certificate: {e}")))
}

/// SignDocument (CMS, `urn:ietf:rfc:5652`); detached unless `include_econtent`.
pub fn sign_document(
    env: &ClientEnv,
    handle: &str,
    data: &[u8],
    include_econtent: bool,
) -> Result<Vec<u8>, ClientError> {
    ensure_unlocked(env, handle)?;
    let nodes = call(
        env,
        "http://ws.gematik.de/conn/SignatureService/v7.4#SignDocument",
        &format!(
            concat!(
                "<SIG:SignDocument><CONN:CardHandle>{}</CONN:CardHandle>{}",
                "<SIG:TvMode>NONE</SIG:TvMode><SIG:JobNumber>SIG-001</SIG:JobNumber>",
                "<SIG:SignRequest RequestID=\"Doc1\"><SIG:OptionalInputs>",
                "<dss:SignatureType>urn:ietf:rfc:5652</dss:SignatureType>",
                "<SIG:IncludeEContent>{}</SIG:IncludeEContent></SIG:OptionalInputs>",
                "<SIG:Document ID=\"Doc1\" ShortText=\"IRD-Datenlieferung\"><dss:Base64Data MimeType=\"application/octet-stream\">{}</dss:Base64Data></SIG:Document>",
                "<SIG:IncludeRevocationInfo>false</SIG:IncludeRevocationInfo></SIG:SignRequest></SIG:SignDocument>"
            ),
            esc(handle),
            context(env),
            include_econtent,
            b64_encode(data)
        ),
    )?;
    let sig = soap::text_of(&nodes, "Base64Signature")
        .ok_or_else(|| ClientError::Soap("no Base64Signature in SignDocumentResponse".into()))?;
    let clean: String = sig.chars().filter(|c| !c.is_whitespace()).collect();
    b64_decode(&clean).map_err(|e| ClientError::Soap(format!("signature: {e}")))
}

/// ExternalAuthenticate (`urn:bsi:tr:03111:ecdsa`) over a 32-byte digest; DER ECDSA out.
pub fn external_authenticate(
    env: &ClientEnv,
    handle: &str,
    data: &[u8],
) -> Result<Vec<u8>, ClientError> {
    ensure_unlocked(env, handle)?;
    let nodes = call(
        env,
        "http://ws.gematik.de/conn/SignatureService/v7.4#ExternalAuthenticate",
        &format!(
            concat!(
                "<SIG:ExternalAuthenticate><CONN:CardHandle>{}</CONN:CardHandle>{}",
                "<SIG:OptionalInputs><dss:SignatureType>{}</dss:SignatureType></SIG:OptionalInputs>",
                "<SIG:BinaryString><dss:Base64Data MimeType=\"application/octet-stream\">{}</dss:Base64Data></SIG:BinaryString>",
                "</SIG:ExternalAuthenticate>"
            ),
            esc(handle),
            context(env),
            if env.has(Defect::ExternalAuthenticateCmsType) {
                "urn:ietf:rfc:5652"
            } else {
                "urn:bsi:tr:03111:ecdsa"
            },
            b64_encode(data)
        ),
    )?;
    let sig = soap::text_of(&nodes, "Base64Signature").ok_or_else(|| {
        ClientError::Soap("no Base64Signature in ExternalAuthenticateResponse".into())
    })?;
    let clean: String = sig.chars().filter(|c| !c.is_whitespace()).collect();
    b64_decode(&clean).map_err(|e| ClientError::Soap(format!("signature: {e}")))
}

// ---- actions (neutral JSON in/out) ----

pub fn get_cards_action(env: &ClientEnv) -> Result<Value, ClientError> {
    let cards = get_cards(env)?;
    Ok(
        json!({ "cards": cards.iter().map(|c| json!({"CardHandle": c.handle, "CardType": c.card_type, "CardHolderName": c.holder})).collect::<Vec<_>>() }),
    )
}

pub fn verify_pin_action(env: &ClientEnv) -> Result<Value, ClientError> {
    let h = card_handle(env)?;
    let (r, left) = verify_pin(env, &h)?;
    Ok(json!({ "PinResult": r, "LeftTries": left }))
}

pub fn pin_status_action(env: &ClientEnv) -> Result<Value, ClientError> {
    let h = card_handle(env)?;
    let (s, left) = pin_status(env, &h)?;
    Ok(json!({ "PinStatus": s, "LeftTries": left }))
}

fn input_str<'a>(input: &'a Value, key: &str) -> Result<&'a str, ClientError> {
    input
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ClientError::Input(format!("input needs a string `{key}`")))
}

pub fn read_certificate_action(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let h = card_handle(env)?;
    let r = input
        .get("CertRef")
        .and_then(Value::as_str)
        .unwrap_or("C.AUT");
    let der = read_certificate(env, &h, r)?;
    Ok(json!({ "CertRef": r, "X509Certificate": b64_encode(&der) }))
}

pub fn sign_document_action(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let h = card_handle(env)?;
    let data = b64_decode(input_str(input, "Base64Data")?)
        .map_err(|e| ClientError::Input(e.to_string()))?;
    let embed = input
        .get("IncludeEContent")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let cms = sign_document(env, &h, &data, embed)?;
    Ok(json!({ "Base64Signature": b64_encode(&cms) }))
}

pub fn external_authenticate_action(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    let data = b64_decode(input_str(input, "Base64Data")?)
        .map_err(|e| ClientError::Input(e.to_string()))?;
    if env.strict {
        super::strict::digest(&data)?;
    }
    let h = card_handle(env)?;
    let sig = external_authenticate(env, &h, &data)?;
    Ok(json!({ "Base64Signature": b64_encode(&sig) }))
}

/// The Konnektor actions of the reference client (registered in `client::ACTION_TABLES`).
pub const ACTIONS: &[super::Action] = &[
    super::Action {
        name: "konnektor.get_cards",
        run: |env, _| get_cards_action(env),
    },
    super::Action {
        name: "konnektor.verify_pin",
        run: |env, _| verify_pin_action(env),
    },
    super::Action {
        name: "konnektor.get_pin_status",
        run: |env, _| pin_status_action(env),
    },
    super::Action {
        name: "konnektor.read_certificate",
        run: read_certificate_action,
    },
    super::Action {
        name: "konnektor.sign_document",
        run: sign_document_action,
    },
    super::Action {
        name: "konnektor.external_authenticate",
        run: external_authenticate_action,
    },
];
