//! `konform client ACTION`: the reference client as a CLI. Reads the neutral JSON input, performs the
//! action against the simulators (or, in principle, a real endpoint), writes the JSON output.

use super::{CmdResult, Failure};
use conformance::client::{self, ClientEnv, Defect};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(
    about = "The reference client: perform one abstract action (vst.submit_vitalstatus, vst.poll_requests, …)",
    long_about = "The reference client. Performs one abstract action correctly — or, with --defect, with one \
                  deliberate mistake. Service URLs, PKI directory and Konnektor context come from the flags or \
                  the KONFORM_* environment variables an adapter passes (docs/conformance.md).\n\nActions: \
                  vst.register, vst.fetch_wellknown, vst.submit_vitalstatus, vst.submit_insuranceupdate, \
                  vst.poll_requests, vst.poll_anonymizations, vst.poll_processingerrors, \
                  vst.poll_insuranceupdate_errors, konnektor.get_cards, konnektor.verify_pin, \
                  konnektor.get_pin_status, konnektor.read_certificate, konnektor.sign_document, \
                  konnektor.external_authenticate",
    after_help = "Exit codes:\n  0  the action succeeded\n  1  the service rejected it or answered wrongly (status, SOAP fault, bad signature)\n  2  usage, input or setup error"
)]
pub struct Args {
    /// The abstract action, e.g. vst.submit_vitalstatus
    pub action: String,
    /// JSON input file (default: $KONFORM_INPUT; none for actions without input)
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Where to write the JSON output (default: $KONFORM_OUTPUT, else stdout)
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Make one deliberate mistake (see `konform client --list-defects x`)
    #[arg(long)]
    pub defect: Option<String>,
    /// List the defects and exit
    #[arg(long)]
    pub list_defects: bool,
    /// The second correct mode: validate everything checkable (KVNR, IK, environment, dates, sizes)
    /// before sending and refuse instead of letting the service reject (also KONFORM_STRICT=1)
    #[arg(long, conflicts_with = "defect")]
    pub strict: bool,
    #[arg(long)]
    pub vst_url: Option<String>,
    #[arg(long)]
    pub konnektor_url: Option<String>,
    #[arg(long)]
    pub pki_dir: Option<PathBuf>,
    #[arg(long)]
    pub card_handle: Option<String>,
}

pub fn run(a: Args) -> CmdResult {
    if a.list_defects {
        for d in Defect::all() {
            println!("{:<32} {}", d.name(), d.describe());
        }
        return Ok(());
    }
    let mut env = ClientEnv::from_env();
    if let Some(u) = a.vst_url {
        env.vst_url = u;
    }
    if let Some(u) = a.konnektor_url {
        env.konnektor_url = u;
    }
    if let Some(p) = a.pki_dir {
        env.pki_dir = p;
    }
    if a.card_handle.is_some() {
        env.card_handle = a.card_handle;
    }
    if a.strict {
        env.strict = true;
    }
    if let Some(d) = a.defect {
        env.defect = Some(Defect::from_name(&d).ok_or_else(|| {
            Failure::usage(
                "client",
                format!("unknown defect `{d}` (see --list-defects)"),
            )
        })?);
    }
    let input_path = a
        .input
        .or_else(|| std::env::var_os("KONFORM_INPUT").map(PathBuf::from));
    let input = match input_path {
        Some(p) => {
            let bytes = super::read_file("client", "input", &p)?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                serde_json::Value::Null
            } else {
                serde_json::from_slice(&bytes).map_err(|e| {
                    Failure::usage(
                        "client",
                        format!("input `{}` is not JSON: {e}", p.display()),
                    )
                })?
            }
        }
        None => serde_json::Value::Null,
    };
    let output_path = a
        .output
        .or_else(|| std::env::var_os("KONFORM_OUTPUT").map(PathBuf::from));
    match client::run_action(&a.action, &env, &input) {
        Ok(out) => {
            let text = serde_json::to_string_pretty(&out).expect("JSON output") + "\n";
            match output_path {
                Some(p) => std::fs::write(&p, text).map_err(|e| {
                    Failure::usage("client", format!("cannot write `{}`: {e}", p.display()))
                })?,
                None => print!("{text}"),
            }
            Ok(())
        }
        Err(e) => Err(Failure {
            status: if e.exit_code() == 2 {
                super::ExitStatus::Usage
            } else {
                super::ExitStatus::Invalid
            },
            message: format!("{}: {e}", a.action),
            command: "client",
        }),
    }
}
