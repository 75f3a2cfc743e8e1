//! mock-xta as a runner plugin: `given.xta` (configuration, TLS on or off, clock offset, faults, messages
//! already waiting in the authority's mailbox), the account certificates in the run's PKI directory, and
//! the `KONFORM_XTA_*` variables — URL and WSDL, the portal's and the authority's account ids with their
//! certificates, and a state directory where a client keeps the ids of what it sent.

use super::{BoxFuture, RunningSim, SimError, SimPlugin, StartContext, parse_given};
use crate::merge;
use mock_xta::ns::{Op, Port};
use mock_xta::wire::{self, Packaging, PartySpec};
use mock_xta::{XtaConfig, XtaState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_kit::{FaultRule, Kit};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use ti_core::pki::TestPki;
use tower::ServiceExt;

pub struct Xta;

/// `given.xta`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct XtaGiven {
    /// mock-xta configuration keys (docs/xta.md), merged over the defaults.
    #[serde(default)]
    pub config: Option<Value>,
    /// HTTPS with client certificates (default); `false` serves plain HTTP (raw request scenarios).
    #[serde(default)]
    pub tls: Option<bool>,
    /// Shift the simulator's clock (seconds).
    #[serde(default)]
    pub clock_offset_secs: Option<i64>,
    /// Accounts locked at the start.
    #[serde(default)]
    pub locked: Vec<String>,
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// FIM messages the portal sent before the scenario, waiting in the authority's mailbox.
    #[serde(default)]
    pub inbox: Vec<InboxMessage>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InboxMessage {
    /// Attachment file names (and proof names in the message); small PDFs are generated for them.
    #[serde(default)]
    pub attachments: Vec<String>,
    /// How many such messages (default 1).
    #[serde(default)]
    pub count: Option<usize>,
}

fn given_err(message: impl ToString) -> SimError {
    SimError::Given {
        sim: "xta",
        message: message.to_string(),
    }
}

fn config(g: &XtaGiven) -> Result<XtaConfig, SimError> {
    let mut cfg = serde_json::to_value(XtaConfig::default()).map_err(given_err)?;
    if let Some(c) = &g.config {
        merge(&mut cfg, c);
    }
    let cfg: XtaConfig =
        serde_json::from_value(cfg).map_err(|e| given_err(format!("config: {e}")))?;
    cfg.validate()
        .map_err(|e| given_err(format!("config: {e}")))?;
    mock_xta::load_profiles(&cfg).map_err(|e| given_err(format!("config: {e}")))?;
    for id in &g.locked {
        if cfg.account(id).is_none() {
            return Err(given_err(format!("locked: no account `{id}`")));
        }
    }
    Ok(cfg)
}

/// Write missing account certificates into the run's PKI directory, once per directory and account
/// (scenarios run in parallel and share it).
fn ensure_certs(pki_dir: &Path, pki: &TestPki, cfg: &XtaConfig) -> Result<(), SimError> {
    static DONE: Mutex<Option<HashSet<(PathBuf, String)>>> = Mutex::new(None);
    let mut done = DONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let set = done.get_or_insert_with(HashSet::new);
    let missing: Vec<_> = cfg
        .accounts
        .iter()
        .filter(|a| !set.contains(&(pki_dir.to_path_buf(), a.id.clone())))
        .cloned()
        .collect();
    let files = mock_xta::pki::client_cert_files(pki, &missing, std::time::SystemTime::now())
        .map_err(given_err)?;
    for (rel, text) in files {
        let p = pki_dir.join(&rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|source| SimError::Start { sim: "xta", source })?;
        }
        let tmp = p.with_extension("konform-tmp");
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &p))
            .map_err(|source| SimError::Start { sim: "xta", source })?;
    }
    for a in missing {
        set.insert((pki_dir.to_path_buf(), a.id));
    }
    Ok(())
}

/// Send the inbox messages through the app in-process (plain: the Author header names the portal).
async fn seed_inbox(app: &axum::Router, inbox: &[InboxMessage]) -> Result<(), SimError> {
    let portal = PartySpec::new(mock_xta::config::PORTAL_ID);
    let authority = PartySpec::new(mock_xta::config::AUTHORITY_ID);
    let post = |b: wire::Built, port: Port| {
        let app = app.clone();
        async move {
            let req = axum::http::Request::post(port.path())
                .header("content-type", b.content_type)
                .body(axum::body::Body::from(b.body))
                .map_err(given_err)?;
            let resp = app
                .oneshot(req)
                .await
                .map_err(|e| given_err(format!("inbox: {e:?}")))?;
            let status = resp.status();
            let body = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .map_err(given_err)?
                .to_bytes();
            if !status.is_success() {
                return Err(given_err(format!(
                    "inbox: the seed message was refused: {}",
                    String::from_utf8_lossy(&body)
                )));
            }
            Ok(String::from_utf8_lossy(&body).into_owned())
        }
    };
    for m in inbox {
        for _ in 0..m.count.unwrap_or(1) {
            let r = post(
                wire::simple(
                    Op::CreateMessageId,
                    "urn:konform:seed",
                    &[wire::author_header(&portal)],
                    "",
                ),
                Port::Management,
            )
            .await?;
            let body = r.split("<env:Body>").nth(1).unwrap_or("");
            let id = body
                .split('>')
                .nth(1)
                .and_then(|s| s.split('<').next())
                .unwrap_or("")
                .to_string();
            let names: Vec<&str> = m.attachments.iter().map(String::as_str).collect();
            let meta = wire::fim_meta(&id, portal.clone(), authority.clone());
            let msg = wire::ContentSpec::new(
                "application/xml",
                Some("Versammlungsanzeige.xml"),
                wire::fim_message(&wire::default_header(), &names).into_bytes(),
            );
            let atts: Vec<_> = names
                .iter()
                .map(|n| {
                    wire::ContentSpec::new(
                        "application/pdf",
                        Some(n),
                        format!("%PDF-1.4 {n}").into_bytes(),
                    )
                })
                .collect();
            post(
                wire::send(
                    Op::SendMessage,
                    "urn:konform:seed",
                    &wire::meta_xml(&meta),
                    &msg,
                    &atts,
                    Packaging::MtomCxf,
                ),
                Port::Send,
            )
            .await?;
        }
    }
    Ok(())
}

impl SimPlugin for Xta {
    fn name(&self) -> &'static str {
        "xta"
    }

    fn check_given(&self, given: &Value) -> Result<(), SimError> {
        let g: XtaGiven = parse_given("xta", given)?;
        config(&g)?;
        Ok(())
    }

    fn start<'a>(
        &'a self,
        given: &'a Value,
        ctx: &'a StartContext<'a>,
    ) -> BoxFuture<'a, Result<Box<dyn RunningSim>, SimError>> {
        Box::pin(async move {
            let g: XtaGiven = parse_given("xta", given)?;
            let cfg = config(&g)?;
            ensure_certs(ctx.pki_dir, ctx.pki, &cfg)?;
            let state = XtaState::ephemeral(cfg, ctx.pki.clone()).map_err(given_err)?;
            seed_inbox(&mock_xta::app(state.clone()), &g.inbox).await?;
            state.kit().journal().clear();
            for id in &g.locked {
                if let Some(mut a) = state.account(id) {
                    a.locked = true;
                    state.put_account(a).map_err(given_err)?;
                }
            }
            if let Some(s) = g.clock_offset_secs {
                state.set_clock_offset(s);
            }
            for f in &g.faults {
                state
                    .kit()
                    .faults()
                    .add(f.clone())
                    .map_err(|e| given_err(format!("faults: {e}")))?;
            }
            let listener = tokio::net::TcpListener::bind(sim_kit::serve::loopback_any())
                .await
                .map_err(|source| SimError::Start { sim: "xta", source })?;
            let addr = listener
                .local_addr()
                .map_err(|source| SimError::Start { sim: "xta", source })?;
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let stop = async move {
                let _ = rx.await;
            };
            let tls = g.tls.unwrap_or(true);
            let task = if tls {
                let cfg = sim_kit::tls::server_config(&mock_xta::tls_settings(ctx.pki))
                    .map_err(given_err)?;
                tokio::spawn(mock_xta::serve_tls(listener, state.clone(), cfg, stop))
            } else {
                tokio::spawn(mock_xta::serve(listener, state.clone(), stop))
            };
            let state_dir =
                std::env::temp_dir().join(format!("konform-xta-client-{}", mock_xta::soap::uuid()));
            std::fs::create_dir_all(&state_dir)
                .map_err(|source| SimError::Start { sim: "xta", source })?;
            let url = format!("{}://{}", if tls { "https" } else { "http" }, addr);
            Ok(Box::new(RunningXta {
                state,
                url,
                pki_dir: ctx.pki_dir.to_path_buf(),
                state_dir,
                stop: Some(tx),
                task: Some(task),
            }) as Box<dyn RunningSim>)
        })
    }
}

struct RunningXta {
    state: XtaState,
    url: String,
    pki_dir: PathBuf,
    state_dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningSim for RunningXta {
    fn name(&self) -> &'static str {
        "xta"
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    fn kit(&self) -> &Kit {
        self.state.kit()
    }

    fn env(&self) -> Vec<(String, String)> {
        let file = |f: String| self.pki_dir.join(f).display().to_string();
        let (p, a) = (mock_xta::config::PORTAL_ID, mock_xta::config::AUTHORITY_ID);
        vec![
            ("KONFORM_XTA_URL".into(), self.url.clone()),
            ("KONFORM_XTA_WSDL".into(), format!("{}/xta.wsdl", self.url)),
            ("KONFORM_XTA_PORTAL".into(), p.into()),
            (
                "KONFORM_XTA_PORTAL_CERT".into(),
                file(mock_xta::pki::client_cert_file(p)),
            ),
            (
                "KONFORM_XTA_PORTAL_KEY".into(),
                file(mock_xta::pki::client_key_file(p)),
            ),
            ("KONFORM_XTA_AUTHORITY".into(), a.into()),
            (
                "KONFORM_XTA_AUTHORITY_CERT".into(),
                file(mock_xta::pki::client_cert_file(a)),
            ),
            (
                "KONFORM_XTA_AUTHORITY_KEY".into(),
                file(mock_xta::pki::client_key_file(a)),
            ),
            ("KONFORM_XTA_CA".into(), file("tls/ca.pem".into())),
            (
                "KONFORM_XTA_STATE_DIR".into(),
                self.state_dir.display().to_string(),
            ),
        ]
    }

    fn stop(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let task = self.task.take();
        let dir = self.state_dir.clone();
        Box::pin(async move {
            if let Some(t) = task {
                let _ = t.await;
            }
            let _ = std::fs::remove_dir_all(dir);
        })
    }
}
