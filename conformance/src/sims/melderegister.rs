//! mock-melderegister as a runner plugin: `given.melderegister` (configuration, register size, added
//! residents, a certificate issued in advance for the Mandant the client acts for, faults). Starts the web
//! service (HTTPS, client certificates required) and the portal; the runner's URL is the portal (admin API,
//! raw requests), the client gets both plus its certificate files.

use super::{BoxFuture, RunningSim, SimError, SimPlugin, StartContext, parse_given};
use crate::merge;
use mock_melderegister::{MelderegisterConfig, MelderegisterState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_kit::store::Store;
use sim_kit::{FaultRule, Kit, Simulator};
use std::net::SocketAddr;

pub struct Melderegister;

/// `given.melderegister`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MelderegisterGiven {
    /// `MelderegisterConfig` keys to change (merged over the defaults), as in `docs/melderegister.md`.
    #[serde(default)]
    pub config: Option<Value>,
    /// Generated residents besides the fixed example persons (default 300: fast, the examples are fixed).
    #[serde(default)]
    pub residents: Option<usize>,
    /// Residents to add (`Einwohner` JSON, see the admin API `POST /__konform/einwohner`).
    #[serde(default)]
    pub einwohner: Vec<Value>,
    /// The Mandant the client acts for (default `stadt-musterhausen`).
    #[serde(default)]
    pub mandant: Option<String>,
    /// Issue a certificate for that Mandant in advance (default true; false: the client must order).
    #[serde(default)]
    pub zertifikat: Option<bool>,
    /// Revoke that certificate right away.
    #[serde(default)]
    pub zertifikat_gesperrt: bool,
    #[serde(default)]
    pub faults: Vec<FaultRule>,
}

fn given_err(message: impl ToString) -> SimError {
    SimError::Given {
        sim: "melderegister",
        message: message.to_string(),
    }
}

fn config(g: &MelderegisterGiven) -> Result<MelderegisterConfig, SimError> {
    let mut cfg = serde_json::to_value(MelderegisterConfig {
        residents: 300,
        ..MelderegisterConfig::default()
    })
    .map_err(given_err)?;
    if let Some(c) = &g.config {
        merge(&mut cfg, c);
    }
    let mut cfg: MelderegisterConfig = serde_json::from_value(cfg).map_err(given_err)?;
    if let Some(n) = g.residents {
        cfg.residents = n;
    }
    cfg.validate().map_err(given_err)?;
    let m = g.mandant.as_deref().unwrap_or("stadt-musterhausen");
    if cfg.mandant(m).is_none() {
        return Err(given_err(format!("mandant: `{m}` is not configured")));
    }
    Ok(cfg)
}

impl SimPlugin for Melderegister {
    fn name(&self) -> &'static str {
        "melderegister"
    }

    fn check_given(&self, given: &Value) -> Result<(), SimError> {
        let g: MelderegisterGiven = parse_given("melderegister", given)?;
        config(&g)?;
        for (i, e) in g.einwohner.iter().enumerate() {
            serde_json::from_value::<mock_melderegister::register::model::Einwohner>(e.clone())
                .map_err(|err| given_err(format!("einwohner[{i}]: {err}")))?;
        }
        Ok(())
    }

    fn start<'a>(
        &'a self,
        given: &'a Value,
        ctx: &'a StartContext<'a>,
    ) -> BoxFuture<'a, Result<Box<dyn RunningSim>, SimError>> {
        Box::pin(async move {
            let g: MelderegisterGiven = parse_given("melderegister", given)?;
            let cfg = config(&g)?;
            let store = Store::ephemeral().map_err(given_err)?;
            let st = MelderegisterState::new(cfg, store, Some(ctx.pki.tls_ca.clone()))
                .map_err(given_err)?;
            let add: Vec<mock_melderegister::register::model::Einwohner> = g
                .einwohner
                .iter()
                .map(|e| serde_json::from_value(e.clone()))
                .collect::<Result<_, _>>()
                .map_err(given_err)?;
            if !add.is_empty() {
                st.add_einwohner(add).map_err(given_err)?;
            }
            for f in &g.faults {
                st.kit()
                    .faults()
                    .add(f.clone())
                    .map_err(|e| given_err(format!("faults: {e}")))?;
            }
            let mandant = g
                .mandant
                .clone()
                .unwrap_or_else(|| "stadt-musterhausen".into());
            let files = tempfile::tempdir().map_err(given_err)?;
            let mut env = Vec::new();
            if g.zertifikat.unwrap_or(true) {
                let (id, z, k) =
                    mock_melderegister::zertifikat::ausstellen(&st, &mandant).map_err(given_err)?;
                if g.zertifikat_gesperrt {
                    st.set_revoked(&z.fingerprint, true).map_err(given_err)?;
                }
                let (c, kf) = (
                    files.path().join("client.pem"),
                    files.path().join("client.key.pem"),
                );
                std::fs::write(&c, id.cert_pem()).map_err(given_err)?;
                std::fs::write(&kf, id.key_pem()).map_err(given_err)?;
                env.push((
                    "KONFORM_MELDEREGISTER_CERT".to_string(),
                    c.display().to_string(),
                ));
                env.push((
                    "KONFORM_MELDEREGISTER_KEY".to_string(),
                    kf.display().to_string(),
                ));
                env.push(("KONFORM_MELDEREGISTER_KUNDENNUMMER".to_string(), k));
            }
            let m = st
                .mandant(&mandant)
                .cloned()
                .ok_or_else(|| given_err("mandant"))?;
            env.push(("KONFORM_MELDEREGISTER_MANDANT".into(), m.id.clone()));
            env.push(("KONFORM_MELDEREGISTER_DVDV".into(), m.dvdv.clone()));
            env.push(("KONFORM_MELDEREGISTER_EMAIL".into(), m.email.clone()));
            env.push((
                "KONFORM_MELDEREGISTER_CA".into(),
                ctx.pki_dir.join("tls").join("ca.pem").display().to_string(),
            ));
            let tls = mock_melderegister::service_tls(ctx.pki).map_err(given_err)?;
            let start_err = |source| SimError::Start {
                sim: "melderegister",
                source,
            };
            let sl = tokio::net::TcpListener::bind(sim_kit::serve::loopback_any())
                .await
                .map_err(start_err)?;
            let pl = tokio::net::TcpListener::bind(sim_kit::serve::loopback_any())
                .await
                .map_err(start_err)?;
            let (service, portal) = (
                sl.local_addr().map_err(start_err)?,
                pl.local_addr().map_err(start_err)?,
            );
            let (t1, r1) = tokio::sync::oneshot::channel::<()>();
            let (t2, r2) = tokio::sync::oneshot::channel::<()>();
            let tasks = vec![
                tokio::spawn(mock_melderegister::serve_service(
                    sl,
                    st.clone(),
                    tls,
                    async move {
                        let _ = r1.await;
                    },
                )),
                tokio::spawn(mock_melderegister::serve(pl, st.clone(), async move {
                    let _ = r2.await;
                })),
            ];
            Ok(Box::new(RunningMelderegister {
                st,
                service,
                portal,
                env,
                stop: vec![t1, t2],
                tasks,
                _files: files,
            }) as Box<dyn RunningSim>)
        })
    }
}

struct RunningMelderegister {
    st: MelderegisterState,
    service: SocketAddr,
    portal: SocketAddr,
    env: Vec<(String, String)>,
    stop: Vec<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    _files: tempfile::TempDir,
}

impl RunningSim for RunningMelderegister {
    fn name(&self) -> &'static str {
        "melderegister"
    }

    fn url(&self) -> String {
        format!("http://{}", self.portal)
    }

    fn kit(&self) -> &Kit {
        self.st.kit()
    }

    fn env(&self) -> Vec<(String, String)> {
        let mut v = vec![
            (
                "KONFORM_MELDEREGISTER_URL".to_string(),
                format!("https://127.0.0.1:{}", self.service.port()),
            ),
            ("KONFORM_MELDEREGISTER_PORTAL_URL".to_string(), self.url()),
        ];
        v.extend(self.env.iter().cloned());
        v
    }

    fn ready_urls(&self) -> Vec<(String, String)> {
        vec![
            (
                "melderegister".into(),
                format!("https://127.0.0.1:{}", self.service.port()),
            ),
            ("melderegister_portal".into(), self.url()),
        ]
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        let me = *self;
        Box::pin(async move {
            for s in me.stop {
                let _ = s.send(());
            }
            for t in me.tasks {
                let _ = t.await;
            }
        })
    }
}
