//! `konform up` — NOT BUILT YET. A plainly labelled stub: the simulators are built in their own
//! issues, and this module is replaced then. It accepts (and ignores) any arguments so that scripts
//! written against the documented contract get this notice instead of a parse error.

use super::{CmdResult, Failure};
use std::ffi::OsString;

#[derive(clap::Args, Debug)]
#[command(
    about = "Start every simulator on loopback (NOT BUILT YET: prints a notice and exits 2)",
    long_about = "NOT BUILT YET. `konform up` will start the VST, Konnektor and XTA simulators on loopback \
                  with a generated test PKI; it is built in the simulator issues. Until then it prints a \
                  notice and exits 2.",
    after_help = super::EXIT_CODES_HELP
)]
pub struct Args {
    /// Ignored until `up` is built.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<OsString>,
}

pub fn run(_args: Args) -> CmdResult {
    Err(Failure::usage("up", "not built yet (simulator issues)"))
}
