//! The checks after the answer ("diese werden asynchron bei der Registerstelle nach der Entschlüsselung
//! vorgenommen"): the Registerstelle decrypts and checks `Vitalstatus` and `Sterbedatum`; with
//! `id_checks: async` the VST's identifier checks run here too. Their findings become processing errors.
//!
//! [`PendingChecks`] keeps what the checks need after the request is answered: the body (values it holds
//! verbatim are read from it) and the decoded bytes of values whose JSON string had escapes.

use super::decrypt::{decode_into, decrypt_field, vst_value};
use super::parallel::par_map;
use super::{Ctx, ErrorStream, Field, Slots, StoredRecord, codes, ptr};
use crate::config::IdChecks;
use crate::seed;
use base64::Engine;
use sim_kit::Diagnosis;

pub use super::STERBEDATUM_NA;

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

impl PendingChecks {
    /// What is left to check after the answer: the VST values in `async` mode, and every vital status
    /// record's Vitalstatus and Sterbedatum. `None` when nothing is.
    pub(crate) fn prepare(
        id_checks: IdChecks,
        stream: ErrorStream,
        body: &bytes::Bytes,
        values: &[Slots<'_>],
    ) -> Option<PendingChecks> {
        let fields = stream.fields();
        let mut work = Vec::new();
        for (i, r) in values.iter().enumerate() {
            for (j, f) in fields.iter().enumerate() {
                let wanted = if f.for_vst() {
                    id_checks == IdChecks::Async
                } else {
                    true
                };
                if wanted && r[j].is_some() {
                    work.push((i, j));
                }
            }
        }
        if work.is_empty() {
            return None;
        }
        // Keep the body for values it holds verbatim; decode only strings that had JSON escapes.
        let base = body.as_ptr() as usize;
        let engine = &base64::engine::general_purpose::STANDARD;
        let mut decoded = Vec::new();
        let mut items = Vec::with_capacity(work.len());
        for (i, j) in work {
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
        Some(PendingChecks {
            stream,
            body: body.clone(),
            decoded,
            work: items,
        })
    }
}

/// A value the asynchronous checks decrypted.
#[derive(Clone, Debug)]
pub struct DecryptedValue {
    pub field: Field,
    pub value: String,
}

/// A processing error the asynchronous checks raised, with our explanation.
#[derive(Clone, Debug)]
pub struct Finding {
    pub code: &'static str,
    pub diagnosis: Diagnosis,
}

/// The outcome of the asynchronous checks for one record.
#[derive(Clone, Debug, Default)]
pub struct AsyncResult {
    pub record: usize,
    pub values: Vec<DecryptedValue>,
    pub errors: Vec<Finding>,
}

/// The checks after the answer: VST values in `async` mode, and the Registerstelle's checks of
/// Vitalstatus and Sterbedatum ("diese werden asynchron bei der Registerstelle nach der Entschlüsselung
/// vorgenommen").
pub fn run_async_checks(ctx: &Ctx<'_>, p: &PendingChecks) -> Vec<AsyncResult> {
    let fields = p.stream.fields();
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
                Ok(value) => res.values.push(DecryptedValue { field: f, value }),
                Err(issue) => res.errors.push(Finding {
                    code: issue.code(),
                    diagnosis: issue.diagnosis,
                }),
            }
        }
        let get = |f: Field| {
            res.values
                .iter()
                .find(|v| v.field == f)
                .map(|v| v.value.as_str())
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
    errors: &mut Vec<Finding>,
) {
    let vs_ok = match vitalstatus {
        Some(v @ ("01" | "02" | "03")) => Some(v),
        Some(v) => {
            errors.push(Finding {
                code: Field::Vitalstatus.wrong_format_code(),
                diagnosis: Diagnosis::new(
                    "vitalstatus.value",
                    format!("the decrypted Vitalstatus `{}` is not one of 01 (Lebend), 02 (Verstorben), 03 (Unbekannt)", v.escape_debug()),
                )
                .at(ptr(record, "Vitalstatus"))
                .seed(seed::VITALSTATUS),
            });
            None
        }
        None => None,
    };
    let sd_kind = match sterbedatum {
        Some(STERBEDATUM_NA) => Some(false),
        Some(d) if is_date(d) => Some(true),
        Some(d) => {
            errors.push(Finding {
                code: Field::Sterbedatum.wrong_format_code(),
                diagnosis: Diagnosis::new(
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
            });
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
            errors.push(Finding {
                code: codes::INCONSISTENT_STERBEDATUM,
                diagnosis: Diagnosis::new(
                    "sterbedatum.consistency",
                    if v == "02" {
                        "Vitalstatus 02 (Verstorben) needs a Sterbedatum, but the filler ---N/A---- was sent".to_string()
                    } else {
                        format!("Vitalstatus {v} (Lebend/Unbekannt) needs the filler ---N/A---- as Sterbedatum, but a date was sent")
                    },
                )
                .at(ptr(record, "Sterbedatum"))
                .seed(seed::STERBEDATUM),
            });
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
        for v in r.values.drain(..) {
            rec.set(v.field, v.value);
        }
        for f in &r.errors {
            rec.errors.push(f.code.to_string());
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
            e.into_iter().map(|f| f.code).collect::<Vec<_>>()
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
}
