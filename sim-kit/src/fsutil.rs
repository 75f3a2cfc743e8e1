//! Writing a set of files as one: [`write_dir_atomically`] writes every file into a temporary sibling
//! folder, fsyncs files and folders, and renames the folder into place — so a process killed at any moment
//! leaves either no folder or a complete one (plus, at worst, a temporary folder that the next call sweeps
//! away). Secret files are created with mode 0600, others 0644; the folders 0700 when any file is secret.
//!
//! Used for the test PKI by `konform pki init`, `konform up` and the scenario runner (with
//! `ti_core::pki::TestPki::files()` through [`pem_files`]), and meant for any other set of files a
//! simulator hands out (certificate bundles, exported keys).

use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// One file of the set: a relative path (`tls/server.key.pem`), its bytes, whether it is secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirFile {
    pub path: String,
    pub contents: Vec<u8>,
    pub secret: bool,
}

/// What to do when the target folder exists and is not empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Fail with [`FsError::Exists`].
    Refuse,
    /// Move it aside, rename the new folder into place, then remove the old one.
    Replace,
}

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{0}` exists and is not empty")]
    Exists(PathBuf),
    #[error("`{0}` is not a relative path inside the folder")]
    BadPath(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FsError + '_ {
    move |source| FsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// PEM files as a set: private keys (`*.key.pem`) secret, everything else public.
pub fn pem_files(files: impl IntoIterator<Item = (String, String)>) -> Vec<DirFile> {
    files
        .into_iter()
        .map(|(path, text)| DirFile {
            secret: path.ends_with(".key.pem"),
            path,
            contents: text.into_bytes(),
        })
        .collect()
}

/// Prefix of the temporary siblings, `.NAME.konform-tmp-…` / `.NAME.konform-old-…`.
fn temp_prefix(dir: &Path, kind: &str) -> Option<(PathBuf, String)> {
    let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = dir.file_name()?.to_string_lossy().into_owned();
    Some((parent, format!(".{name}.konform-{kind}-")))
}

/// Remove temporary siblings of `dir` left by a process killed while writing it. Returns how many.
pub fn sweep_temporaries(dir: &Path) -> usize {
    let mut n = 0;
    for kind in ["tmp", "old"] {
        let Some((parent, prefix)) = temp_prefix(dir, kind) else {
            continue;
        };
        let parent = if parent.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            parent
        };
        let Ok(rd) = std::fs::read_dir(&parent) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix)
                && std::fs::remove_dir_all(e.path()).is_ok()
            {
                n += 1;
            }
        }
    }
    n
}

/// Write `files` as the folder `dir`, all or nothing (module docs).
pub fn write_dir_atomically(
    dir: &Path,
    files: &[DirFile],
    existing: Existing,
) -> Result<(), FsError> {
    for f in files {
        let p = Path::new(&f.path);
        if f.path.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(FsError::BadPath(f.path.clone()));
        }
    }
    let Some((parent, prefix)) = temp_prefix(dir, "tmp") else {
        return Err(FsError::BadPath(dir.display().to_string()));
    };
    if !parent.as_os_str().is_empty() {
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    }
    sweep_temporaries(dir);
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut rd| rd.next().is_some());
    if occupied && existing == Existing::Refuse {
        return Err(FsError::Exists(dir.to_path_buf()));
    }
    let secret_dirs = files.iter().any(|f| f.secret);
    let tmp = parent.join(format!("{prefix}{}", unique()));
    let result = write_all(&tmp, files, secret_dirs).and_then(|()| {
        if occupied {
            let (_, old_prefix) = temp_prefix(dir, "old").unwrap_or_default();
            let old = parent.join(format!("{old_prefix}{}", unique()));
            std::fs::rename(dir, &old).map_err(io(dir))?;
            std::fs::rename(&tmp, dir).map_err(io(dir))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            // An empty folder (or none) is replaced by the rename itself.
            std::fs::rename(&tmp, dir).map_err(io(dir))?;
        }
        sync_dir(if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &parent
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn write_all(tmp: &Path, files: &[DirFile], secret_dirs: bool) -> Result<(), FsError> {
    create_dir(tmp, secret_dirs)?;
    let mut dirs = vec![tmp.to_path_buf()];
    for f in files {
        let path = tmp.join(&f.path);
        if let Some(d) = path.parent().filter(|d| !d.exists()) {
            // Create each missing level with the right mode.
            let mut missing = Vec::new();
            let mut cur = d;
            while !cur.exists() {
                missing.push(cur.to_path_buf());
                cur = cur.parent().unwrap_or(tmp);
            }
            for m in missing.into_iter().rev() {
                create_dir(&m, secret_dirs)?;
                dirs.push(m);
            }
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(if f.secret { 0o600 } else { 0o644 });
        }
        let mut file = opts.open(&path).map_err(io(&path))?;
        file.write_all(&f.contents).map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
    }
    for d in dirs.iter().rev() {
        sync_dir(d)?;
    }
    Ok(())
}

fn create_dir(d: &Path, secret: bool) -> Result<(), FsError> {
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(if secret { 0o700 } else { 0o755 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    b.create(d).map_err(io(d))
}

/// fsync a folder so the names in it (a rename, new files) survive a power cut.
fn sync_dir(d: &Path) -> Result<(), FsError> {
    #[cfg(unix)]
    {
        std::fs::File::open(d)
            .and_then(|f| f.sync_all())
            .map_err(io(d))
    }
    #[cfg(not(unix))]
    {
        let _ = d;
        Ok(())
    }
}

fn unique() -> String {
    let mut r = [0u8; 6];
    let _ = getrandom::fill(&mut r);
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> Vec<DirFile> {
        pem_files([
            ("ca.pem".to_string(), "CERT".to_string()),
            ("ca.key.pem".to_string(), "KEY".to_string()),
            ("tls/server.key.pem".to_string(), "TLSKEY".to_string()),
        ])
    }

    #[test]
    fn writes_all_with_modes_and_refuses_or_replaces() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("a/pki");
        write_dir_atomically(&dir, &set(), Existing::Refuse).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("tls/server.key.pem")).unwrap(),
            "TLSKEY"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                |p: &str| std::fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode("ca.key.pem"), 0o600);
            assert_eq!(mode("tls/server.key.pem"), 0o600);
            assert_eq!(mode("ca.pem"), 0o644);
            assert_eq!(mode("tls"), 0o700);
        }
        assert!(matches!(
            write_dir_atomically(&dir, &set(), Existing::Refuse),
            Err(FsError::Exists(_))
        ));
        let mut other = set();
        other[0].contents = b"NEW".to_vec();
        write_dir_atomically(&dir, &other, Existing::Replace).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("ca.pem")).unwrap(), "NEW");
        // Nothing temporary is left beside it.
        let names: Vec<_> = std::fs::read_dir(t.path().join("a"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["pki".to_string()]);
    }

    #[test]
    fn an_empty_folder_is_filled_and_leftovers_are_swept() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("pki");
        std::fs::create_dir(&dir).unwrap();
        let stale = t.path().join(".pki.konform-tmp-1-abc");
        std::fs::create_dir_all(stale.join("tls")).unwrap();
        std::fs::write(stale.join("ca.pem"), "half").unwrap();
        write_dir_atomically(&dir, &set(), Existing::Refuse).unwrap();
        assert!(!stale.exists(), "a killed writer's folder is swept");
        assert!(dir.join("ca.key.pem").exists());
    }

    #[test]
    fn paths_must_stay_inside() {
        let t = tempfile::tempdir().unwrap();
        for bad in ["../x", "/etc/x", "", "a/../../x"] {
            let f = vec![DirFile {
                path: bad.into(),
                contents: vec![],
                secret: false,
            }];
            assert!(matches!(
                write_dir_atomically(&t.path().join("d"), &f, Existing::Refuse),
                Err(FsError::BadPath(_))
            ));
        }
    }
}
