//! `konform kvnr check` / `konform kvnr gen`: the KVNR rules of [`ti_core::ids`].

use super::{CmdResult, Failure};
use ti_core::ids::{Environment, KvnrError, KvnrRules};

#[derive(clap::Args, Debug)]
#[command(after_help = super::EXIT_CODES_HELP)]
pub struct Args {
    #[command(subcommand)]
    cmd: KvnrCmd,
}

#[derive(clap::Subcommand, Debug)]
enum KvnrCmd {
    /// Check KVNRs: pattern `^[A-Z][0-9]{9}$`, check digit, reserved values, test range (exit 1 if any is invalid)
    #[command(after_help = super::EXIT_CODES_HELP)]
    Check(CheckArgs),
    /// Print valid test-range KVNRs (A1111xxxxP)
    #[command(after_help = super::EXIT_CODES_HELP)]
    Gen(GenArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum EnvArg {
    /// Referenzumgebung: only test-range KVNRs are accepted
    Reference,
    /// Produktivumgebung: production KVNRs, and test-range KVNRs for connection tests
    Production,
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// The KVNR(s) to check (the unchangeable 10-character part)
    #[arg(required = true, value_name = "VALUE")]
    values: Vec<String>,
    /// The TI environment whose rules apply
    #[arg(long, value_enum, default_value_t = EnvArg::Reference)]
    environment: EnvArg,
    /// A KVNR reserved for patients without German insurance (not public; repeatable)
    #[arg(long = "reserved", value_name = "KVNR")]
    reserved: Vec<String>,
    /// Test range pattern: `x` any digit, `P` the check digit, other characters literal
    #[arg(long, value_name = "PATTERN", default_value = "A1111xxxxP")]
    test_range: String,
}

#[derive(clap::Args, Debug)]
struct GenArgs {
    /// How many test-range KVNRs to print
    #[arg(long = "test", value_name = "N")]
    count: u64,
    /// Index of the first one (0 = A111100008)
    #[arg(long, value_name = "I", default_value_t = 0)]
    start: u64,
    /// Test range pattern: `x` any digit, `P` the check digit, other characters literal
    #[arg(long, value_name = "PATTERN", default_value = "A1111xxxxP")]
    test_range: String,
}

pub fn run(args: Args) -> CmdResult {
    match args.cmd {
        KvnrCmd::Check(a) => check(a),
        KvnrCmd::Gen(a) => gen_test(a),
    }
}

/// `^[A-Z][0-9x]{8}P$`: a pattern [`KvnrRules`] can use.
fn validate_range(command: &'static str, p: &str) -> Result<(), Failure> {
    let b = p.as_bytes();
    let ok = b.len() == 10
        && b[0].is_ascii_uppercase()
        && b[1..9].iter().all(|c| c.is_ascii_digit() || *c == b'x')
        && b[9] == b'P';
    if ok {
        Ok(())
    } else {
        Err(Failure::usage(
            command,
            format!(
                "--test-range `{p}` must be a letter, 8 digits or `x`, and `P` (e.g. A1111xxxxP)"
            ),
        ))
    }
}

/// What exactly is wrong with a value that does not match `^[A-Z][0-9]{9}$`.
fn pattern_detail(v: &str) -> String {
    let n = v.chars().count();
    if n != 10 {
        return format!("{n} characters, 10 expected");
    }
    let mut chars = v.chars();
    let first = chars.next().unwrap_or(' ');
    if !first.is_ascii_uppercase() {
        return format!("first character `{first}` is not an uppercase letter A-Z");
    }
    if let Some((i, c)) = chars.enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return format!("character {} `{c}` is not a digit", i + 2);
    }
    String::new()
}

fn check(a: CheckArgs) -> CmdResult {
    const CMD: &str = "kvnr check";
    validate_range(CMD, &a.test_range)?;
    for r in &a.reserved {
        if !ti_core::ids::is_kvnr_shaped(r) {
            return Err(Failure::usage(
                CMD,
                format!("--reserved `{r}` does not match ^[A-Z][0-9]{{9}}$"),
            ));
        }
    }
    let rules = KvnrRules {
        test_range: a.test_range,
        reserved: a.reserved,
    };
    let env = match a.environment {
        EnvArg::Reference => Environment::Reference,
        EnvArg::Production => Environment::Production,
    };
    let env_name = match env {
        Environment::Reference => "reference environment",
        Environment::Production => "production environment",
    };
    let mut any_invalid = false;
    for v in &a.values {
        match rules.check(v, env) {
            Ok(()) => {
                let range = if rules.is_test_kvnr(v) {
                    format!("in test range {}", rules.test_range)
                } else {
                    "production KVNR".to_string()
                };
                println!("{v}: valid KVNR ({range}; {env_name})");
            }
            Err(e) => {
                any_invalid = true;
                let extra = match &e {
                    KvnrError::Pattern => format!(": {}", pattern_detail(v)),
                    KvnrError::NotTestRange { .. } => {
                        " (pattern and check digit are fine; --environment production accepts it)"
                            .to_string()
                    }
                    _ => String::new(),
                };
                println!("{v}: invalid KVNR [{}]: {e}{extra}", e.rule());
            }
        }
    }
    if any_invalid {
        Err(Failure::invalid(CMD, ""))
    } else {
        Ok(())
    }
}

fn gen_test(a: GenArgs) -> CmdResult {
    const CMD: &str = "kvnr gen";
    validate_range(CMD, &a.test_range)?;
    let rules = KvnrRules {
        test_range: a.test_range,
        reserved: Vec::new(),
    };
    let free = rules.test_range.bytes().filter(|c| *c == b'x').count() as u32;
    let size = 10u64.pow(free);
    let end = a.start.checked_add(a.count).filter(|e| *e <= size);
    let Some(end) = end else {
        return Err(Failure::usage(
            CMD,
            format!(
                "the test range {} holds {size} KVNRs; --start {} --test {} goes beyond it",
                rules.test_range, a.start, a.count
            ),
        ));
    };
    let mut out = String::new();
    for n in a.start..end {
        let k = rules
            .test_kvnr(n)
            .ok_or_else(|| Failure::usage(CMD, format!("no test KVNR with index {n}")))?;
        out.push_str(&k);
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}
