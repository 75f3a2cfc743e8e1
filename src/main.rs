//! `konform`: counterpart simulators and conformance runner for German e-health interfaces.
//!
//! Every subcommand lives in its own module under `src/cmd/`; this file only parses the command line
//! and turns the outcome into the documented exit code (see [`cmd::ExitStatus`]).

mod cmd;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // clap prints `--help` / `--version` and exits 0; a usage error exits 2.
    let cli = cmd::Cli::parse();
    match cmd::dispatch(cli) {
        Ok(()) => ExitCode::from(cmd::ExitStatus::Ok as u8),
        Err(failure) => {
            failure.report();
            ExitCode::from(failure.status as u8)
        }
    }
}
