//! The journal: every request a simulator answered, with its verdict, status and diagnoses. Bounded (oldest
//! entries are dropped first, and the drop is counted), consistent under concurrent requests, and awaitable so
//! a scenario runner can wait for an asynchronous effect with a bound instead of sleeping.

use crate::Diagnosis;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

pub const DEFAULT_CAPACITY: usize = 10_000;

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

struct State {
    entries: VecDeque<JournalEntry>,
    next_seq: u64,
    dropped: u64,
}

pub struct Journal {
    name: &'static str,
    capacity: usize,
    state: Mutex<State>,
    tick: watch::Sender<u64>,
}

impl Journal {
    pub fn new(name: &'static str, capacity: usize) -> Journal {
        Journal {
            name,
            capacity: capacity.max(1),
            state: Mutex::new(State {
                entries: VecDeque::new(),
                next_seq: 1,
                dropped: 0,
            }),
            tick: watch::channel(0).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave an entry half-written (push is atomic), so a
        // poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Append an entry; `seq`, `at` and `simulator` are filled in. Returns the sequence number.
    pub fn record(&self, mut entry: JournalEntry) -> u64 {
        let seq = {
            let mut st = self.lock();
            entry.seq = st.next_seq;
            st.next_seq += 1;
            entry.simulator = self.name.to_string();
            if entry.at.is_empty() {
                entry.at = crate::now_rfc3339();
            }
            if st.entries.len() >= self.capacity {
                st.entries.pop_front();
                st.dropped += 1;
            }
            let seq = entry.seq;
            st.entries.push_back(entry);
            seq
        };
        self.tick.send_replace(seq);
        seq
    }

    /// Entries with `seq > since`, at most `limit`.
    pub fn entries(&self, since: u64, limit: usize) -> Vec<JournalEntry> {
        self.lock()
            .entries
            .iter()
            .filter(|e| e.seq > since)
            .take(limit)
            .cloned()
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

    /// Entries dropped because the journal was full.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }

    pub fn clear(&self) {
        let mut st = self.lock();
        st.entries.clear();
        st.dropped = 0;
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
                .find(|e| e.seq > since && pred(e))
            {
                return Some(e.clone());
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return None,
            }
        }
    }
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
