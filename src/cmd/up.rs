//! `konform up`: every simulator on loopback with the test PKI, until Ctrl-C.

use super::{CmdResult, Failure};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use ti_core::pki::{PkiOptions, TestPki};

#[derive(clap::Args, Debug)]
#[command(
    about = "Start every simulator on loopback with the test PKI (VST 8081, Konnektor 8082; XTA not built yet)",
    long_about = "Starts the simulators on 127.0.0.1 with an embedded default configuration. The test PKI is \
                  read from DATA_DIR/pki, or generated there on first start. Ctrl-C shuts down cleanly. \
                  The XTA simulator is not built yet: --xta-port is accepted and the ready file reports \
                  \"xta\": null.",
    after_help = "Exit codes:\n  0  shut down cleanly after Ctrl-C\n  2  usage or configuration error (bad config file, port in use, unreadable PKI)"
)]
pub struct Args {
    /// Where the test PKI (and other state) lives
    #[arg(long, default_value = ".konform")]
    pub data_dir: PathBuf,
    #[arg(long, default_value_t = 8081)]
    pub vst_port: u16,
    #[arg(long, default_value_t = 8082)]
    pub konnektor_port: u16,
    /// Accepted for scripts written against the contract; the XTA simulator is not built yet
    #[arg(long, default_value_t = 8083)]
    pub xta_port: u16,
    /// YAML overriding defaults: `vst:` (VstConfig keys, see docs/vst.md), `konnektor:` (docs/konnektor.md)
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// VST environment: reference (only test KVNRs) or production
    #[arg(long)]
    pub environment: Option<String>,
    /// Curve of the TI keys when the PKI is generated: brainpool (default) or p256
    #[arg(long)]
    pub curve: Option<String>,
    /// Serve the Konnektor over TLS (certificate `tls/server.pem` of the test PKI, CA `tls/ca.pem`)
    #[arg(long)]
    pub konnektor_tls: bool,
    /// With --konnektor-tls: require a client certificate issued by `tls/ca.pem` (e.g. `tls/client.pem`)
    #[arg(long, requires = "konnektor_tls")]
    pub konnektor_client_auth: bool,
    #[command(flatten)]
    pub osci: super::up_osci::OsciArgs,
    /// Write {"vst":URL,"konnektor":URL,"xta":null,"osci":URL,"melderegister":URL,"melderegister_portal":URL,"pki":DIR} here once listening
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    #[command(flatten)]
    pub melderegister: super::up_melderegister::MelderegisterArgs,
}

fn usage(m: impl Into<String>) -> Failure {
    Failure::usage("up", m)
}

/// Load the PKI under `dir`, or generate and write it there (the `pki init` layout).
pub fn load_or_create_pki(dir: &Path, curve: Option<ti_core::Curve>) -> Result<TestPki, Failure> {
    if dir.join("ca.pem").exists() {
        let pki = super::pki::load_pki(dir).map_err(usage)?;
        if let Some(c) = curve {
            if c != pki.curve {
                return Err(usage(format!(
                    "the test PKI in {} uses {}, but --curve asks for {}: use another --data-dir or delete it",
                    dir.display(),
                    pki.curve.name(),
                    c.name()
                )));
            }
        }
        return Ok(pki);
    }
    let pki = TestPki::generate(&PkiOptions {
        curve: curve.unwrap_or_default(),
        ..PkiOptions::at(std::time::SystemTime::now())
    })
    .map_err(|e| usage(e.to_string()))?;
    super::pki::write_pki(dir, &pki).map_err(usage)?;
    eprintln!(
        "konform up: generated a {} test PKI in {}",
        pki.curve.name(),
        dir.display()
    );
    Ok(pki)
}

fn merged<T: serde::Serialize + serde::de::DeserializeOwned>(
    base: T,
    patch: Option<&Value>,
    what: &str,
) -> Result<T, Failure> {
    let Some(patch) = patch else { return Ok(base) };
    let mut v = serde_json::to_value(base).map_err(|e| usage(e.to_string()))?;
    conformance::runner::merge(&mut v, patch);
    serde_json::from_value(v).map_err(|e| usage(format!("config `{what}`: {e}")))
}

pub fn run(a: Args) -> CmdResult {
    let curve = match &a.curve {
        Some(c) => Some(
            c.parse::<ti_core::Curve>()
                .map_err(|e| usage(e.to_string()))?,
        ),
        None => None,
    };
    let file_cfg: Value = match &a.config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| usage(format!("{}: {e}", p.display())))?;
            let v: Value = serde_saphyr::from_str(&text)
                .map_err(|e| usage(format!("{}: {e}", p.display())))?;
            if let Some(obj) = v.as_object() {
                if let Some(k) = obj
                    .keys()
                    .find(|k| !["vst", "konnektor", "osci", "melderegister"].contains(&k.as_str()))
                {
                    return Err(usage(format!(
                        "{}: unknown top-level key `{k}` (vst, konnektor, osci, melderegister)",
                        p.display()
                    )));
                }
            } else if !v.is_null() {
                return Err(usage(format!(
                    "{}: expected a mapping with `vst:` and/or `konnektor:`",
                    p.display()
                )));
            }
            v
        }
        None => Value::Null,
    };
    let pki_dir = a.data_dir.join("pki");
    let pki = Arc::new(load_or_create_pki(&pki_dir, curve)?);
    let mut vst_cfg: mock_vst::VstConfig =
        merged(mock_vst::VstConfig::default(), file_cfg.get("vst"), "vst")?;
    if let Some(e) = &a.environment {
        let env: ti_core::ids::Environment = e.parse().map_err(usage)?;
        vst_cfg = merged(vst_cfg, Some(&json!({ "environment": env })), "environment")?;
    }
    let kon_cfg: mock_konnektor::KonnektorConfig = merged(
        mock_konnektor::KonnektorConfig::default(),
        file_cfg.get("konnektor"),
        "konnektor",
    )?;
    let vst =
        mock_vst::VstState::new(vst_cfg, pki.clone()).map_err(|e| usage(format!("vst: {e}")))?;
    let konnektor = mock_konnektor::KonnektorState::new(kon_cfg, pki.clone())
        .map_err(|e| usage(format!("konnektor: {e}")))?;
    let osci = super::up_osci::state(&a.osci, &pki_dir, &a.data_dir, file_cfg.get("osci"))?;
    let konnektor_tls = if a.konnektor_tls {
        let settings = sim_kit::tls::TlsSettings {
            cert_chain_pem: pki.tls_server.cert_pem() + &pki.tls_ca.cert_pem(),
            key_pem: pki.tls_server.key_pem(),
            client_ca_pem: a.konnektor_client_auth.then(|| pki.tls_ca.cert_pem()),
        };
        Some(sim_kit::tls::server_config(&settings).map_err(|e| usage(e.to_string()))?)
    } else {
        None
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(e.to_string()))?;
    rt.block_on(async move {
        let bind = |port: u16| async move {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            tokio::net::TcpListener::bind(addr).await.map_err(|e| usage(format!("cannot listen on {addr}: {e}")))
        };
        let vl = bind(a.vst_port).await?;
        let kl = bind(a.konnektor_port).await?;
        let ol = bind(a.osci.osci_port).await?;
        let osci_url = format!("http://{}{}", ol.local_addr().map_err(|e| usage(e.to_string()))?, osci.config().path);
        let vst_url = format!("http://{}", vl.local_addr().map_err(|e| usage(e.to_string()))?);
        let scheme = if konnektor_tls.is_some() { "https" } else { "http" };
        let kon_url = format!("{scheme}://{}", kl.local_addr().map_err(|e| usage(e.to_string()))?);
        let (tx, rx) = tokio::sync::watch::channel(false);
        let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        let v_task = tokio::spawn(mock_vst::serve(vl, vst, stop(rx.clone())));
        let mr = super::up_melderegister::start(&a.melderegister, &a.data_dir, &pki, file_cfg.get("melderegister"), || stop(rx.clone())).await?;
        let k_task = match konnektor_tls {
            Some(tls) => tokio::spawn(mock_konnektor::serve_tls(kl, konnektor, tls, stop(rx.clone()))),
            None => tokio::spawn(mock_konnektor::serve(kl, konnektor, stop(rx.clone()))),
        };
        let o_task = tokio::spawn(mock_osci::serve(ol, osci, stop(rx.clone())));
        let pki_abs = std::fs::canonicalize(&pki_dir).unwrap_or(pki_dir.clone());
        println!("konform up: simulators listening (Ctrl-C to stop)");
        println!("  VST-IRD     {vst_url}   (.well-known, /notify/api/v1/…, admin /__konform/)");
        println!("  Konnektor   {kon_url}   (/connector.sds, /Konnektorservice, admin /__konform/)");
        println!("  XTA         not built yet (--xta-port {} accepted)", a.xta_port);
        println!("  OSCI        {osci_url}   (OSCI-Transport 1.2 intermediary, admin /__konform/)");
        println!("  Melderegister {}   (/okkommbis/services/XoevService, client certificate required)", mr.service_url);
        println!("  Melderegister portal {}   (/minca/ order page, admin /__konform/)", mr.portal_url);
        println!("  test PKI    {}", pki_abs.display());
        if let Some(rf) = &a.ready_file {
            let ready = json!({ "vst": vst_url, "konnektor": kon_url, "xta": null, "osci": osci_url, "melderegister": mr.service_url, "melderegister_portal": mr.portal_url, "pki": pki_abs.display().to_string() });
            let tmp = rf.with_extension("tmp");
            std::fs::write(&tmp, serde_json::to_string_pretty(&ready).expect("JSON") + "\n")
                .and_then(|_| std::fs::rename(&tmp, rf))
                .map_err(|e| usage(format!("ready file {}: {e}", rf.display())))?;
        }
        shutdown_signal().await;
        eprintln!("konform up: shutting down");
        let _ = tx.send(true);
        let _ = v_task.await;
        let _ = k_task.await;
        let _ = o_task.await;
        for t in mr.tasks {
            let _ = t.await;
        }
        Ok(())
    })
}

/// Ctrl-C, or SIGTERM (what process managers and CI scripts send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
