//! `konform ik check`: the IK (Institutionskennzeichen) rules of [`ti_core::ids`].

use super::{CmdResult, Failure};
use ti_core::ids::{IkError, check_ik};

#[derive(clap::Args, Debug)]
#[command(after_help = super::EXIT_CODES_HELP)]
pub struct Args {
    #[command(subcommand)]
    cmd: IkCmd,
}

#[derive(clap::Subcommand, Debug)]
enum IkCmd {
    /// Check IKs: pattern ^[0-9]{9}$ and the check digit over positions 3-8 (exit 1 if any is invalid)
    #[command(after_help = super::EXIT_CODES_HELP)]
    Check(CheckArgs),
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// The IK(s) to check (9 digits)
    #[arg(required = true, value_name = "VALUE")]
    values: Vec<String>,
}

pub fn run(args: Args) -> CmdResult {
    match args.cmd {
        IkCmd::Check(a) => check(a),
    }
}

fn pattern_detail(v: &str) -> String {
    let n = v.chars().count();
    if n != 9 {
        return format!("{n} characters, 9 expected");
    }
    match v.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, c)) => format!("character {} `{c}` is not a digit", i + 1),
        None => String::new(),
    }
}

fn check(a: CheckArgs) -> CmdResult {
    let mut any_invalid = false;
    for v in &a.values {
        match check_ik(v) {
            Ok(()) => println!("{v}: valid IK (check digit {})", &v[8..]),
            Err(e) => {
                any_invalid = true;
                let extra = match e {
                    IkError::Pattern => format!(": {}", pattern_detail(v)),
                    IkError::CheckDigit { .. } => String::new(),
                };
                println!("{v}: invalid IK [{}]: {e}{extra}", e.rule());
            }
        }
    }
    if any_invalid {
        Err(Failure::invalid("ik check", ""))
    } else {
        Ok(())
    }
}
