//! `konform melderegister order`: the self-service order of the Applikationskopplung against a running
//! portal (`konform up`, port 8086): writes the certificate ZIP to `--out` and prints the Kundennummer.

use super::{CmdResult, Failure};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(about = "Melderegisterdatenspiegel: order the Applikationskopplung on the local portal")]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Order the Applikationskopplung: ZIP with the client certificate to --out, prints `Kundennummer: N`
    #[command(
        after_help = "Exit codes:\n  0  ordered; the ZIP is written and the Kundennummer printed\n  1  the portal refused the order (the Protokoll says why)\n  2  usage error or the portal cannot be reached"
    )]
    Order(OrderArgs),
}

#[derive(clap::Args, Debug)]
pub struct OrderArgs {
    /// Mandant id (see GET /__konform/mandanten)
    #[arg(long)]
    pub mandant: String,
    /// E-mail of the Mandant's Hauptadministrator
    #[arg(long)]
    pub email: String,
    /// Protects the PKCS#12 and the PEM key (at least 8 characters)
    #[arg(long)]
    pub passphrase: String,
    /// Confirm the legal conformity (required by the form)
    #[arg(long)]
    pub accept_terms: bool,
    /// Optional invoice recipient
    #[arg(long)]
    pub rechnungsempfaenger: Option<String>,
    /// Portal base URL
    #[arg(long, default_value = "http://127.0.0.1:8086")]
    pub portal: String,
    /// Directory for the ZIP (created if needed)
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

pub fn run(a: Args) -> CmdResult {
    match a.command {
        Sub::Order(o) => order(o),
    }
}

fn order(a: OrderArgs) -> CmdResult {
    const CMD: &str = "melderegister order";
    let body = serde_json::json!({
        "mandant": a.mandant, "email": a.email, "passphrase": a.passphrase,
        "accept_terms": a.accept_terms, "rechnungsempfaenger": a.rechnungsempfaenger,
    });
    let url = conformance::http::join(&a.portal, "/minca/api/bestellung");
    let r = conformance::http::Http::new(Duration::from_secs(60), None)
        .and_then(|h| {
            h.request(
                "POST",
                &url,
                &[("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            )
        })
        .map_err(|e| Failure::usage(CMD, format!("{url}: {e} (is `konform up` running?)")))?;
    let v: serde_json::Value = serde_json::from_slice(&r.body).map_err(|e| {
        Failure::usage(
            CMD,
            format!("{url}: HTTP {} with a body that is not JSON: {e}", r.status),
        )
    })?;
    let protokoll: Vec<String> = v["protokoll"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if v["ok"] != true {
        for l in &protokoll {
            eprintln!("  {l}");
        }
        return Err(Failure::invalid(
            CMD,
            format!("the portal refused the order (HTTP {})", r.status),
        ));
    }
    let zip = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        v["zip_base64"].as_str().unwrap_or(""),
    )
    .map_err(|e| Failure::usage(CMD, format!("ZIP in the answer: {e}")))?;
    let name = v["dateiname"]
        .as_str()
        .unwrap_or("applikationskopplung.zip");
    let name = std::path::Path::new(name)
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_else(|| "applikationskopplung.zip".into());
    std::fs::create_dir_all(&a.out)
        .map_err(|e| Failure::usage(CMD, format!("{}: {e}", a.out.display())))?;
    let path = a.out.join(name);
    std::fs::write(&path, zip)
        .map_err(|e| Failure::usage(CMD, format!("{}: {e}", path.display())))?;
    eprintln!("ZIP: {}", path.display());
    println!("Kundennummer: {}", v["kundennummer"].as_str().unwrap_or(""));
    Ok(())
}
