//! Durable mailboxes and Laufzettel in the shared embedded store (`sim_kit::store`): issued MessageIds,
//! deliveries per addressee (keyed by the SHA-256 of the addressee's cipher certificate) with their
//! process card, the stored content (ContentPackage, NonIntermediaryCertificates, attachments) in one blob
//! per delivery, attached in the same transaction that records the delivery — nothing half-stored.

use crate::certs::Inspection;
use serde::{Deserialize, Serialize};
use sim_kit::store::rusqlite::{OptionalExtension, params};
use sim_kit::store::{Store, StoreError};
use std::io::{Read, Write};

const STEP1: &str = "
CREATE TABLE osci_message_id (
    id TEXT PRIMARY KEY,
    issued_at TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE osci_delivery (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    addressee TEXT NOT NULL,
    originator TEXT,
    subject TEXT,
    creation TEXT NOT NULL,
    forwarding TEXT,
    reception TEXT,
    recent_modification TEXT NOT NULL,
    inspections TEXT NOT NULL,
    content_blob TEXT NOT NULL,
    content_len INTEGER NOT NULL
);
CREATE INDEX osci_delivery_addressee ON osci_delivery (addressee, seq);
";

pub fn migrate(store: &Store) -> Result<(), StoreError> {
    store.migrate("osci", &[STEP1])
}

/// The Laufzettel of one delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessCard {
    pub message_id: String,
    pub addressee: String,
    pub originator: Option<String>,
    pub subject: Option<String>,
    pub creation: String,
    pub forwarding: Option<String>,
    pub reception: Option<String>,
    pub recent_modification: String,
    pub inspections: Vec<Inspection>,
}

/// One attachment part as received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPart {
    pub content_id: String,
    pub headers: Vec<(String, String)>,
    pub len: usize,
}

/// The layout of a content blob: a JSON head line, then NonIntermediaryCertificates, ContentPackage
/// children and each attachment body, back to back.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ContentHead {
    pub nic_len: usize,
    pub content_len: usize,
    pub parts: Vec<StoredPart>,
}

/// A delivery's content read back.
#[derive(Debug, Default)]
pub struct Content {
    pub head: ContentHead,
    pub data: Vec<u8>,
}

impl Content {
    pub fn nic(&self) -> &[u8] {
        &self.data[..self.head.nic_len]
    }
    pub fn content_package(&self) -> &[u8] {
        &self.data[self.head.nic_len..self.head.nic_len + self.head.content_len]
    }
    /// (part, body) of every attachment.
    pub fn parts(&self) -> Vec<(&StoredPart, &[u8])> {
        let mut at = self.head.nic_len + self.head.content_len;
        self.head
            .parts
            .iter()
            .map(|p| {
                let b = &self.data[at..at + p.len];
                at += p.len;
                (p, b)
            })
            .collect()
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Rejected(format!("content blob: {e}"))
}

pub fn issue_message_id(store: &Store, id: &str, now: &str) -> Result<(), StoreError> {
    store.write(|tx| {
        tx.execute(
            "INSERT INTO osci_message_id (id, issued_at) VALUES (?1, ?2)",
            params![id, now],
        )?;
        Ok(())
    })
}

/// Whether a MessageId was issued here and not used yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdState {
    Unknown,
    Fresh,
    Used,
}

pub fn message_id_state(store: &Store, id: &str) -> Result<IdState, StoreError> {
    store.read(|c| {
        let used: Option<i64> = c
            .query_row(
                "SELECT used FROM osci_message_id WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match used {
            None => IdState::Unknown,
            Some(0) => IdState::Fresh,
            Some(_) => IdState::Used,
        })
    })
}

/// Store a delivery: content blob and Laufzettel in one transaction; the MessageId becomes used.
pub fn store_delivery(
    store: &Store,
    card: &ProcessCard,
    nic: &[u8],
    content: &[u8],
    parts: &[(StoredPart, &[u8])],
) -> Result<(), StoreError> {
    let head = ContentHead {
        nic_len: nic.len(),
        content_len: content.len(),
        parts: parts.iter().map(|(p, _)| p.clone()).collect(),
    };
    let mut w = store.blob_writer()?;
    let head_json = serde_json::to_vec(&head).map_err(|e| StoreError::Rejected(e.to_string()))?;
    w.write_all(&head_json).map_err(io)?;
    w.write_all(b"\n").map_err(io)?;
    w.write_all(nic).map_err(io)?;
    w.write_all(content).map_err(io)?;
    for (_, b) in parts {
        w.write_all(b).map_err(io)?;
    }
    let blob = w.finish()?;
    let id = blob.id().to_string();
    let len = blob.len() as i64;
    let inspections = serde_json::to_string(&card.inspections)
        .map_err(|e| StoreError::Rejected(e.to_string()))?;
    store.write_with_blobs(vec![blob], |tx| {
        let n = tx.execute(
            "UPDATE osci_message_id SET used = 1 WHERE id = ?1 AND used = 0",
            [&card.message_id],
        )?;
        if n != 1 {
            return Err(StoreError::Rejected(format!("MessageId {} is not fresh", card.message_id)));
        }
        tx.execute(
            "INSERT INTO osci_delivery (message_id, addressee, originator, subject, creation, recent_modification, inspections, content_blob, content_len)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![card.message_id, card.addressee, card.originator, card.subject, card.creation, card.recent_modification, inspections, id, len],
        )?;
        Ok(())
    })
}

fn card_of(
    r: &sim_kit::store::rusqlite::Row<'_>,
) -> sim_kit::store::rusqlite::Result<(ProcessCard, String)> {
    let ins: String = r.get(8)?;
    Ok((
        ProcessCard {
            message_id: r.get(0)?,
            addressee: r.get(1)?,
            originator: r.get(2)?,
            subject: r.get(3)?,
            creation: r.get(4)?,
            forwarding: r.get(5)?,
            reception: r.get(6)?,
            recent_modification: r.get(7)?,
            inspections: serde_json::from_str(&ins).unwrap_or_default(),
        },
        r.get(9)?,
    ))
}

const COLS: &str = "message_id, addressee, originator, subject, creation, forwarding, reception, recent_modification, inspections, content_blob";

/// What a FetchDelivery may select.
#[derive(Clone, Debug)]
pub enum Pick<'a> {
    MessageId(&'a str),
    ReceivedAfter(&'a str),
    Next,
}

/// Deliveries addressed to `addressee` not yet fetched (for `Next`/date) or by MessageId, in order.
pub fn find_deliveries(
    store: &Store,
    addressee: &str,
    pick: &Pick<'_>,
) -> Result<Vec<(ProcessCard, String)>, StoreError> {
    store.read(|c| {
        let (sql, arg): (String, Option<&str>) = match pick {
            Pick::MessageId(id) => (format!("SELECT {COLS} FROM osci_delivery WHERE addressee = ?1 AND message_id = ?2 ORDER BY seq"), Some(id)),
            Pick::ReceivedAfter(t) => (format!("SELECT {COLS} FROM osci_delivery WHERE addressee = ?1 AND creation > ?2 AND reception IS NULL ORDER BY seq"), Some(t)),
            Pick::Next => (format!("SELECT {COLS} FROM osci_delivery WHERE addressee = ?1 AND reception IS NULL ORDER BY seq"), None),
        };
        let mut st = c.prepare(&sql)?;
        let rows = match arg {
            Some(a) => st.query_map(params![addressee, a], card_of)?.collect::<Result<Vec<_>, _>>()?,
            None => st.query_map(params![addressee], card_of)?.collect::<Result<Vec<_>, _>>()?,
        };
        Ok(rows)
    })
}

/// Process cards the client may see: sent by it or addressed to it.
pub fn find_cards(
    store: &Store,
    client: &str,
    role: Option<&str>,
) -> Result<Vec<ProcessCard>, StoreError> {
    store.read(|c| {
        let mut st = c.prepare(&format!(
            "SELECT {COLS} FROM osci_delivery WHERE originator = ?1 OR addressee = ?1 ORDER BY seq"
        ))?;
        let rows = st
            .query_map([client], card_of)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .map(|(c, _)| c)
            .filter(|c| match role {
                Some("Originator") => c.originator.as_deref() == Some(client),
                Some("Addressee") => c.addressee == client,
                _ => true,
            })
            .collect())
    })
}

pub fn all_cards(store: &Store) -> Result<Vec<ProcessCard>, StoreError> {
    store.read(|c| {
        let mut st = c.prepare(&format!("SELECT {COLS} FROM osci_delivery ORDER BY seq"))?;
        let rows = st.query_map([], card_of)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows.into_iter().map(|(c, _)| c).collect())
    })
}

pub fn read_content(store: &Store, blob: &str) -> Result<Content, StoreError> {
    let mut f = store.open_blob(blob)?;
    let mut all = Vec::new();
    f.read_to_end(&mut all).map_err(io)?;
    let nl = all
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| StoreError::Rejected("content blob without head".into()))?;
    let head: ContentHead =
        serde_json::from_slice(&all[..nl]).map_err(|e| StoreError::Rejected(e.to_string()))?;
    all.drain(..=nl);
    let need = head.nic_len + head.content_len + head.parts.iter().map(|p| p.len).sum::<usize>();
    if need != all.len() {
        return Err(StoreError::Rejected(
            "content blob length does not match its head".into(),
        ));
    }
    Ok(Content { head, data: all })
}

/// Laufzettel times.
pub fn set_forwarding(store: &Store, message_id: &str, now: &str) -> Result<(), StoreError> {
    store.write(|tx| {
        tx.execute(
            "UPDATE osci_delivery SET forwarding = COALESCE(forwarding, ?2), recent_modification = ?2 WHERE message_id = ?1",
            params![message_id, now],
        )?;
        Ok(())
    })
}

pub fn set_reception(store: &Store, ids: &[String], now: &str) -> Result<(), StoreError> {
    store.write(|tx| {
        for id in ids {
            tx.execute(
                "UPDATE osci_delivery SET reception = COALESCE(reception, ?2), recent_modification = ?2 WHERE message_id = ?1",
                params![id, now],
            )?;
        }
        Ok(())
    })
}

/// Remove every delivery and MessageId (admin reset).
pub fn clear(store: &Store) -> Result<(), StoreError> {
    store.write(|tx| {
        let blobs: Vec<String> = {
            let mut st = tx.prepare("SELECT content_blob FROM osci_delivery")?;
            st.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()?
        };
        for b in blobs {
            tx.delete_blob(&b)?;
        }
        tx.execute("DELETE FROM osci_delivery", [])?;
        tx.execute("DELETE FROM osci_message_id", [])?;
        Ok(())
    })
}
