//! The XTA server's durable state in the shared store (tables `xta_*`): issued MessageIDs, messages with
//! their content blobs, attachments, transport reports and MsgBox iterators. Every change is one store
//! transaction; content blobs become part of the store only when the message row that refers to them
//! commits, so a refused or broken send leaves nothing behind.

use crate::model::ContentAttrs;
use serde::{Deserialize, Serialize};
use sim_kit::store::rusqlite::{self, OptionalExtension, Row, params};
use sim_kit::store::{Store, StoreError, Tx};

pub const COMPONENT: &str = "xta";

/// Schema steps; append, never edit a shipped one.
pub const MIGRATIONS: &[&str] = &["
CREATE TABLE xta_message_id (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE xta_message (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    sender TEXT NOT NULL,
    author TEXT NOT NULL,
    reader TEXT NOT NULL,
    service TEXT NOT NULL,
    message_type TEXT NOT NULL,
    business_scenario TEXT NOT NULL,
    profile TEXT,
    meta_xml TEXT NOT NULL,
    in_reply_to TEXT NOT NULL,
    message_attrs TEXT NOT NULL,
    message_blob TEXT,
    encrypted_xml TEXT,
    size INTEGER NOT NULL,
    not_before TEXT,
    obsolete_after TEXT,
    entered_at TEXT NOT NULL,
    fetched_at TEXT,
    closed_at TEXT,
    cancelled_at TEXT,
    test_msg INTEGER NOT NULL,
    sync INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX xta_message_reader ON xta_message (reader, seq);
CREATE TABLE xta_attachment (
    message TEXT NOT NULL REFERENCES xta_message (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    attrs TEXT NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (message, idx)
);
CREATE TABLE xta_report (
    message TEXT PRIMARY KEY REFERENCES xta_message (id) ON DELETE CASCADE,
    report_time TEXT NOT NULL,
    records TEXT NOT NULL
);
CREATE TABLE xta_iterator (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    list_form TEXT,
    page INTEGER,
    items TEXT NOT NULL,
    delivered TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"];

/// One record of a transport report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub kind: RecordKind,
    pub at: String,
    pub code: String,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Error,
    Warning,
    Info,
}

/// A stored message (without its content).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageRow {
    pub seq: i64,
    pub id: String,
    /// The account that sent it (authenticated).
    pub sender: String,
    /// Routing data as used (the business header's where it wins).
    pub author: String,
    pub reader: String,
    pub service: String,
    pub message_type: String,
    pub business_scenario: String,
    pub profile: Option<String>,
    #[serde(skip)]
    pub meta_xml: String,
    pub in_reply_to: Vec<String>,
    pub message_attrs: ContentAttrs,
    pub message_blob: Option<String>,
    #[serde(skip)]
    pub encrypted_xml: Option<String>,
    pub size: u64,
    pub not_before: Option<String>,
    pub obsolete_after: Option<String>,
    pub entered_at: String,
    pub fetched_at: Option<String>,
    pub closed_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub test_msg: bool,
    pub sync: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttachmentRow {
    pub idx: i64,
    pub attrs: ContentAttrs,
    pub blob: String,
    pub size: u64,
}

/// A transport report as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    pub report_time: String,
    pub records: Vec<Record>,
}

/// A MsgBox iterator (MsgBoxRequestID).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Iterator {
    pub id: String,
    pub account: String,
    pub kind: IterKind,
    pub list_form: Option<String>,
    /// Page size of a status list iterator (maxListItems).
    pub page: Option<u32>,
    /// Message ids still to deliver.
    pub items: Vec<String>,
    /// Message ids delivered through it (what a `close` without LastMsgReceived confirms).
    pub delivered: Vec<String>,
    pub created_at: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IterKind {
    Message,
    List,
}

impl IterKind {
    fn as_str(self) -> &'static str {
        match self {
            IterKind::Message => "message",
            IterKind::List => "list",
        }
    }
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Rejected(format!("xta store: corrupt JSON column: {e}"))
}

const MESSAGE_COLS: &str = "seq, id, sender, author, reader, service, message_type, business_scenario, profile, \
    meta_xml, in_reply_to, message_attrs, message_blob, encrypted_xml, size, not_before, obsolete_after, \
    entered_at, fetched_at, closed_at, cancelled_at, test_msg, sync";

fn message_row(r: &Row<'_>) -> rusqlite::Result<(MessageRow, String, String)> {
    let in_reply: String = r.get(10)?;
    let attrs: String = r.get(11)?;
    Ok((
        MessageRow {
            seq: r.get(0)?,
            id: r.get(1)?,
            sender: r.get(2)?,
            author: r.get(3)?,
            reader: r.get(4)?,
            service: r.get(5)?,
            message_type: r.get(6)?,
            business_scenario: r.get(7)?,
            profile: r.get(8)?,
            meta_xml: r.get(9)?,
            in_reply_to: Vec::new(),
            message_attrs: ContentAttrs::default(),
            message_blob: r.get(12)?,
            encrypted_xml: r.get(13)?,
            size: u64::try_from(r.get::<_, i64>(14)?).unwrap_or(0),
            not_before: r.get(15)?,
            obsolete_after: r.get(16)?,
            entered_at: r.get(17)?,
            fetched_at: r.get(18)?,
            closed_at: r.get(19)?,
            cancelled_at: r.get(20)?,
            test_msg: r.get::<_, i64>(21)? != 0,
            sync: r.get::<_, i64>(22)? != 0,
        },
        in_reply,
        attrs,
    ))
}

fn finish_row(
    (mut m, in_reply, attrs): (MessageRow, String, String),
) -> Result<MessageRow, StoreError> {
    m.in_reply_to = serde_json::from_str(&in_reply).map_err(json_err)?;
    m.message_attrs = serde_json::from_str(&attrs).map_err(json_err)?;
    Ok(m)
}

/// A message to insert.
pub struct NewMessage<'a> {
    pub row: &'a MessageRow,
    pub attachments: &'a [AttachmentRow],
    pub records: &'a [Record],
}

pub fn insert_message(tx: &Tx<'_>, m: &NewMessage<'_>) -> Result<(), StoreError> {
    let r = m.row;
    tx.execute(
        &format!(
            "INSERT INTO xta_message ({MESSAGE_COLS}) VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)"
        ),
        params![
            r.id,
            r.sender,
            r.author,
            r.reader,
            r.service,
            r.message_type,
            r.business_scenario,
            r.profile,
            r.meta_xml,
            serde_json::to_string(&r.in_reply_to).map_err(json_err)?,
            serde_json::to_string(&r.message_attrs).map_err(json_err)?,
            r.message_blob,
            r.encrypted_xml,
            i64::try_from(r.size).unwrap_or(i64::MAX),
            r.not_before,
            r.obsolete_after,
            r.entered_at,
            r.fetched_at,
            r.closed_at,
            r.cancelled_at,
            r.test_msg as i64,
            r.sync as i64,
        ],
    )?;
    for a in m.attachments {
        tx.execute(
            "INSERT INTO xta_attachment (message, idx, attrs, blob, size) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                r.id,
                a.idx,
                serde_json::to_string(&a.attrs).map_err(json_err)?,
                a.blob,
                i64::try_from(a.size).unwrap_or(i64::MAX)
            ],
        )?;
    }
    tx.execute(
        "INSERT INTO xta_report (message, report_time, records) VALUES (?1, ?2, ?3)",
        params![
            r.id,
            r.entered_at,
            serde_json::to_string(m.records).map_err(json_err)?
        ],
    )?;
    Ok(())
}

pub fn message(conn: &rusqlite::Connection, id: &str) -> Result<Option<MessageRow>, StoreError> {
    let row = conn
        .query_row(
            &format!("SELECT {MESSAGE_COLS} FROM xta_message WHERE id = ?1"),
            [id],
            message_row,
        )
        .optional()?;
    row.map(finish_row).transpose()
}

/// Messages of a mailbox in order of entry.
pub fn mailbox(conn: &rusqlite::Connection, reader: &str) -> Result<Vec<MessageRow>, StoreError> {
    let mut st = conn.prepare(&format!(
        "SELECT {MESSAGE_COLS} FROM xta_message WHERE reader = ?1 AND sync = 0 ORDER BY seq"
    ))?;
    let rows = st
        .query_map([reader], message_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(finish_row).collect()
}

/// Every message (admin API), newest first, at most `limit`.
pub fn all_messages(
    conn: &rusqlite::Connection,
    limit: usize,
) -> Result<Vec<MessageRow>, StoreError> {
    let mut st = conn.prepare(&format!(
        "SELECT {MESSAGE_COLS} FROM xta_message ORDER BY seq DESC LIMIT ?1"
    ))?;
    let rows = st
        .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], message_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(finish_row).collect()
}

pub fn attachments(
    conn: &rusqlite::Connection,
    id: &str,
) -> Result<Vec<AttachmentRow>, StoreError> {
    let mut st = conn.prepare(
        "SELECT idx, attrs, blob, size FROM xta_attachment WHERE message = ?1 ORDER BY idx",
    )?;
    let rows = st
        .query_map([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(idx, attrs, blob, size)| {
            Ok(AttachmentRow {
                idx,
                attrs: serde_json::from_str(&attrs).map_err(json_err)?,
                blob,
                size: u64::try_from(size).unwrap_or(0),
            })
        })
        .collect()
}

pub fn report(conn: &rusqlite::Connection, id: &str) -> Result<Option<ReportRow>, StoreError> {
    let row = conn
        .query_row(
            "SELECT report_time, records FROM xta_report WHERE message = ?1",
            [id],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?;
    row.map(|(t, recs)| {
        Ok(ReportRow {
            report_time: t,
            records: serde_json::from_str(&recs).map_err(json_err)?,
        })
    })
    .transpose()
}

pub fn add_record(tx: &Tx<'_>, id: &str, rec: &Record) -> Result<(), StoreError> {
    let current: Option<String> = tx
        .query_row(
            "SELECT records FROM xta_report WHERE message = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let mut records: Vec<Record> = match current {
        Some(s) => serde_json::from_str(&s).map_err(json_err)?,
        None => Vec::new(),
    };
    records.push(rec.clone());
    tx.execute(
        "UPDATE xta_report SET records = ?2, report_time = ?3 WHERE message = ?1",
        params![
            id,
            serde_json::to_string(&records).map_err(json_err)?,
            rec.at
        ],
    )?;
    Ok(())
}

/// Set a timestamp column (`fetched_at`, `closed_at`, `cancelled_at`) if it is still empty.
pub fn mark(tx: &Tx<'_>, id: &str, column: &str, at: &str) -> Result<bool, StoreError> {
    if !matches!(column, "fetched_at" | "closed_at" | "cancelled_at") {
        return Err(StoreError::Rejected(format!(
            "xta store: no timestamp column {column}"
        )));
    }
    let n = tx.execute(
        &format!("UPDATE xta_message SET {column} = ?2 WHERE id = ?1 AND {column} IS NULL"),
        params![id, at],
    )?;
    Ok(n > 0)
}

pub fn issue_message_id(tx: &Tx<'_>, id: &str, account: &str, at: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO xta_message_id (id, account, created_at) VALUES (?1, ?2, ?3)",
        params![id, account, at],
    )?;
    Ok(())
}

/// The account a MessageID was issued to.
pub fn issued_to(conn: &rusqlite::Connection, id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT account FROM xta_message_id WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn put_iterator(tx: &Tx<'_>, it: &Iterator) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO xta_iterator (id, account, kind, list_form, page, items, delivered, created_at) VALUES (?1, ?2, ?3, ?4, ?8, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET items = excluded.items, delivered = excluded.delivered",
        params![
            it.id,
            it.account,
            it.kind.as_str(),
            it.list_form,
            serde_json::to_string(&it.items).map_err(json_err)?,
            serde_json::to_string(&it.delivered).map_err(json_err)?,
            it.created_at,
            it.page.map(i64::from)
        ],
    )?;
    Ok(())
}

pub fn iterator(conn: &rusqlite::Connection, id: &str) -> Result<Option<Iterator>, StoreError> {
    let row = conn
        .query_row(
            "SELECT id, account, kind, list_form, items, delivered, created_at, page FROM xta_iterator WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    (r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?),
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                ))
            },
        )
        .optional()?;
    row.map(
        |((id, account, kind, list_form), items, delivered, created_at, page)| {
            Ok(Iterator {
                id,
                account,
                kind: if kind == "list" {
                    IterKind::List
                } else {
                    IterKind::Message
                },
                list_form,
                page: page.and_then(|p| u32::try_from(p).ok()),
                items: serde_json::from_str(&items).map_err(json_err)?,
                delivered: serde_json::from_str(&delivered).map_err(json_err)?,
                created_at,
            })
        },
    )
    .transpose()
}

pub fn delete_iterator(tx: &Tx<'_>, id: &str) -> Result<bool, StoreError> {
    Ok(tx.execute("DELETE FROM xta_iterator WHERE id = ?1", [id])? > 0)
}

/// Remove iterators created before `before`.
pub fn expire_iterators(tx: &Tx<'_>, before: &str) -> Result<usize, StoreError> {
    Ok(tx.execute("DELETE FROM xta_iterator WHERE created_at < ?1", [before])?)
}

/// Remove every message (with its content blobs), report, iterator and issued id: the admin reset.
pub fn clear(store: &Store) -> Result<usize, StoreError> {
    store.write(|tx| {
        let mut blobs: Vec<String> = Vec::new();
        {
            let mut st = tx.prepare("SELECT message_blob FROM xta_message WHERE message_blob IS NOT NULL UNION ALL SELECT blob FROM xta_attachment")?;
            let ids = st.query_map([], |r| r.get::<_, String>(0))?;
            for id in ids {
                blobs.push(id?);
            }
        }
        for b in &blobs {
            tx.delete_blob(b)?;
        }
        let n = tx.execute("DELETE FROM xta_message", [])?;
        tx.execute("DELETE FROM xta_attachment", [])?;
        tx.execute("DELETE FROM xta_report", [])?;
        tx.execute("DELETE FROM xta_iterator", [])?;
        tx.execute("DELETE FROM xta_message_id", [])?;
        Ok(n)
    })
}

/// Counts for the health endpoint.
pub fn counts(conn: &rusqlite::Connection) -> Result<(i64, i64), StoreError> {
    let m = conn.query_row("SELECT COUNT(*) FROM xta_message", [], |r| r.get(0))?;
    let open = conn.query_row(
        "SELECT COUNT(*) FROM xta_message WHERE closed_at IS NULL AND cancelled_at IS NULL",
        [],
        |r| r.get(0),
    )?;
    Ok((m, open))
}
