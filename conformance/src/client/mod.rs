//! The reference client: implements every abstract action of the scenario packs correctly, against the
//! simulators or, in principle, a real endpoint. It is the proof that each scenario is passable.
//!
//! It can also be told to make one specific mistake ([`Defect`]); the packs must catch every such defect.
//! Actions take a neutral JSON input (plaintext data) and produce a neutral JSON output; see
//! `docs/conformance.md` for the formats.

pub mod konnektor;
pub mod soap;
pub mod vst;

use crate::http::HttpError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// Mistakes real client developers plausibly make. Each must be caught by at least one shipped scenario
/// (`konform selftest` checks this).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Defect {
    // Field encryption ("Verschlüsselung der Eingangsdaten")
    HkdfInfoErezept,
    #[serde(rename = "aes-256")]
    Aes256,
    CurveP256,
    ReuseEphemeralKey,
    ReuseIv,
    WrongRecipient,
    NoEncryption,
    // Signature input and CMS ("Signaturbildung der Eingangsdaten")
    SigOverBase64Text,
    SigWrongFieldOrder,
    SigEmptySegmentForAbsent,
    SigNoSeparator,
    SigEmbeddedContent,
    SigRawEcdsa,
    // JSON ("Festlegungen zu den JSON-Daten")
    JsonComment,
    JsonDuplicateKey,
    JsonUnknownProperty,
    WrongContentType,
    EmptySterbedatumFiller,
    Base64Url,
    KvnrInIdDatenlieferung,
    // Authentication, registration, Konnektor
    MissingAuthHeader,
    NoVerifyPin,
    RegistrationUnhashed,
    HardcodedContext,
    // Responses and robustness
    IgnoreBadResponseSignature,
    NoWellknownCheck,
    #[serde(rename = "no-retry-after-500")]
    NoRetryAfter500,
    NoRetryAfterDrop,
    #[serde(rename = "treat-204-as-error")]
    Treat204AsError,
    #[serde(rename = "ignore-4xx")]
    Ignore4xx,
}

impl Defect {
    pub const ALL: [Defect; 30] = [
        Defect::HkdfInfoErezept,
        Defect::Aes256,
        Defect::CurveP256,
        Defect::ReuseEphemeralKey,
        Defect::ReuseIv,
        Defect::WrongRecipient,
        Defect::NoEncryption,
        Defect::SigOverBase64Text,
        Defect::SigWrongFieldOrder,
        Defect::SigEmptySegmentForAbsent,
        Defect::SigNoSeparator,
        Defect::SigEmbeddedContent,
        Defect::SigRawEcdsa,
        Defect::JsonComment,
        Defect::JsonDuplicateKey,
        Defect::JsonUnknownProperty,
        Defect::WrongContentType,
        Defect::EmptySterbedatumFiller,
        Defect::Base64Url,
        Defect::KvnrInIdDatenlieferung,
        Defect::MissingAuthHeader,
        Defect::NoVerifyPin,
        Defect::RegistrationUnhashed,
        Defect::HardcodedContext,
        Defect::IgnoreBadResponseSignature,
        Defect::NoWellknownCheck,
        Defect::NoRetryAfter500,
        Defect::NoRetryAfterDrop,
        Defect::Treat204AsError,
        Defect::Ignore4xx,
    ];

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn from_name(s: &str) -> Option<Defect> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defect_names_roundtrip_and_are_kebab_case() {
        for d in Defect::ALL {
            let n = d.name();
            assert!(
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{n}"
            );
            assert!(!n.contains("--") && !n.ends_with('-'), "{n}");
            assert_eq!(Defect::from_name(&n), Some(d));
        }
        assert_eq!(Defect::NoRetryAfter500.name(), "no-retry-after-500");
        assert_eq!(Defect::ALL.len(), 30);
        assert!(Defect::from_name("nonsense").is_none());
    }
}

impl Defect {
    pub fn describe(self) -> &'static str {
        match self {
            Defect::HkdfInfoErezept => {
                "HKDF info `ecies-vau-transport` copied from e-Rezept instead of `VST-IRD-Transport`"
            }
            Defect::Aes256 => "AES-256-GCM (32-byte HKDF output) instead of AES-128-GCM",
            Defect::CurveP256 => "ephemeral keys on P-256 instead of brainpoolP256r1",
            Defect::ReuseEphemeralKey => "one ephemeral key for every encrypted value",
            Defect::ReuseIv => "one IV for every encrypted value",
            Defect::WrongRecipient => {
                "Vitalstatus and Sterbedatum encrypted for the VST instead of the Registerstelle"
            }
            Defect::NoEncryption => "Byte fields sent as base64 of the plaintext, unencrypted",
            Defect::SigOverBase64Text => {
                "signature input built from the base64 text instead of the decoded bytes"
            }
            Defect::SigWrongFieldOrder => "signature input with the record fields in reverse order",
            Defect::SigEmptySegmentForAbsent => {
                "absent IdVersicherterAlt as an empty segment in the signature input"
            }
            Defect::SigNoSeparator => "signature input without `|` separators",
            Defect::SigEmbeddedContent => {
                "CMS with embedded content (IncludeEContent=true) instead of detached"
            }
            Defect::SigRawEcdsa => {
                "raw ECDSA signature (ExternalAuthenticate) instead of a CMS SignedData"
            }
            Defect::JsonComment => "a comment in the JSON body",
            Defect::JsonDuplicateKey => "a duplicate key (differing only in case) in the JSON body",
            Defect::JsonUnknownProperty => "an extra property not in the OpenAPI definition",
            Defect::WrongContentType => "Content-Type text/plain instead of application/json",
            Defect::EmptySterbedatumFiller => {
                "empty Sterbedatum instead of the filler `---N/A----`"
            }
            Defect::Base64Url => "Byte fields in unpadded base64url instead of standard base64",
            Defect::KvnrInIdDatenlieferung => {
                "the KVNR of the first record used inside IdDatenlieferung"
            }
            Defect::MissingAuthHeader => "no Authorization header",
            Defect::NoVerifyPin => "SignDocument without unlocking the SMC-B by VerifyPin first",
            Defect::RegistrationUnhashed => {
                "ExternalAuthenticate over the raw `TelematikId|IK` bytes instead of their SHA-256"
            }
            Defect::HardcodedContext => {
                "hard-coded Konnektor context (Mandant1/ClientID1/Workplace1) ignoring the configuration"
            }
            Defect::IgnoreBadResponseSignature => "response signatures of the VST not verified",
            Defect::NoWellknownCheck => "keys from .well-known used without verifying the JWS",
            Defect::NoRetryAfter500 => "no retry after a 500",
            Defect::NoRetryAfterDrop => "no retry after a dropped connection",
            Defect::Treat204AsError => "204 (nothing pending) treated as an error",
            Defect::Ignore4xx => "4xx answers reported as success",
        }
    }
}

/// Where the client finds the services and its credentials.
#[derive(Clone, Debug)]
pub struct ClientEnv {
    pub vst_url: String,
    pub konnektor_url: String,
    pub pki_dir: PathBuf,
    pub card_handle: Option<String>,
    pub mandant_id: String,
    pub client_system_id: String,
    pub workplace_id: String,
    pub user_id: String,
    pub telematik_id: Option<String>,
    pub haupt_ik: Option<String>,
    pub timeout: Duration,
    pub defect: Option<Defect>,
}

impl ClientEnv {
    /// From `KONFORM_*` environment variables (what an adapter passes), with defaults.
    pub fn from_env() -> ClientEnv {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        ClientEnv {
            vst_url: var("KONFORM_VST_URL").unwrap_or_else(|| "http://127.0.0.1:8081".into()),
            konnektor_url: var("KONFORM_KONNEKTOR_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8082".into()),
            pki_dir: var("KONFORM_PKI_DIR")
                .unwrap_or_else(|| ".konform/pki".into())
                .into(),
            card_handle: var("KONFORM_CARD_HANDLE"),
            mandant_id: var("KONFORM_MANDANT_ID").unwrap_or_else(|| "Mandant1".into()),
            client_system_id: var("KONFORM_CLIENT_SYSTEM_ID").unwrap_or_else(|| "ClientID1".into()),
            workplace_id: var("KONFORM_WORKPLACE_ID").unwrap_or_else(|| "Workplace1".into()),
            user_id: var("KONFORM_USER_ID").unwrap_or_else(|| "User1".into()),
            telematik_id: var("KONFORM_TELEMATIK_ID"),
            haupt_ik: var("KONFORM_IK"),
            timeout: Duration::from_millis(
                var("KONFORM_HTTP_TIMEOUT_MS")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(10_000),
            ),
            defect: var("KONFORM_DEFECT").and_then(|d| Defect::from_name(&d)),
        }
    }

    pub fn has(&self, d: Defect) -> bool {
        self.defect == Some(d)
    }
}

/// How an action failed. Exit code 1 for the service's answers, 2 for bad input or setup.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("input: {0}")]
    Input(String),
    #[error("setup: {0}")]
    Setup(String),
    #[error("HTTP: {0}")]
    Http(#[from] HttpError),
    #[error("{service} answered {status}{}", .diagnosis.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Status {
        service: &'static str,
        status: u16,
        diagnosis: Option<String>,
    },
    #[error("Konnektor: {0}")]
    Soap(String),
    #[error("refused: {0}")]
    Refused(String),
}

impl ClientError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Input(_) | ClientError::Setup(_) => 2,
            _ => 1,
        }
    }
}

/// The abstract actions the reference client implements.
pub const ACTIONS: [&str; 14] = [
    "vst.register",
    "vst.fetch_wellknown",
    "vst.submit_vitalstatus",
    "vst.submit_insuranceupdate",
    "vst.poll_requests",
    "vst.poll_anonymizations",
    "vst.poll_processingerrors",
    "vst.poll_insuranceupdate_errors",
    "konnektor.get_cards",
    "konnektor.verify_pin",
    "konnektor.get_pin_status",
    "konnektor.read_certificate",
    "konnektor.sign_document",
    "konnektor.external_authenticate",
];

/// Run one action. `input` is the neutral JSON input (may be `Null` for actions without input).
pub fn run_action(action: &str, env: &ClientEnv, input: &Value) -> Result<Value, ClientError> {
    match action {
        "vst.register" => vst::register(env),
        "vst.fetch_wellknown" => vst::fetch_wellknown_action(env),
        "vst.submit_vitalstatus" => vst::submit_vitalstatus(env, input),
        "vst.submit_insuranceupdate" => vst::submit_insuranceupdate(env, input),
        "vst.poll_requests" => vst::poll_ids(env, vst::IdStream::Requests),
        "vst.poll_anonymizations" => vst::poll_ids(env, vst::IdStream::Anonymizations),
        "vst.poll_processingerrors" => vst::poll_errors(env, vst::ErrorStream::VitalStatus),
        "vst.poll_insuranceupdate_errors" => {
            vst::poll_errors(env, vst::ErrorStream::InsuranceUpdate)
        }
        "konnektor.get_cards" => konnektor::get_cards_action(env),
        "konnektor.verify_pin" => konnektor::verify_pin_action(env),
        "konnektor.get_pin_status" => konnektor::pin_status_action(env),
        "konnektor.read_certificate" => konnektor::read_certificate_action(env, input),
        "konnektor.sign_document" => konnektor::sign_document_action(env, input),
        "konnektor.external_authenticate" => konnektor::external_authenticate_action(env, input),
        other => Err(ClientError::Input(format!(
            "unknown action `{other}` (known: {})",
            ACTIONS.join(", ")
        ))),
    }
}
