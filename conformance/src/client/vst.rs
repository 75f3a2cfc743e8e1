//! VST-IRD actions of the reference client: `.well-known`, registration, deliveries, polling.

use super::konnektor;
use super::{ClientEnv, ClientError, Defect};
use crate::http;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};
use ti_core::ecies::{self, AesKeySize, EciesParams};
use ti_core::sig_input::{self, InsuranceUpdateRecord, Segment, Variant, VitalStatusRecord};
use ti_core::{Curve, EcPublicKey, EcSecretKey, b64_decode, b64_encode, jws, pki};

pub const PATH_VITALSTATUS: &str = "/notify/api/v1/vitalstatusnotification";
pub const PATH_REQUESTS: &str = "/notify/api/v1/vitalstatusnotification/requests";
pub const PATH_ANONYMIZATIONS: &str =
    "/notify/api/v1/vitalstatusnotification/anonymizationnotifications";
pub const PATH_VS_ERRORS: &str = "/notify/api/v1/vitalstatusnotification/processingerrors";
pub const PATH_INSURANCEUPDATE: &str = "/notify/api/v1/insuranceupdatenotification";
pub const PATH_IU_ERRORS: &str = "/notify/api/v1/insuranceupdatenotification/processingerrors";
pub const FILLER: &str = "---N/A----";

/// The client's own material from the PKI directory: trust anchor, decryption key, identity.
struct Own {
    ca: x509_cert::Certificate,
    enc_key: EcSecretKey,
    telematik_id: String,
    haupt_ik: String,
}

fn read(env: &ClientEnv, rel: &str) -> Result<String, ClientError> {
    let p = env.pki_dir.join(rel);
    std::fs::read_to_string(&p).map_err(|e| ClientError::Setup(format!("{}: {e}", p.display())))
}

fn own(env: &ClientEnv) -> Result<Own, ClientError> {
    let ca = pki::parse_cert_pem(&read(env, "ca.pem")?)
        .map_err(|e| ClientError::Setup(format!("ca.pem: {e}")))?;
    let enc_key = EcSecretKey::from_pem(&read(env, "insurer/enc.key.pem")?)
        .map_err(|e| ClientError::Setup(format!("insurer/enc.key.pem: {e}")))?;
    let info: Option<pki::InsurerInfo> = read(env, "insurer.json")
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let telematik_id = env
        .telematik_id
        .clone()
        .or_else(|| info.as_ref().map(|i| i.telematik_id.clone()))
        .ok_or_else(|| {
            ClientError::Setup("Telematik-ID unknown (KONFORM_TELEMATIK_ID or insurer.json)".into())
        })?;
    let haupt_ik = env
        .haupt_ik
        .clone()
        .or_else(|| info.as_ref().map(|i| i.ik.clone()))
        .ok_or_else(|| {
            ClientError::Setup("Haupt-IK unknown (KONFORM_IK or insurer.json)".into())
        })?;
    Ok(Own {
        ca,
        enc_key,
        telematik_id,
        haupt_ik,
    })
}

/// The VST's published keys, after checking the JWS, its certificate and its validity.
pub struct WellKnown {
    pub vst_enc: EcPublicKey,
    pub registerstelle_enc: EcPublicKey,
    pub vst_sig: EcPublicKey,
}

/// Find the JWKs in the `.well-known` payload: every object with `kty`, named by `kid`/`use` or by the
/// member that holds it.
fn collect_jwks<'a>(v: &'a Value, name: &str, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("kty") {
                let mut label = name.to_ascii_lowercase();
                for k in ["kid", "use", "key_ops"] {
                    if let Some(s) = m.get(k) {
                        label.push(' ');
                        label.push_str(&s.to_string().to_ascii_lowercase());
                    }
                }
                out.push((label, v));
            } else {
                for (k, x) in m {
                    collect_jwks(x, &format!("{name} {k}"), out);
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                collect_jwks(x, name, out);
            }
        }
        _ => {}
    }
}

pub fn fetch_wellknown(
    env: &ClientEnv,
    own_ca: &x509_cert::Certificate,
) -> Result<WellKnown, ClientError> {
    let resp = env
        .http()?
        .request("GET", &http::join(&env.vst_url, "/.well-known"), &[], b"")?;
    if resp.status != 200 {
        return Err(status_err(&resp));
    }
    let text = resp.text();
    let token = text.trim().trim_matches('"');
    let (payload, x5c_key) = if env.has(Defect::NoWellknownCheck) {
        let jws::DecodedJws {
            header, payload, ..
        } = jws::decode_unverified(token)
            .map_err(|e| ClientError::Refused(format!(".well-known: {e}")))?;
        let cert = header
            .get("x5c")
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
            .and_then(|s| b64_decode(s).ok())
            .ok_or_else(|| ClientError::Refused(".well-known: no x5c".into()))?;
        (
            payload,
            pki::public_key_of_cert_der(&cert).map_err(|e| ClientError::Refused(e.to_string()))?,
        )
    } else {
        let v = jws::verify_compact(token, None)
            .map_err(|e| ClientError::Refused(format!(".well-known JWS does not verify: {e}")))?;
        let leaf = v
            .x5c
            .first()
            .ok_or_else(|| ClientError::Refused(".well-known JWS without x5c".into()))?;
        let cert = <x509_cert::Certificate as der::Decode>::from_der(leaf)
            .map_err(|e| ClientError::Refused(format!(".well-known x5c: {e}")))?;
        let rest: Vec<x509_cert::Certificate> = v.x5c[1..]
            .iter()
            .filter_map(|d| <x509_cert::Certificate as der::Decode>::from_der(d).ok())
            .collect();
        if !env.has(Defect::WellknownSkipChainCheck) {
            pki::verify_chain(
                &cert,
                &rest,
                std::slice::from_ref(own_ca),
                SystemTime::now(),
            )
            .map_err(|e| ClientError::Refused(format!(".well-known certificate: {e}")))?;
        }
        let claims: Value = serde_json::from_slice(&v.payload)
            .map_err(|e| ClientError::Refused(format!(".well-known payload is not JSON: {e}")))?;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let check_validity = !env.has(Defect::WellknownIgnoreValidity);
        if let Some(exp) = claims.get("exp").and_then(Value::as_u64)
            && check_validity
            && exp < now
        {
            return Err(ClientError::Refused(".well-known token has expired".into()));
        }
        if let Some(nbf) = claims.get("nbf").and_then(Value::as_u64)
            && check_validity
            && nbf > now + 300
        {
            return Err(ClientError::Refused(
                ".well-known token is not yet valid".into(),
            ));
        }
        (
            v.payload,
            pki::public_key_of_cert(&cert).map_err(|e| ClientError::Refused(e.to_string()))?,
        )
    };
    let claims: Value = serde_json::from_slice(&payload)
        .map_err(|e| ClientError::Refused(format!(".well-known payload is not JSON: {e}")))?;
    let mut jwks = Vec::new();
    collect_jwks(&claims, "", &mut jwks);
    let find = |pred: &dyn Fn(&str) -> bool| -> Option<EcPublicKey> {
        jwks.iter()
            .find(|(label, _)| pred(label))
            .and_then(|(_, j)| jws::public_key_from_jwk(j).ok())
    };
    let registerstelle_enc = find(&|l| l.contains("regist")).ok_or_else(|| {
        ClientError::Refused(".well-known lists no Registerstelle encryption key".into())
    })?;
    let vst_enc = find(&|l| !l.contains("regist") && l.contains("enc"))
        .ok_or_else(|| ClientError::Refused(".well-known lists no VST encryption key".into()))?;
    let listed_sig = find(&|l| !l.contains("regist") && l.contains("sig"));
    let vst_sig = match listed_sig {
        Some(k) if !env.has(Defect::ResponseSigWithX5cKey) => k,
        _ => x5c_key,
    };
    Ok(WellKnown {
        vst_enc,
        registerstelle_enc,
        vst_sig,
    })
}

pub fn fetch_wellknown_action(env: &ClientEnv) -> Result<Value, ClientError> {
    let own = own(env)?;
    let wk = fetch_wellknown(env, &own.ca)?;
    Ok(json!({
        "vst_enc": jws::jwk(&wk.vst_enc, "vst-enc", "enc"),
        "registerstelle_enc": jws::jwk(&wk.registerstelle_enc, "registerstelle-enc", "enc"),
        "vst_sig": jws::jwk(&wk.vst_sig, "vst-sig", "sig"),
    }))
}

fn status_err(resp: &http::Response) -> ClientError {
    let diags = resp.headers_all("x-konform-diagnosis");
    ClientError::Status {
        service: "VST",
        status: resp.status,
        diagnosis: if diags.is_empty() {
            None
        } else {
            Some(diags.join("; "))
        },
    }
}

/// The Authorization header: ExternalAuthenticate over SHA-256(`TelematikId|HauptIK`).
fn auth_header(env: &ClientEnv, own: &Own, handle: &str) -> Result<Option<String>, ClientError> {
    if env.has(Defect::MissingAuthHeader) {
        return Ok(None);
    }
    let input = sig_input::registration_input(&own.telematik_id, &own.haupt_ik);
    let to_sign = if env.has(Defect::AuthUnhashed) {
        input.clone()
    } else {
        ti_core::sha256(&input).to_vec()
    };
    let mut sig = konnektor::external_authenticate(env, handle, &to_sign)?;
    if env.has(Defect::AuthRawSignature) {
        sig = der_to_raw(&sig).unwrap_or(sig);
    }
    let scheme = if env.has(Defect::AuthBearerScheme) {
        "Bearer"
    } else {
        "IRD"
    };
    Ok(Some(format!(
        "{scheme} {}.{}",
        b64_encode(&input),
        b64_encode(&sig)
    )))
}

/// DER ECDSA-Sig-Value → raw r‖s (32 + 32 bytes), for the defect that sends it so.
fn der_to_raw(der: &[u8]) -> Option<Vec<u8>> {
    let body = der.strip_prefix(&[0x30])?;
    let body = body.get(1..)?;
    let (r, rest) = der_int(body)?;
    let (s, _) = der_int(rest)?;
    let mut out = Vec::with_capacity(64);
    for v in [r, s] {
        let v = &v[v.len().saturating_sub(32)..];
        out.extend(std::iter::repeat_n(0u8, 32 - v.len()));
        out.extend_from_slice(v);
    }
    Some(out)
}

fn der_int(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = *b.get(1)? as usize;
    (b.first() == Some(&0x02)).then_some(())?;
    Some((b.get(2..2 + len)?, b.get(2 + len..)?))
}

/// Send with retries on 5xx and dropped connections (3 attempts), as a robust client does.
fn send(
    env: &ClientEnv,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<http::Response, ClientError> {
    let url = http::join(&env.vst_url, path);
    let client = env.http()?;
    let mut last_err = None;
    for attempt in 0..3 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(200 * attempt as u64));
        }
        match client.request(method, &url, headers, body) {
            Ok(r) if r.status >= 500 && !env.has(Defect::NoRetryAfter500) => {
                last_err = Some(status_err(&r));
            }
            Ok(r) if (400..500).contains(&r.status) && env.has(Defect::RetryAfter4xx) => {
                last_err = Some(status_err(&r));
            }
            Ok(r) => return Ok(r),
            Err(e) if e.is_transient() && !env.has(Defect::NoRetryAfterDrop) => {
                last_err = Some(e.into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_err.unwrap_or_else(|| ClientError::Refused("no attempt made".into())))
}

fn finish_status(env: &ClientEnv, resp: &http::Response) -> Result<(), ClientError> {
    match resp.status {
        200..=299 => Ok(()),
        400..=499 if env.has(Defect::Ignore4xx) => Ok(()),
        _ => Err(status_err(resp)),
    }
}

pub fn register(env: &ClientEnv) -> Result<Value, ClientError> {
    let own = own(env)?;
    let handle = konnektor::card_handle(env)?;
    let cert_ref = if env.has(Defect::RegistrationSigCertificate) {
        "C.SIG"
    } else {
        "C.AUT"
    };
    let cert = konnektor::read_certificate(env, &handle, cert_ref)?;
    let input = sig_input::registration_input(&own.telematik_id, &own.haupt_ik);
    let to_sign = if env.has(Defect::RegistrationUnhashed) {
        input.clone()
    } else {
        ti_core::sha256(&input).to_vec()
    };
    let sig = konnektor::external_authenticate(env, &handle, &to_sign)?;
    let body = json!({
        "TelematikId": own.telematik_id,
        "HauptIK": own.haupt_ik,
        "Certificate": b64_encode(&cert),
        "Signature": b64_encode(&sig),
    });
    let resp = send(
        env,
        "POST",
        "/__konform/registrations",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )?;
    finish_status(env, &resp)?;
    Ok(json!({ "registered": true, "status": resp.status }))
}

/// Encrypts values as the spec demands — or with the one mistake the defect names.
struct Encryptor {
    defect: Option<Defect>,
    fixed_eph: Option<EcSecretKey>,
    fixed_iv: Option<[u8; 12]>,
    params: EciesParams,
}

impl Encryptor {
    fn new(env: &ClientEnv) -> Encryptor {
        let mut params = EciesParams::default();
        if env.has(Defect::HkdfInfoErezept) {
            params.info = ecies::VAU_INFO.into();
        }
        if env.has(Defect::Aes256) {
            params.aes = AesKeySize::Aes256;
        }
        Encryptor {
            defect: env.defect,
            fixed_eph: None,
            fixed_iv: None,
            params,
        }
    }

    fn encrypt(&mut self, to: &EcPublicKey, plaintext: &str) -> Result<String, ClientError> {
        let bytes = match self.defect {
            Some(Defect::NoEncryption) => plaintext.as_bytes().to_vec(),
            Some(Defect::CurveP256) => {
                // A client whose crypto only speaks P-256 encrypts to a P-256 point it derived itself.
                let stand_in = EcSecretKey::from_scalar_bytes(
                    Curve::P256,
                    &ti_core::sha256(&to.sec1_uncompressed()),
                )
                .map_err(|e| ClientError::Setup(e.to_string()))?;
                ecies::encrypt(&stand_in.public_key(), plaintext.as_bytes(), &self.params)
            }
            Some(Defect::ReuseEphemeralKey) | Some(Defect::ReuseIv) => {
                let eph = match (&self.fixed_eph, self.defect) {
                    (Some(k), Some(Defect::ReuseEphemeralKey)) => k.clone(),
                    _ => EcSecretKey::generate(to.curve()),
                };
                if self.defect == Some(Defect::ReuseEphemeralKey) {
                    self.fixed_eph = Some(eph.clone());
                }
                let iv = match (self.fixed_iv, self.defect) {
                    (Some(iv), Some(Defect::ReuseIv)) => iv,
                    _ => ti_core::keys::random_bytes::<12>(),
                };
                if self.defect == Some(Defect::ReuseIv) {
                    self.fixed_iv = Some(iv);
                }
                ecies::encrypt_with(to, &eph, &iv, plaintext.as_bytes(), &self.params)
                    .map_err(|e| ClientError::Setup(e.to_string()))?
            }
            _ => ecies::encrypt(to, plaintext.as_bytes(), &self.params),
        };
        let bytes = if self.defect == Some(Defect::EciesNoVersionByte) {
            bytes.get(1..).unwrap_or_default().to_vec()
        } else {
            bytes
        };
        Ok(b64_encode(&bytes))
    }
}

/// A Byte field as sent: standard base64, or unpadded base64url under the defect.
fn byte_field(env: &ClientEnv, b64: &str) -> String {
    if env.has(Defect::Base64Url) {
        ti_core::b64url_encode(&b64_decode(b64).unwrap_or_default())
    } else {
        b64.to_string()
    }
}

fn s<'a>(v: &'a Value, key: &str, at: &str) -> Result<&'a str, ClientError> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ClientError::Input(format!("{at}: string `{key}` required")))
}

fn jstr(s: &str) -> String {
    serde_json::to_string(s).expect("string serialises")
}

fn variant(env: &ClientEnv) -> Variant {
    match env.defect {
        Some(Defect::SigOverBase64Text) => Variant::Base64Text,
        Some(Defect::SigWrongFieldOrder) => Variant::ReversedRecordFields,
        Some(Defect::SigEmptySegmentForAbsent) => Variant::EmptySegmentForAbsent,
        Some(Defect::SigNoSeparator) => Variant::NoSeparator,
        Some(Defect::SigTrailingSeparator) => Variant::TrailingSeparator,
        Some(Defect::SigWithoutIdDatenlieferung) => Variant::WithoutIdDatenlieferung,
        _ => Variant::Canonical,
    }
}

/// Sign the signature input via the Konnektor (SignDocument, CMS detached), or make the defect's mistake.
fn sign(env: &ClientEnv, handle: &str, segments: &[Segment<'_>]) -> Result<String, ClientError> {
    let input = sig_input::build_variant(segments, variant(env))
        .map_err(|e| ClientError::Input(e.to_string()))?;
    let sig = if env.has(Defect::SigRawEcdsa) {
        konnektor::external_authenticate(env, handle, &ti_core::sha256(&input))?
    } else if env.has(Defect::SigWithAutCertificate) {
        // The AUT key file of the test PKI stands in for a card's C.AUT (which only ExternalAuthenticate
        // can use): the CMS names the C.AUT certificate as signer.
        let aut = pki::Identity::from_pem(
            &read(env, "insurer/aut.pem")?,
            &read(env, "insurer/aut.key.pem")?,
        )
        .map_err(|e| ClientError::Setup(format!("insurer/aut.pem: {e}")))?;
        ti_core::cms::sign(&input, &aut.key, &aut.cert_der, false, SystemTime::now())
            .map_err(|e| ClientError::Setup(e.to_string()))?
    } else {
        konnektor::sign_document(env, handle, &input, env.has(Defect::SigEmbeddedContent))?
    };
    Ok(b64_encode(&sig))
}

/// Assemble the JSON body by hand so the JSON defects can be reproduced byte for byte.
fn body_json(
    env: &ClientEnv,
    id_datenlieferung: &str,
    records: &[Vec<(&str, String)>],
    signatur: &str,
) -> String {
    let mut b = String::from("{");
    if env.has(Defect::JsonComment) {
        b.push_str("/* IRD-Datenlieferung */");
    }
    b.push_str(&format!(
        "\"IdDatenlieferung\":{},",
        jstr(id_datenlieferung)
    ));
    if env.has(Defect::JsonDuplicateKey) {
        b.push_str(&format!(
            "\"idDatenlieferung\":{},",
            jstr(id_datenlieferung)
        ));
    }
    if env.has(Defect::JsonUnknownProperty) {
        b.push_str("\"Version\":\"1.0\",");
    }
    b.push_str("\"Meldungen\":[");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            b.push(',');
        }
        b.push('{');
        for (j, (k, v)) in r.iter().enumerate() {
            if j > 0 {
                b.push(',');
            }
            b.push_str(&format!("{}:{}", jstr(k), jstr(v)));
        }
        b.push('}');
    }
    b.push_str(&format!("],\"Signatur\":{}}}", jstr(signatur)));
    b
}

fn post_delivery(
    env: &ClientEnv,
    own: &Own,
    handle: &str,
    path: &str,
    body: &str,
) -> Result<http::Response, ClientError> {
    let auth = auth_header(env, own, handle)?;
    let ct = if env.has(Defect::WrongContentType) {
        "text/plain"
    } else {
        "application/json"
    };
    let mut headers = vec![("Content-Type", ct)];
    if let Some(a) = auth.as_deref() {
        headers.push(("Authorization", a));
    }
    let bytes: Vec<u8> = if env.has(Defect::Latin1Body) {
        // Every character as one byte (ISO-8859-1), what a client with the platform's default charset sends.
        body.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect()
    } else {
        body.as_bytes().to_vec()
    };
    send(env, "POST", path, &headers, &bytes)
}

fn id_datenlieferung(
    env: &ClientEnv,
    input: &Value,
    first_kvnr: Option<&str>,
) -> Result<String, ClientError> {
    let mut id = s(input, "IdDatenlieferung", "input")?.to_string();
    if env.has(Defect::IdDatenlieferungFromPeriod) {
        id = id.chars().take(7).collect();
    }
    Ok(
        match (env.has(Defect::KvnrInIdDatenlieferung), first_kvnr) {
            (true, Some(k)) => format!("{id}-{k}"),
            _ => id,
        },
    )
}

pub fn submit_vitalstatus(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    if env.strict {
        super::strict::vitalstatus(env, input)?;
    }
    let own = own(env)?;
    let wk = fetch_wellknown(env, &own.ca)?;
    let handle = konnektor::card_handle(env)?;
    let meldungen = input
        .get("Meldungen")
        .and_then(Value::as_array)
        .ok_or_else(|| ClientError::Input("input: array `Meldungen` required".into()))?;
    let mut enc = Encryptor::new(env);
    let status_to = if env.has(Defect::WrongRecipient) {
        &wk.vst_enc
    } else {
        &wk.registerstelle_enc
    };
    let id_to = if env.has(Defect::IdversicherterForRegisterstelle) {
        &wk.registerstelle_enc
    } else {
        &wk.vst_enc
    };
    let mut rows: Vec<[String; 4]> = Vec::with_capacity(meldungen.len());
    let mut plain: Vec<[String; 4]> = Vec::with_capacity(meldungen.len());
    let mut omitted: Vec<bool> = Vec::with_capacity(meldungen.len());
    for (i, m) in meldungen.iter().enumerate() {
        let at = format!("input /Meldungen/{i}");
        omitted.push(env.has(Defect::OmitSterbedatum) && m.get("Sterbedatum").is_none());
        let sterbedatum = match m.get("Sterbedatum").and_then(Value::as_str) {
            _ if env.has(Defect::EmptySterbedatumFiller)
                && m.get("Sterbedatum")
                    .and_then(Value::as_str)
                    .is_none_or(|d| d == FILLER) =>
            {
                String::new()
            }
            Some(d) if env.has(Defect::SterbedatumGermanFormat) && d.len() == 10 => {
                format!("{}.{}.{}", &d[8..10], &d[5..7], &d[0..4])
            }
            Some(d) => d.to_string(),
            None => FILLER.to_string(),
        };
        let status = s(m, "Vitalstatus", &at)?;
        let status = match status {
            "01" if env.has(Defect::VitalstatusAsWord) => "Lebend",
            "02" if env.has(Defect::VitalstatusAsWord) => "Verstorben",
            "03" if env.has(Defect::VitalstatusAsWord) => "Unbekannt",
            other => other,
        };
        let kvnr = s(m, "IdVersicherter", &at)?;
        let id = s(m, "IdDatensatz", &at)?.to_string();
        plain.push([
            id.clone(),
            b64_encode(kvnr.as_bytes()),
            b64_encode(status.as_bytes()),
            b64_encode(sterbedatum.as_bytes()),
        ]);
        rows.push([
            id,
            enc.encrypt(id_to, kvnr)?,
            enc.encrypt(status_to, status)?,
            enc.encrypt(status_to, &sterbedatum)?,
        ]);
    }
    let first_kvnr = meldungen
        .first()
        .and_then(|m| m.get("IdVersicherter"))
        .and_then(Value::as_str);
    let idl = id_datenlieferung(env, input, first_kvnr)?;
    // Encrypt-then-sign: the signature covers the encrypted values (the defect signs the plaintext).
    let signed_rows = if env.has(Defect::SignThenEncrypt) {
        &plain
    } else {
        &rows
    };
    let records: Vec<VitalStatusRecord<'_>> = signed_rows
        .iter()
        .map(|r| VitalStatusRecord {
            id_datensatz: &r[0],
            id_versicherter: &r[1],
            vitalstatus: &r[2],
            sterbedatum: &r[3],
        })
        .collect();
    let segments = sig_input::vitalstatus_segments(&idl, &records);
    let signatur = sign(env, &handle, &segments)?;
    let conv = |v: &str| byte_field(env, v);
    let body_records: Vec<Vec<(&str, String)>> = rows
        .iter()
        .zip(&omitted)
        .map(|(r, omit)| {
            let mut v = vec![
                ("IdDatensatz", r[0].clone()),
                ("IdVersicherter", conv(&r[1])),
                ("Vitalstatus", conv(&r[2])),
            ];
            if !omit {
                v.push(("Sterbedatum", conv(&r[3])));
            }
            v
        })
        .collect();
    let body = body_json(env, &idl, &body_records, &signatur);
    let resp = post_delivery(env, &own, &handle, PATH_VITALSTATUS, &body)?;
    finish_status(env, &resp)?;
    Ok(json!({ "status": resp.status }))
}

pub fn submit_insuranceupdate(env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    if env.strict {
        super::strict::insurance_update(env, input)?;
    }
    let own = own(env)?;
    let wk = fetch_wellknown(env, &own.ca)?;
    let handle = konnektor::card_handle(env)?;
    let meldungen = input
        .get("Meldungen")
        .and_then(Value::as_array)
        .ok_or_else(|| ClientError::Input("input: array `Meldungen` required".into()))?;
    let mut enc = Encryptor::new(env);
    let mut rows: Vec<(String, String, Option<String>, String)> = Vec::new();
    for (i, m) in meldungen.iter().enumerate() {
        let at = format!("input /Meldungen/{i}");
        let alt = match m.get("IdVersicherterAlt").and_then(Value::as_str) {
            Some(a) => Some(enc.encrypt(&wk.vst_enc, a)?),
            None => None,
        };
        rows.push((
            s(m, "IdDatensatz", &at)?.to_string(),
            enc.encrypt(&wk.vst_enc, s(m, "IdVersicherter", &at)?)?,
            alt,
            enc.encrypt(
                if env.has(Defect::IkaltForRegisterstelle) {
                    &wk.registerstelle_enc
                } else {
                    &wk.vst_enc
                },
                s(m, "IkAlt", &at)?,
            )?,
        ));
    }
    let first_kvnr = meldungen
        .first()
        .and_then(|m| m.get("IdVersicherter"))
        .and_then(Value::as_str);
    let idl = id_datenlieferung(env, input, first_kvnr)?;
    let records: Vec<InsuranceUpdateRecord<'_>> = rows
        .iter()
        .map(|r| InsuranceUpdateRecord {
            id_datensatz: &r.0,
            id_versicherter: &r.1,
            id_versicherter_alt: r.2.as_deref(),
            ik_alt: &r.3,
        })
        .collect();
    let segments = sig_input::insurance_update_segments(&idl, &records);
    let signatur = sign(env, &handle, &segments)?;
    let conv = |v: &str| byte_field(env, v);
    let body_records: Vec<Vec<(&str, String)>> = rows
        .iter()
        .map(|r| {
            let mut v = vec![("IdDatensatz", r.0.clone()), ("IdVersicherter", conv(&r.1))];
            if let Some(a) = &r.2 {
                v.push(("IdVersicherterAlt", conv(a)));
            }
            v.push(("IkAlt", conv(&r.3)));
            v
        })
        .collect();
    let body = body_json(env, &idl, &body_records, &signatur);
    let resp = post_delivery(env, &own, &handle, PATH_INSURANCEUPDATE, &body)?;
    finish_status(env, &resp)?;
    let answer: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    if resp.status == 200 && !env.has(Defect::IgnoreBadResponseSignature) {
        verify_transfer_number(&wk, &answer)?;
    }
    Ok(json!({ "status": resp.status, "answer": answer }))
}

/// The signed transfer number: `Signatur` over the UTF-8 bytes of `Transfernummer`.
fn verify_transfer_number(wk: &WellKnown, answer: &Value) -> Result<(), ClientError> {
    let (Some(nr), Some(sig)) = (
        answer.get("Transfernummer").and_then(Value::as_str),
        answer.get("Signatur").and_then(Value::as_str),
    ) else {
        return Err(ClientError::Refused(
            "insurance update answer without Transfernummer and Signatur".into(),
        ));
    };
    let sig = b64_decode(sig).map_err(|e| ClientError::Refused(format!("Signatur: {e}")))?;
    wk.vst_sig.verify_sha256(nr.as_bytes(), &sig).map_err(|_| {
        ClientError::Refused("the signature of the transfer number does not verify".into())
    })
}

#[derive(Clone, Copy, Debug)]
pub enum IdStream {
    Requests,
    Anonymizations,
}

#[derive(Clone, Copy, Debug)]
pub enum ErrorStream {
    VitalStatus,
    InsuranceUpdate,
}

fn get_signed(env: &ClientEnv, own: &Own, path: &str) -> Result<Option<Value>, ClientError> {
    let handle = konnektor::card_handle(env)?;
    let auth = if env.has(Defect::AuthOnlyOnPost) {
        None
    } else {
        auth_header(env, own, &handle)?
    };
    let mut headers = vec![("Accept", "application/json")];
    if let Some(a) = auth.as_deref() {
        headers.push(("Authorization", a));
    }
    let resp = send(env, "GET", path, &headers, b"")?;
    if resp.status == 204 {
        if env.has(Defect::Treat204AsError) {
            return Err(ClientError::Status {
                service: "VST",
                status: 204,
                diagnosis: Some("treated as an error".into()),
            });
        }
        return Ok(None);
    }
    finish_status(env, &resp)?;
    if resp.status != 200 {
        return Ok(None);
    }
    let v: Value = serde_json::from_slice(&resp.body)
        .map_err(|e| ClientError::Refused(format!("response is not JSON: {e}")))?;
    Ok(Some(v))
}

fn check_response_signature(
    env: &ClientEnv,
    wk: &WellKnown,
    segments: &[Segment<'_>],
    v: &Value,
) -> Result<(), ClientError> {
    if env.has(Defect::IgnoreBadResponseSignature) {
        return Ok(());
    }
    let sig = v
        .get("Signatur")
        .and_then(Value::as_str)
        .ok_or_else(|| ClientError::Refused("response without Signatur".into()))?;
    let sig = b64_decode(sig).map_err(|e| ClientError::Refused(format!("Signatur: {e}")))?;
    let variant = if env.has(Defect::ResponseSigOverBase64) {
        Variant::Base64Text
    } else {
        Variant::Canonical
    };
    let mut digest =
        sig_input::digest(segments, variant).map_err(|e| ClientError::Refused(e.to_string()))?;
    if env.has(Defect::ResponseSigDoubleHash) {
        digest = ti_core::sha256(&digest);
    }
    wk.vst_sig.verify_prehash(&digest, &sig).map_err(|_| {
        ClientError::Refused("the VST's response signature does not verify; data refused".into())
    })
}

pub fn poll_ids(env: &ClientEnv, stream: IdStream) -> Result<Value, ClientError> {
    let own = own(env)?;
    let wk = fetch_wellknown(env, &own.ca)?;
    let (path, key) = match stream {
        IdStream::Requests => (PATH_REQUESTS, "Anfragen"),
        IdStream::Anonymizations => (PATH_ANONYMIZATIONS, "Anonymisierungen"),
    };
    let Some(v) = get_signed(env, &own, path)? else {
        return Ok(json!({ key: [] }));
    };
    let items = v
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| ClientError::Refused(format!("response without `{key}`")))?;
    let ids: Vec<&str> = items
        .iter()
        .map(|i| {
            i.get("IdVersicherter")
                .and_then(Value::as_str)
                .unwrap_or("")
        })
        .collect();
    check_response_signature(env, &wk, &sig_input::id_list_segments(&ids), &v)?;
    if env.has(Defect::RequestsNotDecrypted) {
        return Ok(json!({ key: ids }));
    }
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let data = b64_decode(id)
            .map_err(|e| ClientError::Refused(format!("/{key}/{i}/IdVersicherter: {e}")))?;
        let pt = ecies::decrypt(&own.enc_key, &data, &EciesParams::default())
            .map_err(|e| ClientError::Refused(format!("/{key}/{i}/IdVersicherter: {e}")))?;
        out.push(String::from_utf8_lossy(&pt).into_owned());
    }
    Ok(json!({ key: out }))
}

pub fn poll_errors(env: &ClientEnv, stream: ErrorStream) -> Result<Value, ClientError> {
    let own = own(env)?;
    let wk = fetch_wellknown(env, &own.ca)?;
    let path = match stream {
        ErrorStream::VitalStatus => PATH_VS_ERRORS,
        ErrorStream::InsuranceUpdate => PATH_IU_ERRORS,
    };
    let Some(v) = get_signed(env, &own, path)? else {
        return Ok(json!({ "Fehler": [] }));
    };
    let items = v
        .get("Fehler")
        .and_then(Value::as_array)
        .ok_or_else(|| ClientError::Refused("response without `Fehler`".into()))?;
    let triples: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|i| {
            let g = |k| i.get(k).and_then(Value::as_str).unwrap_or("");
            (g("IdDatenlieferung"), g("IdDatensatz"), g("Code"))
        })
        .collect();
    check_response_signature(
        env,
        &wk,
        &sig_input::processing_error_segments(&triples),
        &v,
    )?;
    Ok(
        json!({ "Fehler": triples.iter().map(|(l, d, c)| json!({"IdDatenlieferung": l, "IdDatensatz": d, "Code": c})).collect::<Vec<_>>() }),
    )
}

/// The VST actions of the reference client (registered in `client::ACTION_TABLES`).
pub const ACTIONS: &[super::Action] = &[
    super::Action {
        name: "vst.register",
        run: |env, _| register(env),
    },
    super::Action {
        name: "vst.fetch_wellknown",
        run: |env, _| fetch_wellknown_action(env),
    },
    super::Action {
        name: "vst.submit_vitalstatus",
        run: submit_vitalstatus,
    },
    super::Action {
        name: "vst.submit_insuranceupdate",
        run: submit_insuranceupdate,
    },
    super::Action {
        name: "vst.poll_requests",
        run: |env, _| poll_ids(env, IdStream::Requests),
    },
    super::Action {
        name: "vst.poll_anonymizations",
        run: |env, _| poll_ids(env, IdStream::Anonymizations),
    },
    super::Action {
        name: "vst.poll_processingerrors",
        run: |env, _| poll_errors(env, ErrorStream::VitalStatus),
    },
    super::Action {
        name: "vst.poll_insuranceupdate_errors",
        run: |env, _| poll_errors(env, ErrorStream::InsuranceUpdate),
    },
];
