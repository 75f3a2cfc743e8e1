//! The reference client's deliberate mistakes. Each is a realistic error of a client developer, tied to
//! the obligation (`scenarios/obligations.yaml`) it breaks; `konform selftest` runs the packs once per
//! defect and requires some scenario to fail. To add one: a variant here and a row in [`TABLE`] (the
//! simulator's client module then makes the mistake when `env.has(Defect::…)`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    // Melderegister: XMeld Datenabruf over the Applikationskopplung (seed 000, BMeldDAV)
    MrLoggingFieldMissing,
    MrLoggingFieldTooLong,
    MrWildcardInPersonensuche,
    MrPhonetikAlways,
    MrUuidNotRfc4122,
    MrWrongListVersion,
    MrSeveralAgs,
    MrNoClientCertificate,
    MrWrongKundennummer,
    MrSplitHyphenatedFirstNames,
    MrAlwaysSicherheitsbehoerde,
    MrLeserOwnAgs,
    MrUnqualifiedXmlParameter,
    MrOrderContactEmail,
}

/// A defect, the obligation it breaks and what it does.
#[derive(Clone, Copy, Debug)]
pub struct DefectInfo {
    pub defect: Defect,
    /// Id of the row in `scenarios/obligations.yaml` the mistake breaks.
    pub obligation: &'static str,
    pub description: &'static str,
}

/// Every defect, in the order `--list-defects` and the selftest show them.
pub const TABLE: &[DefectInfo] = &[
    DefectInfo {
        defect: Defect::HkdfInfoErezept,
        obligation: "vst.enc.hkdf-info",
        description: "HKDF info `ecies-vau-transport` copied from e-Rezept instead of `VST-IRD-Transport`",
    },
    DefectInfo {
        defect: Defect::Aes256,
        obligation: "vst.enc.aes-key",
        description: "AES-256-GCM (32-byte HKDF output) instead of AES-128-GCM",
    },
    DefectInfo {
        defect: Defect::CurveP256,
        obligation: "vst.enc.curve",
        description: "ephemeral keys on P-256 instead of brainpoolP256r1",
    },
    DefectInfo {
        defect: Defect::ReuseEphemeralKey,
        obligation: "vst.enc.fresh-ephemeral-key",
        description: "one ephemeral key for every encrypted value",
    },
    DefectInfo {
        defect: Defect::ReuseIv,
        obligation: "vst.enc.fresh-iv",
        description: "one IV for every encrypted value",
    },
    DefectInfo {
        defect: Defect::WrongRecipient,
        obligation: "vst.enc.recipient-registerstelle",
        description: "Vitalstatus and Sterbedatum encrypted for the VST instead of the Registerstelle",
    },
    DefectInfo {
        defect: Defect::NoEncryption,
        obligation: "vst.enc.field-level",
        description: "Byte fields sent as base64 of the plaintext, unencrypted",
    },
    DefectInfo {
        defect: Defect::SigOverBase64Text,
        obligation: "vst.sig.decoded-bytes",
        description: "signature input built from the base64 text instead of the decoded bytes",
    },
    DefectInfo {
        defect: Defect::SigWrongFieldOrder,
        obligation: "vst.sig.input-order",
        description: "signature input with the record fields in reverse order",
    },
    DefectInfo {
        defect: Defect::SigEmptySegmentForAbsent,
        obligation: "vst.sig.absent-optional",
        description: "absent IdVersicherterAlt as an empty segment in the signature input",
    },
    DefectInfo {
        defect: Defect::SigNoSeparator,
        obligation: "vst.sig.input-order",
        description: "signature input without `|` separators",
    },
    DefectInfo {
        defect: Defect::SigEmbeddedContent,
        obligation: "vst.sig.cms-detached",
        description: "CMS with embedded content (IncludeEContent=true) instead of detached",
    },
    DefectInfo {
        defect: Defect::SigRawEcdsa,
        obligation: "vst.sig.cms-type",
        description: "raw ECDSA signature (ExternalAuthenticate) instead of a CMS SignedData",
    },
    DefectInfo {
        defect: Defect::JsonComment,
        obligation: "vst.json.no-comments",
        description: "a comment in the JSON body",
    },
    DefectInfo {
        defect: Defect::JsonDuplicateKey,
        obligation: "vst.json.no-duplicate-keys",
        description: "a duplicate key (differing only in case) in the JSON body",
    },
    DefectInfo {
        defect: Defect::JsonUnknownProperty,
        obligation: "vst.json.only-defined-properties",
        description: "an extra property not in the OpenAPI definition",
    },
    DefectInfo {
        defect: Defect::WrongContentType,
        obligation: "vst.json.content-type",
        description: "Content-Type text/plain instead of application/json",
    },
    DefectInfo {
        defect: Defect::EmptySterbedatumFiller,
        obligation: "vst.sterbedatum.filler",
        description: "empty Sterbedatum instead of the filler `---N/A----`",
    },
    DefectInfo {
        defect: Defect::Base64Url,
        obligation: "vst.json.byte-format",
        description: "Byte fields in unpadded base64url instead of standard base64",
    },
    DefectInfo {
        defect: Defect::KvnrInIdDatenlieferung,
        obligation: "vst.ids.no-patient-data",
        description: "the KVNR of the first record used inside IdDatenlieferung",
    },
    DefectInfo {
        defect: Defect::MissingAuthHeader,
        obligation: "vst.auth.header",
        description: "no Authorization header",
    },
    DefectInfo {
        defect: Defect::NoVerifyPin,
        obligation: "konn.pin.unlock",
        description: "SignDocument without unlocking the SMC-B by VerifyPin first",
    },
    DefectInfo {
        defect: Defect::RegistrationUnhashed,
        obligation: "vst.registration.signature",
        description: "ExternalAuthenticate over the raw `TelematikId|IK` bytes instead of their SHA-256",
    },
    DefectInfo {
        defect: Defect::HardcodedContext,
        obligation: "konn.context",
        description: "hard-coded Konnektor context (Mandant1/ClientID1/Workplace1) ignoring the configuration",
    },
    DefectInfo {
        defect: Defect::IgnoreBadResponseSignature,
        obligation: "vst.response.verify-signature",
        description: "response signatures of the VST not verified",
    },
    DefectInfo {
        defect: Defect::NoWellknownCheck,
        obligation: "vst.wellknown.verify",
        description: "keys from .well-known used without verifying the JWS",
    },
    DefectInfo {
        defect: Defect::NoRetryAfter500,
        obligation: "vst.errors.retry-5xx",
        description: "no retry after a 500",
    },
    DefectInfo {
        defect: Defect::NoRetryAfterDrop,
        obligation: "vst.transport.retry-dropped",
        description: "no retry after a dropped connection",
    },
    DefectInfo {
        defect: Defect::Treat204AsError,
        obligation: "vst.poll.204-empty",
        description: "204 (nothing pending) treated as an error",
    },
    DefectInfo {
        defect: Defect::Ignore4xx,
        obligation: "vst.errors.sync-rejection",
        description: "4xx answers reported as success",
    },
    DefectInfo {
        defect: Defect::MrLoggingFieldMissing,
        obligation: "melderegister.protokolldaten",
        description: "the logging datum `kennung` of datenAbrufendeStelle (§ 11 BMeldDAV) left out",
    },
    DefectInfo {
        defect: Defect::MrLoggingFieldTooLong,
        obligation: "melderegister.protokolldaten.laenge",
        description: "the whole case path sent as Aktenzeichen: more than 120 characters",
    },
    DefectInfo {
        defect: Defect::MrWildcardInPersonensuche,
        obligation: "melderegister.personensuche.keine-platzhalter",
        description: "a wildcard (`*`) in the Familienname of a Personensuche",
    },
    DefectInfo {
        defect: Defect::MrPhonetikAlways,
        obligation: "melderegister.freiesuche.platzhalter-phonetik",
        description: "phonetic search always switched on, also together with wildcards",
    },
    DefectInfo {
        defect: Defect::MrUuidNotRfc4122,
        obligation: "melderegister.header.uuid",
        description: "nachrichtenUUID as 32 hex digits without dashes (not RFC 4122)",
    },
    DefectInfo {
        defect: Defect::MrWrongListVersion,
        obligation: "melderegister.header.nachrichtentyp",
        description: "nachrichtentyp/@listVersionID of an older XMeld (2.4.1) instead of 25.11a",
    },
    DefectInfo {
        defect: Defect::MrSeveralAgs,
        obligation: "melderegister.personensuche.ein-ags",
        description: "the requester's own AGS sent as a second gemeindeschluessel in a Personensuche",
    },
    DefectInfo {
        defect: Defect::MrNoClientCertificate,
        obligation: "melderegister.tls.client-zertifikat",
        description: "connects without the ordered client certificate",
    },
    DefectInfo {
        defect: Defect::MrWrongKundennummer,
        obligation: "melderegister.kundennummer",
        description: "the DVDV key sent where the Kundennummer belongs",
    },
    DefectInfo {
        defect: Defect::MrSplitHyphenatedFirstNames,
        obligation: "melderegister.vornamen.bindestrich",
        description: "hyphenated Vornamen split into two (`Karl-Heinz` → `Karl Heinz`)",
    },
    DefectInfo {
        defect: Defect::MrAlwaysSicherheitsbehoerde,
        obligation: "melderegister.sicherheitsbehoerde",
        description: "`sicherheitsbehoerde` always true, also for a municipal authority",
    },
    DefectInfo {
        defect: Defect::MrLeserOwnAgs,
        obligation: "melderegister.leser",
        description: "the requester's own AGS as Leser instead of the searched Gemeinde",
    },
    DefectInfo {
        defect: Defect::MrUnqualifiedXmlParameter,
        obligation: "melderegister.soap.xml-parameter",
        description: "`xmlParameter` without the namespace of callApplicationByte",
    },
    DefectInfo {
        defect: Defect::MrOrderContactEmail,
        obligation: "melderegister.bestellung.email",
        description: "orders with the case worker's e-mail instead of the Hauptadministrator's",
    },
];

impl Defect {
    /// Every defect (the order of [`TABLE`]).
    pub fn all() -> impl Iterator<Item = Defect> {
        TABLE.iter().map(|i| i.defect)
    }

    fn info(self) -> Option<&'static DefectInfo> {
        TABLE.iter().find(|i| i.defect == self)
    }

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn from_name(s: &str) -> Option<Defect> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }

    pub fn describe(self) -> &'static str {
        self.info().map(|i| i.description).unwrap_or("")
    }

    /// The obligation (`scenarios/obligations.yaml` id) the defect breaks.
    pub fn obligation(self) -> &'static str {
        self.info().map(|i| i.obligation).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defect_names_roundtrip_and_are_kebab_case() {
        for d in Defect::all() {
            let n = d.name();
            assert!(
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{n}"
            );
            assert!(!n.contains("--") && !n.ends_with('-'), "{n}");
            assert_eq!(Defect::from_name(&n), Some(d));
            assert!(
                !d.describe().is_empty() && !d.obligation().is_empty(),
                "{n}"
            );
        }
        assert_eq!(Defect::NoRetryAfter500.name(), "no-retry-after-500");
        assert!(Defect::from_name("nonsense").is_none());
    }

    #[test]
    fn every_defect_has_exactly_one_row() {
        let mut seen = std::collections::BTreeSet::new();
        for i in TABLE {
            assert!(seen.insert(i.defect), "{:?} twice", i.defect);
        }
    }
}
