//! What the VST keeps in the embedded store (`sim_kit::store`), so that it survives a restart and a
//! `kill -9` between requests: the profile and environment, registrations, mailboxes (requests,
//! anonymizations, processing errors), accepted deliveries with their reuse fingerprints, and for a delivery
//! whose asynchronous checks have not run yet its body (enough to run them after a restart).
//!
//! The state keeps a working copy in memory; every change is written to the store first, in one
//! transaction, and applied to memory only when that transaction committed.

use super::mailbox::{Mailbox, ProcessingError};
use super::registry::Insurer;
use super::{ListKind, StoredDelivery};
use crate::config::Profile;
use crate::process::{ErrorStream, Fingerprint, InsurerId};
use serde::{Deserialize, Serialize};
use sim_kit::store::rusqlite::{self, OptionalExtension, params};
use sim_kit::store::{Store, StoreError, Tx, kv};
use std::collections::HashMap;
use ti_core::ids::Environment;
use ti_core::{b64_decode, b64_encode};

/// Migration steps of the VST's tables (append, never edit a shipped one).
const STEPS: &[&str] = &["
CREATE TABLE vst_delivery (
    seq INTEGER PRIMARY KEY,
    doc TEXT NOT NULL,
    fingerprints BLOB NOT NULL,
    pending_body TEXT,
    pending_profile TEXT
);
CREATE TABLE vst_mailbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    telematik_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    item TEXT NOT NULL
);
CREATE INDEX vst_mailbox_by_kind ON vst_mailbox (telematik_id, kind, id);
"];

const NS_META: &str = "vst.meta";
const NS_REGISTRATION: &str = "vst.registration";
const META_KEY: &str = "state";

/// Profile, environment and the next delivery number.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Meta {
    pub profile: Profile,
    pub environment: Environment,
    pub next_seq: u64,
}

/// A registration as stored: the identity and the certificates (keys are read from them at load).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredRegistration {
    id: InsurerId,
    aut_cert: String,
    #[serde(default)]
    sig_cert: Option<String>,
    #[serde(default)]
    enc_cert: Option<String>,
    registered_at: String,
}

/// A delivery whose asynchronous checks had not run when the state was stored.
pub(super) struct Unfinished {
    pub seq: u64,
    pub insurer: InsurerId,
    pub body_blob: String,
    pub profile: Profile,
}

/// Everything read back at start.
pub(super) struct Loaded {
    pub meta: Option<Meta>,
    pub insurers: Vec<Insurer>,
    pub mailboxes: HashMap<String, Mailbox>,
    pub deliveries: Vec<(StoredDelivery, Vec<Fingerprint>)>,
    pub unfinished: Vec<Unfinished>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected(format!("store: the VST's {what} cannot be read back: {e}"))
}

fn kind_name(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Requests => "requests",
        ListKind::Anonymizations => "anonymizations",
        ListKind::Errors(ErrorStream::VitalStatus) => "errors.vitalstatus",
        ListKind::Errors(ErrorStream::InsuranceUpdate) => "errors.insuranceupdate",
    }
}

/// Create or update the VST's tables.
pub(super) fn migrate(store: &Store) -> Result<(), StoreError> {
    store.migrate("vst", STEPS)
}

pub(super) fn put_meta(tx: &Tx<'_>, meta: &Meta) -> Result<(), StoreError> {
    kv::put(tx, NS_META, META_KEY, meta)
}

pub(super) fn put_registration(tx: &Tx<'_>, i: &Insurer) -> Result<(), StoreError> {
    let r = StoredRegistration {
        id: i.id.clone(),
        aut_cert: b64_encode(&i.aut_cert_der),
        sig_cert: i.sig_cert_der.as_deref().map(b64_encode),
        enc_cert: i.enc_cert_der.as_deref().map(b64_encode),
        registered_at: i.registered_at.clone(),
    };
    kv::put(tx, NS_REGISTRATION, &i.id.telematik_id, &r)
}

pub(super) fn delete_registration(tx: &Tx<'_>, telematik_id: &str) -> Result<(), StoreError> {
    kv::delete(tx, NS_REGISTRATION, telematik_id).map(|_| ())
}

pub(super) fn push_mailbox(
    tx: &Tx<'_>,
    telematik_id: &str,
    kind: ListKind,
    item: &impl Serialize,
) -> Result<(), StoreError> {
    let item = serde_json::to_string(item).map_err(|e| corrupt("mailbox item", e))?;
    tx.execute(
        "INSERT INTO vst_mailbox (telematik_id, kind, item) VALUES (?1, ?2, ?3)",
        params![telematik_id, kind_name(kind), item],
    )?;
    Ok(())
}

/// Remove what a poll consumed.
pub(super) fn clear_mailbox(
    tx: &Tx<'_>,
    telematik_id: &str,
    kind: ListKind,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM vst_mailbox WHERE telematik_id = ?1 AND kind = ?2",
        params![telematik_id, kind_name(kind)],
    )?;
    Ok(())
}

fn fingerprint_bytes(fps: &[Fingerprint]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fps.len() * 16);
    for f in fps {
        out.extend_from_slice(&f.x.to_le_bytes());
        out.extend_from_slice(&f.iv.to_le_bytes());
    }
    out
}

fn fingerprints_of(bytes: &[u8]) -> Vec<Fingerprint> {
    bytes
        .chunks_exact(16)
        .map(|c| {
            let mut x = [0u8; 8];
            let mut iv = [0u8; 8];
            x.copy_from_slice(&c[..8]);
            iv.copy_from_slice(&c[8..]);
            Fingerprint {
                x: u64::from_le_bytes(x),
                iv: u64::from_le_bytes(iv),
                record: 0,
                slot: 0,
            }
        })
        .collect()
}

/// An accepted delivery; with `pending`, the blob of its body and the profile its asynchronous checks
/// run with.
pub(super) fn insert_delivery(
    tx: &Tx<'_>,
    d: &StoredDelivery,
    fingerprints: &[Fingerprint],
    pending: Option<(&str, &Profile)>,
) -> Result<(), StoreError> {
    let doc = serde_json::to_string(d).map_err(|e| corrupt("delivery", e))?;
    let profile = pending
        .map(|(_, p)| serde_json::to_string(p))
        .transpose()
        .map_err(|e| corrupt("profile", e))?;
    tx.execute(
        "INSERT INTO vst_delivery (seq, doc, fingerprints, pending_body, pending_profile)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            i64::try_from(d.seq).unwrap_or(i64::MAX),
            doc,
            fingerprint_bytes(fingerprints),
            pending.map(|(b, _)| b),
            profile
        ],
    )?;
    Ok(())
}

/// A delivery after its asynchronous checks: the new document; its body is no longer kept.
pub(super) fn finish_delivery(tx: &mut Tx<'_>, d: &StoredDelivery) -> Result<(), StoreError> {
    let seq = i64::try_from(d.seq).unwrap_or(i64::MAX);
    let blob: Option<Option<String>> = tx
        .query_row(
            "SELECT pending_body FROM vst_delivery WHERE seq = ?1",
            [seq],
            |r| r.get(0),
        )
        .optional()?;
    let doc = serde_json::to_string(d).map_err(|e| corrupt("delivery", e))?;
    tx.execute(
        "UPDATE vst_delivery SET doc = ?2, pending_body = NULL, pending_profile = NULL WHERE seq = ?1",
        params![seq, doc],
    )?;
    if let Some(Some(id)) = blob {
        tx.delete_blob(&id)?;
    }
    Ok(())
}

/// Forget every stored piece of VST state (reset). Blobs of unfinished deliveries go with them.
pub(super) fn clear(tx: &mut Tx<'_>) -> Result<(), StoreError> {
    let blobs: Vec<String> = {
        let mut st =
            tx.prepare("SELECT pending_body FROM vst_delivery WHERE pending_body IS NOT NULL")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for b in blobs {
        tx.delete_blob(&b)?;
    }
    tx.execute_batch("DELETE FROM vst_delivery; DELETE FROM vst_mailbox;")?;
    kv::clear(tx, NS_REGISTRATION)?;
    kv::clear(tx, NS_META)?;
    Ok(())
}

fn registration(r: StoredRegistration) -> Result<Insurer, StoreError> {
    let der = |s: &str| b64_decode(s).map_err(|e| corrupt("registration", e));
    let key =
        |d: &[u8]| ti_core::pki::public_key_of_cert_der(d).map_err(|e| corrupt("registration", e));
    let aut_cert_der = der(&r.aut_cert)?;
    let sig_cert_der = r.sig_cert.as_deref().map(der).transpose()?;
    let enc_cert_der = r.enc_cert.as_deref().map(der).transpose()?;
    Ok(Insurer {
        id: r.id,
        aut_key: key(&aut_cert_der)?,
        sig_key: sig_cert_der.as_deref().map(key).transpose()?,
        enc_key: enc_cert_der.as_deref().map(key).transpose()?,
        aut_cert_der,
        sig_cert_der,
        enc_cert_der,
        registered_at: r.registered_at,
    })
}

type DeliveryRow = (i64, String, Vec<u8>, Option<String>, Option<String>);

/// Read everything back.
pub(super) fn load(store: &Store) -> Result<Loaded, StoreError> {
    store.read(|conn| {
        let meta: Option<Meta> = kv::get(conn, NS_META, META_KEY)?;
        let insurers = kv::list::<StoredRegistration>(conn, NS_REGISTRATION)?
            .into_iter()
            .map(|(_, r)| registration(r))
            .collect::<Result<Vec<_>, _>>()?;
        let mut mailboxes: HashMap<String, Mailbox> = HashMap::new();
        let mut st =
            conn.prepare("SELECT telematik_id, kind, item FROM vst_mailbox ORDER BY id")?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?;
        for row in rows {
            let (tid, kind, item) = row?;
            let mb = mailboxes.entry(tid).or_default();
            let bad = |e: serde_json::Error| corrupt("mailbox item", e);
            match kind.as_str() {
                "requests" => mb.requests.push(serde_json::from_str(&item).map_err(bad)?),
                "anonymizations" => mb.anonymizations.push(serde_json::from_str(&item).map_err(bad)?),
                "errors.vitalstatus" => mb
                    .errors_vitalstatus
                    .push(serde_json::from_str::<ProcessingError>(&item).map_err(bad)?),
                "errors.insuranceupdate" => mb
                    .errors_insuranceupdate
                    .push(serde_json::from_str::<ProcessingError>(&item).map_err(bad)?),
                other => return Err(corrupt("mailbox", format!("unknown kind `{other}`"))),
            }
        }
        let mut st = conn.prepare(
            "SELECT seq, doc, fingerprints, pending_body, pending_profile FROM vst_delivery ORDER BY seq",
        )?;
        let rows: Vec<DeliveryRow> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
            .collect::<Result<_, rusqlite::Error>>()?;
        let mut deliveries = Vec::with_capacity(rows.len());
        let mut unfinished = Vec::new();
        for (seq, doc, fps, body, profile) in rows {
            let d: StoredDelivery = serde_json::from_str(&doc).map_err(|e| corrupt("delivery", e))?;
            if let (Some(body_blob), Some(profile)) = (body, profile) {
                unfinished.push(Unfinished {
                    seq: u64::try_from(seq).unwrap_or_default(),
                    insurer: InsurerId {
                        telematik_id: d.telematik_id.clone(),
                        haupt_ik: String::new(),
                    },
                    body_blob,
                    profile: serde_json::from_str(&profile).map_err(|e| corrupt("profile", e))?,
                });
            }
            deliveries.push((d, fingerprints_of(&fps)));
        }
        Ok(Loaded {
            meta,
            insurers,
            mailboxes,
            deliveries,
            unfinished,
        })
    })
}
