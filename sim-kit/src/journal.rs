//! The journal: every request a simulator answered, with its verdict, status and diagnoses. Bounded by entry
//! count *and* bytes (oldest entries are dropped first, and the drop is counted; every text in an entry is
//! clipped, see [`bound_entry`]), consistent under concurrent requests, and awaitable so a scenario runner
//! can wait for an asynchronous effect with a bound instead of sleeping. Entries are shared (`Arc`), so
//! the admin API can stream a page without copying it.

use crate::{Diagnosis, clip};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

pub const DEFAULT_CAPACITY: usize = 10_000;
/// Default byte budget (approximate size of the entries kept).
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// What the simulator made of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Answered as a success (2xx, or a SOAP response without fault).
    Accepted,
    /// Rejected because of the client's request (4xx, SOAP client fault).
    Rejected,
    /// The simulator failed internally (5xx not injected). Always a bug in the simulator.
    Failed,
    /// The answer was an injected fault.
    Injected,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Monotonic per simulator instance, starting at 1; not reset by clearing.
    pub seq: u64,
    pub at: String,
    pub simulator: String,
    pub method: String,
    /// Path and query as requested.
    pub path: String,
    /// Domain operation (`vitalstatusnotification`, `SignDocument`, …) when the simulator knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub status: u16,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<Diagnosis>,
    /// Description of an injected fault applied to this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    pub duration_ms: f64,
    /// Simulator-specific data: e.g. the decrypted plaintext of an accepted delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

struct Stored {
    entry: Arc<JournalEntry>,
    size: usize,
}

struct State {
    entries: VecDeque<Stored>,
    bytes: usize,
    next_seq: u64,
    dropped: u64,
    max_entries: usize,
    max_bytes: usize,
}

pub struct Journal {
    name: &'static str,
    state: Mutex<State>,
    tick: watch::Sender<u64>,
    sink: Mutex<Option<Arc<dyn JournalSink>>>,
}

/// Where journal entries go besides memory (`konform up --journal-file`): called once per entry, after
/// it was bounded and numbered, outside the journal's lock.
pub trait JournalSink: Send + Sync {
    fn write(&self, entry: &JournalEntry);
    /// The journal of `simulator` was cleared; entries up to `up_to` are gone.
    fn cleared(&self, _simulator: &str, _up_to: u64) {}
}

impl Journal {
    /// A journal keeping at most `capacity` entries and [`DEFAULT_MAX_BYTES`] bytes.
    pub fn new(name: &'static str, capacity: usize) -> Journal {
        Journal::with_budget(name, capacity, DEFAULT_MAX_BYTES)
    }

    pub fn with_budget(name: &'static str, max_entries: usize, max_bytes: usize) -> Journal {
        Journal {
            name,
            state: Mutex::new(State {
                entries: VecDeque::new(),
                bytes: 0,
                next_seq: 1,
                dropped: 0,
                max_entries: max_entries.max(1),
                max_bytes: max_bytes.max(1),
            }),
            tick: watch::channel(0).0,
            sink: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave an entry half-written (push is atomic), so a
        // poisoned lock is still consistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Change the budget; entries over it are dropped at once (oldest first, counted).
    pub fn set_budget(&self, max_entries: usize, max_bytes: usize) {
        let mut st = self.lock();
        st.max_entries = max_entries.max(1);
        st.max_bytes = max_bytes.max(1);
        st.make_room(0);
    }

    /// `(max_entries, max_bytes)`.
    pub fn budget(&self) -> (usize, usize) {
        let st = self.lock();
        (st.max_entries, st.max_bytes)
    }

    /// Send every entry recorded from now on to `sink` as well.
    pub fn set_sink(&self, sink: Arc<dyn JournalSink>) {
        *self
            .sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sink);
    }

    /// Append an entry; `seq`, `at` and `simulator` are filled in, every text field is bounded
    /// ([`bound_entry`]). Returns the sequence number.
    pub fn record(&self, mut entry: JournalEntry) -> u64 {
        let max_data = {
            let st = self.lock();
            (st.max_bytes / 8).clamp(1024, MAX_DATA_BYTES)
        };
        let size = bound_entry(&mut entry, max_data);
        entry.simulator = self.name.to_string();
        if entry.at.is_empty() {
            entry.at = crate::now_rfc3339();
        }
        let (seq, stored) = {
            let mut st = self.lock();
            entry.seq = st.next_seq;
            st.next_seq += 1;
            st.make_room(size);
            let seq = entry.seq;
            let entry = Arc::new(entry);
            st.entries.push_back(Stored {
                entry: entry.clone(),
                size,
            });
            st.bytes += size;
            (seq, entry)
        };
        let sink = self
            .sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(sink) = sink {
            sink.write(&stored);
        }
        self.tick.send_replace(seq);
        seq
    }

    /// Put back entries read from a journal file at start (`seq` kept; later entries continue after
    /// the highest). Entries over the budget are dropped as usual.
    pub fn restore(&self, entries: impl IntoIterator<Item = JournalEntry>) {
        let max_data = (self.lock().max_bytes / 8).clamp(1024, MAX_DATA_BYTES);
        let mut st = self.lock();
        for mut e in entries {
            if e.seq < st.next_seq {
                continue;
            }
            let size = bound_entry(&mut e, max_data);
            st.next_seq = e.seq + 1;
            st.make_room(size);
            st.entries.push_back(Stored {
                entry: Arc::new(e),
                size,
            });
            st.bytes += size;
        }
        let last = st.next_seq - 1;
        drop(st);
        self.tick.send_replace(last);
    }

    /// Entries with `seq > since`, at most `limit`, shared (no copy of their content).
    pub fn page(&self, since: u64, limit: usize) -> Vec<Arc<JournalEntry>> {
        let st = self.lock();
        let from = st.entries.partition_point(|s| s.entry.seq <= since);
        st.entries
            .range(from..)
            .take(limit)
            .map(|s| s.entry.clone())
            .collect()
    }

    /// Entries with `seq > since`, at most `limit`.
    pub fn entries(&self, since: u64, limit: usize) -> Vec<JournalEntry> {
        self.page(since, limit)
            .into_iter()
            .map(|e| (*e).clone())
            .collect()
    }

    pub fn all(&self) -> Vec<JournalEntry> {
        self.entries(0, usize::MAX)
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate bytes of the entries kept.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Entries dropped because the journal was full (by count or by bytes).
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }

    pub fn clear(&self) {
        let last = {
            let mut st = self.lock();
            st.entries.clear();
            st.bytes = 0;
            st.dropped = 0;
            st.next_seq - 1
        };
        let sink = self
            .sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(sink) = sink {
            sink.cleared(self.name, last);
        }
    }

    /// Wait until an entry with `seq > since` satisfies `pred`, or `timeout` passes.
    pub async fn wait_for(
        &self,
        since: u64,
        timeout: Duration,
        pred: impl Fn(&JournalEntry) -> bool,
    ) -> Option<JournalEntry> {
        let mut rx = self.tick.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(e) = self
                .lock()
                .entries
                .iter()
                .find(|s| s.entry.seq > since && pred(&s.entry))
            {
                return Some((*e.entry).clone());
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return None,
            }
        }
    }
}

impl State {
    /// Drop the oldest entries until one of `size` bytes fits.
    fn make_room(&mut self, size: usize) {
        while !self.entries.is_empty()
            && (self.entries.len() + usize::from(size > 0) > self.max_entries
                || self.bytes + size > self.max_bytes)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.size;
                self.dropped += 1;
            }
        }
    }
}

/// Bytes of simulator data one entry may carry; larger data is replaced by a note.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;
/// Diagnoses one entry keeps; the rest are summarised in one `journal.diagnoses-truncated` diagnosis.
pub const MAX_DIAGNOSES: usize = 1000;

/// Bound every field of an entry (texts clipped, diagnoses bounded and at most [`MAX_DIAGNOSES`], data
/// at most `max_data` bytes) and return its approximate size in bytes.
pub fn bound_entry(e: &mut JournalEntry, max_data: usize) -> usize {
    for s in [&mut e.method, &mut e.path, &mut e.at, &mut e.simulator] {
        clip::clip_in_place(s, clip::MAX_FIELD);
    }
    for s in [&mut e.operation, &mut e.fault].into_iter().flatten() {
        clip::clip_in_place(s, clip::MAX_FIELD);
    }
    let mut size = 160 + e.method.len() + e.path.len() + e.at.len() + e.simulator.len();
    size += e.operation.as_ref().map_or(0, String::len) + e.fault.as_ref().map_or(0, String::len);
    let mut diag_bytes = 0;
    let mut kept = 0;
    for d in &mut e.diagnoses {
        if kept == MAX_DIAGNOSES || diag_bytes > max_data {
            break;
        }
        d.bound_in_place();
        diag_bytes += d.approx_size();
        kept += 1;
    }
    if kept < e.diagnoses.len() {
        let more = e.diagnoses.len() - kept;
        e.diagnoses.truncate(kept);
        let note = Diagnosis::new(
            "journal.diagnoses-truncated",
            format!(
                "{} more diagnoses not kept in the journal",
                clip::thousands(more as u64)
            ),
        );
        diag_bytes += note.approx_size();
        e.diagnoses.push(note);
    }
    size += diag_bytes;
    if let Some(data) = &e.data {
        let n = json_size(data);
        if n > max_data {
            e.data = Some(serde_json::json!({
                "konform_truncated": format!(
                    "simulator data of {} bytes not kept (journal entry limit {} bytes)",
                    clip::thousands(n as u64),
                    clip::thousands(max_data as u64)
                )
            }));
            size += 160;
        } else {
            size += n;
        }
    }
    size
}

/// Bytes of `v` serialised as JSON, without building the text.
fn json_size(v: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> JournalEntry {
        JournalEntry {
            seq: 0,
            at: String::new(),
            simulator: String::new(),
            method: "GET".into(),
            path: path.into(),
            operation: None,
            status: 200,
            verdict: Verdict::Accepted,
            diagnoses: vec![],
            fault: None,
            duration_ms: 0.0,
            data: None,
        }
    }

    #[test]
    fn bounded_and_ordered() {
        let j = Journal::new("t", 3);
        for i in 0..5 {
            j.record(entry(&format!("/{i}")));
        }
        let all = j.all();
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(j.dropped(), 2);
        assert_eq!(j.entries(4, 10).len(), 1);
        j.clear();
        assert!(j.is_empty());
        assert_eq!(j.record(entry("/x")), 6, "sequence survives clearing");
    }

    #[test]
    fn byte_budget_drops_oldest() {
        let j = Journal::with_budget("t", 1000, 64 * 1024);
        for i in 0..100 {
            let mut e = entry(&format!("/{i}"));
            e.data = Some(serde_json::json!({ "v": "x".repeat(2000) }));
            j.record(e);
        }
        assert!(j.bytes() <= 64 * 1024, "{}", j.bytes());
        assert!(j.dropped() > 50, "{}", j.dropped());
        let all = j.all();
        assert_eq!(all.last().unwrap().seq, 100, "the newest stays");
        assert_eq!(j.dropped() as usize + all.len(), 100);
        // Paging sees the survivors in order.
        let first = all[0].seq;
        assert_eq!(
            j.page(first, 2).iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![first + 1, first + 2]
        );
        // A smaller budget applies at once.
        j.set_budget(3, usize::MAX);
        assert_eq!(j.len(), 3);
    }

    #[test]
    fn oversized_data_and_diagnoses_are_summarised() {
        let j = Journal::with_budget("t", 10, 1024 * 1024);
        let mut e = entry("/big");
        e.data = Some(serde_json::json!({ "v": "x".repeat(1024 * 1024) }));
        e.diagnoses = (0..5000)
            .map(|i| Diagnosis::new("r", format!("problem {i}")))
            .collect();
        j.record(e);
        let got = &j.all()[0];
        assert!(
            got.data.as_ref().unwrap()["konform_truncated"]
                .as_str()
                .unwrap()
                .contains("1,048,584 bytes")
        );
        assert_eq!(got.diagnoses.len(), MAX_DIAGNOSES + 1);
        assert_eq!(
            got.diagnoses.last().unwrap().rule,
            "journal.diagnoses-truncated"
        );
        assert!(
            got.diagnoses
                .last()
                .unwrap()
                .message
                .starts_with("4,000 more")
        );
        assert!(j.bytes() <= 1024 * 1024);
    }

    #[test]
    fn restore_continues_the_sequence() {
        let a = Journal::new("t", 10);
        for i in 0..3 {
            a.record(entry(&format!("/{i}")));
        }
        let b = Journal::new("t", 10);
        b.restore(a.all());
        assert_eq!(b.len(), 3);
        assert_eq!(b.record(entry("/next")), 4);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
        /// Whatever a client sends — huge names, paths, values, many diagnoses — the journal stays
        /// within its byte budget and every text within its bound.
        #[test]
        fn journal_stays_within_budget(
            sizes in proptest::collection::vec((0usize..600_000, 0usize..300_000, 0usize..50), 1..30),
            budget_kib in 64usize..2048,
        ) {
            let budget = budget_kib * 1024;
            let j = Journal::with_budget("t", 10_000, budget);
            for (name_len, value_len, n_diag) in sizes {
                let name = "N".repeat(name_len);
                let mut e = entry(&format!("/{name}"));
                e.method = "M".repeat(name_len / 10);
                e.operation = Some(name.clone());
                e.diagnoses = (0..n_diag)
                    .map(|_| Diagnosis::new("json.unknown-property", format!("unknown property `{name}`"))
                        .at(format!("/{name}"))
                        .hint("V".repeat(value_len)))
                    .collect();
                e.data = Some(serde_json::json!({ name.clone(): "v".repeat(value_len) }));
                j.record(e);
                proptest::prop_assert!(j.bytes() <= budget, "{} > {budget}", j.bytes());
            }
            for e in j.all() {
                proptest::prop_assert!(e.path.len() <= clip::MAX_FIELD);
                proptest::prop_assert!(e.method.len() <= clip::MAX_FIELD);
                let serialized = serde_json::to_vec(&e).unwrap().len();
                proptest::prop_assert!(serialized <= budget, "one entry of {serialized} bytes");
                for d in &e.diagnoses {
                    proptest::prop_assert!(d.message.len() <= clip::MAX_MESSAGE);
                    proptest::prop_assert!(d.location.as_ref().map_or(0, String::len) <= clip::MAX_LOCATION);
                }
            }
        }
    }

    #[tokio::test]
    async fn wait_for_sees_later_entries_and_times_out() {
        let j = std::sync::Arc::new(Journal::new("t", 10));
        let j2 = j.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            j2.record(entry("/late"));
        });
        let e = j
            .wait_for(0, Duration::from_secs(5), |e| e.path == "/late")
            .await;
        assert_eq!(e.unwrap().path, "/late");
        assert!(
            j.wait_for(0, Duration::from_millis(30), |e| e.path == "/never")
                .await
                .is_none()
        );
    }
}
