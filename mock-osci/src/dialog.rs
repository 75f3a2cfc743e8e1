//! The ControlBlock dialog state machine of the intermediary (OSCI 1.2 §ControlBlock; the library's
//! `ControlBlockHBuilder` tables). Each request's Response/Challenge/ConversationId/SequenceNumber must be
//! present or absent as its type requires; within an explicit dialog (InitDialog … ExitDialog) the
//! Response must echo the intermediary's last Challenge and the SequenceNumber must count up from 0.
//! A bad block is 9400, a request that needs an explicit dialog but has none is 9802. No I/O, no clock:
//! time and fresh tokens come in as parameters.

use crate::certs::Cert;
use crate::request::{ControlBlock, Kind};
use std::collections::HashMap;

/// Presence rule per field: required, forbidden or optional.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum P {
    Req,
    No,
    Opt,
}

/// (Response, Challenge, ConversationId, SequenceNumber) per request type.
fn rules(kind: Kind) -> [P; 4] {
    use P::*;
    match kind {
        Kind::InitDialog => [No, Req, No, No],
        Kind::ExitDialog => [Req, Req, Req, Req],
        Kind::GetMessageId | Kind::StoreDelivery => [Opt, Req, Opt, Req],
        Kind::FetchDelivery | Kind::FetchProcessCard => [Req, Req, Req, Req],
    }
}

/// A refusal of the control block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct DialogError {
    /// `9400` or `9802`.
    pub code: &'static str,
    pub rule: &'static str,
    pub reason: String,
}

fn e9400(rule: &'static str, reason: impl Into<String>) -> DialogError {
    DialogError {
        code: "9400",
        rule,
        reason: reason.into(),
    }
}

/// One explicit dialog.
#[derive(Clone, Debug)]
pub struct Dialog {
    /// The intermediary's last Challenge, which the next request must return as Response.
    pub challenge: String,
    /// The SequenceNumber the next request must carry.
    pub next_seq: u64,
    /// Every Challenge the client sent in this dialog (a repeated one is a replay).
    pub client_challenges: Vec<String>,
    /// The client's cipher certificate (sent with InitDialog; later requests may omit it).
    pub client: Option<Cert>,
    /// MessageIds delivered by a ResponseToFetchDelivery, received with the next request.
    pub pending_reception: Vec<String>,
    pub last_used: i64,
}

/// The control block of the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub conversation_id: String,
    pub response: String,
    pub challenge: Option<String>,
    pub sequence_number: Option<u64>,
    /// Whether the request ran in an explicit dialog (feedback 0801 instead of 0800).
    pub explicit: bool,
    /// Deliveries now received (the request followed a ResponseToFetchDelivery in this dialog).
    pub received: Vec<String>,
    /// The client's cipher certificate as the dialog knows it.
    pub client: Option<Cert>,
}

/// All open dialogs, bounded (the least recently used one is dropped when full).
#[derive(Debug)]
pub struct Dialogs {
    open: HashMap<String, Dialog>,
    next_id: u64,
    pub max_open: usize,
    /// Seconds a dialog may stay idle.
    pub idle_timeout: i64,
}

impl Dialogs {
    pub fn new(first_id: u64) -> Dialogs {
        Dialogs {
            open: HashMap::new(),
            next_id: first_id.max(1),
            max_open: 10_000,
            idle_timeout: 3600,
        }
    }
    pub fn len(&self) -> usize {
        self.open.len()
    }
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
    pub fn clear(&mut self) {
        self.open.clear();
    }
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Dialog> {
        self.open.get_mut(id)
    }

    fn fresh_id(&mut self) -> String {
        let id = self.next_id;
        self.next_id += 1;
        id.to_string()
    }

    fn expire(&mut self, now: i64) {
        let t = self.idle_timeout;
        self.open.retain(|_, d| now - d.last_used <= t);
        while self.open.len() >= self.max_open {
            let oldest = self
                .open
                .iter()
                .min_by_key(|(_, d)| d.last_used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.open.remove(&k);
                }
                None => break,
            }
        }
    }

    /// Check a request's control block and advance the dialog. `challenge` is a fresh token for the
    /// answer. On error nothing changes.
    pub fn apply(
        &mut self,
        kind: Kind,
        cb: &ControlBlock,
        client: Option<&Cert>,
        now: i64,
        challenge: String,
    ) -> Result<Answer, DialogError> {
        self.expire(now);
        let r = rules(kind);
        let fields = [
            ("Response", cb.response.is_some()),
            ("Challenge", cb.challenge.is_some()),
            ("ConversationId", cb.conversation_id.is_some()),
            ("SequenceNumber", cb.sequence_number.is_some()),
        ];
        if r[2] == P::Req && cb.conversation_id.is_none() {
            return Err(DialogError {
                code: "9802",
                rule: "osci.dialog.explicit-required",
                reason: format!(
                    "{} must be sent inside an explicit dialog (InitDialog first), but the ControlBlock has no ConversationId",
                    kind.name()
                ),
            });
        }
        for (i, (name, present)) in fields.iter().enumerate() {
            match (r[i], present) {
                (P::Req, false) => {
                    return Err(e9400(
                        "osci.controlblock.missing",
                        format!("{} requires {name} in the ControlBlock", kind.name()),
                    ));
                }
                (P::No, true) => {
                    return Err(e9400(
                        "osci.controlblock.forbidden",
                        format!("{} must not carry {name} in the ControlBlock", kind.name()),
                    ));
                }
                _ => {}
            }
        }
        let client_challenge = cb.challenge.clone().unwrap_or_default();
        match (kind, &cb.conversation_id) {
            (Kind::InitDialog, _) => {
                let id = self.fresh_id();
                self.open.insert(
                    id.clone(),
                    Dialog {
                        challenge: challenge.clone(),
                        next_seq: 0,
                        client_challenges: vec![client_challenge.clone()],
                        client: client.cloned(),
                        pending_reception: Vec::new(),
                        last_used: now,
                    },
                );
                Ok(Answer {
                    conversation_id: id,
                    response: client_challenge,
                    challenge: Some(challenge),
                    sequence_number: None,
                    explicit: true,
                    received: Vec::new(),
                    client: client.cloned(),
                })
            }
            (_, None) => {
                // Implicit one-shot dialog (GetMessageId, StoreDelivery): nothing to answer yet.
                if cb.response.is_some() {
                    return Err(e9400(
                        "osci.controlblock.response-without-dialog",
                        format!(
                            "{} outside a dialog carries a Response, but no Challenge was issued to answer",
                            kind.name()
                        ),
                    ));
                }
                if cb.sequence_number != Some(0) {
                    return Err(e9400(
                        "osci.controlblock.sequence",
                        format!(
                            "an implicit dialog starts with SequenceNumber 0, not {}",
                            cb.sequence_number.unwrap_or(0)
                        ),
                    ));
                }
                let id = self.fresh_id();
                Ok(Answer {
                    conversation_id: id,
                    response: client_challenge,
                    challenge: Some(challenge),
                    sequence_number: Some(0),
                    explicit: false,
                    received: Vec::new(),
                    client: client.cloned(),
                })
            }
            (_, Some(conv)) => {
                let Some(d) = self.open.get(conv) else {
                    return Err(e9400(
                        "osci.dialog.unknown",
                        format!(
                            "ConversationId {conv} names no open dialog (never opened, already ended or expired)"
                        ),
                    ));
                };
                if cb.response.as_deref() != Some(d.challenge.as_str()) {
                    return Err(e9400(
                        "osci.controlblock.response",
                        "the Response does not return the intermediary's last Challenge (replayed or out-of-order request)",
                    ));
                }
                let seq = cb.sequence_number.unwrap_or(0);
                if seq != d.next_seq {
                    return Err(e9400(
                        "osci.controlblock.sequence",
                        format!("SequenceNumber {seq}, expected {}", d.next_seq),
                    ));
                }
                if d.client_challenges.contains(&client_challenge) {
                    return Err(e9400(
                        "osci.controlblock.challenge-reused",
                        "the client's Challenge repeats one it already sent in this dialog (replay protection)",
                    ));
                }
                let conv = conv.clone();
                let ending = kind == Kind::ExitDialog;
                let mut d = self.open.remove(&conv).unwrap_or_else(unreachable_dialog);
                let received = std::mem::take(&mut d.pending_reception);
                d.challenge = challenge.clone();
                d.next_seq += 1;
                d.client_challenges.push(client_challenge.clone());
                d.last_used = now;
                if let Some(c) = client {
                    d.client = Some(c.clone());
                }
                let dialog_client = d.client.clone();
                if !ending {
                    self.open.insert(conv.clone(), d);
                }
                Ok(Answer {
                    conversation_id: conv,
                    response: client_challenge,
                    challenge: (!ending).then_some(challenge),
                    sequence_number: Some(seq),
                    explicit: !ending,
                    received,
                    client: dialog_client,
                })
            }
        }
    }
}

// `open.get` succeeded just before; an empty dialog is the harmless fallback.
fn unreachable_dialog() -> Dialog {
    Dialog {
        challenge: String::new(),
        next_seq: 0,
        client_challenges: Vec::new(),
        client: None,
        pending_reception: Vec::new(),
        last_used: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cb(resp: Option<&str>, ch: &str, conv: Option<&str>, seq: Option<u64>) -> ControlBlock {
        ControlBlock {
            conversation_id: conv.map(str::to_string),
            sequence_number: seq,
            response: resp.map(str::to_string),
            challenge: Some(ch.to_string()),
        }
    }

    #[test]
    fn explicit_dialog_runs_and_ends() {
        let mut d = Dialogs::new(1);
        let a = d
            .apply(
                Kind::InitDialog,
                &cb(None, "c1", None, None),
                None,
                0,
                "s1".into(),
            )
            .unwrap();
        assert_eq!(
            (
                a.response.as_str(),
                a.challenge.as_deref(),
                a.sequence_number
            ),
            ("c1", Some("s1"), None)
        );
        let conv = a.conversation_id.clone();
        let f = d
            .apply(
                Kind::FetchDelivery,
                &cb(Some("s1"), "c2", Some(&conv), Some(0)),
                None,
                1,
                "s2".into(),
            )
            .unwrap();
        assert!(f.explicit);
        // A replay of the same request is refused.
        let replay = d.apply(
            Kind::FetchDelivery,
            &cb(Some("s1"), "c2", Some(&conv), Some(0)),
            None,
            2,
            "s3".into(),
        );
        assert_eq!(replay.unwrap_err().code, "9400");
        let x = d
            .apply(
                Kind::ExitDialog,
                &cb(Some("s2"), "c3", Some(&conv), Some(1)),
                None,
                3,
                "s4".into(),
            )
            .unwrap();
        assert_eq!(x.challenge, None);
        assert!(d.is_empty());
    }

    #[test]
    fn fetch_without_dialog_is_9802_and_forbidden_fields_9400() {
        let mut d = Dialogs::new(1);
        let e = d
            .apply(
                Kind::FetchDelivery,
                &cb(Some("x"), "c", None, Some(0)),
                None,
                0,
                "s".into(),
            )
            .unwrap_err();
        assert_eq!(e.code, "9802");
        let e = d
            .apply(
                Kind::InitDialog,
                &cb(None, "c", None, Some(0)),
                None,
                0,
                "s".into(),
            )
            .unwrap_err();
        assert_eq!(e.code, "9400");
        let ok = d
            .apply(
                Kind::GetMessageId,
                &cb(None, "c", None, Some(0)),
                None,
                0,
                "s".into(),
            )
            .unwrap();
        assert!(!ok.explicit);
    }

    #[test]
    fn reused_client_challenge_is_a_replay() {
        let mut d = Dialogs::new(1);
        let a = d
            .apply(
                Kind::InitDialog,
                &cb(None, "c1", None, None),
                None,
                0,
                "s1".into(),
            )
            .unwrap();
        let e = d
            .apply(
                Kind::FetchDelivery,
                &cb(Some("s1"), "c1", Some(&a.conversation_id), Some(0)),
                None,
                1,
                "s2".into(),
            )
            .unwrap_err();
        assert_eq!(e.rule, "osci.controlblock.challenge-reused");
    }
}
