//! The subcommands. To add one: a module here with an `Args` struct (clap derive) and a
//! `run(args) -> CmdResult`, one variant in [`Command`], one arm in [`dispatch`].

use clap::{Parser, Subcommand};
use std::path::Path;

pub mod client;
pub mod field;
pub mod ik;
pub mod kvnr;
pub mod melderegister;
pub mod pki;
pub mod run;
pub mod selftest;
pub mod up;
pub mod up_melderegister;
pub mod up_osci;

/// Exit codes every subcommand uses (documented in `--help` and the README).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    /// 0: done, the value is valid.
    Ok = 0,
    /// 1: the command ran and the answer is negative (invalid value, failed decryption, failed scenario).
    Invalid = 1,
    /// 2: usage, configuration or input error (bad flag, unreadable file, bad PEM or base64).
    Usage = 2,
}

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  ok: done, or the value is valid
  1  invalid: the command ran and the answer is negative (invalid value, decryption failed)
  2  usage, configuration or input error (bad flag, unreadable file, bad PEM or base64)";

/// Why a subcommand did not end with exit code 0.
#[derive(Debug)]
pub struct Failure {
    pub status: ExitStatus,
    /// Printed to stderr as `konform <command>: <message>`; empty when the command already printed
    /// its verdict (e.g. `kvnr check` prints per-value results to stdout).
    pub message: String,
    pub command: &'static str,
}

impl Failure {
    pub fn usage(command: &'static str, message: impl Into<String>) -> Self {
        Failure {
            status: ExitStatus::Usage,
            message: message.into(),
            command,
        }
    }
    pub fn invalid(command: &'static str, message: impl Into<String>) -> Self {
        Failure {
            status: ExitStatus::Invalid,
            message: message.into(),
            command,
        }
    }
    pub fn report(&self) {
        if !self.message.is_empty() {
            eprintln!("konform {}: {}", self.command, self.message);
        }
    }
}

pub type CmdResult = Result<(), Failure>;

#[derive(Parser, Debug)]
#[command(
    name = "konform",
    version,
    about = "Counterpart simulators and conformance runner for German e-health interfaces \
             (IRD Vertrauensstelle, TI Konnektor, XTA)",
    after_help = EXIT_CODES_HELP,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start every simulator on loopback with the test PKI (VST 8081, Konnektor 8082)
    Up(up::Args),
    /// Run scenario packs against a client through an adapter (console, JUnit, JSON, HTML reports)
    Run(run::Args),
    /// Shipped packs with the reference client (all pass) and with each defect (each caught)
    Selftest(selftest::Args),
    /// The reference client: one abstract action (vst.submit_vitalstatus, konnektor.sign_document, …)
    Client(client::Args),
    /// Test PKI: a TEST-ONLY CA and the TI and TLS certificates the simulators and clients need
    Pki(pki::Args),
    /// KVNR (unchangeable part of the Krankenversichertennummer): check digit, test range, generator
    Kvnr(kvnr::Args),
    /// IK (Institutionskennzeichen): pattern and check digit
    Ik(ik::Args),
    /// Field-level ECIES (0x01 || X || Y || IV || ct+tag) for debugging: encrypt, decrypt, explain failures
    Field(field::Args),
    /// Melderegisterdatenspiegel: order the Applikationskopplung on the local portal (ZIP + Kundennummer)
    Melderegister(melderegister::Args),
}

pub fn dispatch(cli: Cli) -> CmdResult {
    match cli.command {
        Command::Up(a) => up::run(a),
        Command::Run(a) => run::run(a),
        Command::Selftest(a) => selftest::run(a),
        Command::Client(a) => client::run(a),
        Command::Pki(a) => pki::run(a),
        Command::Kvnr(a) => kvnr::run(a),
        Command::Ik(a) => ik::run(a),
        Command::Field(a) => field::run(a),
        Command::Melderegister(a) => melderegister::run(a),
    }
}

/// Read a file for `what`; any I/O problem is a usage error naming the path.
pub fn read_file(command: &'static str, what: &str, path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        Failure::usage(
            command,
            format!("cannot read {what} `{}`: {e}", path.display()),
        )
    })
}
