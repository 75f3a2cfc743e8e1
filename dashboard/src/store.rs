//! The merged timeline: the latest entries of every followed simulator, sorted by time, bounded by count
//! and by bytes (the oldest go first), with the cross-simulator flows and a tick for live pages.

use crate::entry::{Entry, Stored};
use crate::filter::Filter;
use crate::flow::Flows;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

pub const DEFAULT_MAX_ENTRIES: usize = 20_000;
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

struct Inner {
    /// Sorted by `key` (oldest first).
    entries: VecDeque<Arc<Stored>>,
    by_member: HashMap<(Arc<str>, u64), Arc<Stored>>,
    next_id: u64,
    bytes: usize,
    dropped: u64,
    flows: Flows,
    /// Flows that gained members, with the arrival id at which they did (for live pages).
    flow_changes: VecDeque<(u64, u64)>,
    rules: BTreeSet<String>,
}

pub struct Timeline {
    max_entries: usize,
    max_bytes: usize,
    inner: Mutex<Inner>,
    tick: watch::Sender<u64>,
}

/// A page of entries, newest first.
pub struct Page {
    /// With each entry its flow, when it belongs to one.
    pub entries: Vec<(Arc<Stored>, Option<u64>)>,
    /// The key to continue with (`before=`) when older matching entries exist.
    pub older: Option<String>,
}

/// A flow and its members (simulator, sequence number).
pub type FlowUpdate = (u64, Vec<(Arc<str>, u64)>);

/// What arrived since a live page's last update.
pub struct Update {
    /// Newest first, at most the asked number, each with its flow.
    pub entries: Vec<(Arc<Stored>, Option<u64>)>,
    /// How many matching entries arrived (may exceed `entries.len()`).
    pub matched: usize,
    /// The arrival id to ask from next time.
    pub last_id: u64,
    /// Flows that gained members.
    pub flows: Vec<FlowUpdate>,
}

impl Timeline {
    pub fn new(max_entries: usize, max_bytes: usize) -> Timeline {
        Timeline {
            max_entries: max_entries.max(1),
            max_bytes: max_bytes.max(1),
            inner: Mutex::new(Inner {
                entries: VecDeque::new(),
                by_member: HashMap::new(),
                next_id: 1,
                bytes: 0,
                dropped: 0,
                flows: Flows::default(),
                flow_changes: VecDeque::new(),
                rules: BTreeSet::new(),
            }),
            tick: watch::channel(0).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A receiver that changes whenever entries arrive (its value is the last arrival id).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tick.subscribe()
    }

    /// Add entries of one simulator (in its journal order).
    pub fn add(&self, sim: &Arc<str>, entries: Vec<Entry>) {
        if entries.is_empty() {
            return;
        }
        let last = {
            let mut g = self.lock();
            let st = &mut *g;
            for e in entries {
                let member = (sim.clone(), e.seq);
                if st.by_member.contains_key(&member) {
                    continue;
                }
                let s = Arc::new(Stored::new(st.next_id, sim.clone(), e));
                st.next_id += 1;
                for d in &s.entry.diagnoses {
                    if st.rules.len() < 1_000 && !st.rules.contains(&d.rule) {
                        st.rules.insert(d.rule.clone());
                    }
                }
                let pos = st.entries.partition_point(|x| x.key <= s.key);
                st.bytes += s.size;
                st.by_member.insert(member, s.clone());
                st.entries.insert(pos, s.clone());
                for flow in st.flows.observe(&s) {
                    st.flow_changes.push_back((s.id, flow));
                }
                while st.flow_changes.len() > 1_000 {
                    st.flow_changes.pop_front();
                }
                while st.entries.len() > self.max_entries
                    || (st.bytes > self.max_bytes && st.entries.len() > 1)
                {
                    let Some(old) = st.entries.pop_front() else {
                        break;
                    };
                    st.bytes -= old.size;
                    st.dropped += 1;
                    st.by_member.remove(&(old.sim.clone(), old.entry.seq));
                }
            }
            st.next_id - 1
        };
        self.tick.send_replace(last);
    }

    /// Forget a simulator's entries (its journal was cleared or it restarted).
    pub fn forget_sim(&self, sim: &str) {
        let mut g = self.lock();
        let st = &mut *g;
        st.entries.retain(|e| &*e.sim != sim);
        st.by_member.retain(|(s, _), _| &**s != sim);
        st.bytes = st.entries.iter().map(|e| e.size).sum();
        drop(g);
        self.tick.send_modify(|_| {});
    }

    pub fn get(&self, sim: &str, seq: u64) -> Option<Arc<Stored>> {
        self.lock().by_member.get(&(Arc::from(sim), seq)).cloned()
    }

    pub fn flow_of(&self, s: &Stored) -> Option<u64> {
        self.lock().flows.flow_of(&s.sim, s.entry.seq)
    }

    /// The stored members of a flow, oldest first.
    pub fn flow(&self, flow: u64) -> Vec<Arc<Stored>> {
        let g = self.lock();
        let mut v: Vec<_> = g
            .flows
            .members(flow)
            .iter()
            .filter_map(|m| g.by_member.get(&(m.sim.clone(), m.seq)).cloned())
            .collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }

    /// Matching entries older than `before` (a key), newest first, at most `limit`.
    pub fn page(&self, f: &Filter, before: Option<&str>, limit: usize) -> Page {
        let g = self.lock();
        let mut out = Vec::new();
        let mut older = None;
        for s in g.entries.iter().rev() {
            if before.is_some_and(|b| s.key.as_str() >= b) {
                continue;
            }
            let flow = g.flows.flow_of(&s.sim, s.entry.seq);
            if !f.matches(s, flow) {
                continue;
            }
            if out.len() == limit {
                older = out.last().map(|(l, _): &(Arc<Stored>, _)| l.key.clone());
                break;
            }
            out.push((s.clone(), flow));
        }
        Page {
            entries: out,
            older,
        }
    }

    /// Matching entries that arrived after `after_id`, newest first, at most `limit`.
    pub fn since(&self, f: &Filter, after_id: u64, limit: usize) -> Update {
        let g = self.lock();
        let mut matched = 0;
        let mut out = Vec::new();
        for s in g.entries.iter().rev() {
            if s.id <= after_id {
                continue;
            }
            let flow = g.flows.flow_of(&s.sim, s.entry.seq);
            if !f.matches(s, flow) {
                continue;
            }
            matched += 1;
            if out.len() < limit {
                out.push((s.clone(), flow));
            }
        }
        let mut flows: Vec<u64> = g
            .flow_changes
            .iter()
            .filter(|(id, _)| *id > after_id)
            .map(|(_, f)| *f)
            .collect();
        flows.dedup();
        let flows = flows
            .into_iter()
            .map(|id| {
                let m = g.flows.members(id);
                (id, m.iter().map(|m| (m.sim.clone(), m.seq)).collect())
            })
            .collect();
        Update {
            entries: out,
            matched,
            last_id: g.next_id - 1,
            flows,
        }
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn last_id(&self) -> u64 {
        self.lock().next_id - 1
    }

    /// Entries dropped to stay within the bounds.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// The diagnosis rules seen so far (for the filter's suggestions).
    pub fn rules(&self) -> Vec<String> {
        self.lock().rules.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(seq: u64, at_ms: u32) -> Entry {
        Entry {
            seq,
            at: format!("2026-11-25T12:00:{:02}.{:03}Z", at_ms / 1000, at_ms % 1000),
            method: "GET".into(),
            path: format!("/{seq}"),
            status: 200,
            verdict: "accepted".into(),
            ..Entry::default()
        }
    }

    #[test]
    fn merges_by_time_pages_and_bounds() {
        let t = Timeline::new(5, usize::MAX);
        let vst: Arc<str> = "vst".into();
        let kon: Arc<str> = "konnektor".into();
        t.add(&vst, vec![e(1, 100), e(2, 300)]);
        t.add(&kon, vec![e(1, 200), e(2, 400)]);
        t.add(&vst, vec![e(2, 300)]); // a repeated page changes nothing
        let p = t.page(&Filter::default(), None, 3);
        let got: Vec<_> = p
            .entries
            .iter()
            .map(|(s, _)| (s.sim.to_string(), s.entry.seq))
            .collect();
        assert_eq!(
            got,
            [
                ("konnektor".into(), 2),
                ("vst".into(), 2),
                ("konnektor".into(), 1)
            ]
        );
        let older = t.page(&Filter::default(), p.older.as_deref(), 3);
        assert_eq!(older.entries.len(), 1);
        assert!(older.older.is_none());
        t.add(&vst, vec![e(3, 500), e(4, 600)]);
        assert_eq!(t.len(), 5);
        assert_eq!(t.dropped(), 1);
        assert!(t.get("vst", 1).is_none(), "the oldest went first");
        let u = t.since(
            &Filter {
                sim: "vst".into(),
                ..Filter::default()
            },
            4,
            10,
        );
        assert_eq!(u.matched, 2);
        assert_eq!(u.entries[0].0.entry.seq, 4);
        assert_eq!(u.last_id, 6);
    }

    #[test]
    fn byte_budget_holds() {
        let t = Timeline::new(1_000_000, 10_000);
        let sim: Arc<str> = "vst".into();
        for i in 0..1_000u64 {
            let mut x = e(i + 1, 0);
            x.data = Some(serde_json::json!({ "blob": "x".repeat(500) }));
            t.add(&sim, vec![x]);
        }
        assert!(t.len() < 20, "{}", t.len());
        assert!(!t.is_empty());
    }
}
