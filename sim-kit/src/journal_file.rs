//! The journal on disk (`konform up --journal-file FILE`): JSON lines, one journal entry per line, the
//! entries of every simulator in one file (each names its `simulator`), readable with `jq` and `tail -f`.
//!
//! At start, [`JournalFile::attach`] puts each simulator's entries back into its journal (within the
//! journal's budget; sequence numbers continue), then appends every new entry. Lines are written whole and
//! flushed to the operating system at once, so they survive a `kill -9` (not a power cut: no fsync per
//! request). A line cut off by a crash is skipped when reading. Clearing a journal (admin `DELETE
//! /__konform/journal`, `POST /__konform/reset`) writes a marker line, so cleared entries do not come back
//! at the next start. When the file passes its size limit it is renamed to `FILE.1` (replacing an older
//! one) and a new file is begun: the disk holds at most twice the limit.

use crate::Kit;
use crate::journal::{JournalEntry, JournalSink};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct JournalFile {
    path: PathBuf,
    max_bytes: u64,
    out: Mutex<Out>,
}

struct Out {
    file: File,
    size: u64,
    failed: bool,
}

/// A marker line: every entry of `simulator` up to `seq` was cleared.
#[derive(Serialize, Deserialize)]
struct Cleared {
    konform_journal_cleared: String,
    seq: u64,
}

impl JournalFile {
    /// Open (or create) the file; `max_bytes` is the size at which it is rotated.
    pub fn open(path: &Path, max_bytes: u64) -> std::io::Result<Arc<JournalFile>> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let size = file.metadata()?.len();
        if size > 0 {
            // A line cut off by a crash: end it, so the next entry starts on a line of its own.
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        Ok(Arc::new(JournalFile {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(4096),
            out: Mutex::new(Out {
                file,
                size,
                failed: false,
            }),
        }))
    }

    fn rotated(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".1");
        PathBuf::from(p)
    }

    /// The entries of `simulator` kept in the files, oldest first, without cleared ones.
    pub fn read(&self, simulator: &str) -> Vec<JournalEntry> {
        let mut out: Vec<JournalEntry> = Vec::new();
        for p in [self.rotated(), self.path.clone()] {
            let Ok(f) = File::open(&p) else { continue };
            for line in BufReader::new(f).split(b'\n').map_while(Result::ok) {
                if let Ok(e) = serde_json::from_slice::<JournalEntry>(&line) {
                    if e.simulator == simulator {
                        out.push(e);
                    }
                } else if let Ok(c) = serde_json::from_slice::<Cleared>(&line)
                    && c.konform_journal_cleared == simulator
                {
                    out.retain(|e| e.seq > c.seq);
                }
            }
        }
        out
    }

    /// Restore `kit`'s journal from the file and append its new entries to it.
    pub fn attach(self: &Arc<Self>, kit: &Kit) {
        kit.journal().restore(self.read(kit.name()));
        kit.journal().set_sink(self.clone());
    }

    fn append(&self, line: &[u8]) {
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if out.size + line.len() as u64 > self.max_bytes
            && let Err(e) = self.rotate(&mut out)
        {
            tracing::warn!("journal file {}: cannot rotate: {e}", self.path.display());
        }
        match out.file.write_all(line) {
            Ok(()) => {
                out.size += line.len() as u64;
                out.failed = false;
            }
            Err(e) if !out.failed => {
                out.failed = true;
                tracing::warn!("journal file {}: {e}", self.path.display());
            }
            Err(_) => {}
        }
    }

    fn rotate(&self, out: &mut Out) -> std::io::Result<()> {
        std::fs::rename(&self.path, self.rotated())?;
        out.file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)?;
        out.size = 0;
        Ok(())
    }
}

impl JournalSink for JournalFile {
    fn write(&self, entry: &JournalEntry) {
        if let Ok(mut line) = serde_json::to_vec(entry) {
            line.push(b'\n');
            self.append(&line);
        }
    }

    fn cleared(&self, simulator: &str, up_to: u64) {
        let c = Cleared {
            konform_journal_cleared: simulator.to_string(),
            seq: up_to,
        };
        if let Ok(mut line) = serde_json::to_vec(&c) {
            line.push(b'\n');
            self.append(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Verdict;

    fn entry(path: &str) -> JournalEntry {
        JournalEntry {
            seq: 0,
            at: String::new(),
            simulator: String::new(),
            method: "POST".into(),
            path: path.into(),
            operation: None,
            status: 400,
            verdict: Verdict::Rejected,
            diagnoses: vec![crate::Diagnosis::new("r", "m")],
            fault: None,
            duration_ms: 1.0,
            data: None,
        }
    }

    #[test]
    fn survives_a_restart_and_a_torn_line() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("journal.jsonl");
        {
            let f = JournalFile::open(&path, 1 << 20).unwrap();
            let vst = Kit::new("vst");
            let kon = Kit::new("konnektor");
            f.attach(&vst);
            f.attach(&kon);
            vst.journal().record(entry("/a"));
            kon.journal().record(entry("/k"));
            vst.journal().record(entry("/b"));
        }
        // A crash in the middle of a line.
        let mut raw = OpenOptions::new().append(true).open(&path).unwrap();
        raw.write_all(br#"{"seq":3,"at":"2026"#).unwrap();
        drop(raw);
        let f = JournalFile::open(&path, 1 << 20).unwrap();
        let vst = Kit::new("vst");
        f.attach(&vst);
        let paths: Vec<_> = vst.journal().all().iter().map(|e| e.path.clone()).collect();
        assert_eq!(paths, vec!["/a", "/b"]);
        assert_eq!(
            vst.journal().record(entry("/c")),
            3,
            "the sequence continues"
        );
        // Cleared entries do not come back.
        vst.journal().clear();
        vst.journal().record(entry("/d"));
        let again = Kit::new("vst");
        f.attach(&again);
        let paths: Vec<_> = again
            .journal()
            .all()
            .iter()
            .map(|e| e.path.clone())
            .collect();
        assert_eq!(paths, vec!["/d"]);
    }

    #[test]
    fn rotates_at_its_limit() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("j.jsonl");
        let f = JournalFile::open(&path, 4096).unwrap();
        let kit = Kit::new("vst");
        f.attach(&kit);
        for i in 0..100 {
            kit.journal().record(entry(&format!("/{i}")));
        }
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        assert!(size(&path) <= 4096);
        assert!(size(&f.rotated()) <= 4096 && size(&f.rotated()) > 0);
        let back = f.read("vst");
        assert!(!back.is_empty() && back.last().unwrap().path == "/99");
    }
}
