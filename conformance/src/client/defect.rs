//! The reference client's deliberate mistakes. Each is a realistic error of a client developer, tied to
//! the obligation (`scenarios/obligations.yaml`) it breaks; `konform selftest` runs the packs once per
//! defect and requires some scenario to fail. To add one: a variant here and a row in [`TABLE`] (the
//! simulator's client module then makes the mistake when `env.has(Defect::…)`).
//! Long because it is one table: [`TABLE`] has a row per defect, and one place lists them all.

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
    IgnoreConnectorSds,
    FirstCard,
    #[serde(rename = "first-smc-b")]
    FirstSmcB,
    ContinueAfterPinRejected,
    RetryVerifyPin,
    // Responses and robustness
    IgnoreBadResponseSignature,
    NoWellknownCheck,
    WellknownSkipChainCheck,
    WellknownIgnoreValidity,
    #[serde(rename = "no-retry-after-500")]
    NoRetryAfter500,
    NoRetryAfterDrop,
    #[serde(rename = "treat-204-as-error")]
    Treat204AsError,
    #[serde(rename = "ignore-4xx")]
    Ignore4xx,
    // mock-vst fidelity (issue 15)
    SigWithAutCertificate,
    #[serde(rename = "response-sig-with-x5c-key")]
    ResponseSigWithX5cKey,
    // OSCI-Transport 1.2 (seed 001, 4.2)
    OsciWrongCipherCertificate,
    OsciAesCbcTransport,
    OsciAesCbcContent,
    OsciPlainContent,
    OsciTwoContainers,
    OsciUnencryptedUsageData,
    OsciReusedChallenge,
    OsciIgnoreServerChallenge,
    OsciFetchWithoutDialog,
    OsciSkipExitDialog,
    OsciReuseMessageId,
    // XTA / FIM-Versammlungsanzeige (seed 001)
    XtaServiceMisspelt,
    XtaMetaNotFromHeader,
    #[serde(rename = "xta-payload-schema-1-2")]
    XtaPayloadSchema12,
    XtaBusinessScenarioUndefined,
    XtaAttachmentPathAsFilename,
    XtaFilenameUrlEncoded,
    XtaZipAttachments,
    XtaMessageDoubleBase64,
    #[serde(rename = "xta-latin1-message")]
    XtaLatin1Message,
    XtaProductionAuthorKey,
    #[serde(rename = "xta-soap-1-1")]
    XtaSoap11,
    XtaNoWsAddressing,
    XtaOwnMessageId,
    XtaSharedTlsCertificate,
    XtaNoClose,
    XtaFirstPageOnly,
    XtaListFormTypo,
    // Drawn from scenarios/obligations.yaml (issue 11)
    RegistrationSigCertificate,
    Latin1Body,
    OmitSterbedatum,
    IdversicherterForRegisterstelle,
    IkaltForRegisterstelle,
    EciesNoVersionByte,
    SignThenEncrypt,
    SigTrailingSeparator,
    SigWithoutIdDatenlieferung,
    AuthOnlyOnPost,
    AuthBearerScheme,
    AuthRawSignature,
    AuthUnhashed,
    IdDatenlieferungFromPeriod,
    VitalstatusAsWord,
    SterbedatumGermanFormat,
    #[serde(rename = "retry-after-4xx")]
    RetryAfter4xx,
    ShortTimeout,
    RequestsNotDecrypted,
    #[serde(rename = "response-sig-over-base64")]
    ResponseSigOverBase64,
    ResponseSigDoubleHash,
    ReadCertificateRsa,
    #[serde(rename = "soap12-content-type")]
    Soap12ContentType,
    ExternalAuthenticateCmsType,
    TlsAcceptAnyCertificate,
    OsciPersonSignature,
    OsciWrongRefId,
    OsciAttachmentNotAProof,
    OsciCompressedContent,
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
        defect: Defect::IgnoreConnectorSds,
        obligation: "konn.endpoints",
        description: "every Konnektor operation sent to /Konnektorservice instead of the endpoints connector.sds names",
    },
    DefectInfo {
        defect: Defect::FirstCard,
        obligation: "konn.card-handle",
        description: "the first card GetCards lists used, whatever its type, instead of the SMC-B",
    },
    DefectInfo {
        defect: Defect::FirstSmcB,
        obligation: "konn.card.own-institution",
        description: "the first SMC-B used without checking that it belongs to the client's institution",
    },
    DefectInfo {
        defect: Defect::ContinueAfterPinRejected,
        obligation: "konn.pin.not-unlocked",
        description: "carries on signing after VerifyPin answered REJECTED",
    },
    DefectInfo {
        defect: Defect::RetryVerifyPin,
        obligation: "konn.pin.not-unlocked",
        description: "repeats VerifyPin after REJECTED until it succeeds or the PIN is blocked",
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
        defect: Defect::WellknownSkipChainCheck,
        obligation: "vst.wellknown.ti-certificate",
        description: ".well-known JWS verified with the x5c key, but the certificate not checked against the TI CA",
    },
    DefectInfo {
        defect: Defect::WellknownIgnoreValidity,
        obligation: "vst.wellknown.validity",
        description: ".well-known token used without checking exp and nbf",
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
        defect: Defect::SigWithAutCertificate,
        obligation: "vst.sig.smcb-signature-certificate",
        description: "delivery CMS signed locally with the SMC-B's C.AUT key and certificate instead of SignDocument's C.SIG",
    },
    DefectInfo {
        defect: Defect::ResponseSigWithX5cKey,
        obligation: "vst.response.signature-key",
        description: "response signatures verified with the key of the .well-known token's x5c (the VST's AUT certificate) instead of the listed vst-sig key",
    },
    DefectInfo {
        defect: Defect::OsciWrongCipherCertificate,
        obligation: "osci.transport.intermediary-certificate",
        description: "requests encrypted for the addressee's cipher certificate instead of the intermediary's",
    },
    DefectInfo {
        defect: Defect::OsciAesCbcTransport,
        obligation: "osci.profile.aes-256-gcm",
        description: "transport encryption with AES-256-CBC instead of AES-256-GCM",
    },
    DefectInfo {
        defect: Defect::OsciAesCbcContent,
        obligation: "osci.profile.aes-256-gcm",
        description: "content container encrypted with AES-256-CBC instead of AES-256-GCM",
    },
    DefectInfo {
        defect: Defect::OsciPlainContent,
        obligation: "osci.profile.content-encrypted",
        description: "the FIM_DATA container sent unencrypted",
    },
    DefectInfo {
        defect: Defect::OsciTwoContainers,
        obligation: "osci.profile.one-container",
        description: "two content containers instead of exactly one",
    },
    DefectInfo {
        defect: Defect::OsciUnencryptedUsageData,
        obligation: "osci.profile.usage-data-encrypted",
        description: "requests sent without transport encryption",
    },
    DefectInfo {
        defect: Defect::OsciReusedChallenge,
        obligation: "osci.dialog.challenge",
        description: "the same Challenge in every request of a dialog",
    },
    DefectInfo {
        defect: Defect::OsciIgnoreServerChallenge,
        obligation: "osci.dialog.response",
        description: "the intermediary's Challenge is not returned as Response",
    },
    DefectInfo {
        defect: Defect::OsciFetchWithoutDialog,
        obligation: "osci.dialog.explicit",
        description: "FetchDelivery without InitDialog (no explicit dialog)",
    },
    DefectInfo {
        defect: Defect::OsciSkipExitDialog,
        obligation: "osci.dialog.exit",
        description: "the recipient never ends its dialog, so the delivery is never marked received",
    },
    DefectInfo {
        defect: Defect::OsciReuseMessageId,
        obligation: "osci.store.message-id",
        description: "one MessageId for several deliveries",
    },
    DefectInfo {
        defect: Defect::XtaServiceMisspelt,
        obligation: "fim.xta.service",
        description: "Service urn:fim:Versamlungsanzeige:1.4 copied from the concept's prose (one m)",
    },
    DefectInfo {
        defect: Defect::XtaMetaNotFromHeader,
        obligation: "fim.xta.congruent-header",
        description: "transport order filled from configuration, not from the FIM message header",
    },
    DefectInfo {
        defect: Defect::XtaPayloadSchema12,
        obligation: "fim.xta.message-type",
        description: "payloadSchema of FIM-Versammlungsanzeige 1.2 (the concept's earlier version)",
    },
    DefectInfo {
        defect: Defect::XtaBusinessScenarioUndefined,
        obligation: "fim.xta.business-scenario",
        description: "BusinessScenario sent as Undefined text instead of the Defined code FIM_DATA",
    },
    DefectInfo {
        defect: Defect::XtaAttachmentPathAsFilename,
        obligation: "fim.xta.attachment-names",
        description: "attachment filename is the local path, not the proof name",
    },
    DefectInfo {
        defect: Defect::XtaFilenameUrlEncoded,
        obligation: "fim.xta.attachment-names",
        description: "attachment file names URL-encoded (umlauts as %C3%BC)",
    },
    DefectInfo {
        defect: Defect::XtaZipAttachments,
        obligation: "fim.xta.no-compression",
        description: "attachments bundled into one ZIP",
    },
    DefectInfo {
        defect: Defect::XtaMessageDoubleBase64,
        obligation: "fim.xta.message-xml",
        description: "the FIM message base64-encoded before it is put into the container",
    },
    DefectInfo {
        defect: Defect::XtaLatin1Message,
        obligation: "fim.xta.message-encoding",
        description: "the FIM message re-encoded as ISO-8859-1",
    },
    DefectInfo {
        defect: Defect::XtaProductionAuthorKey,
        obligation: "fim.keys.test-environment",
        description: "the concept's example author key ehp:010100100000 (a production key) in the transport order",
    },
    DefectInfo {
        defect: Defect::XtaSoap11,
        obligation: "xta.ws.soap12",
        description: "SOAP 1.1 (text/xml) instead of SOAP 1.2",
    },
    DefectInfo {
        defect: Defect::XtaNoWsAddressing,
        obligation: "xta.ws.addressing",
        description: "no WS-Addressing headers (Action, MessageID)",
    },
    DefectInfo {
        defect: Defect::XtaOwnMessageId,
        obligation: "xta.ws.create-message-id",
        description: "a self-made MessageID instead of createMessageId's",
    },
    DefectInfo {
        defect: Defect::XtaSharedTlsCertificate,
        obligation: "xta.ws.client-certificate",
        description: "a generic TLS client certificate instead of the account's",
    },
    DefectInfo {
        defect: Defect::XtaNoClose,
        obligation: "xta.msgbox.close",
        description: "fetched messages never confirmed with close",
    },
    DefectInfo {
        defect: Defect::XtaFirstPageOnly,
        obligation: "xta.msgbox.items-pending",
        description: "ItemsPending ignored: only the first status list page is fetched",
    },
    DefectInfo {
        defect: Defect::XtaListFormTypo,
        obligation: "xta.msgbox.list-form",
        description: "ListForm=\"MsgAttributes\" (the schema spells it MsgAtrributes)",
    },
    DefectInfo {
        defect: Defect::RegistrationSigCertificate,
        obligation: "vst.registration.certificate",
        description: "registration sends the SMC-B's C.SIG certificate instead of the C.AUT that made the signature",
    },
    DefectInfo {
        defect: Defect::Latin1Body,
        obligation: "vst.json.utf8",
        description: "the JSON body encoded as ISO-8859-1 instead of UTF-8",
    },
    DefectInfo {
        defect: Defect::OmitSterbedatum,
        obligation: "vst.sterbedatum.always-present",
        description: "Sterbedatum left out for Lebend/Unbekannt instead of sending the filler",
    },
    DefectInfo {
        defect: Defect::IdversicherterForRegisterstelle,
        obligation: "vst.enc.recipient-vst",
        description: "IdVersicherter encrypted for the Registerstelle instead of the VST",
    },
    DefectInfo {
        defect: Defect::IkaltForRegisterstelle,
        obligation: "vst.enc.iu-recipient",
        description: "IkAlt of an insurance update encrypted for the Registerstelle instead of the VST",
    },
    DefectInfo {
        defect: Defect::EciesNoVersionByte,
        obligation: "vst.enc.format",
        description: "encrypted values without the leading version byte 0x01",
    },
    DefectInfo {
        defect: Defect::SignThenEncrypt,
        obligation: "vst.sig.encrypt-then-sign",
        description: "signature input built from the plaintext values (sign-then-encrypt)",
    },
    DefectInfo {
        defect: Defect::SigTrailingSeparator,
        obligation: "vst.sig.input-order",
        description: "signature input with a `|` after the last value",
    },
    DefectInfo {
        defect: Defect::SigWithoutIdDatenlieferung,
        obligation: "vst.sig.input-order",
        description: "signature input without the leading IdDatenlieferung",
    },
    DefectInfo {
        defect: Defect::AuthOnlyOnPost,
        obligation: "vst.auth.header",
        description: "Authorization header sent with deliveries only, not with polls",
    },
    DefectInfo {
        defect: Defect::AuthBearerScheme,
        obligation: "vst.auth.header",
        description: "the token sent as `Authorization: Bearer …` instead of the IRD scheme",
    },
    DefectInfo {
        defect: Defect::AuthRawSignature,
        obligation: "vst.auth.header",
        description: "the token's signature as raw r‖s instead of DER",
    },
    DefectInfo {
        defect: Defect::AuthUnhashed,
        obligation: "vst.auth.header",
        description: "ExternalAuthenticate for the token over the raw `TelematikId|HauptIK` bytes instead of their SHA-256",
    },
    DefectInfo {
        defect: Defect::IdDatenlieferungFromPeriod,
        obligation: "vst.ids.unique-delivery",
        description: "IdDatenlieferung cut to the reporting period (first 7 characters), so deliveries of one period share it",
    },
    DefectInfo {
        defect: Defect::VitalstatusAsWord,
        obligation: "vst.vitalstatus.values",
        description: "Vitalstatus sent as the word (Lebend, Verstorben, Unbekannt) instead of the code 01/02/03",
    },
    DefectInfo {
        defect: Defect::SterbedatumGermanFormat,
        obligation: "vst.sterbedatum.format",
        description: "Sterbedatum as dd.mm.yyyy instead of yyyy-mm-dd",
    },
    DefectInfo {
        defect: Defect::RetryAfter4xx,
        obligation: "vst.errors.no-resend-rejected",
        description: "a rejected (4xx) delivery sent again, like a 5xx",
    },
    DefectInfo {
        defect: Defect::ShortTimeout,
        obligation: "vst.transport.slow-answers",
        description: "an HTTP timeout of one second: slow answers are abandoned",
    },
    DefectInfo {
        defect: Defect::RequestsNotDecrypted,
        obligation: "vst.poll.decrypt",
        description: "requests and anonymizations reported with the encrypted IdVersicherter, not decrypted",
    },
    DefectInfo {
        defect: Defect::ResponseSigOverBase64,
        obligation: "vst.response.signature-input",
        description: "response signatures checked over the base64 text instead of the decoded bytes (valid answers refused)",
    },
    DefectInfo {
        defect: Defect::ResponseSigDoubleHash,
        obligation: "vst.response.ecdsa-sha256",
        description: "response signatures checked over SHA-256 of the SHA-256 (valid answers refused)",
    },
    DefectInfo {
        defect: Defect::ReadCertificateRsa,
        obligation: "konn.read-aut-certificate",
        description: "ReadCardCertificate with Crypt RSA (the cards have ECC keys only)",
    },
    DefectInfo {
        defect: Defect::Soap12ContentType,
        obligation: "konn.soap.headers",
        description: "SOAP requests sent as application/soap+xml (SOAP 1.2) instead of text/xml",
    },
    DefectInfo {
        defect: Defect::ExternalAuthenticateCmsType,
        obligation: "konn.external-authenticate",
        description: "ExternalAuthenticate with SignatureType urn:ietf:rfc:5652 instead of urn:bsi:tr:03111:ecdsa",
    },
    DefectInfo {
        defect: Defect::TlsAcceptAnyCertificate,
        obligation: "vst.transport.tls",
        description: "any TLS server certificate accepted (verification switched off)",
    },
    DefectInfo {
        defect: Defect::OsciPersonSignature,
        obligation: "osci.profile.organisation-signature",
        description: "content signed with a person's certificate instead of the authority's",
    },
    DefectInfo {
        defect: Defect::OsciWrongRefId,
        obligation: "osci.profile.fim-data-refid",
        description: "the content container's RefID is not FIM_DATA",
    },
    DefectInfo {
        defect: Defect::OsciAttachmentNotAProof,
        obligation: "osci.profile.attachment-names",
        description: "attachment RefIDs that are not the F60000296 proof names of the FIM message",
    },
    DefectInfo {
        defect: Defect::OsciCompressedContent,
        obligation: "osci.profile.compressed",
        description: "the FIM message gzip-compressed before encryption",
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
    /// Every defect (in the order of the defect table).
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
