//! A journal entry as the admin API serves it (`docs/admin-api.md`), read leniently: the dashboard may
//! follow a simulator of another konform version, so unknown fields are ignored, missing ones defaulted and
//! the verdict kept as text.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    #[serde(default)]
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    #[serde(default)]
    pub at: String,
    #[serde(default)]
    pub simulator: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub verdict: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<Diagnosis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    #[serde(default)]
    pub duration_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl Entry {
    /// `POST vitalstatusnotification`, `POST SignDocument`: the method and the operation when known.
    pub fn label(&self) -> String {
        match &self.operation {
            Some(op) => format!("{} {op}", self.method),
            None => format!("{} {}", self.method, self.path_only()),
        }
    }

    /// The path without its query.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }

    /// The card handle a Konnektor operation concerned, when it says so.
    pub fn card(&self) -> Option<&str> {
        self.data.as_ref()?.get("card")?.as_str()
    }
}

/// An entry as the dashboard keeps it: which simulator (the dashboard's name for it), its arrival number
/// and its place in the merged timeline.
#[derive(Debug)]
pub struct Stored {
    /// Arrival order in this dashboard, from 1. Live updates send what arrived after a given id.
    pub id: u64,
    /// The dashboard's name of the simulator (the key in `konform up`'s ready file).
    pub sim: Arc<str>,
    /// Sort key across simulators: the fixed-width timestamp, the simulator, the zero-padded sequence.
    pub key: String,
    /// Milliseconds since the epoch (from `at`; 0 when unparseable).
    pub at_ms: i64,
    /// Approximate bytes this entry holds (for the store's byte budget).
    pub size: usize,
    pub entry: Entry,
}

impl Stored {
    pub fn new(id: u64, sim: Arc<str>, entry: Entry) -> Stored {
        let key = format!("{}|{}|{:020}", entry.at, sim, entry.seq);
        let at_ms = parse_ms(&entry.at).unwrap_or(0);
        let size = approx_size(&entry);
        Stored {
            id,
            sim,
            key,
            at_ms,
            size,
            entry,
        }
    }
}

/// Milliseconds since the epoch of an RFC 3339 timestamp.
pub fn parse_ms(at: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

fn approx_size(e: &Entry) -> usize {
    let diag: usize = e
        .diagnoses
        .iter()
        .map(|d| {
            d.rule.len()
                + d.message.len()
                + d.location.as_ref().map_or(0, String::len)
                + d.hint.as_ref().map_or(0, String::len)
                + d.seed.as_ref().map_or(0, String::len)
                + 64
        })
        .sum();
    let data = e
        .data
        .as_ref()
        .and_then(|d| serde_json::to_vec(d).ok())
        .map_or(0, |v| v.len());
    256 + e.path.len() + e.method.len() + e.at.len() + diag + data
}

/// The page of a journal the admin API answered: a JSON array (current) or an object with `entries`
/// (a paged form), whichever the simulator serves.
pub fn parse_journal_page(body: &[u8]) -> Result<Vec<Entry>, serde_json::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Page {
        Array(Vec<Entry>),
        Object { entries: Vec<Entry> },
    }
    Ok(match serde_json::from_slice::<Page>(body)? {
        Page::Array(v) => v,
        Page::Object { entries } => entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_entry_and_ignores_what_it_does_not_know() {
        let body = br#"[{"seq":7,"at":"2026-11-25T12:00:00.123Z","simulator":"vst","method":"POST",
          "path":"/notify/api/v1/vitalstatusnotification?x=1","operation":"vitalstatusnotification",
          "status":400,"verdict":"rejected","diagnoses":[{"rule":"kvnr.check-digit",
          "location":"/Meldungen/3/IdVersicherter","message":"m","seed":"002"}],"duration_ms":3.2,
          "new_field":{"a":1}}]"#;
        let v = parse_journal_page(body).unwrap();
        assert_eq!(v[0].seq, 7);
        assert_eq!(v[0].diagnoses[0].rule, "kvnr.check-digit");
        assert_eq!(v[0].label(), "POST vitalstatusnotification");
        assert_eq!(v[0].path_only(), "/notify/api/v1/vitalstatusnotification");
        let paged = br#"{"entries":[{"seq":1}],"next":null}"#;
        assert_eq!(parse_journal_page(paged).unwrap()[0].seq, 1);
        assert!(parse_journal_page(b"{").is_err());
    }

    #[test]
    fn keys_sort_by_time_then_simulator_then_seq() {
        let mk = |at: &str, sim: &str, seq| {
            Stored::new(
                0,
                sim.into(),
                Entry {
                    seq,
                    at: at.into(),
                    ..Entry::default()
                },
            )
        };
        let a = mk("2026-11-25T12:00:00.123Z", "vst", 10);
        let b = mk("2026-11-25T12:00:00.123Z", "vst", 9);
        let c = mk("2026-11-25T12:00:00.124Z", "konnektor", 1);
        assert!(b.key < a.key && a.key < c.key);
        assert_eq!(c.at_ms - a.at_ms, 1);
    }
}
