//! Reports a customer can verify: every report names the konform version, the client adapter, the date,
//! each pack's version with the SHA-256 of every scenario file (and a digest over them), and the SHA-256
//! of the obligations file. [`verify`] recomputes the hashes from pack folders and says whether the
//! report was made with unmodified packs (`konform report verify REPORT.json --packs DIR…`).

use crate::event::{FileDigest, PackInfo, RunInfo};
use crate::model::Pack;
use std::path::{Path, PathBuf};

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    ti_core::sha256(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The files of a pack, relative to its folder, with their hashes (sorted by name).
pub fn pack_files(p: &Pack) -> Vec<FileDigest> {
    let mut files: Vec<FileDigest> = p
        .scenarios
        .iter()
        .map(|s| FileDigest {
            file: s
                .file
                .strip_prefix(&p.dir)
                .unwrap_or(&s.file)
                .to_string_lossy()
                .replace('\\', "/"),
            sha256: s.sha256.clone(),
        })
        .collect();
    files.sort_by(|a, b| a.file.cmp(&b.file));
    files
}

/// One digest for a pack: SHA-256 over `"<sha256>  <file>\n"` lines (as `sha256sum` prints them), sorted by
/// file name — `sha256sum *.yaml | sha256sum` in the pack folder gives the same value.
pub fn pack_digest(files: &[FileDigest]) -> String {
    let mut sorted = files.to_vec();
    sorted.sort_by(|a, b| a.file.cmp(&b.file));
    let text: String = sorted
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.file))
        .collect();
    sha256_hex(text.as_bytes())
}

/// The digest of a file on disk, named by its file name.
pub fn file_digest(path: &Path) -> std::io::Result<FileDigest> {
    let bytes = std::fs::read(path)?;
    Ok(FileDigest {
        file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: sha256_hex(&bytes),
    })
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    /// Files whose hash matches.
    pub matching: usize,
    /// Human-readable differences; empty when the report matches the packs.
    pub problems: Vec<String>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.matching > 0
    }
}

/// Find the folder of pack `name` among `dirs` (a pack folder itself, or a folder holding pack folders).
fn pack_dir(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter().find_map(|d| {
        if d.file_name().is_some_and(|n| n == name) && d.is_dir() {
            Some(d.clone())
        } else {
            let sub = d.join(name);
            sub.is_dir().then_some(sub)
        }
    })
}

/// Recompute the hashes of the report's packs (and obligations file) from `dirs`.
pub fn verify(info: &RunInfo, dirs: &[PathBuf]) -> Verification {
    let mut v = Verification::default();
    for p in &info.packs {
        verify_pack(p, dirs, &mut v);
    }
    if let Some(o) = &info.obligations {
        let found = dirs.iter().find_map(|d| {
            [Some(d.as_path()), d.parent()]
                .into_iter()
                .flatten()
                .map(|x| x.join(&o.file))
                .find(|f| f.is_file())
        });
        match found.map(|f| file_digest(&f)) {
            Some(Ok(d)) if d.sha256 == o.sha256 => v.matching += 1,
            Some(Ok(d)) => v.problems.push(format!(
                "{}: SHA-256 {} differs from the report's {}",
                o.file, d.sha256, o.sha256
            )),
            Some(Err(e)) => v.problems.push(format!("{}: {e}", o.file)),
            None => v
                .problems
                .push(format!("{}: not found beside the packs", o.file)),
        }
    }
    v
}

fn verify_pack(p: &PackInfo, dirs: &[PathBuf], v: &mut Verification) {
    let Some(dir) = pack_dir(&p.name, dirs) else {
        v.problems
            .push(format!("pack `{}`: no such folder in --packs", p.name));
        return;
    };
    if p.files.is_empty() {
        v.problems.push(format!(
            "pack `{}`: the report lists no file hashes (made by an older konform?)",
            p.name
        ));
        return;
    }
    let (packs, errors) = crate::model::load(std::slice::from_ref(&dir));
    for e in errors {
        v.problems.push(format!("pack `{}`: {e}", p.name));
    }
    let on_disk: Vec<FileDigest> = packs
        .iter()
        .filter(|x| x.name == p.name)
        .flat_map(pack_files)
        .collect();
    for f in &p.files {
        match on_disk.iter().find(|d| d.file == f.file) {
            Some(d) if d.sha256 == f.sha256 => v.matching += 1,
            Some(d) => v.problems.push(format!(
                "{}/{}: SHA-256 {} differs from the report's {}",
                p.name, f.file, d.sha256, f.sha256
            )),
            None => v.problems.push(format!(
                "{}/{}: missing from the pack folder",
                p.name, f.file
            )),
        }
    }
    for d in on_disk
        .iter()
        .filter(|d| !p.files.iter().any(|f| f.file == d.file))
    {
        v.problems.push(format!(
            "{}/{}: not in the report (added after it was made)",
            p.name, d.file
        ));
    }
    let digest = pack_digest(&p.files);
    if !p.digest.is_empty() && p.digest != digest {
        v.problems.push(format!(
            "pack `{}`: the report's digest {} does not match its own file list ({digest})",
            p.name, p.digest
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256sum_compatible() {
        // `printf 'abc' | sha256sum`
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let files = vec![
            FileDigest {
                file: "b.yaml".into(),
                sha256: "2".repeat(64),
            },
            FileDigest {
                file: "a.yaml".into(),
                sha256: "1".repeat(64),
            },
        ];
        let expected = sha256_hex(
            format!("{}  a.yaml\n{}  b.yaml\n", "1".repeat(64), "2".repeat(64)).as_bytes(),
        );
        assert_eq!(pack_digest(&files), expected);
    }
}
