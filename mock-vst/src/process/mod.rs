//! Checking a delivery: everything between the body bytes and "accept" or "reject with status + diagnoses",
//! and the asynchronous checks after acceptance ("bei der Registerstelle nach der Entschlüsselung").
//! No I/O, no clock: the HTTP edge calls [`check_delivery`] on a blocking thread and
//! [`run_async_checks`] after answering.
//!
//! Both POST endpoints take the same path through here ([`check_delivery`]): a delivery is an
//! `IdDatenlieferung`, records of an `IdDatensatz` and three value slots ([`ErrorStream::fields`]), and a
//! `Signatur`. The stream only decides which fields the slots are.
//!
//! - [`delivery`]: the CMS signature over the signature input (with near-miss diagnosis), the ids
//! - [`decrypt`]: decryption for the right recipient, KVNR / IK checks of the decrypted values
//! - [`reuse`]: ephemeral key and IV reuse, within a delivery and across deliveries
//! - [`asynchronous`]: what runs after the answer (Registerstelle checks, `id_checks: async`)
//! - [`parallel`]: record-parallel helpers for large deliveries
// `Issue` carries a whole diagnosis on purpose; the error path is the rare one.
#![allow(clippy::result_large_err)]

pub mod asynchronous;
pub mod decrypt;
pub mod delivery;
pub mod parallel;
pub mod reuse;

pub use asynchronous::{
    AsyncResult, DecryptedValue, Finding, PendingChecks, apply_async, is_date,
    registerstelle_checks, run_async_checks,
};
pub use parallel::par_map;
pub use reuse::{Fingerprint, ReuseIndex};

use crate::config::{IdChecks, Profile};
use crate::{json, model, seed};
use serde::{Deserialize, Serialize};
use sim_kit::Diagnosis;
use ti_core::EcSecretKey;
use ti_core::cms::{CmsFailure, ParsedCms};
use ti_core::ecies::EciesParams;
use ti_core::ids::{Environment, KvnrRules};
use ti_core::sig_input::Segment;

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

    /// The value fields of a record in document (and signature input) order.
    pub fn fields(self) -> [Field; 3] {
        match self {
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

    /// The record type of the OpenAPI definition and its properties.
    fn record_schema(self) -> (&'static str, &'static [model::Prop; 4]) {
        match self {
            ErrorStream::VitalStatus => ("a VitalStatusNotification", &model::VS_RECORD),
            ErrorStream::InsuranceUpdate => ("an InsuranceUpdateNotification", &model::IU_RECORD),
        }
    }
}

/// A value field and whose key it is encrypted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// Encrypted for the VST (else for the Registerstelle).
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

impl StoredRecord {
    /// Keep a decrypted value.
    pub fn set(&mut self, f: Field, v: String) {
        let slot = match f {
            Field::IdVersicherter => &mut self.id_versicherter,
            Field::Vitalstatus => &mut self.vitalstatus,
            Field::Sterbedatum => &mut self.sterbedatum,
            Field::IdVersicherterAlt => &mut self.id_versicherter_alt,
            Field::IkAlt => &mut self.ik_alt,
        };
        *slot = Some(v);
    }
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

/// The authenticated insurer a delivery comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InsurerId {
    #[serde(rename = "TelematikId")]
    pub telematik_id: String,
    #[serde(rename = "HauptIK")]
    pub haupt_ik: String,
}

/// The chain check of a CMS signer (the state caches it; the asynchronous checks skip it).
pub type TrustCheck<'s> = &'s (dyn Fn(&ParsedCms) -> Result<(), CmsFailure> + Sync);

/// What checking needs besides the body.
pub struct Ctx<'s> {
    pub profile: &'s Profile,
    pub environment: Environment,
    pub kvnr: &'s KvnrRules,
    pub vst_enc: &'s EcSecretKey,
    pub registerstelle_enc: &'s EcSecretKey,
    pub insurer: &'s InsurerId,
    pub limits: json::Limits,
    pub threads: usize,
    pub parallel_threshold: usize,
    pub trust: TrustCheck<'s>,
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

/// The JSON pointer of a record's field.
pub(crate) fn ptr(record: usize, field: &str) -> String {
    format!("/Meldungen/{record}/{field}")
}

/// The three value slots of each record, as sent (base64 text).
pub(crate) type Slots<'a> = [Option<&'a str>; 3];

/// Check a delivery body completely (everything the VST does before it answers).
pub fn check_delivery(
    ctx: &Ctx<'_>,
    stream: ErrorStream,
    body: &bytes::Bytes,
) -> Result<Checked, Rejection> {
    let doc = json::parse(body, ctx.limits).map_err(reject_json)?;
    let (type_name, props) = stream.record_schema();
    let bundle = model::delivery(doc, type_name, props).map_err(reject_field)?;
    let id_datenlieferung: &str = &bundle.id_datenlieferung;
    let ids: Vec<&str> = bundle.meldungen.iter().map(|r| &*r.id_datensatz).collect();
    let values: Vec<Slots<'_>> = bundle
        .meldungen
        .iter()
        .map(|r| r.values.each_ref().map(|v| v.as_deref()))
        .collect();

    let segments = signature_segments(stream, id_datenlieferung, &ids, &values);
    delivery::check_signature(ctx, &bundle.signatur, &segments)?;
    drop(segments);
    delivery::check_ids(id_datenlieferung, &ids)?;
    let (warnings, fingerprints) = reuse::within_delivery(ctx.profile.key_reuse, stream, &values)?;

    let mut records: Vec<StoredRecord> = ids
        .iter()
        .map(|id| StoredRecord {
            id_datensatz: (*id).to_string(),
            ..StoredRecord::default()
        })
        .collect();
    if ctx.profile.id_checks == IdChecks::Sync {
        decrypt::check_vst_values(ctx, stream, &values, &mut records)?;
    }
    let pending = PendingChecks::prepare(ctx.profile.id_checks, stream, body, &values);
    Ok(Checked {
        stream,
        id_datenlieferung: id_datenlieferung.to_string(),
        records,
        warnings,
        fingerprints,
        pending,
    })
}

/// The signature input of a delivery: `IdDatenlieferung|IdDatensatz1|value|value|value|IdDatensatz2|…`,
/// an absent optional value contributing nothing (see `ti_core::sig_input`).
fn signature_segments<'a>(
    stream: ErrorStream,
    id_datenlieferung: &'a str,
    ids: &[&'a str],
    values: &[Slots<'a>],
) -> Vec<Segment<'a>> {
    let fields = stream.fields();
    let mut s = Vec::with_capacity(1 + ids.len() * 4);
    s.push(Segment::plain("IdDatenlieferung", None, id_datenlieferung));
    for (i, (id, slots)) in ids.iter().zip(values).enumerate() {
        s.push(Segment::plain("IdDatensatz", Some(i), id));
        for (f, v) in fields.iter().zip(slots) {
            s.push(match v {
                Some(v) => Segment::byte(f.name(), Some(i), v),
                None => Segment::absent_byte(f.name(), Some(i)),
            });
        }
    }
    s
}

fn reject_json(e: json::JsonError) -> Rejection {
    let mut d =
        Diagnosis::new(e.rule, format!("{} (byte {})", e.message, e.offset)).seed(seed::JSON_RULES);
    if !e.pointer.is_empty() {
        d = d.at(e.pointer);
    }
    if e.rule == json::rules::UTF8 {
        d = d.seed(seed::CONTENT_TYPE);
    }
    Rejection::new(400, d)
}

fn reject_field(e: model::FieldError) -> Rejection {
    let seed_ref = match e.rule {
        model::rules::REQUIRED
        | model::rules::EMPTY_STRING
        | model::rules::EMPTY_DELIVERY
        | model::rules::TYPE => seed::REQUIRED,
        _ => seed::JSON_RULES,
    };
    Rejection::new(
        400,
        Diagnosis::new(e.rule, e.message)
            .at(e.pointer)
            .seed(seed_ref),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ti_core::sig_input::{self, InsuranceUpdateRecord, Variant, VitalStatusRecord};

    /// The generic segments equal ti-core's per-stream builders (the seed's hex dumps are tested there).
    #[test]
    fn generic_signature_input_equals_the_per_stream_builders() {
        let (a, b, c) = ("AQ==", "Ag==", "Aw==");
        let vs = sig_input::vitalstatus_segments(
            "L",
            &[VitalStatusRecord {
                id_datensatz: "1",
                id_versicherter: a,
                vitalstatus: b,
                sterbedatum: c,
            }],
        );
        let generic = signature_segments(
            ErrorStream::VitalStatus,
            "L",
            &["1"],
            &[[Some(a), Some(b), Some(c)]],
        );
        let build = |s: &[Segment<'_>]| sig_input::build_variant(s, Variant::Canonical).unwrap();
        assert_eq!(build(&generic), build(&vs));
        let iu = sig_input::insurance_update_segments(
            "L",
            &[
                InsuranceUpdateRecord {
                    id_datensatz: "1",
                    id_versicherter: a,
                    id_versicherter_alt: None,
                    ik_alt: c,
                },
                InsuranceUpdateRecord {
                    id_datensatz: "2",
                    id_versicherter: a,
                    id_versicherter_alt: Some(b),
                    ik_alt: c,
                },
            ],
        );
        let generic = signature_segments(
            ErrorStream::InsuranceUpdate,
            "L",
            &["1", "2"],
            &[[Some(a), None, Some(c)], [Some(a), Some(b), Some(c)]],
        );
        assert_eq!(build(&generic), build(&iu));
        for v in [Variant::EmptySegmentForAbsent, Variant::Base64Text] {
            assert_eq!(
                sig_input::build_variant(&generic, v).unwrap(),
                sig_input::build_variant(&iu, v).unwrap()
            );
        }
    }
}
