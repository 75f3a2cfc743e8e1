//! Cross-simulator flows: a client unlocks the card (VerifyPin), has the Konnektor sign (SignDocument),
//! then sends the signed delivery to the VST. The journals of the two simulators know nothing of each other;
//! the dashboard links them so the timeline can show the exchange as one flow.
//!
//! A chain of card steps (Konnektor operations on one card, at most [`WINDOW_MS`] apart) that contains a
//! signing step is closed by the next state-changing request (not `GET`) to *another* simulator within
//! [`WINDOW_MS`] after the signature. When both sides name the signed content's SHA-256 (the Konnektor's
//! `documents[].content_sha256`, the other side's `data.signed_sha256`), only equal digests link. Entries of
//! two simulators arrive in any order (each journal is followed on its own), so a request seen before its
//! signature waits for it.

use crate::entry::Stored;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// How far apart the steps of one flow may be.
pub const WINDOW_MS: i64 = 30_000;
/// Clock tolerance between simulators (a request journaled marginally before its signature).
const SLACK_MS: i64 = 1_000;
const MAX_OPEN: usize = 1_000;
const MAX_FLOWS: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Member {
    pub sim: Arc<str>,
    pub seq: u64,
}

struct Chain {
    members: Vec<Member>,
    sim: Arc<str>,
    card: Option<String>,
    last_ms: i64,
    /// Time of the last signing step and the digests it signed.
    signed: Option<(i64, Vec<String>)>,
    flow: Option<u64>,
}

struct Closer {
    member: Member,
    at_ms: i64,
    digest: Option<String>,
}

#[derive(Default)]
pub struct Flows {
    next: u64,
    open: VecDeque<Chain>,
    closers: VecDeque<Closer>,
    of: HashMap<Member, u64>,
    members: HashMap<u64, Vec<Member>>,
    order: VecDeque<u64>,
}

fn is_card_step(s: &Stored) -> bool {
    s.entry.card().is_some()
        || matches!(
            s.entry.operation.as_deref(),
            Some("GetCards" | "GetCardTerminals")
        )
}

fn is_signing(s: &Stored) -> bool {
    matches!(
        s.entry.operation.as_deref(),
        Some("SignDocument" | "ExternalAuthenticate")
    ) && s.entry.status < 400
}

fn signed_digests(s: &Stored) -> Vec<String> {
    let Some(docs) = s
        .entry
        .data
        .as_ref()
        .and_then(|d| d.get("documents"))
        .and_then(|d| d.as_array())
    else {
        return Vec::new();
    };
    docs.iter()
        .filter_map(|d| d.get("content_sha256")?.as_str())
        .map(str::to_ascii_lowercase)
        .collect()
}

fn closer_digest(s: &Stored) -> Option<String> {
    let d = s.entry.data.as_ref()?.get("signed_sha256")?.as_str()?;
    Some(d.to_ascii_lowercase())
}

fn is_closer(s: &Stored) -> bool {
    let e = &s.entry;
    !e.method.eq_ignore_ascii_case("GET")
        && !e.method.eq_ignore_ascii_case("ASYNC")
        && e.status != 404
        && e.status != 405
}

impl Flows {
    /// The flow of an entry.
    pub fn flow_of(&self, sim: &Arc<str>, seq: u64) -> Option<u64> {
        self.of
            .get(&Member {
                sim: sim.clone(),
                seq,
            })
            .copied()
    }

    /// The members of a flow, in the order they were linked.
    pub fn members(&self, flow: u64) -> &[Member] {
        self.members.get(&flow).map_or(&[], Vec::as_slice)
    }

    /// Take note of a newly stored entry. Returns the flows that gained members (to tell live pages).
    pub fn observe(&mut self, s: &Stored) -> Vec<u64> {
        let me = Member {
            sim: s.sim.clone(),
            seq: s.entry.seq,
        };
        self.expire(s.at_ms);
        if is_card_step(s) {
            return self.step(s, me);
        }
        if is_closer(s) {
            let digest = closer_digest(s);
            if let Some(i) = self.best_chain(&s.sim, s.at_ms, digest.as_deref()) {
                return vec![self.close(i, me)];
            }
            self.closers.push_back(Closer {
                member: me,
                at_ms: s.at_ms,
                digest,
            });
            if self.closers.len() > MAX_OPEN {
                self.closers.pop_front();
            }
        }
        Vec::new()
    }

    fn step(&mut self, s: &Stored, me: Member) -> Vec<u64> {
        let card = s.entry.card().map(str::to_string);
        let pos = self.open.iter().rposition(|c| {
            c.flow.is_none()
                && c.sim == s.sim
                && (card.is_none() || c.card.is_none() || c.card == card)
                && s.at_ms - c.last_ms <= WINDOW_MS
        });
        let i = match pos {
            Some(i) => i,
            None => {
                self.open.push_back(Chain {
                    members: Vec::new(),
                    sim: s.sim.clone(),
                    card: None,
                    last_ms: s.at_ms,
                    signed: None,
                    flow: None,
                });
                if self.open.len() > MAX_OPEN {
                    self.open.pop_front();
                }
                self.open.len() - 1
            }
        };
        let c = &mut self.open[i];
        c.members.push(me);
        c.last_ms = c.last_ms.max(s.at_ms);
        if c.card.is_none() {
            c.card = card;
        }
        if is_signing(s) {
            c.signed = Some((s.at_ms, signed_digests(s)));
            // A request that was seen before its signature.
            let (sign_ms, digests) = c.signed.clone().unwrap_or_default();
            let waiting = self.closers.iter().position(|w| {
                w.member.sim != s.sim
                    && w.at_ms + SLACK_MS >= sign_ms
                    && w.at_ms - sign_ms <= WINDOW_MS
                    && digest_fits(w.digest.as_deref(), &digests)
            });
            if let Some(w) = waiting.and_then(|w| self.closers.remove(w)) {
                return vec![self.close(i, w.member)];
            }
        }
        Vec::new()
    }

    fn best_chain(&self, sim: &Arc<str>, at_ms: i64, digest: Option<&str>) -> Option<usize> {
        let fits = |c: &Chain| match &c.signed {
            Some((sign_ms, _)) => {
                c.flow.is_none()
                    && c.sim != *sim
                    && *sign_ms <= at_ms + SLACK_MS
                    && at_ms - sign_ms <= WINDOW_MS
            }
            None => false,
        };
        let by_digest = digest.and_then(|d| {
            self.open.iter().rposition(|c| {
                fits(c)
                    && c.signed
                        .as_ref()
                        .is_some_and(|(_, ds)| ds.iter().any(|x| x == d))
            })
        });
        by_digest.or_else(|| {
            self.open.iter().rposition(|c| {
                fits(c)
                    && digest_fits(
                        digest,
                        &c.signed.as_ref().map(|s| s.1.clone()).unwrap_or_default(),
                    )
            })
        })
    }

    fn close(&mut self, i: usize, closer: Member) -> u64 {
        self.next += 1;
        let id = self.next;
        let c = &mut self.open[i];
        c.flow = Some(id);
        c.members.push(closer);
        for m in &c.members {
            self.of.insert(m.clone(), id);
        }
        self.members.insert(id, c.members.clone());
        self.order.push_back(id);
        while self.order.len() > MAX_FLOWS {
            if let Some(old) = self.order.pop_front() {
                for m in self.members.remove(&old).unwrap_or_default() {
                    self.of.remove(&m);
                }
            }
        }
        id
    }

    /// Forget chains and waiting requests that can no longer be linked.
    fn expire(&mut self, now_ms: i64) {
        let horizon = now_ms - 2 * WINDOW_MS;
        self.open
            .retain(|c| c.flow.is_none() && c.last_ms >= horizon);
        self.closers.retain(|w| w.at_ms >= horizon);
    }
}

/// A request's digest (if it names one) must be among the signed ones (if they are named).
fn digest_fits(digest: Option<&str>, signed: &[String]) -> bool {
    match digest {
        Some(d) if !signed.is_empty() => signed.iter().any(|s| s == d),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Entry;
    use serde_json::json;

    fn at(ms: i64) -> String {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(
            (1_700_000_000_000i64 + ms) as i128 * 1_000_000,
        )
        .unwrap();
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    }

    fn konnektor(seq: u64, ms: i64, op: &str) -> Stored {
        let data = match op {
            "SignDocument" => json!({"card":"SMC-B-1","documents":[{"content_sha256":"AB"}]}),
            _ => json!({"card":"SMC-B-1"}),
        };
        Stored::new(
            seq,
            "konnektor".into(),
            Entry {
                seq,
                at: at(ms),
                method: "POST".into(),
                operation: Some(op.into()),
                status: 200,
                data: Some(data),
                ..Entry::default()
            },
        )
    }

    fn vst(seq: u64, ms: i64, method: &str, digest: Option<&str>) -> Stored {
        Stored::new(
            seq,
            "vst".into(),
            Entry {
                seq,
                at: at(ms),
                method: method.into(),
                status: 400,
                data: digest.map(|d| json!({ "signed_sha256": d })),
                ..Entry::default()
            },
        )
    }

    #[test]
    fn verify_sign_post_is_one_flow() {
        let mut f = Flows::default();
        assert!(f.observe(&konnektor(1, 0, "VerifyPin")).is_empty());
        assert!(f.observe(&konnektor(2, 10, "SignDocument")).is_empty());
        assert!(
            f.observe(&vst(1, 0, "GET", None)).is_empty(),
            "a GET closes nothing"
        );
        let changed = f.observe(&vst(2, 30, "POST", None));
        assert_eq!(changed.len(), 1);
        let id = changed[0];
        assert_eq!(f.members(id).len(), 3);
        assert_eq!(f.flow_of(&"konnektor".into(), 1), Some(id));
        assert_eq!(f.flow_of(&"vst".into(), 1), None);
        // The next delivery signs again (PIN still verified): a new flow.
        f.observe(&konnektor(3, 1000, "SignDocument"));
        let next = f.observe(&vst(3, 1010, "POST", None));
        assert_eq!(next.len(), 1);
        assert_ne!(next[0], id);
        assert_eq!(f.members(next[0]).len(), 2);
    }

    #[test]
    fn a_request_seen_before_its_signature_waits_for_it() {
        let mut f = Flows::default();
        assert!(f.observe(&vst(1, 30, "POST", None)).is_empty());
        f.observe(&konnektor(1, 0, "VerifyPin"));
        let changed = f.observe(&konnektor(2, 10, "SignDocument"));
        assert_eq!(changed.len(), 1);
        assert_eq!(f.members(changed[0]).len(), 3);
    }

    #[test]
    fn digests_decide_when_both_sides_name_them_and_time_bounds_hold() {
        let mut f = Flows::default();
        f.observe(&konnektor(1, 0, "SignDocument"));
        assert!(f.observe(&vst(1, 10, "POST", Some("cd"))).is_empty());
        assert_eq!(f.observe(&vst(2, 20, "POST", Some("ab"))).len(), 1);
        let mut g = Flows::default();
        g.observe(&konnektor(1, 0, "SignDocument"));
        assert!(g.observe(&vst(1, WINDOW_MS + 10, "POST", None)).is_empty());
    }
}
