//! `konform pki init`: write the test PKI ([`ti_core::pki::TestPki`]) as PEM files.
//!
//! The writer and loader are public so that `konform up` can create the PKI on first start and reuse
//! it afterwards.

use super::{CmdResult, Failure};
use std::io::Write;
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
    let existing = existing_pki_files(&a.out);
    if !existing.is_empty() && !a.force {
        let shown = if existing.len() > 3 {
            format!(
                "{} and {} more",
                existing[..3].join(", "),
                existing.len() - 3
            )
        } else {
            existing.join(", ")
        };
        return Err(Failure::usage(
            CMD,
            format!(
                "`{}` already holds a PKI ({shown}); pass --force to replace it",
                a.out.display()
            ),
        ));
    }
    let pki = TestPki::generate(&PkiOptions {
        curve: a.curve.into(),
        insurer,
        ..PkiOptions::at(std::time::SystemTime::now())
    })
    .map_err(|e| Failure::usage(CMD, format!("generating the PKI failed: {e}")))?;
    let mut written = write_pki(&a.out, &pki).map_err(|e| Failure::usage(CMD, e))?;
    written.extend(super::up_osci::write_new_osci_pki(&a.out).map_err(|e| Failure::usage(CMD, e))?);
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

/// Relative paths of the PKI layout that already exist under `dir`.
pub fn existing_pki_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<&str> = TestPki::FILES.iter().flat_map(|(c, k)| [*c, *k]).collect();
    names.push("insurer.json");
    names
        .into_iter()
        .filter(|n| dir.join(n).exists())
        .map(str::to_string)
        .collect()
}

/// Write every file of [`TestPki::files`] below `dir`, creating directories. Keys (`*.key.pem`) get
/// mode 0600, everything else 0644. Each file is written to a temporary name and renamed, so a reader
/// never sees half a file. Returns the relative paths written.
pub fn write_pki(dir: &Path, pki: &TestPki) -> Result<Vec<String>, String> {
    let mut written = Vec::new();
    for (rel, text) in pki.files() {
        let path = dir.join(&rel);
        let secret = rel.ends_with(".key.pem");
        write_file(&path, text.as_bytes(), secret)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        written.push(rel);
    }
    Ok(written)
}

fn write_file(path: &Path, data: &[u8], secret: bool) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.konform-tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    #[cfg(not(unix))]
    let _ = secret;
    result
}

/// Load a PKI written by [`write_pki`].
pub fn load_pki(dir: &Path) -> Result<TestPki, String> {
    TestPki::from_files(&|rel| {
        std::fs::read_to_string(dir.join(rel))
            .map_err(|e| ti_core::Error::Input(format!("{}: {e}", dir.join(rel).display())))
    })
    .map_err(|e| format!("cannot load the PKI from `{}`: {e}", dir.display()))
}
