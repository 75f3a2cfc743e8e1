//! Checking a delivery: everything between the body bytes and "accept" or "reject with status + diagnoses",
//! and the asynchronous checks after acceptance ("bei der Registerstelle nach der Entschlüsselung").
//! No I/O: the HTTP layer calls [`check_delivery`] on a blocking thread and [`run_async_checks`] after
//! answering.
// `Issue` carries a whole diagnosis on purpose; the error path is the rare one.
#![allow(clippy::result_large_err)]

use crate::config::{IdChecks, Profile, ReusePolicy};
use crate::{json, model, seed};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sim_kit::Diagnosis;
use std::collections::HashMap;
use ti_core::cms::{CmsFailure, ParsedCms};
use ti_core::ecies::{self, DecryptFailure, EciesParams};
use ti_core::ids::{Environment, KvnrError, KvnrRules};
use ti_core::sig_input::{self, Segment, Variant};
use ti_core::{EcSecretKey, ids};

/// The two delivery streams (and their processing-error streams).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorStream {
    /// `…/vitalstatusnotification`
    #[serde(alias = "vitalstatusnotification", alias = "vital_status")]
    VitalStatus,
    /// `…/insuranceupdatenotification`
    #[serde(alias = "insuranceupdatenotification", alias = "insurance_update")]
    InsuranceUpdate,
}

impl ErrorStream {
    pub fn operation(self) -> &'static str {
        match self {
            ErrorStream::VitalStatus => "vitalstatusnotification",
            ErrorStream::InsuranceUpdate => "insuranceupdatenotification",
        }
    }
}

/// A record of an accepted delivery with its decrypted values (`None` until decrypted, or when the value
/// did not decrypt; then `errors` says why).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecord {
    #[serde(rename = "IdDatensatz")]
    pub id_datensatz: String,
    #[serde(rename = "IdVersicherter", skip_serializing_if = "Option::is_none")]
    pub id_versicherter: Option<String>,
    #[serde(rename = "Vitalstatus", skip_serializing_if = "Option::is_none")]
    pub vitalstatus: Option<String>,
    #[serde(rename = "Sterbedatum", skip_serializing_if = "Option::is_none")]
    pub sterbedatum: Option<String>,
    #[serde(rename = "IdVersicherterAlt", skip_serializing_if = "Option::is_none")]
    pub id_versicherter_alt: Option<String>,
    #[serde(rename = "IkAlt", skip_serializing_if = "Option::is_none")]
    pub ik_alt: Option<String>,
    /// Processing error codes raised for this record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// Why a delivery was rejected: the status the real service answers, and our explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub diagnoses: Vec<Diagnosis>,
}

impl Rejection {
    pub fn new(status: u16, d: Diagnosis) -> Rejection {
        Rejection {
            status,
            diagnoses: vec![d],
        }
    }
}

/// A value field and whose key it is encrypted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    IdVersicherter,
    Vitalstatus,
    Sterbedatum,
    IdVersicherterAlt,
    IkAlt,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::IdVersicherter => "IdVersicherter",
            Field::Vitalstatus => "Vitalstatus",
            Field::Sterbedatum => "Sterbedatum",
            Field::IdVersicherterAlt => "IdVersicherterAlt",
            Field::IkAlt => "IkAlt",
        }
    }
    pub fn for_vst(self) -> bool {
        !matches!(self, Field::Vitalstatus | Field::Sterbedatum)
    }
    fn wrong_format_code(self) -> &'static str {
        match self {
            Field::IdVersicherter => "WrongFormatIdVersicherter",
            Field::Vitalstatus => "WrongFormatVitalstatus",
            Field::Sterbedatum => "WrongFormatSterbedatum",
            Field::IdVersicherterAlt => "WrongFormatIdVersicherterAlt",
            Field::IkAlt => "WrongFormatIkAlt",
        }
    }
    fn environment_code(self) -> &'static str {
        match self {
            Field::IdVersicherterAlt => "WrongEnvironmentIdVersicherterAlt",
            _ => "WrongEnvironmentIdVersicherter",
        }
    }
}

/// The fields of a record in document (and signature input) order.
fn slots(stream: ErrorStream) -> [Field; 3] {
    match stream {
        ErrorStream::VitalStatus => [
            Field::IdVersicherter,
            Field::Vitalstatus,
            Field::Sterbedatum,
        ],
        ErrorStream::InsuranceUpdate => [
            Field::IdVersicherter,
            Field::IdVersicherterAlt,
            Field::IkAlt,
        ],
    }
}

/// Processing error codes konform raises (the seed names only `DecryptionError` and
/// `WrongFormatIdVersicherter` as examples; the others are konform's, see `docs/vst.md`).
pub mod codes {
    pub const DECRYPTION_ERROR: &str = "DecryptionError";
    pub const INCONSISTENT_STERBEDATUM: &str = "InconsistentSterbedatum";
    pub const ALL: [&str; 10] = [
        "DecryptionError",
        "WrongFormatIdVersicherter",
        "WrongEnvironmentIdVersicherter",
        "WrongFormatIdVersicherterAlt",
        "WrongEnvironmentIdVersicherterAlt",
        "WrongFormatIkAlt",
        "WrongFormatVitalstatus",
        "WrongFormatSterbedatum",
        "InconsistentSterbedatum",
        "DuplicateIdDatensatz",
    ];
}

/// The filler for a Sterbedatum that does not apply.
pub const STERBEDATUM_NA: &str = "---N/A----";

/// What checking needs besides the body.
pub struct Ctx<'s> {
    pub profile: &'s Profile,
    pub environment: Environment,
    pub kvnr: &'s KvnrRules,
    pub vst_enc: &'s EcSecretKey,
    pub registerstelle_enc: &'s EcSecretKey,
    /// Telematik-ID and Haupt-IK of the authenticated insurer.
    pub insurer: (&'s str, &'s str),
    pub limits: json::Limits,
    pub threads: usize,
    pub parallel_threshold: usize,
    /// Chain check of the CMS signer (cached by the caller).
    pub trust: &'s (dyn Fn(&ParsedCms) -> Result<(), CmsFailure> + Sync),
}

impl Ctx<'_> {
    fn ecies(&self) -> EciesParams {
        self.profile.ecies()
    }
}

/// A problem with one value of one record.
#[derive(Clone, Debug)]
pub struct Issue {
    pub record: usize,
    pub field: Field,
    pub kind: IssueKind,
    pub diagnosis: Diagnosis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueKind {
    Decrypt,
    Format,
    Environment,
}

impl Issue {
    /// Synchronous status for this issue.
    pub fn status(&self) -> u16 {
        match self.kind {
            IssueKind::Environment => 403,
            _ => 400,
        }
    }
    /// Processing error code for this issue.
    pub fn code(&self) -> &'static str {
        match self.kind {
            IssueKind::Decrypt => codes::DECRYPTION_ERROR,
            IssueKind::Format => self.field.wrong_format_code(),
            IssueKind::Environment => self.field.environment_code(),
        }
    }
}

/// Where a value for the asynchronous checks is kept: its base64 text in the request body (which the
/// checks keep alive), or — when the JSON string had escapes — its decoded bytes.
#[derive(Clone, Copy, Debug)]
pub enum Src {
    Text { start: u32, len: u32 },
    Decoded { start: u32, len: u32 },
}

/// One value to decrypt and check after the answer.
#[derive(Clone, Copy, Debug)]
pub struct WorkItem {
    pub record: u32,
    pub slot: u8,
    pub src: Src,
}

/// Ephemeral key and IV of one value, for reuse checks across deliveries.
#[derive(Clone, Copy, Debug)]
pub struct Fingerprint {
    pub x: u64,
    pub iv: u64,
    pub record: u32,
    pub slot: u8,
}

/// What is left to check after the answer.
pub struct PendingChecks {
    pub stream: ErrorStream,
    pub body: bytes::Bytes,
    pub decoded: Vec<u8>,
    /// Sorted by record, then slot.
    pub work: Vec<WorkItem>,
}

impl PendingChecks {
    /// The decoded bytes of a work item.
    fn value<'a>(
        &'a self,
        w: &WorkItem,
        buf: &'a mut [u8; 512],
        spill: &'a mut Vec<u8>,
    ) -> Option<&'a [u8]> {
        match w.src {
            Src::Decoded { start, len } => self
                .decoded
                .get(start as usize..start as usize + len as usize),
            Src::Text { start, len } => {
                let text = self
                    .body
                    .get(start as usize..start as usize + len as usize)?;
                decode_into(std::str::from_utf8(text).ok()?, buf, spill)
            }
        }
    }
}

/// An accepted delivery, ready to be stored.
pub struct Checked {
    pub stream: ErrorStream,
    pub id_datenlieferung: String,
    pub records: Vec<StoredRecord>,
    /// Diagnoses for an accepted delivery (key reuse in `diagnose` mode, …).
    pub warnings: Vec<Diagnosis>,
    pub fingerprints: Vec<Fingerprint>,
    pub pending: Option<PendingChecks>,
}

fn ptr(record: usize, field: &str) -> String {
    format!("/Meldungen/{record}/{field}")
}

/// Map `f` over `0..n` on up to `threads` threads (inline below `threshold`).
pub fn par_map<R: Send>(
    n: usize,
    threads: usize,
    threshold: usize,
    f: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    if n < threshold.max(2) || threads <= 1 {
        return (0..n).map(&f).collect();
    }
    let threads = threads.min(n);
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                s.spawn(move || {
                    let lo = t * chunk;
                    let hi = ((t + 1) * chunk).min(n);
                    (lo..hi).map(f).collect::<Vec<R>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        out
    })
}

/// Decrypt one value for its intended recipient; on failure name the near miss or the wrong recipient.
fn decrypt_field(ctx: &Ctx<'_>, record: usize, field: Field, data: &[u8]) -> Result<String, Issue> {
    let (own, other, own_name, other_name) = if field.for_vst() {
        (
            ctx.vst_enc,
            ctx.registerstelle_enc,
            "the VST",
            "the Registerstelle",
        )
    } else {
        (
            ctx.registerstelle_enc,
            ctx.vst_enc,
            "the Registerstelle",
            "the VST",
        )
    };
    let params = ctx.ecies();
    let issue = |kind, d: Diagnosis| Issue {
        record,
        field,
        kind,
        diagnosis: d.at(ptr(record, field.name())),
    };
    match ecies::decrypt(own, data, &params) {
        Ok(pt) => String::from_utf8(pt).map_err(|_| {
            issue(
                IssueKind::Format,
                Diagnosis::new(
                    "value.utf8",
                    format!("the decrypted {} is not UTF-8 text", field.name()),
                )
                .seed(seed::ENCRYPTION),
            )
        }),
        Err(DecryptFailure::TagMismatch) => {
            let d = if ecies::decrypt(other, data, &params).is_ok() {
                Diagnosis::new(
                    "ecies.recipient",
                    format!(
                        "{} is encrypted for {other_name}'s key; it must be encrypted for {own_name}",
                        field.name()
                    ),
                )
                .hint(if field.for_vst() {
                    "use the VST encryption key (kid vst-enc in /.well-known) for IdVersicherter, IdVersicherterAlt and IkAlt"
                } else {
                    "use the Registerstelle encryption key (kid registerstelle-enc in /.well-known) for Vitalstatus and Sterbedatum"
                })
                .seed(seed::RECIPIENT)
            } else {
                Diagnosis::new(
                    DecryptFailure::TagMismatch.rule(),
                    format!(
                        "{} does not decrypt with {own_name}'s key: {}",
                        field.name(),
                        DecryptFailure::TagMismatch
                    ),
                )
                .seed(seed::ENCRYPTION)
            };
            Err(issue(IssueKind::Decrypt, d))
        }
        Err(f) => {
            let mut d = Diagnosis::new(f.rule(), format!("{} does not decrypt: {f}", field.name()))
                .seed(seed::ENCRYPTION);
            d = match &f {
                DecryptFailure::WrongInfo { expected, .. } => {
                    d.hint(format!("use the HKDF info `{expected}`"))
                }
                DecryptFailure::WrongAesKeySize { expected, .. } => d.hint(format!(
                    "derive a {}-byte key with HKDF (AES-{})",
                    expected.bits() / 8,
                    expected.bits()
                )),
                DecryptFailure::PointNotOnCurve {
                    expected,
                    on_other_curve: true,
                } => d.hint(format!(
                    "generate the ephemeral key on {} (the recipient's curve)",
                    expected.name()
                )),
                _ => d,
            };
            Err(issue(IssueKind::Decrypt, d))
        }
    }
}

fn check_kvnr_value(ctx: &Ctx<'_>, record: usize, field: Field, v: &str) -> Result<(), Issue> {
    ctx.kvnr.check(v, ctx.environment).map_err(|e| {
        let (kind, seed_ref, hint) = match &e {
            KvnrError::NotTestRange { range } => (
                IssueKind::Environment,
                seed::KVNR_ENVIRONMENT,
                Some(format!(
                    "use test KVNRs ({range}) in the reference environment, e.g. from `konform kvnr gen --test 5`"
                )),
            ),
            KvnrError::Reserved => (IssueKind::Format, seed::KVNR_RESERVED, None),
            KvnrError::CheckDigit { expected, .. } => (
                IssueKind::Format,
                seed::KVNR,
                Some(format!(
                    "the check digit of {}... is {expected}",
                    v.get(..9).unwrap_or(v)
                )),
            ),
            KvnrError::Pattern => (IssueKind::Format, seed::KVNR, None),
        };
        let mut d = Diagnosis::new(
            e.rule(),
            format!("the decrypted {} {}", field.name(), describe_kvnr(v, &e)),
        )
        .at(ptr(record, field.name()))
        .seed(seed_ref);
        if let Some(h) = hint {
            d = d.hint(h);
        }
        Issue {
            record,
            field,
            kind,
            diagnosis: d,
        }
    })
}

fn describe_kvnr(v: &str, e: &KvnrError) -> String {
    // A KVNR is personal data, but the reference environment only carries test data; show the value
    // only when it has the KVNR shape (10 characters), else its length.
    if ids::is_kvnr_shaped(v) {
        format!("`{v}` {e}")
    } else {
        format!("(a value of {} characters) {e}", v.chars().count())
    }
}

fn check_ik_value(record: usize, v: &str) -> Result<(), Issue> {
    ids::check_ik(v).map_err(|e| Issue {
        record,
        field: Field::IkAlt,
        kind: IssueKind::Format,
        diagnosis: Diagnosis::new(e.rule(), format!("the decrypted IkAlt `{v}` {e}"))
            .at(ptr(record, "IkAlt"))
            .seed(seed::IK),
    })
}

/// Decrypt and check one VST-side value (IdVersicherter, IdVersicherterAlt, IkAlt).
fn vst_value(ctx: &Ctx<'_>, record: usize, field: Field, data: &[u8]) -> Result<String, Issue> {
    let v = decrypt_field(ctx, record, field, data)?;
    match field {
        Field::IkAlt => check_ik_value(record, &v)?,
        _ => check_kvnr_value(ctx, record, field, &v)?,
    }
    Ok(v)
}

fn reject_field(e: model::FieldError, seed_ref: &str) -> Rejection {
    Rejection::new(
        400,
        Diagnosis::new(e.rule, e.message)
            .at(e.pointer)
            .seed(seed_ref),
    )
}

/// Check a delivery body completely (everything the VST does before it answers).
pub fn check_delivery(
    ctx: &Ctx<'_>,
    stream: ErrorStream,
    body: &bytes::Bytes,
) -> Result<Checked, Rejection> {
    let doc = json::parse(body, ctx.limits).map_err(|e| {
        let mut d = Diagnosis::new(e.rule, format!("{} (byte {})", e.message, e.offset))
            .seed(seed::JSON_RULES);
        if !e.pointer.is_empty() {
            d = d.at(e.pointer);
        }
        if e.rule == json::rules::UTF8 {
            d = d.seed(seed::CONTENT_TYPE);
        }
        Rejection::new(400, d)
    })?;
    match stream {
        ErrorStream::VitalStatus => {
            let b = model::vitalstatus_bundle(doc).map_err(|e| {
                let sr = seed_for(e.rule);
                reject_field(e, sr)
            })?;
            let recs: Vec<sig_input::VitalStatusRecord<'_>> = b
                .meldungen
                .iter()
                .map(|r| sig_input::VitalStatusRecord {
                    id_datensatz: &r.id_datensatz,
                    id_versicherter: &r.id_versicherter,
                    vitalstatus: &r.vitalstatus,
                    sterbedatum: &r.sterbedatum,
                })
                .collect();
            let segments = sig_input::vitalstatus_segments(&b.id_datenlieferung, &recs);
            check_signature(ctx, &b.signatur, &segments)?;
            drop(segments);
            let id_list: Vec<&str> = recs.iter().map(|r| r.id_datensatz).collect();
            check_ids(&b.id_datenlieferung, &id_list)?;
            let values: Vec<[Option<&str>; 3]> = recs
                .iter()
                .map(|r| {
                    [
                        Some(r.id_versicherter),
                        Some(r.vitalstatus),
                        Some(r.sterbedatum),
                    ]
                })
                .collect();
            finish(ctx, stream, body, &b.id_datenlieferung, &id_list, &values)
        }
        ErrorStream::InsuranceUpdate => {
            let b = model::insurance_update_bundle(doc).map_err(|e| {
                let sr = seed_for(e.rule);
                reject_field(e, sr)
            })?;
            let recs: Vec<sig_input::InsuranceUpdateRecord<'_>> = b
                .meldungen
                .iter()
                .map(|r| sig_input::InsuranceUpdateRecord {
                    id_datensatz: &r.id_datensatz,
                    id_versicherter: &r.id_versicherter,
                    id_versicherter_alt: r.id_versicherter_alt.as_deref(),
                    ik_alt: &r.ik_alt,
                })
                .collect();
            let segments = sig_input::insurance_update_segments(&b.id_datenlieferung, &recs);
            check_signature(ctx, &b.signatur, &segments)?;
            drop(segments);
            let id_list: Vec<&str> = recs.iter().map(|r| r.id_datensatz).collect();
            check_ids(&b.id_datenlieferung, &id_list)?;
            let values: Vec<[Option<&str>; 3]> = recs
                .iter()
                .map(|r| {
                    [
                        Some(r.id_versicherter),
                        r.id_versicherter_alt,
                        Some(r.ik_alt),
                    ]
                })
                .collect();
            finish(ctx, stream, body, &b.id_datenlieferung, &id_list, &values)
        }
    }
}

fn seed_for(rule: &str) -> &'static str {
    match rule {
        model::rules::REQUIRED
        | model::rules::EMPTY_STRING
        | model::rules::EMPTY_DELIVERY
        | model::rules::TYPE => seed::REQUIRED,
        _ => seed::JSON_RULES,
    }
}

/// "Allgemeiner Hinweis": no patient data in IdDatenlieferung / IdDatensatz; IdDatensatz unique.
fn check_ids(id_datenlieferung: &str, datensatz_ids: &[&str]) -> Result<(), Rejection> {
    let patient = |field: &str, at: String, v: &str| {
        ids::find_kvnr_in(v).map(|k| {
            Rejection::new(
                400,
                Diagnosis::new(
                    "delivery.patient-data-in-id",
                    format!("{field} contains a KVNR-shaped value with a valid check digit (`{k}`)"),
                )
                .at(at)
                .hint("IdDatenlieferung and IdDatensatz are sent in plaintext; use technical ids such as 2024-01-001")
                .seed(seed::ID_NO_PATIENT_DATA),
            )
        })
    };
    if let Some(r) = patient(
        "IdDatenlieferung",
        "/IdDatenlieferung".into(),
        id_datenlieferung,
    ) {
        return Err(r);
    }
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(datensatz_ids.len());
    for (i, id) in datensatz_ids.iter().enumerate() {
        if let Some(r) = patient("IdDatensatz", ptr(i, "IdDatensatz"), id) {
            return Err(r);
        }
        if let Some(first) = seen.insert(id, i) {
            return Err(Rejection::new(
                400,
                Diagnosis::new(
                    "delivery.duplicate-id-datensatz",
                    format!("IdDatensatz `{id}` is used twice in this delivery (first at /Meldungen/{first}/IdDatensatz)"),
                )
                .at(ptr(i, "IdDatensatz"))
                .seed(seed::ID_UNIQUE),
            ));
        }
    }
    Ok(())
}

/// CMS SignedData over the signature input: structure, signature, messageDigest (naming the near miss),
/// trust, signer = authenticated insurer.
fn check_signature(
    ctx: &Ctx<'_>,
    signatur_b64: &str,
    segments: &[Segment<'_>],
) -> Result<(), Rejection> {
    let at = "/Signatur";
    let r400 = |f: &CmsFailure, hint: Option<String>| {
        let mut d = Diagnosis::new(f.rule(), f.to_string())
            .at(at)
            .seed(seed::SIGNATURE_IN);
        if let Some(h) = hint {
            d = d.hint(h);
        }
        Rejection::new(400, d)
    };
    let der = ti_core::b64_decode(signatur_b64).map_err(|e| {
        Rejection::new(
            400,
            Diagnosis::new(model::rules::BASE64, e.to_string())
                .at(at)
                .seed(seed::JSON_RULES),
        )
    })?;
    let parsed = ti_core::cms::parse(&der).map_err(|f| {
        let hint = match &f {
            CmsFailure::Malformed(_) => Some(
                "Signatur must be the base64 of the DER CMS SignedData that the Konnektor's SignDocument (urn:ietf:rfc:5652, IncludeEContent=false) returns"
                    .to_string(),
            ),
            _ => None,
        };
        r400(&f, hint)
    })?;
    if parsed.embedded_content.is_some() {
        return Err(r400(
            &CmsFailure::EmbeddedContent,
            Some("sign with IncludeEContent=false (detached)".into()),
        ));
    }
    parsed.check_signature().map_err(|f| r400(&f, None))?;
    let variant = ctx.profile.signature_input.variant();
    let digest = sig_input::digest(segments, variant).map_err(|e| {
        Rejection::new(
            400,
            Diagnosis::new(model::rules::BASE64, e.to_string()).seed(seed::JSON_RULES),
        )
    })?;
    if parsed.check_content_digest(&digest).is_err() {
        let mut near = sig_input::find_near_miss(segments, &parsed.message_digest);
        if near.is_none()
            && variant != Variant::Canonical
            && sig_input::digest(segments, Variant::Canonical)
                .is_ok_and(|d| d.as_slice() == parsed.message_digest.as_slice())
        {
            near = Some(Variant::Canonical);
        }
        let f = CmsFailure::ContentMismatch;
        let mut d = Diagnosis::new(f.rule(), f.to_string())
            .at(at)
            .seed(seed::SIGNATURE_IN);
        match near {
            Some(v) if v != variant => {
                d.message = format!(
                    "near miss: {} (the messageDigest matches that input, not the required one)",
                    v.describe()
                );
                d.rule = format!("signature-input.{}", variant_name(v));
                d = d.hint("sign the decoded bytes of every value in document order, joined by `|`, an absent IdVersicherterAlt contributing nothing (see the seed's hex dumps)");
            }
            _ => {
                d = d.hint("the signature was made over other bytes than the signature input of this delivery (values changed after signing?)");
            }
        }
        return Err(Rejection::new(400, d));
    }
    (ctx.trust)(&parsed).map_err(|f| {
        Rejection::new(
            403,
            Diagnosis::new(f.rule(), f.to_string())
                .at(at)
                .hint("sign with the C.SIG certificate of the registered insurer's SMC-B (issued by a TI CA)")
                .seed(seed::SIGNATURE_IN),
        )
    })?;
    let (tid, ik) = ti_core::pki::insurer_of_cert(&parsed.signer_cert);
    let (atid, aik) = ctx.insurer;
    if tid.as_deref() != Some(atid) || ik.as_deref() != Some(aik) {
        return Err(Rejection::new(
            403,
            Diagnosis::new(
                "cms.signer-insurer",
                format!(
                    "the signer certificate `{}` does not belong to the authenticated insurer (Telematik-ID {atid}, IK {aik})",
                    ti_core::pki::subject_string(&parsed.signer_cert)
                ),
            )
            .at(at)
            .seed(seed::SIGNATURE_IN),
        ));
    }
    Ok(())
}

fn variant_name(v: Variant) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{v:?}"))
}

/// Decode a base64 value into `buf` when it fits (no allocation), else into a fresh vector.
fn decode_into<'b>(v: &str, buf: &'b mut [u8; 512], spill: &'b mut Vec<u8>) -> Option<&'b [u8]> {
    let engine = &base64::engine::general_purpose::STANDARD;
    if base64::decoded_len_estimate(v.len()) <= buf.len() {
        let n = engine.decode_slice(v, &mut buf[..]).ok()?;
        Some(&buf[..n])
    } else {
        spill.clear();
        engine.decode_vec(v, spill).ok()?;
        Some(&spill[..])
    }
}

/// Ephemeral X and IV of an encrypted value, from the first 104 base64 characters (78 bytes) only.
fn fingerprint_of(v: &str) -> Option<(u64, u64)> {
    let prefix = v.get(..v.len().min(104))?;
    let mut buf = [0u8; 78];
    let n = base64::engine::general_purpose::STANDARD
        .decode_slice(prefix, &mut buf)
        .ok()?;
    if n < 77 || buf[0] != ecies::VERSION {
        return None;
    }
    Some((u64_of(&buf[1..9]), u64_of(&buf[65..73])))
}

fn u64_of(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// Run `f` on every record, on up to `threads` threads (inline below `threshold`); collect the issues
/// (the first `keep` in document order, and their total count).
fn par_records(
    records: &mut [StoredRecord],
    threads: usize,
    threshold: usize,
    keep: usize,
    f: impl Fn(usize, &mut StoredRecord, &mut Vec<Issue>) + Sync,
) -> (Vec<Issue>, usize) {
    let n = records.len();
    let run = |offset: usize, chunk: &mut [StoredRecord]| {
        let mut issues = Vec::new();
        let mut count = 0usize;
        let mut tmp = Vec::new();
        for (k, r) in chunk.iter_mut().enumerate() {
            f(offset + k, r, &mut tmp);
            count += tmp.len();
            for i in tmp.drain(..) {
                if issues.len() < keep {
                    issues.push(i);
                }
            }
        }
        (issues, count)
    };
    if n < threshold.max(2) || threads <= 1 {
        return run(0, records);
    }
    let chunk = n.div_ceil(threads.min(n));
    let parts: Vec<(Vec<Issue>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks_mut(chunk)
            .enumerate()
            .map(|(t, c)| {
                let run = &run;
                s.spawn(move || run(t * chunk, c))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut issues = Vec::new();
    let mut count = 0;
    for (i, c) in parts {
        count += c;
        for x in i {
            if issues.len() < keep {
                issues.push(x);
            }
        }
    }
    (issues, count)
}

/// Check key/IV reuse within the delivery, decrypt and check the VST values (synchronous mode), and
/// prepare the asynchronous checks. Values are decoded on the fly; only those the asynchronous checks need
/// are kept (decoded) in one buffer.
fn finish(
    ctx: &Ctx<'_>,
    stream: ErrorStream,
    body: &bytes::Bytes,
    id_datenlieferung: &str,
    datensatz_ids: &[&str],
    values: &[[Option<&str>; 3]],
) -> Result<Checked, Rejection> {
    let n = values.len();
    let fields = slots(stream);

    // Ephemeral key and IV reuse within the delivery: sort the fingerprints, look at neighbours.
    let mut warnings = Vec::new();
    let mut fingerprints = Vec::new();
    if ctx.profile.key_reuse != ReusePolicy::Ignore {
        fingerprints.reserve(n * 3);
        for (i, r) in values.iter().enumerate() {
            for (j, v) in r.iter().enumerate() {
                if let Some((x, iv)) = v.and_then(fingerprint_of) {
                    fingerprints.push(Fingerprint {
                        x,
                        iv,
                        record: i as u32,
                        slot: j as u8,
                    });
                }
            }
        }
        let mut found: Vec<(u32, u8, Diagnosis)> = Vec::new();
        let mut count = 0usize;
        for what in ["ephemeral key", "IV"] {
            let key = |f: &Fingerprint| if what == "IV" { f.iv } else { f.x };
            fingerprints.sort_unstable_by_key(|f| (key(f), f.record, f.slot));
            let mut first = 0;
            for k in 1..fingerprints.len() {
                if key(&fingerprints[k]) != key(&fingerprints[first]) {
                    first = k;
                    continue;
                }
                count += 1;
                if found.len() < 10 {
                    let (a, b) = (&fingerprints[first], &fingerprints[k]);
                    found.push((
                        b.record,
                        b.slot,
                        reuse_diagnosis(
                            what,
                            &ptr(b.record as usize, fields[b.slot as usize].name()),
                            &format!("/Meldungen/{}/{}", a.record, fields[a.slot as usize].name()),
                        ),
                    ));
                }
            }
        }
        found.sort_by_key(|(r, s, _)| (*r, *s));
        let mut found: Vec<Diagnosis> = found.into_iter().map(|(_, _, d)| d).collect();
        if count > found.len() {
            found.push(
                Diagnosis::new(
                    "ecies.key-reuse",
                    format!("{count} reused ephemeral keys or IVs in this delivery in all"),
                )
                .seed(seed::KEY_REUSE),
            );
        }
        if !found.is_empty() {
            if ctx.profile.key_reuse == ReusePolicy::Reject {
                return Err(Rejection {
                    status: 400,
                    diagnoses: found,
                });
            }
            warnings.extend(found);
        }
    }

    let mut records: Vec<StoredRecord> = datensatz_ids
        .iter()
        .map(|id| StoredRecord {
            id_datensatz: (*id).to_string(),
            ..StoredRecord::default()
        })
        .collect();

    let vst_slots: Vec<usize> = (0..3).filter(|j| fields[*j].for_vst()).collect();
    let mut work = Vec::new();
    match ctx.profile.id_checks {
        IdChecks::Sync => {
            let (issues, count) = par_records(
                &mut records,
                ctx.threads,
                ctx.parallel_threshold,
                20,
                |i, rec, issues| {
                    let mut buf = [0u8; 512];
                    let mut spill = Vec::new();
                    for &j in &vst_slots {
                        let Some(v) = values[i][j] else { continue };
                        let Some(data) = decode_into(v, &mut buf, &mut spill) else {
                            continue;
                        };
                        match vst_value(ctx, i, fields[j], data) {
                            Ok(s) => set(rec, fields[j], s),
                            Err(issue) => issues.push(issue),
                        }
                    }
                },
            );
            if let Some(first) = issues.first() {
                let status = first.status();
                let mut diagnoses: Vec<Diagnosis> =
                    issues.into_iter().map(|i| i.diagnosis).collect();
                if count > diagnoses.len() {
                    diagnoses.push(Diagnosis::new(
                        "delivery.more-errors",
                        format!(
                            "{count} values failed their checks in all; the first 20 are listed"
                        ),
                    ));
                }
                return Err(Rejection { status, diagnoses });
            }
        }
        IdChecks::Async => {
            for (i, r) in values.iter().enumerate() {
                for &j in &vst_slots {
                    if r[j].is_some() {
                        work.push((i, j));
                    }
                }
            }
        }
    }
    if stream == ErrorStream::VitalStatus {
        for i in 0..n {
            work.push((i, 1));
            work.push((i, 2));
        }
    }
    let pending = if work.is_empty() {
        None
    } else {
        // Keep the body for values it holds verbatim; decode only strings that had JSON escapes.
        let base = body.as_ptr() as usize;
        let engine = &base64::engine::general_purpose::STANDARD;
        let mut decoded = Vec::new();
        let mut items = Vec::with_capacity(work.len());
        for &(i, j) in &work {
            let Some(v) = values[i][j] else { continue };
            let p = v.as_ptr() as usize;
            let src = if p >= base && p + v.len() <= base + body.len() {
                Src::Text {
                    start: (p - base) as u32,
                    len: v.len() as u32,
                }
            } else {
                let start = decoded.len();
                // Validated while reading the JSON; a failure leaves the value empty (no panic).
                if engine.decode_vec(v, &mut decoded).is_err() {
                    decoded.truncate(start);
                }
                Src::Decoded {
                    start: start as u32,
                    len: (decoded.len() - start) as u32,
                }
            };
            items.push(WorkItem {
                record: i as u32,
                slot: j as u8,
                src,
            });
        }
        items.sort_unstable_by_key(|w| (w.record, w.slot));
        Some(PendingChecks {
            stream,
            body: body.clone(),
            decoded,
            work: items,
        })
    };
    Ok(Checked {
        stream,
        id_datenlieferung: id_datenlieferung.to_string(),
        records,
        warnings,
        fingerprints,
        pending,
    })
}

fn reuse_diagnosis(what: &str, at: &str, first: &str) -> Diagnosis {
    Diagnosis::new(
        if what == "IV" {
            "ecies.iv-reuse"
        } else {
            "ecies.key-reuse"
        },
        format!("the {what} of this value was already used for {first}"),
    )
    .at(at)
    .hint("generate a fresh ephemeral key pair and a fresh random IV for every encrypted value")
    .seed(seed::KEY_REUSE)
}

fn set(r: &mut StoredRecord, f: Field, v: String) {
    match f {
        Field::IdVersicherter => r.id_versicherter = Some(v),
        Field::Vitalstatus => r.vitalstatus = Some(v),
        Field::Sterbedatum => r.sterbedatum = Some(v),
        Field::IdVersicherterAlt => r.id_versicherter_alt = Some(v),
        Field::IkAlt => r.ik_alt = Some(v),
    }
}

/// The outcome of the asynchronous checks for one record.
#[derive(Clone, Debug, Default)]
pub struct AsyncResult {
    pub record: usize,
    pub values: Vec<(Field, String)>,
    /// (code, diagnosis)
    pub errors: Vec<(String, Diagnosis)>,
}

/// The checks after the answer: VST values in `async` mode, and the Registerstelle's checks of
/// Vitalstatus and Sterbedatum ("diese werden asynchron bei der Registerstelle nach der Entschlüsselung
/// vorgenommen").
pub fn run_async_checks(ctx: &Ctx<'_>, p: &PendingChecks) -> Vec<AsyncResult> {
    let fields = slots(p.stream);
    // Groups of work items of one record (work is sorted by record).
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut k = 0;
    while k < p.work.len() {
        let r = p.work[k].record;
        let start = k;
        while k < p.work.len() && p.work[k].record == r {
            k += 1;
        }
        groups.push((start, k));
    }
    par_map(groups.len(), ctx.threads, ctx.parallel_threshold, |g| {
        let (from, to) = groups[g];
        let i = p.work[from].record as usize;
        let mut res = AsyncResult {
            record: i,
            ..AsyncResult::default()
        };
        let mut buf = [0u8; 512];
        let mut spill = Vec::new();
        for w in &p.work[from..to] {
            let f = fields[w.slot as usize];
            let Some(data) = p.value(w, &mut buf, &mut spill) else {
                continue;
            };
            let r = if f.for_vst() {
                vst_value(ctx, i, f, data)
            } else {
                decrypt_field(ctx, i, f, data)
            };
            match r {
                Ok(v) => res.values.push((f, v)),
                Err(issue) => res.errors.push((issue.code().to_string(), issue.diagnosis)),
            }
        }
        let get = |f: Field| {
            res.values
                .iter()
                .find(|(x, _)| *x == f)
                .map(|(_, v)| v.as_str())
        };
        let (vs, sd) = (get(Field::Vitalstatus), get(Field::Sterbedatum));
        let mut errors = Vec::new();
        registerstelle_checks(i, vs, sd, &mut errors);
        res.errors.extend(errors);
        res
    })
}

/// Vitalstatus ∈ {01, 02, 03}; Sterbedatum a valid `yyyy-mm-dd` date or `---N/A----`; 02 needs a date,
/// 01/03 the filler.
pub fn registerstelle_checks(
    record: usize,
    vitalstatus: Option<&str>,
    sterbedatum: Option<&str>,
    errors: &mut Vec<(String, Diagnosis)>,
) {
    let vs_ok = match vitalstatus {
        Some(v @ ("01" | "02" | "03")) => Some(v),
        Some(v) => {
            errors.push((
                Field::Vitalstatus.wrong_format_code().into(),
                Diagnosis::new(
                    "vitalstatus.value",
                    format!("the decrypted Vitalstatus `{}` is not one of 01 (Lebend), 02 (Verstorben), 03 (Unbekannt)", v.escape_debug()),
                )
                .at(ptr(record, "Vitalstatus"))
                .seed(seed::VITALSTATUS),
            ));
            None
        }
        None => None,
    };
    let sd_kind = match sterbedatum {
        Some(STERBEDATUM_NA) => Some(false),
        Some(d) if is_date(d) => Some(true),
        Some(d) => {
            errors.push((
                Field::Sterbedatum.wrong_format_code().into(),
                Diagnosis::new(
                    "sterbedatum.format",
                    format!(
                        "the decrypted Sterbedatum `{}` is neither a valid date yyyy-mm-dd nor the filler `{STERBEDATUM_NA}`",
                        d.escape_debug()
                    ),
                )
                .at(ptr(record, "Sterbedatum"))
                .hint(if d.trim() == "N/A" || d.contains("N/A") {
                    "the filler is exactly ---N/A---- (three dashes, N/A, four dashes: 10 characters)"
                } else {
                    "write the date as yyyy-mm-dd, e.g. 2024-03-01"
                })
                .seed(seed::STERBEDATUM),
            ));
            None
        }
        None => None,
    };
    if let (Some(v), Some(is_date)) = (vs_ok, sd_kind) {
        let bad = match v {
            "02" => !is_date,
            _ => is_date,
        };
        if bad {
            errors.push((
                codes::INCONSISTENT_STERBEDATUM.into(),
                Diagnosis::new(
                    "sterbedatum.consistency",
                    if v == "02" {
                        "Vitalstatus 02 (Verstorben) needs a Sterbedatum, but the filler ---N/A---- was sent".to_string()
                    } else {
                        format!("Vitalstatus {v} (Lebend/Unbekannt) needs the filler ---N/A---- as Sterbedatum, but a date was sent")
                    },
                )
                .at(ptr(record, "Sterbedatum"))
                .seed(seed::STERBEDATUM),
            ));
        }
    }
}

/// `yyyy-mm-dd`, a real calendar date.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let Ok(month) = time::Month::try_from(m as u8) else {
        return false;
    };
    time::Date::from_calendar_date(y as i32, month, d as u8).is_ok()
}

/// Apply asynchronous results to stored records (the values are moved, the error codes copied).
pub fn apply_async(records: &mut [StoredRecord], results: &mut [AsyncResult]) {
    for r in results {
        let Some(rec) = records.get_mut(r.record) else {
            continue;
        };
        for (f, v) in r.values.drain(..) {
            set(rec, f, v);
        }
        for (code, _) in &r.errors {
            rec.errors.push(code.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_registerstelle_rules() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2024-13-01"));
        assert!(!is_date("24-01-01"));
        assert!(!is_date("2024-1-011"));
        assert!(!is_date("+024-01-01"));
        let codes = |vs: &str, sd: &str| {
            let mut e = Vec::new();
            registerstelle_checks(0, Some(vs), Some(sd), &mut e);
            e.into_iter().map(|(c, _)| c).collect::<Vec<_>>()
        };
        assert!(codes("01", STERBEDATUM_NA).is_empty());
        assert!(codes("03", STERBEDATUM_NA).is_empty());
        assert!(codes("02", "2024-01-31").is_empty());
        assert_eq!(codes("04", STERBEDATUM_NA), ["WrongFormatVitalstatus"]);
        assert_eq!(codes("1", "2024-01-31"), ["WrongFormatVitalstatus"]);
        assert_eq!(codes("02", "31.01.2024"), ["WrongFormatSterbedatum"]);
        assert_eq!(codes("01", "--N/A--"), ["WrongFormatSterbedatum"]);
        assert_eq!(codes("02", STERBEDATUM_NA), ["InconsistentSterbedatum"]);
        assert_eq!(codes("01", "2024-01-31"), ["InconsistentSterbedatum"]);
    }

    #[test]
    fn par_map_keeps_order() {
        let v = par_map(1000, 4, 10, |i| i * 2);
        assert_eq!(v, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(par_map(3, 4, 10, |i| i), vec![0, 1, 2]);
        assert!(par_map(0, 4, 0, |i| i).is_empty());
    }
}
