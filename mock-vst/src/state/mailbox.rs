//! What an insurer polls: vital status requests and anonymization notifications (the VST encrypts each
//! KVNR for the insurer), and processing errors per stream. The seed has no acknowledge endpoint, so
//! fetched items are consumed by default (profile `consume_fetched`).

use super::{Error, VstState};
use crate::process::ErrorStream;
use serde::{Deserialize, Serialize};
use ti_core::{b64_encode, ecies};

/// One processing error as the poll endpoints deliver it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessingError {
    #[serde(rename = "IdDatenlieferung")]
    pub id_datenlieferung: String,
    #[serde(rename = "IdDatensatz")]
    pub id_datensatz: String,
    #[serde(rename = "Code")]
    pub code: String,
}

/// The items waiting for one insurer.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Mailbox {
    /// base64 values, encrypted for the insurer.
    pub requests: Vec<String>,
    pub anonymizations: Vec<String>,
    pub errors_vitalstatus: Vec<ProcessingError>,
    pub errors_insuranceupdate: Vec<ProcessingError>,
}

impl Mailbox {
    pub fn errors_mut(&mut self, stream: ErrorStream) -> &mut Vec<ProcessingError> {
        match stream {
            ErrorStream::VitalStatus => &mut self.errors_vitalstatus,
            ErrorStream::InsuranceUpdate => &mut self.errors_insuranceupdate,
        }
    }
}

/// What a poll takes from a mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    Requests,
    Anonymizations,
    Errors(ErrorStream),
}

/// What a poll took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Polled {
    /// Encrypted `IdVersicherter` values (base64).
    Ids(Vec<String>),
    Errors(Vec<ProcessingError>),
}

impl Polled {
    pub fn is_empty(&self) -> bool {
        match self {
            Polled::Ids(v) => v.is_empty(),
            Polled::Errors(v) => v.is_empty(),
        }
    }
    pub fn len(&self) -> usize {
        match self {
            Polled::Ids(v) => v.len(),
            Polled::Errors(v) => v.len(),
        }
    }
}

fn grab<T: Clone>(v: &mut Vec<T>, consume: bool) -> Vec<T> {
    if consume {
        std::mem::take(v)
    } else {
        v.clone()
    }
}

impl VstState {
    fn queue(&self, kvnr: &str, tid: Option<&str>, anonymization: bool) -> Result<(), Error> {
        ti_core::ids::check_kvnr(kvnr).map_err(|source| Error::Kvnr {
            kvnr: kvnr.to_string(),
            source,
        })?;
        let mut d = self.data();
        let ins = d.insurer_or_default(tid)?;
        let tid = ins.id.telematik_id.clone();
        let key = ins
            .enc_key
            .ok_or_else(|| Error::NoEncryptionKey(tid.clone()))?;
        let value = b64_encode(&ecies::encrypt(&key, kvnr.as_bytes(), &d.profile.ecies()));
        let mb = d.mailboxes.entry(tid).or_default();
        if anonymization {
            mb.anonymizations.push(value);
        } else {
            mb.requests.push(value);
        }
        Ok(())
    }

    /// Queue a vital status request for the default insurer (the VST encrypts the KVNR for it).
    pub fn queue_request(&self, kvnr: &str) -> Result<(), Error> {
        self.queue(kvnr, None, false)
    }
    pub fn queue_request_for(&self, kvnr: &str, telematik_id: &str) -> Result<(), Error> {
        self.queue(kvnr, Some(telematik_id), false)
    }
    /// Queue an anonymization notification for the default insurer.
    pub fn queue_anonymization(&self, kvnr: &str) -> Result<(), Error> {
        self.queue(kvnr, None, true)
    }
    pub fn queue_anonymization_for(&self, kvnr: &str, telematik_id: &str) -> Result<(), Error> {
        self.queue(kvnr, Some(telematik_id), true)
    }

    /// Add a processing error for the default insurer (as if the Registerstelle had raised it).
    pub fn inject_processing_error(
        &self,
        stream: ErrorStream,
        id_datenlieferung: &str,
        id_datensatz: &str,
        code: &str,
    ) {
        let e = ProcessingError {
            id_datenlieferung: id_datenlieferung.into(),
            id_datensatz: id_datensatz.into(),
            code: code.into(),
        };
        self.inject_processing_error_for(stream, None, e);
    }

    /// Add a processing error for an insurer (default: the first registered one).
    pub fn inject_processing_error_for(
        &self,
        stream: ErrorStream,
        telematik_id: Option<&str>,
        error: ProcessingError,
    ) {
        let mut d = self.data();
        let tid = match telematik_id {
            Some(t) => t.to_string(),
            None => d
                .insurers
                .first()
                .map(|i| i.id.telematik_id.clone())
                .unwrap_or_default(),
        };
        d.mailboxes
            .entry(tid)
            .or_default()
            .errors_mut(stream)
            .push(error);
    }

    /// Pending items per mailbox (admin view, nothing is consumed).
    pub fn mailbox_view(&self, kind: ListKind) -> serde_json::Value {
        let d = self.data();
        let mut out = serde_json::Map::new();
        for (tid, mb) in &d.mailboxes {
            let v = match kind {
                ListKind::Requests => serde_json::json!(mb.requests),
                ListKind::Anonymizations => serde_json::json!(mb.anonymizations),
                ListKind::Errors(ErrorStream::VitalStatus) => {
                    serde_json::json!(mb.errors_vitalstatus)
                }
                ListKind::Errors(ErrorStream::InsuranceUpdate) => {
                    serde_json::json!(mb.errors_insuranceupdate)
                }
            };
            out.insert(tid.clone(), v);
        }
        serde_json::Value::Object(out)
    }

    /// Take (or, with `consume_fetched: false`, copy) a mailbox's items for a poll.
    pub fn take(&self, telematik_id: &str, kind: ListKind) -> Polled {
        let mut d = self.data();
        let consume = d.profile.consume_fetched;
        let Some(mb) = d.mailboxes.get_mut(telematik_id) else {
            return match kind {
                ListKind::Errors(_) => Polled::Errors(Vec::new()),
                _ => Polled::Ids(Vec::new()),
            };
        };
        match kind {
            ListKind::Requests => Polled::Ids(grab(&mut mb.requests, consume)),
            ListKind::Anonymizations => Polled::Ids(grab(&mut mb.anonymizations, consume)),
            ListKind::Errors(s) => Polled::Errors(grab(mb.errors_mut(s), consume)),
        }
    }
}
