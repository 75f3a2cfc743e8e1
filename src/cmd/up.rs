//! `konform up`: every simulator with the test PKI, until Ctrl-C / SIGTERM.
//!
//! Order matters: every flag and the config file are checked first ([`Plan::from_args`]), then the PKI is
//! loaded or generated *in memory* and the simulators are built from it (which checks their configuration
//! against it), then the ports are bound — and only then is anything written (the PKI, the store, the
//! journal file, the ready file). A typo never leaves a fresh PKI behind.

use super::logging::{self, LogFormat};
use super::{CmdResult, Failure};
use serde_json::{Value, json};
use sim_kit::Simulator;
use sim_kit::access::AdminAccess;
use sim_kit::limits::Limits;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(
    about = "Start every simulator on loopback with the test PKI (VST 8081, Konnektor 8082, XTA 8083, OSCI 8084, Melderegister 8085/8086, dashboard 8090)",
    long_about = "Starts the simulators on 127.0.0.1 (or --bind ADDR) with an embedded default configuration. \
                  The test PKI is read from DATA_DIR/pki, or generated there on first start; durable state \
                  lives in DATA_DIR/store (--ephemeral: in memory). Ctrl-C or SIGTERM shuts down within 5 s. \
                  One log line per request goes to stderr (--log-format, RUST_LOG). Limits and flags: \
                  docs/operations.md. XTA is served over HTTPS with client certificates \
                  (DATA_DIR/pki/xta/<prefix>_<key>.pem per account).",
    after_help = "Exit codes:\n  0  shut down cleanly after Ctrl-C / SIGTERM\n  2  usage or configuration error (bad flag or config file, port in use, unreadable or incomplete PKI)"
)]
pub struct Args {
    /// Where the test PKI (DATA_DIR/pki) and the simulators' durable state (DATA_DIR/store) live
    #[arg(long, default_value = ".konform")]
    pub data_dir: PathBuf,
    /// Keep the simulators' state in memory only (the PKI is still read from / written to DATA_DIR/pki)
    #[arg(long)]
    pub ephemeral: bool,
    #[arg(long, default_value_t = 8081)]
    pub vst_port: u16,
    #[arg(long, default_value_t = 8082)]
    pub konnektor_port: u16,
    /// XTA server port (HTTPS with client certificates unless --xta-plain)
    #[arg(long, default_value_t = 8083)]
    pub xta_port: u16,
    #[command(flatten)]
    pub xta: super::up_xta::XtaArgs,
    /// Address to listen on. Anything but loopback needs --admin-token
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Bearer token the admin API (/__konform/) requires (also KONFORM_ADMIN_TOKEN); required with --bind
    #[arg(long, value_name = "TOKEN")]
    pub admin_token: Option<String>,
    /// A further Host name the admin API accepts (NAME or NAME:PORT; repeatable), e.g. a name in /etc/hosts
    #[arg(long, value_name = "HOST")]
    pub admin_allow_host: Vec<String>,
    /// YAML overriding defaults: `vst:` (docs/vst.md), `konnektor:` (docs/konnektor.md), `osci:` (docs/osci.md), `melderegister:` (docs/melderegister.md), `limits:` (docs/operations.md)
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
    /// Serve the VST over TLS (certificate `tls/server.pem` of the test PKI, CA `tls/ca.pem`); the seed: "muss per TLS gesichert sein"
    #[arg(long)]
    pub vst_tls: bool,
    /// With --vst-tls: require a client certificate issued by `tls/ca.pem` (e.g. `tls/client.pem`)
    #[arg(long, requires = "vst_tls")]
    pub vst_client_auth: bool,
    #[command(flatten)]
    pub osci: super::up_osci::OsciArgs,
    /// Write {"vst":URL,"konnektor":URL,"xta":URL,"osci":URL,"melderegister":URL,"melderegister_portal":URL,"ui":URL,"pki":DIR} here once listening; removed on exit
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    #[command(flatten)]
    pub melderegister: super::up_melderegister::MelderegisterArgs,
    /// Keep the journal in this file too (JSON lines; reloaded at the next start)
    #[arg(long, value_name = "FILE")]
    pub journal_file: Option<PathBuf>,
    /// Log format on stderr: one line per request and warnings
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub ui: super::up_ui::UiArgs,
}

fn usage(m: impl Into<String>) -> Failure {
    Failure::usage("up", m)
}

/// Everything `up` needs, checked, before any side effect.
struct Plan {
    curve: Option<ti_core::Curve>,
    vst: mock_vst::VstConfig,
    konnektor: mock_konnektor::KonnektorConfig,
    xta: mock_xta::XtaConfig,
    osci: Option<Value>,
    melderegister: mock_melderegister::MelderegisterConfig,
    limits: Limits,
    admin: AdminAccess,
    /// Taken when the subscriber is installed.
    filter: Option<tracing_subscriber::EnvFilter>,
}

impl Plan {
    fn from_args(a: &Args) -> Result<Plan, Failure> {
        let curve = match &a.curve {
            Some(c) => Some(
                c.parse::<ti_core::Curve>()
                    .map_err(|e| usage(e.to_string()))?,
            ),
            None => None,
        };
        let file_cfg = read_config(a.config.as_deref())?;
        let mut vst: mock_vst::VstConfig =
            merged(mock_vst::VstConfig::default(), file_cfg.get("vst"), "vst")?;
        if let Some(e) = &a.environment {
            let env: ti_core::ids::Environment = e
                .parse()
                .map_err(|e| usage(format!("--environment: {e}")))?;
            vst = merged(vst, Some(&json!({ "environment": env })), "environment")?;
        }
        vst.validate()
            .map_err(|e| usage(format!("config `vst`: {e}")))?;
        let konnektor = merged(
            mock_konnektor::KonnektorConfig::default(),
            file_cfg.get("konnektor"),
            "konnektor",
        )?;
        let xta = super::up_xta::config(file_cfg.get("xta"))?;
        if let Some(v) = file_cfg.get("osci") {
            serde_json::from_value::<mock_osci::OsciConfig>(v.clone())
                .map_err(|e| usage(format!("config `osci`: {e}")))?;
        }
        if let Some(d) = a.osci.osci_sample_certs.as_ref().filter(|d| !d.is_dir()) {
            return Err(usage(format!(
                "--osci-sample-certs {}: not a folder",
                d.display()
            )));
        }
        let melderegister =
            super::up_melderegister::config(&a.melderegister, file_cfg.get("melderegister"))?;
        let limits: Limits = merged(Limits::default(), file_cfg.get("limits"), "limits")?;
        limits.validate().map_err(usage)?;
        let token = a
            .admin_token
            .clone()
            .or_else(|| std::env::var("KONFORM_ADMIN_TOKEN").ok())
            .filter(|t| !t.is_empty());
        if token
            .as_ref()
            .is_some_and(|t| t.len() < 8 || t.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(usage(
                "--admin-token must be at least 8 characters without spaces",
            ));
        }
        if !a.bind.is_loopback() && token.is_none() {
            return Err(usage(format!(
                "--bind {} serves beyond this machine: pass --admin-token TOKEN (or set \
                 KONFORM_ADMIN_TOKEN) so the admin API is not open to the network",
                a.bind
            )));
        }
        for (what, p) in [
            ("--ready-file", &a.ready_file),
            ("--journal-file", &a.journal_file),
        ] {
            if let Some(p) = p {
                let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
                if parent.is_some_and(|d| !d.is_dir()) || p.is_dir() {
                    return Err(usage(format!(
                        "{what} {}: not a file in an existing folder",
                        p.display()
                    )));
                }
            }
        }
        Ok(Plan {
            curve,
            vst,
            konnektor,
            xta,
            osci: file_cfg.get("osci").cloned(),
            melderegister,
            limits,
            admin: AdminAccess {
                token,
                allowed_hosts: a.admin_allow_host.clone(),
            },
            filter: Some(logging::filter().map_err(usage)?),
        })
    }
}

fn read_config(path: Option<&Path>) -> Result<Value, Failure> {
    let Some(p) = path else {
        return Ok(Value::Null);
    };
    let text = std::fs::read_to_string(p).map_err(|e| usage(format!("{}: {e}", p.display())))?;
    let v: Value =
        serde_saphyr::from_str(&text).map_err(|e| usage(format!("{}: {e}", p.display())))?;
    const KEYS: [&str; 6] = ["vst", "konnektor", "xta", "osci", "melderegister", "limits"];
    if let Some(obj) = v.as_object() {
        if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(usage(format!(
                "{}: unknown top-level key `{k}` ({})",
                p.display(),
                KEYS.join(", ")
            )));
        }
    } else if !v.is_null() {
        return Err(usage(format!(
            "{}: expected a mapping with `vst:`, `konnektor:`, `xta:`, `osci:`, `melderegister:` and/or `limits:`",
            p.display()
        )));
    }
    Ok(v)
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

/// Bind a port now (before anything is written), as a std listener the runtime adopts later.
fn bind(addr: IpAddr, port: u16) -> Result<std::net::TcpListener, Failure> {
    let sa = SocketAddr::new(addr, port);
    let l = std::net::TcpListener::bind(sa)
        .map_err(|e| usage(format!("cannot listen on {sa}: {e}")))?;
    l.set_nonblocking(true)
        .map_err(|e| usage(format!("{sa}: {e}")))?;
    Ok(l)
}

/// The URL clients use: an unspecified bind address (0.0.0.0) is reached as 127.0.0.1 locally.
fn url(scheme: &str, l: &std::net::TcpListener) -> Result<String, Failure> {
    let mut a = l.local_addr().map_err(|e| usage(e.to_string()))?;
    if a.ip().is_unspecified() {
        a.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    Ok(format!("{scheme}://{a}"))
}

/// What every simulator gets from `up`: limits, admin access, the journal file.
struct Hardening {
    limits: Limits,
    admin: AdminAccess,
    journal: Option<Arc<sim_kit::journal_file::JournalFile>>,
}

impl Hardening {
    fn new(a: &Args, plan: &Plan) -> Result<Hardening, Failure> {
        let journal = match &a.journal_file {
            Some(p) => Some(
                sim_kit::journal_file::JournalFile::open(p, plan.limits.journal_max_bytes as u64)
                    .map_err(|e| usage(format!("--journal-file {}: {e}", p.display())))?,
            ),
            None => None,
        };
        Ok(Hardening {
            limits: plan.limits.clone(),
            admin: plan.admin.clone(),
            journal,
        })
    }

    fn apply<S: Simulator>(&self, sim: &S) {
        sim.kit().set_limits(&self.limits);
        sim.kit().set_admin_access(self.admin.clone());
        if let Some(j) = &self.journal {
            j.attach(sim.kit());
        }
    }
}

pub fn run(a: Args) -> CmdResult {
    let mut plan = Plan::from_args(&a)?;
    if let Some(filter) = plan.filter.take() {
        logging::init(a.log_format, filter);
    }

    // The PKI in memory (loaded, or generated but not yet written), the simulators built from it.
    let pki_dir = a.data_dir.join("pki");
    let (pki, write_pki) = super::pki::prepare(&pki_dir, plan.curve).map_err(usage)?;
    let pki = Arc::new(pki);
    let sims = Sims {
        vst_tls: vst_tls(&a, &pki)?,
        konnektor_tls: konnektor_tls(&a, &pki)?,
        vl: bind(a.bind, a.vst_port)?,
        kl: bind(a.bind, a.konnektor_port)?,
        xl: bind(a.bind, a.xta_port)?,
        ol: bind(a.bind, a.osci.osci_port)?,
        ml: bind(a.bind, a.melderegister.melderegister_port)?,
        mpl: bind(a.bind, a.melderegister.melderegister_portal_port)?,
        // The dashboard stays on loopback whatever --bind says: it steers the simulators.
        ul: match a.ui.no_ui {
            true => None,
            false => Some(
                bind(IpAddr::V4(Ipv4Addr::LOCALHOST), a.ui.ui_port)
                    .map_err(|f| usage(format!("{} (dashboard; --ui-port, --no-ui)", f.message)))?,
            ),
        },
    };

    // From here on, things are written.
    if let Some(existing) = write_pki {
        super::pki::write_pki(&pki_dir, &pki, existing).map_err(usage)?;
        eprintln!(
            "konform up: generated a {} test PKI in {}",
            pki.curve.name(),
            pki_dir.display()
        );
    }
    let store = open_store(&a)?;
    let hardening = Hardening::new(&a, &plan)?;
    let xta_store = match a.xta.xta_ephemeral {
        true => sim_kit::store::Store::ephemeral().map_err(|e| usage(format!("xta: {e}")))?,
        false => store.clone(),
    };
    let later = Later {
        vst: mock_vst::VstState::new(plan.vst.clone(), pki.clone(), store.clone())
            .map_err(|e| usage(format!("vst: {e}")))?,
        konnektor: mock_konnektor::KonnektorState::new(
            plan.konnektor.clone(),
            pki.clone(),
            store.clone(),
        )
        .map_err(|e| usage(format!("konnektor: {e}")))?,
        xta: super::up_xta::prepare(&a.xta, plan.xta.clone(), xta_store, &pki_dir, &pki)?,
        osci: super::up_osci::state(&a.osci, &pki_dir, store.clone(), plan.osci.as_ref())?,
        melderegister: super::up_melderegister::state(
            plan.melderegister.clone(),
            store.clone(),
            &pki,
        )?,
        pki: pki.clone(),
        admin_token: plan.admin.token.clone(),
    };
    hardening.apply(&later.vst);
    hardening.apply(&later.konnektor);
    hardening.apply(&later.xta.state);
    hardening.apply(&later.osci);
    hardening.apply(&later.melderegister);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(e.to_string()))?;
    let result = rt.block_on(serve_until_signal(&a, &pki_dir, sims, later, plan.limits));
    if let Some(rf) = &a.ready_file {
        let _ = std::fs::remove_file(rf);
    }
    // Work still running on blocking threads (a large delivery being checked) is abandoned, not awaited:
    // nothing is stored before its check completes, so nothing is left half-stored.
    rt.shutdown_timeout(Duration::from_millis(300));
    drop(store);
    result
}

/// The simulators, built and with their ports bound, before anything is written.
struct Sims {
    vst_tls: Option<sim_kit::tls::TlsServerConfig>,
    konnektor_tls: Option<sim_kit::tls::TlsServerConfig>,
    vl: std::net::TcpListener,
    kl: std::net::TcpListener,
    xl: std::net::TcpListener,
    ol: std::net::TcpListener,
    ml: std::net::TcpListener,
    mpl: std::net::TcpListener,
    ul: Option<std::net::TcpListener>,
}

/// The simulators that need the store (or write keys of their own), built once writing is allowed.
struct Later {
    vst: mock_vst::VstState,
    konnektor: mock_konnektor::KonnektorState,
    xta: super::up_xta::Prepared,
    osci: mock_osci::OsciState,
    melderegister: mock_melderegister::MelderegisterState,
    pki: Arc<ti_core::pki::TestPki>,
    /// `--admin-token`: the dashboard sends it to the simulators' admin API.
    admin_token: Option<String>,
}

fn vst_tls(
    a: &Args,
    pki: &ti_core::pki::TestPki,
) -> Result<Option<sim_kit::tls::TlsServerConfig>, Failure> {
    if !a.vst_tls {
        return Ok(None);
    }
    Ok(Some(
        sim_kit::tls::server_config(&mock_vst::tls_settings(pki, a.vst_client_auth))
            .map_err(|e| usage(e.to_string()))?,
    ))
}

fn konnektor_tls(
    a: &Args,
    pki: &ti_core::pki::TestPki,
) -> Result<Option<sim_kit::tls::TlsServerConfig>, Failure> {
    if !a.konnektor_tls {
        return Ok(None);
    }
    let settings = sim_kit::tls::TlsSettings {
        cert_chain_pem: pki.tls_server.cert_pem() + &pki.tls_ca.cert_pem(),
        key_pem: pki.tls_server.key_pem(),
        client_ca_pem: a.konnektor_client_auth.then(|| pki.tls_ca.cert_pem()),
    };
    Ok(Some(
        sim_kit::tls::server_config(&settings).map_err(|e| usage(e.to_string()))?,
    ))
}

/// Serve every simulator, print the URLs, write the ready file, wait for Ctrl-C / SIGTERM, stop.
async fn serve_until_signal(
    a: &Args,
    pki_dir: &Path,
    sims: Sims,
    later: Later,
    limits: Limits,
) -> CmdResult {
    let adopt = |l: std::net::TcpListener| {
        tokio::net::TcpListener::from_std(l).map_err(|e| usage(e.to_string()))
    };
    let vst_url = url(
        if sims.vst_tls.is_some() {
            "https"
        } else {
            "http"
        },
        &sims.vl,
    )?;
    let kon_url = url(
        if sims.konnektor_tls.is_some() {
            "https"
        } else {
            "http"
        },
        &sims.kl,
    )?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let serve = sim_kit::serve::serve_with;
    let (vl, vst) = (adopt(sims.vl)?, mock_vst::app(later.vst));
    let mut tasks = vec![match sims.vst_tls {
        Some(tls) => tokio::spawn(sim_kit::tls::serve_tls_with(
            vl,
            vst,
            tls,
            limits.clone(),
            stop(rx.clone()),
        )),
        None => tokio::spawn(serve(vl, vst, limits.clone(), stop(rx.clone()))),
    }];
    let (kl, konnektor) = (adopt(sims.kl)?, mock_konnektor::app(later.konnektor));
    tasks.push(match sims.konnektor_tls {
        Some(tls) => tokio::spawn(sim_kit::tls::serve_tls_with(
            kl,
            konnektor,
            tls,
            limits.clone(),
            stop(rx.clone()),
        )),
        None => tokio::spawn(serve(kl, konnektor, limits.clone(), stop(rx.clone()))),
    });
    let xta_url = url(later.xta.scheme(), &sims.xl)?;
    let (xl, xta) = (adopt(sims.xl)?, mock_xta::app(later.xta.state));
    tasks.push(match later.xta.tls {
        Some(tls) => tokio::spawn(sim_kit::tls::serve_tls_with(
            xl,
            xta,
            tls,
            limits.clone(),
            stop(rx.clone()),
        )),
        None => tokio::spawn(serve(xl, xta, limits.clone(), stop(rx.clone()))),
    });
    let osci_base = url("http", &sims.ol)?;
    let osci_url = format!("{osci_base}{}", later.osci.config().path);
    tasks.push(tokio::spawn(serve(
        adopt(sims.ol)?,
        mock_osci::app(later.osci),
        limits.clone(),
        stop(rx.clone()),
    )));
    let mr_url = url("https", &sims.ml)?;
    let mr_portal_url = url("http", &sims.mpl)?;
    tasks.extend(super::up_melderegister::spawn(
        adopt(sims.ml)?,
        adopt(sims.mpl)?,
        later.melderegister,
        &later.pki,
        &limits,
        || stop(rx.clone()),
    )?);
    let ui = match sims.ul {
        Some(l) => {
            let (ui_url, task) = super::up_ui::spawn(
                adopt(l)?,
                &[
                    ("vst", &vst_url),
                    ("konnektor", &kon_url),
                    ("xta", &xta_url),
                    ("osci", &osci_base),
                    ("melderegister", &mr_portal_url),
                ],
                &later.pki,
                &a.data_dir,
                &a.ui,
                later.admin_token.clone(),
                stop(rx.clone()),
            )?;
            tasks.push(task);
            Some(ui_url)
        }
        None => None,
    };
    let pki_abs = std::fs::canonicalize(pki_dir).unwrap_or(pki_dir.to_path_buf());
    println!("konform up: simulators listening (Ctrl-C to stop)");
    println!("  VST-IRD     {vst_url}   (.well-known, /notify/api/v1/…, admin /__konform/)");
    println!("  Konnektor   {kon_url}   (/connector.sds, /Konnektorservice, admin /__konform/)");
    println!(
        "  XTA         {xta_url}   (/xta.wsdl, /MB_XTA-WS/XTA210…Port.svc, admin /__konform/)"
    );
    println!("  OSCI        {osci_url}   (OSCI-Transport 1.2 intermediary, admin /__konform/)");
    println!(
        "  Melderegister {mr_url}   (/okkommbis/services/XoevService, client certificate required)"
    );
    println!("  Melderegister portal {mr_portal_url}   (/minca/ order page, admin /__konform/)");
    if let Some(u) = &ui {
        println!("  dashboard   {u}/");
    }
    println!("  test PKI    {}", pki_abs.display());
    println!("  state       {}", describe_store(a));
    if let Some(rf) = &a.ready_file {
        let ready = json!({
            "vst": vst_url, "konnektor": kon_url, "xta": xta_url, "osci": osci_url,
            "melderegister": mr_url, "melderegister_portal": mr_portal_url, "ui": ui,
            "pki": pki_abs.display().to_string(),
        });
        write_ready_file(rf, &ready)?;
    }
    shutdown_signal().await;
    eprintln!("konform up: shutting down");
    let _ = tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(4), async {
        for t in tasks {
            let _ = t.await;
        }
    })
    .await;
    Ok(())
}

/// The store for the simulators' durable state (handed to them once they take one).
fn open_store(a: &Args) -> Result<sim_kit::store::Store, Failure> {
    if a.ephemeral {
        return sim_kit::store::Store::ephemeral().map_err(|e| usage(e.to_string()));
    }
    let dir = a.data_dir.join("store");
    sim_kit::store::Store::open(&dir).map_err(|e| usage(format!("{}: {e}", dir.display())))
}

fn describe_store(a: &Args) -> String {
    if a.ephemeral {
        "in memory (--ephemeral)".into()
    } else {
        let dir = a.data_dir.join("store");
        std::fs::canonicalize(&dir)
            .unwrap_or(dir)
            .display()
            .to_string()
    }
}

fn write_ready_file(rf: &Path, ready: &Value) -> Result<(), Failure> {
    let tmp = rf.with_extension("tmp");
    let text = serde_json::to_string_pretty(ready).map_err(|e| usage(e.to_string()))? + "\n";
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, rf))
        .map_err(|e| usage(format!("ready file {}: {e}", rf.display())))
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
