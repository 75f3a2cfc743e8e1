//! `konform dashboard`: the dashboard on its own, for simulators started elsewhere — another `konform up`
//! (its ready file), or simulators named one by one. It reaches them only through their admin API.

use super::{CmdResult, Failure};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(
    about = "Serve the dashboard for running simulators (from a ready file or named with --sim)",
    after_help = "Exit codes:\n  0  shut down cleanly after Ctrl-C\n  2  usage or configuration error (unreadable ready file, bad URL, port in use)"
)]
pub struct Args {
    /// The ready file of a `konform up` (`--ready-file`): its simulator URLs and test PKI
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// A simulator: NAME=URL of its admin API (repeatable)
    #[arg(long = "sim", value_name = "NAME=URL")]
    pub sims: Vec<String>,
    #[arg(long, default_value_t = dashboard::DEFAULT_PORT)]
    pub port: u16,
    /// Sent as a bearer token to every simulator (a `konform up --admin-token` beyond loopback)
    #[arg(long)]
    pub admin_token: Option<String>,
    /// CA certificate (PEM) for https simulators (default: the ready file's PKI `tls/ca.pem`)
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// A scenario report file or folder to list (repeatable)
    #[arg(long = "report", value_name = "PATH")]
    pub reports: Vec<PathBuf>,
    /// A host name to answer besides 127.0.0.1/localhost (repeatable)
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
}

fn usage(m: impl Into<String>) -> Failure {
    Failure::usage("dashboard", m)
}

/// The simulators of a ready file: every `http(s)` URL but the dashboard's; `NAME_portal`, where present,
/// is NAME's admin API (a simulator whose service needs a client certificate serves its admin API there).
pub fn sims_of_ready(ready: &Value) -> Vec<(String, String)> {
    let Some(m) = ready.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in m {
        let Some(url) = v
            .as_str()
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        else {
            continue;
        };
        if k == "ui" || k.ends_with("_portal") {
            continue;
        }
        let admin = m
            .get(&format!("{k}_portal"))
            .and_then(Value::as_str)
            .unwrap_or(url);
        out.push((k.clone(), admin.to_string()));
    }
    out
}

pub fn run(a: Args) -> CmdResult {
    let mut sims = Vec::new();
    let mut pki: Option<PathBuf> = None;
    if let Some(f) = &a.ready_file {
        let text =
            std::fs::read_to_string(f).map_err(|e| usage(format!("{}: {e}", f.display())))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| usage(format!("{}: {e}", f.display())))?;
        sims = sims_of_ready(&v);
        pki = v.get("pki").and_then(Value::as_str).map(PathBuf::from);
    }
    for s in &a.sims {
        let (n, u) = s
            .split_once('=')
            .ok_or_else(|| usage(format!("--sim `{s}`: expected NAME=URL")))?;
        sims.retain(|(x, _)| x != n);
        sims.push((n.to_string(), u.to_string()));
    }
    if sims.is_empty() {
        return Err(usage("no simulators: give --ready-file or --sim NAME=URL"));
    }
    let ca = a
        .tls_ca
        .clone()
        .or_else(|| pki.as_ref().map(|p| p.join("tls/ca.pem")));
    let tls = match ca.filter(|p| p.exists()) {
        Some(ca) => {
            let ca_pem = std::fs::read_to_string(&ca)
                .map_err(|e| usage(format!("{}: {e}", ca.display())))?;
            let client = pki.as_ref().and_then(|p| {
                let cert = std::fs::read_to_string(p.join("tls/client.pem")).ok()?;
                let key = std::fs::read_to_string(p.join("tls/client.key.pem")).ok()?;
                Some((cert, key))
            });
            let client_ref = client.as_ref().map(|(c, k)| (c.as_str(), k.as_str()));
            Some(dashboard::tls_config(&ca_pem, client_ref).map_err(usage)?)
        }
        None => None,
    };
    let cfg = dashboard::Config {
        sims,
        tls,
        admin_token: a.admin_token.clone(),
        reports: a.reports.clone(),
        allow_hosts: a.allow_hosts.clone(),
        ..dashboard::Config::default()
    };
    let state = dashboard::AppState::new(cfg).map_err(|e| usage(e.to_string()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(e.to_string()))?;
    rt.block_on(async move {
        let addr = SocketAddr::from(([127, 0, 0, 1], a.port));
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| usage(format!("cannot listen on {addr}: {e}")))?;
        let url = format!(
            "http://{}",
            l.local_addr().map_err(|e| usage(e.to_string()))?
        );
        println!("konform dashboard: {url}/ (Ctrl-C to stop)");
        for l in state.links() {
            println!("  {:<12} {}", l.name, l.client.base());
        }
        dashboard::serve(l, state, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| usage(e.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn ready_files_name_the_simulators() {
        let r = json!({ "vst": "http://127.0.0.1:8081", "konnektor": "https://127.0.0.1:8082", "xta": null,
                        "melderegister": "https://127.0.0.1:8085", "melderegister_portal": "http://127.0.0.1:8086",
                        "ui": "http://127.0.0.1:8090", "pki": "/x/pki" });
        let mut s = super::sims_of_ready(&r);
        s.sort();
        assert_eq!(
            s,
            vec![
                (
                    "konnektor".to_string(),
                    "https://127.0.0.1:8082".to_string()
                ),
                ("melderegister".into(), "http://127.0.0.1:8086".into()),
                ("vst".into(), "http://127.0.0.1:8081".into()),
            ]
        );
    }
}
