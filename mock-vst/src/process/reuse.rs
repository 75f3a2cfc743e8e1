//! Ephemeral key and IV reuse ("für jeden verschlüsselten Wert muss ein eigenes, temporäres Schlüsselpaar
//! gebildet und verwendet werden", "für jede AES-GCM-Verschlüsselungsoperation muss ein eigener, zufällig
//! gewürfelter IV gebildet werden"): within a delivery (`within_delivery`) and across deliveries
//! ([`ReuseIndex`]). A value is fingerprinted by the first 8 bytes of its ephemeral X and of its IV,
//! read from the first 104 base64 characters only.

use super::{ErrorStream, Rejection, Slots, ptr};
use crate::config::ReusePolicy;
use crate::seed;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sim_kit::Diagnosis;
use std::collections::HashSet;
use ti_core::ecies;

/// Diagnoses listed per delivery before the rest are only counted.
const LISTED: usize = 10;

/// Fingerprints kept for cross-delivery checks before the window restarts.
pub const REUSE_WINDOW: usize = 4_000_000;

/// Ephemeral key and IV of one value, for reuse checks across deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub x: u64,
    pub iv: u64,
    pub record: u32,
    pub slot: u8,
}

/// Which half of the fingerprint is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    EphemeralKey,
    Iv,
}

impl Part {
    fn of(self, f: &Fingerprint) -> u64 {
        match self {
            Part::EphemeralKey => f.x,
            Part::Iv => f.iv,
        }
    }
    fn what(self) -> &'static str {
        match self {
            Part::EphemeralKey => "ephemeral key",
            Part::Iv => "IV",
        }
    }
    fn rule(self) -> &'static str {
        match self {
            Part::EphemeralKey => "ecies.key-reuse",
            Part::Iv => "ecies.iv-reuse",
        }
    }
}

fn reuse_diagnosis(part: Part, at: String, earlier: &str) -> Diagnosis {
    Diagnosis::new(
        part.rule(),
        format!(
            "the {} of this value was already used {earlier}",
            part.what()
        ),
    )
    .at(at)
    .hint("generate a fresh ephemeral key pair and a fresh random IV for every encrypted value")
    .seed(seed::KEY_REUSE)
}

fn field_ptr(stream: ErrorStream, f: &Fingerprint) -> String {
    ptr(f.record as usize, stream.fields()[f.slot as usize].name())
}

/// Fingerprint every value of a delivery and diagnose reuse within it (sort, compare neighbours).
/// Returns the diagnoses to report with the answer and the fingerprints for [`ReuseIndex`]; with policy
/// `reject`, reuse is a 400. With `ignore`, nothing is fingerprinted.
pub(crate) fn within_delivery(
    policy: ReusePolicy,
    stream: ErrorStream,
    values: &[Slots<'_>],
) -> Result<(Vec<Diagnosis>, Vec<Fingerprint>), Rejection> {
    if policy == ReusePolicy::Ignore {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut fingerprints = Vec::with_capacity(values.len() * 3);
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
    for part in [Part::EphemeralKey, Part::Iv] {
        fingerprints.sort_unstable_by_key(|f| (part.of(f), f.record, f.slot));
        let mut first = 0;
        for k in 1..fingerprints.len() {
            if part.of(&fingerprints[k]) != part.of(&fingerprints[first]) {
                first = k;
                continue;
            }
            count += 1;
            if found.len() < LISTED {
                let (a, b) = (&fingerprints[first], &fingerprints[k]);
                let earlier = format!("for {}", field_ptr(stream, a));
                found.push((
                    b.record,
                    b.slot,
                    reuse_diagnosis(part, field_ptr(stream, b), &earlier),
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
    if !found.is_empty() && policy == ReusePolicy::Reject {
        return Err(Rejection {
            status: 400,
            diagnoses: found,
        });
    }
    Ok((found, fingerprints))
}

/// Fingerprints of accepted deliveries, for reuse across deliveries (the last ~[`REUSE_WINDOW`] values).
#[derive(Debug, Default)]
pub struct ReuseIndex {
    seen_x: HashSet<u64>,
    seen_iv: HashSet<u64>,
}

impl ReuseIndex {
    /// Diagnoses for values of a delivery whose ephemeral key or IV an earlier delivery used.
    pub fn check(&self, stream: ErrorStream, fingerprints: &[Fingerprint]) -> Vec<Diagnosis> {
        let mut found = Vec::new();
        let mut count = 0;
        for f in fingerprints {
            for (part, seen) in [
                (Part::EphemeralKey, &self.seen_x),
                (Part::Iv, &self.seen_iv),
            ] {
                if seen.contains(&part.of(f)) {
                    count += 1;
                    if found.len() < LISTED {
                        found.push(reuse_diagnosis(
                            part,
                            field_ptr(stream, f),
                            "in an earlier delivery",
                        ));
                    }
                }
            }
        }
        if count > found.len() {
            found.push(
                Diagnosis::new(
                    "ecies.key-reuse",
                    format!("{count} ephemeral keys or IVs of this delivery were used in earlier deliveries"),
                )
                .seed(seed::KEY_REUSE),
            );
        }
        found
    }

    /// Remember a delivery's fingerprints (the window restarts when it is full).
    pub fn remember(&mut self, fingerprints: &[Fingerprint]) {
        if self.seen_x.len() + fingerprints.len() > REUSE_WINDOW {
            self.clear();
        }
        for f in fingerprints {
            self.seen_x.insert(f.x);
            self.seen_iv.insert(f.iv);
        }
    }

    pub fn clear(&mut self) {
        self.seen_x.clear();
        self.seen_iv.clear();
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
