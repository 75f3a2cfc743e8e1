//! `konform pki init`: write the test PKI ([`ti_core::pki::TestPki`]) as PEM files.
//!
//! The writer and loader are public so that `konform up` can create the PKI on first start and reuse
//! it afterwards ([`prepare`]). Writing is all or nothing ([`sim_kit::fsutil`]): a process killed
//! while writing leaves no PKI folder or a complete one, never half of one.

use super::{CmdResult, Failure};
use sim_kit::fsutil::{self, Existing};
use std::path::{Path, PathBuf};
use ti_core::Curve;
use ti_core::pki::{InsurerInfo, PkiOptions, TestPki};

#[derive(clap::Args, Debug)]
#[command(after_help = super::EXIT_CODES_HELP)]
pub struct Args {
    #[command(subcommand)]
    cmd: PkiCmd,
}

#[derive(clap::Subcommand, Debug)]
enum PkiCmd {
    /// Write a fresh test PKI (PEM certificates, PKCS#8 keys with mode 0600, insurer.json)
    #[command(
        long_about = "Write a fresh test PKI as PEM files: a TEST-ONLY CA issuing the VST signing and \
                      encryption certificates, the Registerstelle encryption certificate, the insurer's \
                      SMC-B C.AUT / C.SIG (Telematik-ID and IK in the subject) and encryption key, all on \
                      brainpoolP256r1 (or P-256 with --curve p256), plus a separate P-256 TLS CA with server \
                      and client certificates. Layout: docs/pki.md.",
        after_help = super::EXIT_CODES_HELP
    )]
    Init(InitArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurveArg {
    /// brainpoolP256r1, as TI certificates use it (default)
    Brainpool,
    /// NIST P-256, for clients whose crypto lacks brainpool
    P256,
}

impl From<CurveArg> for Curve {
    fn from(c: CurveArg) -> Curve {
        match c {
            CurveArg::Brainpool => Curve::BrainpoolP256r1,
            CurveArg::P256 => Curve::P256,
        }
    }
}

#[derive(clap::Args, Debug)]
struct InitArgs {
    /// Directory to write the PKI into (created if missing)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Curve of every non-TLS key (TLS always uses P-256)
    #[arg(long, value_enum, default_value_t = CurveArg::Brainpool)]
    curve: CurveArg,
    /// Replace an existing PKI in DIR
    #[arg(long)]
    force: bool,
    /// Insurer name in the SMC-B certificate subjects
    #[arg(long, value_name = "NAME")]
    insurer_name: Option<String>,
    /// Insurer Telematik-ID (subject OU of the SMC-B certificates)
    #[arg(long, value_name = "ID")]
    telematik_id: Option<String>,
    /// Insurer Haupt-IK (subject OU of the SMC-B certificates); must pass the IK check digit
    #[arg(long, value_name = "IK")]
    ik: Option<String>,
}

const CMD: &str = "pki init";

pub fn run(args: Args) -> CmdResult {
    match args.cmd {
        PkiCmd::Init(a) => init(a),
    }
}

fn init(a: InitArgs) -> CmdResult {
    let mut insurer = InsurerInfo::default();
    if let Some(n) = a.insurer_name {
        if n.trim().is_empty() {
            return Err(Failure::usage(CMD, "--insurer-name must not be empty"));
        }
        insurer.name = n;
    }
    if let Some(t) = a.telematik_id {
        if t.trim().is_empty() || t.len() > 128 {
            return Err(Failure::usage(
                CMD,
                "--telematik-id must be 1 to 128 characters",
            ));
        }
        insurer.telematik_id = t;
    }
    if let Some(ik) = a.ik {
        ti_core::ids::check_ik(&ik).map_err(|e| {
            Failure::usage(
                CMD,
                format!("--ik `{ik}` is not a valid IK: {e} [{}]", e.rule()),
            )
        })?;
        insurer.ik = ik;
    }
    if a.out.exists() && !a.out.is_dir() {
        return Err(Failure::usage(
            CMD,
            format!("`{}` exists and is not a directory", a.out.display()),
        ));
    }
    fsutil::sweep_temporaries(&a.out);
    let existing = existing_pki_files(&a.out);
    if !existing.is_empty() && !a.force {
        return Err(Failure::usage(
            CMD,
            format!(
                "`{}` already holds a PKI ({}); pass --force to replace it",
                a.out.display(),
                shorten(&existing)
            ),
        ));
    }
    let foreign = foreign_files(&a.out);
    if !foreign.is_empty() {
        return Err(Failure::usage(
            CMD,
            format!(
                "`{}` holds files that are not part of a test PKI ({}); the PKI is written as a whole \
                 folder, so choose a new or empty folder",
                a.out.display(),
                shorten(&foreign)
            ),
        ));
    }
    let pki = TestPki::generate(&PkiOptions {
        curve: a.curve.into(),
        insurer,
        ..PkiOptions::at(std::time::SystemTime::now())
    })
    .map_err(|e| Failure::usage(CMD, format!("generating the PKI failed: {e}")))?;
    let existing = if a.force {
        Existing::Replace
    } else {
        Existing::Refuse
    };
    // The OSCI intermediary's RSA keys live in the same folder (`osci/`), written in the same step.
    let mut files = fsutil::pem_files(pki.files());
    files.extend(super::up_osci::new_osci_pki_files().map_err(|e| Failure::usage(CMD, e))?);
    // The XTA accounts' TLS client certificates (`xta/`), too.
    files.extend(fsutil::pem_files(
        mock_xta::pki::client_cert_files(
            &pki,
            &mock_xta::XtaConfig::default().accounts,
            std::time::SystemTime::now(),
        )
        .map_err(|e| Failure::usage(CMD, format!("XTA account certificates: {e}")))?,
    ));
    let written = write_files(&a.out, files, existing).map_err(|e| Failure::usage(CMD, e))?;
    // Read it back as every other tool will: catches a truncated write or a layout mismatch.
    let back = load_pki(&a.out).map_err(|e| Failure::usage(CMD, e))?;
    if back.ca.cert_der != pki.ca.cert_der || back.insurer != pki.insurer {
        return Err(Failure::usage(
            CMD,
            format!("`{}` does not read back as written", a.out.display()),
        ));
    }
    println!(
        "wrote a test PKI to {} (TI keys on {}, TLS on P-256)",
        a.out.display(),
        pki.curve.name()
    );
    println!(
        "insurer: {} — Telematik-ID {}, IK {}",
        pki.insurer.name, pki.insurer.telematik_id, pki.insurer.ik
    );
    for p in written {
        println!("  {p}");
    }
    Ok(())
}

fn shorten(names: &[String]) -> String {
    if names.len() > 3 {
        format!("{} and {} more", names[..3].join(", "), names.len() - 3)
    } else {
        names.join(", ")
    }
}

/// Every relative path of the PKI layout (certificates, keys, `insurer.json`).
pub fn layout() -> Vec<&'static str> {
    let mut names: Vec<&str> = TestPki::FILES.iter().flat_map(|(c, k)| [*c, *k]).collect();
    names.push("insurer.json");
    names
}

/// Relative paths of the PKI layout that already exist under `dir`.
pub fn existing_pki_files(dir: &Path) -> Vec<String> {
    layout()
        .into_iter()
        .filter(|n| dir.join(n).exists())
        .map(str::to_string)
        .collect()
}

/// Folders other simulators keep inside the PKI folder (the OSCI intermediary's RSA keys).
const SIMULATOR_DIRS: [&str; 2] = ["osci", "xta"];

/// Entries under `dir` that are neither a file of the layout nor one of its folders.
pub fn foreign_files(dir: &Path) -> Vec<String> {
    let layout = layout();
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let name = format!("{rel}{}", e.file_name().to_string_lossy());
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            let prefix = format!("{name}/");
            if is_dir && SIMULATOR_DIRS.contains(&name.as_str()) {
                continue;
            }
            if is_dir && layout.iter().any(|l| l.starts_with(&prefix)) {
                stack.push((e.path(), prefix));
            } else if is_dir || !layout.contains(&name.as_str()) {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}

/// Write the PKI as the folder `dir`, all files or none ([`sim_kit::fsutil::write_dir_atomically`]):
/// keys (`*.key.pem`) mode 0600, everything else 0644. Returns the relative paths written.
pub fn write_pki(dir: &Path, pki: &TestPki, existing: Existing) -> Result<Vec<String>, String> {
    write_files(dir, fsutil::pem_files(pki.files()), existing)
}

/// Write `files` as the PKI folder `dir`, all or nothing.
pub fn write_files(
    dir: &Path,
    files: Vec<fsutil::DirFile>,
    existing: Existing,
) -> Result<Vec<String>, String> {
    fsutil::write_dir_atomically(dir, &files, existing)
        .map_err(|e| format!("cannot write the PKI to `{}`: {e}", dir.display()))?;
    Ok(files.into_iter().map(|f| f.path).collect())
}

/// What `konform up` (and anything else that needs the PKI at a fixed place) finds under `dir`.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// No file of the layout (the folder may be missing or empty).
    Nothing,
    Complete,
    /// Some files of the layout, not all: a PKI cut off while written by an older konform, or damaged.
    Incomplete {
        present: Vec<String>,
        missing: Vec<String>,
    },
}

pub fn inspect(dir: &Path) -> Found {
    let present = existing_pki_files(dir);
    if present.is_empty() {
        return Found::Nothing;
    }
    let missing: Vec<String> = layout()
        .into_iter()
        .filter(|n| !present.iter().any(|p| p == n))
        .map(str::to_string)
        .collect();
    if missing.is_empty() {
        Found::Complete
    } else {
        Found::Incomplete { present, missing }
    }
}

/// Load the PKI under `dir`, or generate one in memory to be written there: `Some(how)` says the caller
/// must write it with [`write_pki`] (once everything else checked out). An incomplete folder is
/// regenerated when it holds no private key (nothing can depend on certificates whose keys are gone), and
/// otherwise reported with the exact commands that fix it.
pub fn prepare(dir: &Path, curve: Option<Curve>) -> Result<(TestPki, Option<Existing>), String> {
    let replace = match inspect(dir) {
        Found::Complete => {
            let pki = load_pki(dir).map_err(|e| {
                format!(
                    "{e}\nIf nothing uses this test PKI, write a fresh one in its place: \
                     konform pki init --out '{}' --force",
                    dir.display()
                )
            })?;
            if let Some(c) = curve.filter(|c| *c != pki.curve) {
                return Err(format!(
                    "the test PKI in {} uses {}, but --curve asks for {}: use another --data-dir or delete it",
                    dir.display(),
                    pki.curve.name(),
                    c.name()
                ));
            }
            return Ok((pki, None));
        }
        Found::Nothing => Existing::Refuse,
        Found::Incomplete { present, missing } => {
            let keys: Vec<String> = present
                .iter()
                .filter(|p| p.ends_with(".key.pem"))
                .cloned()
                .collect();
            let foreign = foreign_files(dir);
            if !keys.is_empty() || !foreign.is_empty() {
                return Err(format!(
                    "`{dir}` holds an incomplete test PKI: {} of {} files are missing ({}), but it has \
                     private keys ({}){}. It was probably cut off while it was first written. If no client \
                     uses these certificates yet, remove it and start again:\n  rm -r '{dir}'\nor write a \
                     complete PKI in its place:\n  konform pki init --out '{dir}' --force",
                    missing.len(),
                    layout().len(),
                    shorten(&missing),
                    shorten(&keys),
                    if foreign.is_empty() {
                        String::new()
                    } else {
                        format!(" and other files ({})", shorten(&foreign))
                    },
                    dir = dir.display(),
                ));
            }
            eprintln!(
                "konform: `{}` holds an incomplete test PKI without keys ({}); it will be replaced",
                dir.display(),
                shorten(&present)
            );
            Existing::Replace
        }
    };
    let pki = TestPki::generate(&PkiOptions {
        curve: curve.unwrap_or_default(),
        ..PkiOptions::at(std::time::SystemTime::now())
    })
    .map_err(|e| format!("generating the PKI failed: {e}"))?;
    Ok((pki, Some(replace)))
}

/// Load a PKI written by [`write_pki`].
pub fn load_pki(dir: &Path) -> Result<TestPki, String> {
    TestPki::from_files(&|rel| {
        std::fs::read_to_string(dir.join(rel))
            .map_err(|e| ti_core::Error::Input(format!("{}: {e}", dir.join(rel).display())))
    })
    .map_err(|e| format!("cannot load the PKI from `{}`: {e}", dir.display()))
}
