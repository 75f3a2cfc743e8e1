//! The one embedded store every simulator keeps its durable state in: SQLite (WAL) under `--data-dir`, or
//! in memory for `--ephemeral` (the scenario runner and tests).
//!
//! Why one store: a real service never loses what it accepted, and a request is either stored in full or
//! not at all. Each simulator owns its tables (created through [`Store::migrate`] under its own component
//! name) or keeps simple state as JSON values in [`kv`]; large content (XTA messages, OSCI deliveries) is
//! streamed into blob files ([`Store::blob_writer`]) that become visible only when the transaction that
//! attaches them commits.
//!
//! Calls are synchronous and short (one connection behind a mutex); handlers call them directly. Bulk
//! work belongs in `tokio::task::spawn_blocking`.
//!
//! Crash safety: SQLite's WAL makes every committed transaction survive a `kill -9`. Blob files are
//! written under a temporary name, fsync'd and renamed before the transaction commits; at open, blob
//! files without a committed row (a crash between rename and commit) and temporary files are removed.
//! Long because of its unit tests (~100 lines); the code itself is about 540.

pub use rusqlite;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// File name of the database under the data directory.
pub const DB_FILE: &str = "konform.sqlite";
/// Folder of the blob files under the data directory.
pub const BLOB_DIR: &str = "blobs";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("store: {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("store: JSON value `{ns}/{key}`: {source}")]
    Json {
        ns: String,
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("store: unknown blob `{0}`")]
    UnknownBlob(String),
    /// A simulator-specific refusal inside a write; the transaction is rolled back.
    #[error("{0}")]
    Rejected(String),
}

impl StoreError {
    fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A handle to the store; cheap to clone, shared by every simulator of one `konform up`.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    blobs: BlobDir,
    ephemeral: bool,
    next_blob: AtomicU64,
}

/// Where blob files live. For an ephemeral store it is a private temporary folder removed on drop.
enum BlobDir {
    Durable(PathBuf),
    Temporary(tempfile::TempDir),
}

impl BlobDir {
    fn path(&self) -> &Path {
        match self {
            BlobDir::Durable(p) => p,
            BlobDir::Temporary(t) => t.path(),
        }
    }
}

const BOOTSTRAP: &str = "
CREATE TABLE IF NOT EXISTS konform_migrations (component TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS konform_kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (ns, key));
CREATE TABLE IF NOT EXISTS konform_blobs (id TEXT PRIMARY KEY, len INTEGER NOT NULL);
";

impl Store {
    /// Open (or create) the durable store under `dir`: `dir/konform.sqlite` and `dir/blobs/`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let blob_dir = dir.join(BLOB_DIR);
        std::fs::create_dir_all(&blob_dir).map_err(|e| StoreError::io(&blob_dir, e))?;
        let conn = Connection::open(dir.join(DB_FILE))?;
        // WAL + NORMAL: a committed transaction survives a process kill; readers never block the writer.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(BOOTSTRAP)?;
        let store = Store::with(conn, BlobDir::Durable(blob_dir), false);
        store.sweep_blobs()?;
        Ok(store)
    }

    /// A store that lives in memory (blobs in a private temporary folder) and is gone when dropped.
    pub fn ephemeral() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(BOOTSTRAP)?;
        let tmp = tempfile::Builder::new()
            .prefix("konform-blobs-")
            .tempdir()
            .map_err(|e| StoreError::io(&std::env::temp_dir(), e))?;
        Ok(Store::with(conn, BlobDir::Temporary(tmp), true))
    }

    fn with(conn: Connection, blobs: BlobDir, ephemeral: bool) -> Store {
        Store {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                blobs,
                ephemeral,
                next_blob: AtomicU64::new(0),
            }),
        }
    }

    pub fn is_ephemeral(&self) -> bool {
        self.inner.ephemeral
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a closure rolls its transaction back (Transaction's drop), so a poisoned lock
        // still guards a consistent connection.
        self.inner
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Bring `component`'s tables up to date: runs `steps[v..]` (each an SQL batch) where `v` is the
    /// number of steps applied before, all in one transaction. Append steps; never edit a shipped one.
    pub fn migrate(&self, component: &str, steps: &[&str]) -> Result<(), StoreError> {
        self.write(|tx| {
            let done: Option<i64> = tx
                .query_row(
                    "SELECT version FROM konform_migrations WHERE component = ?1",
                    [component],
                    |r| r.get(0),
                )
                .optional()?;
            let done = usize::try_from(done.unwrap_or(0)).unwrap_or(usize::MAX);
            if done > steps.len() {
                return Err(StoreError::Rejected(format!(
                    "store: `{component}` is at schema version {done}, newer than this konform ({}); \
                     use a newer konform or another --data-dir",
                    steps.len()
                )));
            }
            for step in &steps[done..] {
                tx.execute_batch(step)?;
            }
            let version = i64::try_from(steps.len()).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO konform_migrations (component, version) VALUES (?1, ?2)
                 ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                params![component, version],
            )?;
            Ok(())
        })
    }

    /// Run `f` in one write transaction: committed when it returns `Ok`, rolled back otherwise.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_with_blobs(Vec::new(), f)
    }

    /// Like [`Store::write`], and the blobs become part of the store exactly when the transaction commits;
    /// on failure their files are removed.
    pub fn write_with_blobs<T>(
        &self,
        blobs: Vec<NewBlob>,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let outcome = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut tx = Tx {
                tx,
                doomed_blobs: Vec::new(),
            };
            for b in &blobs {
                tx.tx.execute(
                    "INSERT INTO konform_blobs (id, len) VALUES (?1, ?2)",
                    params![b.id, i64::try_from(b.len).unwrap_or(i64::MAX)],
                )?;
            }
            let value = f(&mut tx)?;
            let doomed = std::mem::take(&mut tx.doomed_blobs);
            tx.tx.commit()?;
            Ok((value, doomed))
        })();
        drop(conn);
        match outcome {
            Ok((value, doomed)) => {
                blobs.into_iter().for_each(NewBlob::keep);
                for id in doomed {
                    // Best effort: a file left behind is swept at the next open.
                    let _ = std::fs::remove_file(self.blob_path_unchecked(&id));
                }
                Ok(value)
            }
            Err(e) => Err(e), // dropping `blobs` removes their files
        }
    }

    /// Run `f` with read access (sees every committed write).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.lock();
        f(&conn)
    }

    /// Start a blob: write the content to it, then [`BlobWriter::finish`] and attach the result with
    /// [`Store::write_with_blobs`].
    pub fn blob_writer(&self) -> Result<BlobWriter, StoreError> {
        let n = self.inner.next_blob.fetch_add(1, Ordering::Relaxed);
        let mut rnd = [0u8; 8];
        getrandom::fill(&mut rnd).map_err(|e| {
            StoreError::io(
                self.inner.blobs.path(),
                std::io::Error::other(e.to_string()),
            )
        })?;
        let id = format!("{}-{n}", hex_lower(&rnd));
        let tmp = self.inner.blobs.path().join(format!("{id}.tmp"));
        let file = std::fs::File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        Ok(BlobWriter {
            id,
            file: Some(std::io::BufWriter::with_capacity(256 * 1024, file)),
            tmp,
            dir: self.inner.blobs.path().to_path_buf(),
            len: 0,
        })
    }

    /// Open a committed blob for reading.
    pub fn open_blob(&self, id: &str) -> Result<std::fs::File, StoreError> {
        let known: bool = self.read(|c| {
            Ok(c.query_row(
                "SELECT 1 FROM konform_blobs WHERE id = ?1",
                [id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })?;
        if !known {
            return Err(StoreError::UnknownBlob(id.to_string()));
        }
        let p = self.blob_path_unchecked(id);
        std::fs::File::open(&p).map_err(|e| StoreError::io(&p, e))
    }

    /// Length in bytes of a committed blob.
    pub fn blob_len(&self, id: &str) -> Result<u64, StoreError> {
        self.read(|c| {
            c.query_row("SELECT len FROM konform_blobs WHERE id = ?1", [id], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
            .map(|l| u64::try_from(l).unwrap_or(0))
            .ok_or_else(|| StoreError::UnknownBlob(id.to_string()))
        })
    }

    fn blob_path_unchecked(&self, id: &str) -> PathBuf {
        self.inner.blobs.path().join(id)
    }

    /// Remove temporary files and blob files no committed row refers to (left by a crash).
    fn sweep_blobs(&self) -> Result<(), StoreError> {
        let dir = self.inner.blobs.path().to_path_buf();
        let known: std::collections::HashSet<String> = self.read(|c| {
            let mut st = c.prepare("SELECT id FROM konform_blobs")?;
            let ids = st
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<_, _>>()?;
            Ok(ids)
        })?;
        let rd = std::fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !known.contains(&name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }
}

/// A write transaction. Derefs to [`rusqlite::Transaction`] for the simulator's own SQL.
pub struct Tx<'c> {
    tx: Transaction<'c>,
    doomed_blobs: Vec<String>,
}

impl<'c> std::ops::Deref for Tx<'c> {
    type Target = Transaction<'c>;
    fn deref(&self) -> &Transaction<'c> {
        &self.tx
    }
}

impl Tx<'_> {
    /// Forget a blob; its file is removed once the transaction commits.
    pub fn delete_blob(&mut self, id: &str) -> Result<bool, StoreError> {
        let n = self
            .tx
            .execute("DELETE FROM konform_blobs WHERE id = ?1", [id])?;
        if n > 0 {
            self.doomed_blobs.push(id.to_string());
        }
        Ok(n > 0)
    }
}

/// Content being written to a blob file (a temporary name until [`BlobWriter::finish`]).
pub struct BlobWriter {
    id: String,
    file: Option<std::io::BufWriter<std::fs::File>>,
    tmp: PathBuf,
    dir: PathBuf,
    len: u64,
}

impl BlobWriter {
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Flush, fsync and move the file to its final name. It is still not part of the store: attach it
    /// with [`Store::write_with_blobs`]; dropping the [`NewBlob`] removes it.
    pub fn finish(mut self) -> Result<NewBlob, StoreError> {
        let Some(buf) = self.file.take() else {
            return Err(StoreError::io(
                &self.tmp,
                std::io::Error::other("finished twice"),
            ));
        };
        let file = buf
            .into_inner()
            .map_err(|e| StoreError::io(&self.tmp, e.into_error()))?;
        file.sync_all().map_err(|e| StoreError::io(&self.tmp, e))?;
        let path = self.dir.join(&self.id);
        std::fs::rename(&self.tmp, &path).map_err(|e| StoreError::io(&path, e))?;
        Ok(NewBlob {
            id: std::mem::take(&mut self.id),
            len: self.len,
            path,
            kept: false,
        })
    }
}

impl std::io::Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("blob already finished"))?;
        let n = f.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A finished blob file waiting for the transaction that attaches it.
pub struct NewBlob {
    id: String,
    len: u64,
    path: PathBuf,
    kept: bool,
}

impl NewBlob {
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl NewBlob {
    /// Read the finished content back before it is committed (e.g. to check it before accepting it).
    pub fn open(&self) -> Result<std::fs::File, StoreError> {
        std::fs::File::open(&self.path).map_err(|e| StoreError::io(&self.path, e))
    }

    /// The committing transaction now refers to the file: dropping no longer removes it.
    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for NewBlob {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// JSON values by namespace and key, for state that is naturally a document (a registration, a card's
/// PIN state, a profile). Namespaces are `<simulator>.<kind>`, e.g. `vst.registration`.
pub mod kv {
    use super::{StoreError, Tx};
    use rusqlite::{Connection, OptionalExtension, params};
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    pub fn put<T: Serialize + ?Sized>(
        tx: &Tx<'_>,
        ns: &str,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(value).map_err(|source| StoreError::Json {
            ns: ns.into(),
            key: key.into(),
            source,
        })?;
        tx.execute(
            "INSERT INTO konform_kv (ns, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value",
            params![ns, key, text],
        )?;
        Ok(())
    }

    pub fn get<T: DeserializeOwned>(
        conn: &Connection,
        ns: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let text: Option<String> = conn
            .query_row(
                "SELECT value FROM konform_kv WHERE ns = ?1 AND key = ?2",
                params![ns, key],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| decode(ns, key, &t)).transpose()
    }

    /// Every value of a namespace, ordered by key.
    pub fn list<T: DeserializeOwned>(
        conn: &Connection,
        ns: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let mut st =
            conn.prepare("SELECT key, value FROM konform_kv WHERE ns = ?1 ORDER BY key")?;
        let rows = st
            .query_map([ns], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(k, t)| decode(ns, &k, &t).map(|v| (k, v)))
            .collect()
    }

    pub fn delete(tx: &Tx<'_>, ns: &str, key: &str) -> Result<bool, StoreError> {
        Ok(tx.execute(
            "DELETE FROM konform_kv WHERE ns = ?1 AND key = ?2",
            params![ns, key],
        )? > 0)
    }

    /// Remove every value of a namespace.
    pub fn clear(tx: &Tx<'_>, ns: &str) -> Result<usize, StoreError> {
        Ok(tx.execute("DELETE FROM konform_kv WHERE ns = ?1", [ns])?)
    }

    fn decode<T: DeserializeOwned>(ns: &str, key: &str, text: &str) -> Result<T, StoreError> {
        serde_json::from_str(text).map_err(|source| StoreError::Json {
            ns: ns.into(),
            key: key.into(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn kv_roundtrip_and_rollback() {
        let s = Store::ephemeral().unwrap();
        s.write(|tx| kv::put(tx, "t.a", "k1", &serde_json::json!({"x": 1})))
            .unwrap();
        let r: Result<(), _> = s.write(|tx| {
            kv::put(tx, "t.a", "k2", &2)?;
            Err(StoreError::Rejected("no".into()))
        });
        assert!(r.is_err());
        let all: Vec<(String, serde_json::Value)> = s.read(|c| kv::list(c, "t.a")).unwrap();
        assert_eq!(all.len(), 1, "the rolled-back put left nothing: {all:?}");
        assert_eq!(all[0].1["x"], 1);
    }

    #[test]
    fn durable_state_survives_reopen_and_orphans_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let kept_id;
        {
            let s = Store::open(dir.path()).unwrap();
            s.migrate(
                "t",
                &["CREATE TABLE t_msg (id TEXT PRIMARY KEY, blob TEXT NOT NULL);"],
            )
            .unwrap();
            let mut w = s.blob_writer().unwrap();
            w.write_all(b"hello blob").unwrap();
            let b = w.finish().unwrap();
            kept_id = b.id().to_string();
            s.write_with_blobs(vec![b], |tx| {
                tx.execute("INSERT INTO t_msg VALUES ('m1', ?1)", [&kept_id])?;
                Ok(())
            })
            .unwrap();
            // A blob whose transaction fails is removed at once.
            let mut w = s.blob_writer().unwrap();
            w.write_all(b"lost").unwrap();
            let b = w.finish().unwrap();
            let lost = dir.path().join(BLOB_DIR).join(b.id());
            assert!(lost.exists());
            let r: Result<(), _> =
                s.write_with_blobs(vec![b], |_| Err(StoreError::Rejected("profile".into())));
            assert!(r.is_err());
            assert!(!lost.exists(), "a rejected message leaves no file behind");
            // A file without a row (crash between rename and commit) is swept at the next open.
            std::fs::write(dir.path().join(BLOB_DIR).join("orphan"), b"x").unwrap();
            std::fs::write(dir.path().join(BLOB_DIR).join("half.tmp"), b"x").unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        s.migrate(
            "t",
            &["CREATE TABLE t_msg (id TEXT PRIMARY KEY, blob TEXT NOT NULL);"],
        )
        .unwrap();
        let blob: String = s
            .read(|c| Ok(c.query_row("SELECT blob FROM t_msg WHERE id='m1'", [], |r| r.get(0))?))
            .unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut s.open_blob(&blob).unwrap(), &mut text).unwrap();
        assert_eq!(text, "hello blob");
        assert_eq!(s.blob_len(&blob).unwrap(), 10);
        let names: Vec<String> = std::fs::read_dir(dir.path().join(BLOB_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![kept_id.clone()]);
        // Deleting a blob removes its file after the commit.
        s.write(|tx| tx.delete_blob(&kept_id).map(|_| ())).unwrap();
        assert!(!dir.path().join(BLOB_DIR).join(&kept_id).exists());
        assert!(matches!(
            s.open_blob(&kept_id),
            Err(StoreError::UnknownBlob(_))
        ));
    }

    #[test]
    fn migrations_run_once_and_refuse_a_newer_schema() {
        let s = Store::ephemeral().unwrap();
        let steps = [
            "CREATE TABLE m1 (a INTEGER);",
            "ALTER TABLE m1 ADD COLUMN b TEXT;",
        ];
        s.migrate("m", &steps[..1]).unwrap();
        s.migrate("m", &steps).unwrap();
        s.migrate("m", &steps).unwrap(); // idempotent
        let err = s.migrate("m", &steps[..1]).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
    }

    #[test]
    fn dropped_writer_leaves_no_temp_file() {
        let s = Store::ephemeral().unwrap();
        let mut w = s.blob_writer().unwrap();
        w.write_all(b"partial").unwrap();
        let dir = s.inner.blobs.path().to_path_buf();
        drop(w);
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0);
    }
}
