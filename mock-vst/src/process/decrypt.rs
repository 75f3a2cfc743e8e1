//! Decryption of the encrypted values for their recipient ("Verschlüsselung der Eingangsdaten"), with
//! the near miss named when a value does not decrypt, and the VST's checks of the decrypted identifiers
//! (KVNR and IK rules, environment). Before the answer in `id_checks: sync` (`check_vst_values`),
//! after it in `async` (see [`super::asynchronous`]).

use super::parallel::par_records;
use super::{Ctx, ErrorStream, Field, Issue, IssueKind, Rejection, Slots, StoredRecord, ptr};
use crate::seed;
use base64::Engine;
use sim_kit::Diagnosis;
use ti_core::ecies::{self, DecryptFailure};
use ti_core::ids::{self, KvnrError};

/// Diagnoses listed for a rejected delivery before the rest are only counted.
pub(crate) const LISTED: usize = 20;

/// An `IdVersicherterAlt` equal to the new `IdVersicherter`: accepted (the seed lists no check), but the
/// seed sets it only "wenn der Versicherte bei seiner Vorversicherung unter einer anderen Nummer
/// versichert war".
pub(crate) fn alt_equals_new(
    record: usize,
    id_versicherter: Option<&str>,
    id_versicherter_alt: Option<&str>,
) -> Option<Diagnosis> {
    let (new, old) = (id_versicherter?, id_versicherter_alt?);
    (new == old).then(|| {
        Diagnosis::new(
            "kvnr.alt-equals-new",
            "IdVersicherterAlt equals IdVersicherter; it is only set when the insured person had another number at the previous insurer",
        )
        .at(ptr(record, "IdVersicherterAlt"))
        .hint("leave IdVersicherterAlt out when the number did not change")
        .seed(seed::KVNR_ALT)
    })
}

/// Decrypt and check every VST value (IdVersicherter, IdVersicherterAlt, IkAlt) before the answer; keep
/// the plaintext in `records`. The first failing value decides the status.
pub(crate) fn check_vst_values(
    ctx: &Ctx<'_>,
    stream: ErrorStream,
    values: &[Slots<'_>],
    records: &mut [StoredRecord],
) -> Result<(), Rejection> {
    let fields = stream.fields();
    let vst_slots: Vec<usize> = (0..3).filter(|j| fields[*j].for_vst()).collect();
    let (issues, count) = par_records(
        records,
        ctx.threads,
        ctx.parallel_threshold,
        LISTED,
        |i, rec, issues| {
            let mut buf = [0u8; 512];
            let mut spill = Vec::new();
            for &j in &vst_slots {
                let Some(v) = values[i][j] else { continue };
                let Some(data) = decode_into(v, &mut buf, &mut spill) else {
                    continue;
                };
                match vst_value(ctx, i, fields[j], data) {
                    Ok(s) => rec.set(fields[j], s),
                    Err(issue) => issues.push(issue),
                }
            }
        },
    );
    let Some(first) = issues.first() else {
        return Ok(());
    };
    let status = first.status();
    let mut diagnoses: Vec<Diagnosis> = issues.into_iter().map(|i| i.diagnosis).collect();
    if count > diagnoses.len() {
        diagnoses.push(Diagnosis::new(
            "delivery.more-errors",
            format!("{count} values failed their checks in all; the first {LISTED} are listed"),
        ));
    }
    Err(Rejection { status, diagnoses })
}

/// Decrypt one value for its intended recipient; on failure name the near miss or the wrong recipient.
pub(crate) fn decrypt_field(
    ctx: &Ctx<'_>,
    record: usize,
    field: Field,
    data: &[u8],
) -> Result<String, Issue> {
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
pub(crate) fn vst_value(
    ctx: &Ctx<'_>,
    record: usize,
    field: Field,
    data: &[u8],
) -> Result<String, Issue> {
    let v = decrypt_field(ctx, record, field, data)?;
    match field {
        Field::IkAlt => check_ik_value(record, &v)?,
        _ => check_kvnr_value(ctx, record, field, &v)?,
    }
    Ok(v)
}

/// Decode a base64 value into `buf` when it fits (no allocation), else into a fresh vector.
pub(crate) fn decode_into<'b>(
    v: &str,
    buf: &'b mut [u8; 512],
    spill: &'b mut Vec<u8>,
) -> Option<&'b [u8]> {
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
