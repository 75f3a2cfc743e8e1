//! Configuration (`VstConfig`, YAML) and the profile of resolved ambiguities (`Profile`).
//!
//! Every switch of [`Profile`] resolves a point where the seed is silent or contradicts itself; the
//! default is the reading documented in `docs/vst.md` ("Resolved ambiguities"), with the seed passage.

use serde::{Deserialize, Serialize};
use ti_core::ecies::{AesKeySize, EciesParams, IRD_INFO};
use ti_core::ids::{Environment, KvnrRules};

/// Authentication of the insurer (seed "Authentisierung und Authentifizierung": "Das Verfahren sowie die
/// konkreten Formate … sind aktuell in Klärung").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// `Authorization: IRD <base64(TelematikId|HauptIK)>.<base64(DER ECDSA by the SMC-B AUT key over
    /// SHA-256 of those bytes)>`. Replayable: the token has no nonce or time (literal reading of the seed).
    #[default]
    IrdHeader,
    /// Every request counts as the default (first registered) insurer.
    None,
}

/// Which SMC-B key signs the login token. The seed contradicts itself: "Dazu wird mithilfe des
/// Signatur-Zertifikats der SMC-B-Karte eine Signatur über die Werte Telematik-Id und Haupt-IK … gebildet"
/// (C.SIG) against its registration section, which signs the same bytes with ExternalAuthenticate and the
/// AUT certificate (C.AUT) and registers that certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKey {
    /// The registered C.AUT key (ExternalAuthenticate), as the registration section describes.
    #[default]
    Aut,
    /// The C.SIG key (the authentication section's wording); needs the registration's
    /// `SignatureCertificate`.
    Sig,
    /// Either key.
    Either,
}

/// Which header carries the login token. The seed: "das als Authentication-Header … mitgesendet wird";
/// HTTP's header for credentials is `Authorization` (RFC 9110 § 11.6.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenHeader {
    #[default]
    Authorization,
    Authentication,
    Either,
}

/// How strictly the `Content-Type` is read. The seed: "Die Daten müssen in dem Format application/json …
/// gesendet werden. Die Zeichenkodierung wird als UTF-8 gelesen" and "StatusCode 415: … wenn ein falscher
/// Content-Type gesendet wurde".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContentTypeCheck {
    /// `application/json` is required (else 415); any parameter is accepted and the body read as UTF-8,
    /// with a diagnosis for a charset other than UTF-8 or another parameter.
    #[default]
    Lenient,
    /// `application/json`, optionally `charset=utf-8`, nothing else (else 415).
    Strict,
}

/// When the VST-side checks of IdVersicherter / IdVersicherterAlt / IkAlt run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdChecks {
    /// Before the answer: decryption or format errors give 400, a production KVNR in the reference
    /// environment 403 (seed: the 400 text points at "Prüfungen von Feldern"; 403 "Verwendung von
    /// produktiven Daten in der Referenz-Umgebung").
    #[default]
    Sync,
    /// After the 200, as processing errors (`DecryptionError`, `WrongFormatIdVersicherter`, …), as the
    /// seed's processing-error example suggests.
    Async,
}

/// Encoding of the VST's response signatures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureEncoding {
    /// DER `SEQUENCE { r, s }`, as ExternalAuthenticate returns it (TI convention).
    #[default]
    Der,
    /// Raw `r || s`, 64 bytes.
    Raw,
}

/// Who signs the `.well-known` token. The seed: "Das JWT-Token ist mit der ECDSA-Signatur versehen, die
/// mithilfe des AUT-Zertifikats (TI-Zertifikat) der Vertrauensstelle gebildet wurde" and "Außerdem muss das
/// im Token angegebene Signaturzertifikat der TI geprüft werden".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WellknownSigner {
    /// The VST's AUT certificate, issued by the TI (test) CA.
    #[default]
    Aut,
    /// A correctly signed token whose `x5c` chain ends at a CA outside the TI (trust scenarios; diagnosed
    /// `wellknown.untrusted-signer`).
    Untrusted,
}

/// What to do when an ephemeral key (X) or an IV is used twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReusePolicy {
    /// Accept, and diagnose in the journal and `X-Konform-Diagnosis` (the real VST may not detect it).
    #[default]
    Diagnose,
    /// Reject the delivery with 400.
    Reject,
    /// Do not check.
    Ignore,
}

/// How the signature input is built (the seed's hex dumps are authoritative; the alternatives are the
/// readings of its sloppy prose templates, for interoperability experiments).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureInput {
    /// Decoded bytes joined by `|`, an absent optional field omitted.
    #[default]
    Canonical,
    /// Byte fields as their base64 text.
    Base64Text,
    /// An absent IdVersicherterAlt as an empty segment.
    EmptySegmentForAbsent,
}

impl SignatureInput {
    pub fn variant(self) -> ti_core::sig_input::Variant {
        use ti_core::sig_input::Variant;
        match self {
            SignatureInput::Canonical => Variant::Canonical,
            SignatureInput::Base64Text => Variant::Base64Text,
            SignatureInput::EmptySegmentForAbsent => Variant::EmptySegmentForAbsent,
        }
    }
}

/// The resolved ambiguities, one switch each. Defaults as in the brief; see `docs/vst.md`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Profile {
    /// Authentication header (seed: "in Klärung"). Default `ird-header`.
    pub auth: AuthMode,
    /// AES key length of the field encryption (seed: AES-GCM, following the e-Rezept VAU: 128).
    pub aes_key_bits: u16,
    /// HKDF info (seed: "der fixe Wert "VST-IRD-Transport"").
    pub hkdf_info: String,
    /// Signature input rule ("Signaturbildung"): `canonical` = the hex dumps.
    pub signature_input: SignatureInput,
    /// Response signature encoding (seed: "ECDSA-Signatur … über den SHA256-Hash"). Default `der`.
    pub response_signature: SignatureEncoding,
    /// IdVersicherter / IdVersicherterAlt / IkAlt checks: `sync` (400/403) or `async` (processing errors).
    pub id_checks: IdChecks,
    /// Fetched processing errors, requests and anonymizations are removed once delivered (no
    /// acknowledge endpoint exists). `false` = delivered again on every poll.
    pub consume_fetched: bool,
    /// Ephemeral key or IV reuse (seed: "für jeden verschlüsselten Wert muss ein eigenes, temporäres
    /// Schlüsselpaar …", "ein eigener, zufällig gewürfelter IV").
    pub key_reuse: ReusePolicy,
    /// A repeated IdDatenlieferung of the same insurer (seed: "eindeutige Id der Datenlieferung"; the
    /// seed lists no check for it). Default `diagnose`.
    pub duplicate_delivery_id: ReusePolicy,
    /// Lifetime of the `.well-known` token in seconds.
    pub wellknown_validity_secs: u64,
    /// Who signs the `.well-known` token: `aut` (the VST's TI certificate) or `untrusted` (trust scenarios).
    pub wellknown_signer: WellknownSigner,
    /// Start of the `.well-known` token's validity relative to now, in seconds (`nbf`; `exp` follows after
    /// `wellknown_validity_secs`). `0`: valid from now, no `nbf` claim. Negative enough → an expired token
    /// (`wellknown.expired`); positive → not yet valid (`wellknown.not-yet-valid`). Trust scenarios only.
    pub wellknown_valid_from_offset_secs: i64,
    /// Which key signs the login token (`aut`, `sig`, `either`).
    pub auth_token_key: TokenKey,
    /// Which header carries the login token (`authorization`, `authentication`, `either`).
    pub auth_header: TokenHeader,
    /// `Content-Type` parameters: `lenient` (any charset label, read as UTF-8) or `strict` (415).
    pub content_type: ContentTypeCheck,
    /// How long the processing after the 200 takes, in milliseconds ("asynchron über einen gesonderten
    /// Abruf"): until then a poll answers 204. `0`: processed before the answer.
    pub processing_delay_ms: u64,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            auth: AuthMode::IrdHeader,
            aes_key_bits: 128,
            hkdf_info: IRD_INFO.to_string(),
            signature_input: SignatureInput::Canonical,
            response_signature: SignatureEncoding::Der,
            id_checks: IdChecks::Sync,
            consume_fetched: true,
            key_reuse: ReusePolicy::Diagnose,
            duplicate_delivery_id: ReusePolicy::Diagnose,
            wellknown_validity_secs: 24 * 3600,
            wellknown_signer: WellknownSigner::Aut,
            wellknown_valid_from_offset_secs: 0,
            auth_token_key: TokenKey::Aut,
            auth_header: TokenHeader::Authorization,
            content_type: ContentTypeCheck::Lenient,
            processing_delay_ms: 1500,
        }
    }
}

/// The longest processing delay a profile may ask for.
pub const MAX_PROCESSING_DELAY_MS: u64 = 3_600_000;

/// The farthest a `.well-known` token's start of validity may be moved (ten years).
pub const MAX_WELLKNOWN_OFFSET_SECS: i64 = 10 * 365 * 24 * 3600;

/// A configuration or profile value out of range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidConfig {
    #[error("aes_key_bits must be 128 or 256, not {0}")]
    AesKeyBits(u16),
    #[error("wellknown_validity_secs must be positive")]
    WellknownValidity,
    #[error(
        "wellknown_valid_from_offset_secs must lie within ±{MAX_WELLKNOWN_OFFSET_SECS} (ten years), not {0}"
    )]
    WellknownOffset(i64),
    #[error("processing_delay_ms must be at most 3600000 (an hour), not {0}")]
    ProcessingDelay(u64),
    #[error("body_limit must be between 1 and 4294967295 bytes")]
    BodyLimit,
    #[error("max_json_depth must be at least 3 (the VST's documents need 3)")]
    JsonDepth,
}

impl Profile {
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if AesKeySize::from_bits(self.aes_key_bits).is_none() {
            return Err(InvalidConfig::AesKeyBits(self.aes_key_bits));
        }
        if self.wellknown_validity_secs == 0 {
            return Err(InvalidConfig::WellknownValidity);
        }
        if self.wellknown_valid_from_offset_secs.unsigned_abs()
            > MAX_WELLKNOWN_OFFSET_SECS.unsigned_abs()
        {
            return Err(InvalidConfig::WellknownOffset(
                self.wellknown_valid_from_offset_secs,
            ));
        }
        if self.processing_delay_ms > MAX_PROCESSING_DELAY_MS {
            return Err(InvalidConfig::ProcessingDelay(self.processing_delay_ms));
        }
        Ok(())
    }

    pub fn ecies(&self) -> EciesParams {
        EciesParams {
            info: self.hkdf_info.clone(),
            aes: AesKeySize::from_bits(self.aes_key_bits).unwrap_or_default(),
        }
    }
}

/// An insurer registration as configured (same fields as `POST /__konform/registrations`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    #[serde(rename = "TelematikId", alias = "telematik_id")]
    pub telematik_id: String,
    #[serde(rename = "HauptIK", alias = "haupt_ik")]
    pub haupt_ik: String,
    /// The SMC-B C.AUT certificate, PEM or base64 DER.
    #[serde(rename = "Certificate", alias = "certificate")]
    pub certificate: String,
    /// base64 DER ECDSA signature (ExternalAuthenticate) over SHA-256(`TelematikId|HauptIK`).
    #[serde(rename = "Signature", alias = "signature")]
    pub signature: String,
    /// Optional: the SMC-B's C.SIG certificate (PEM or base64 DER), for the `auth_token_key: sig` reading
    /// of the login token. The PKI's default insurer uses `insurer/sig.pem`.
    #[serde(
        rename = "SignatureCertificate",
        alias = "signature_certificate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub signature_certificate: Option<String>,
    /// Optional encryption certificate (PEM or base64 DER) for values the VST encrypts for this insurer
    /// (requests, anonymizations). The PKI's default insurer uses `insurer/enc.pem`.
    #[serde(
        rename = "EncryptionCertificate",
        alias = "encryption_certificate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub encryption_certificate: Option<String>,
}

/// The simulator's configuration (`konform up --config FILE`, section `vst`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VstConfig {
    /// Reference (RU, default) or production (PU) environment ("Umgebungen").
    pub environment: Environment,
    pub profile: Profile,
    /// Largest accepted request body in bytes; larger bodies get 413 before they are read.
    pub body_limit: usize,
    /// Maximum JSON nesting.
    pub max_json_depth: usize,
    /// KVNR test range and reserved values.
    pub kvnr: KvnrRules,
    /// Register the PKI's insurer (its C.AUT certificate) at start.
    pub register_default_insurer: bool,
    /// Further registrations, checked like `POST /__konform/registrations`.
    pub insurers: Vec<Registration>,
    /// Records per delivery above which the synchronous decryption runs on all cores.
    pub parallel_threshold: usize,
    /// Worker threads for decryption (0 = all cores).
    pub decrypt_threads: usize,
}

impl Default for VstConfig {
    fn default() -> Self {
        VstConfig {
            environment: Environment::Reference,
            profile: Profile::default(),
            body_limit: 128 * 1024 * 1024,
            max_json_depth: 32,
            kvnr: KvnrRules::default(),
            register_default_insurer: true,
            insurers: Vec::new(),
            parallel_threshold: 64,
            decrypt_threads: 0,
        }
    }
}

impl VstConfig {
    /// Parse YAML (`origin` names the file in errors).
    pub fn from_yaml(text: &str, origin: &str) -> Result<VstConfig, sim_kit::config::ConfigError> {
        sim_kit::config::from_yaml(text, origin)
    }

    pub fn validate(&self) -> Result<(), InvalidConfig> {
        self.profile.validate()?;
        if self.body_limit == 0 || self.body_limit > u32::MAX as usize {
            return Err(InvalidConfig::BodyLimit);
        }
        if self.max_json_depth < 3 {
            return Err(InvalidConfig::JsonDepth);
        }
        Ok(())
    }

    pub fn threads(&self) -> usize {
        if self.decrypt_threads > 0 {
            self.decrypt_threads
        } else {
            std::thread::available_parallelism()
                .map(std::num::NonZero::get)
                .unwrap_or(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_profile_and_defaults() {
        let c = VstConfig::from_yaml(
            "environment: production\nprofile:\n  id_checks: async\n  key_reuse: reject\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(c.environment, Environment::Production);
        assert_eq!(c.profile.id_checks, IdChecks::Async);
        assert_eq!(c.profile.key_reuse, ReusePolicy::Reject);
        assert_eq!(c.profile.auth, AuthMode::IrdHeader);
        assert!(c.profile.consume_fetched);
        let e = VstConfig::from_yaml("profile:\n  auth: basic\n", "t.yaml").unwrap_err();
        assert!(e.to_string().contains("t.yaml"), "{e}");
        assert!(VstConfig::from_yaml("bogus: 1\n", "t.yaml").is_err());
        let p = Profile {
            aes_key_bits: 192,
            ..Profile::default()
        };
        assert!(p.validate().is_err());
    }

    #[test]
    fn config_round_trips_through_json_and_yaml() {
        let c = VstConfig::default();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(serde_json::from_value::<VstConfig>(v.clone()).unwrap(), c);
        assert_eq!(v["profile"]["auth"], "ird-header");
        assert_eq!(v["environment"], "reference");
        let y = serde_json::to_string(&v).unwrap();
        assert_eq!(VstConfig::from_yaml(&y, "x").unwrap(), c);
    }
}
