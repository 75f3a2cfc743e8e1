//! What every dashboard test needs: a VST and a Konnektor in-process on ephemeral ports, the dashboard
//! following them, the reference client to talk to them, and a small HTTP helper.

use conformance::client::{self, ClientEnv, ClientError, Defect};
use conformance::runner::Shared;
use serde_json::{Value, json};
use sim_kit::serve::RunningSim;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One test PKI per test binary, written to disk for the reference client.
fn shared() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("konform-dashboard-it-{}", std::process::id()));
        Shared::create(&dir).expect("test PKI")
    })
}

pub struct Env {
    pub rt: tokio::runtime::Runtime,
    pub vst: RunningSim,
    pub konnektor: RunningSim,
    pub ui: String,
    pub state: dashboard::AppState,
}

impl Env {
    pub fn start() -> Env {
        Self::start_with(dashboard::Config::default())
    }

    /// `cfg.sims` is filled in with the two simulators.
    pub fn start_with(mut cfg: dashboard::Config) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sh = shared();
        let (vst, konnektor, ui, state) = rt.block_on(async {
            let v = mock_vst::VstState::new(
                mock_vst::VstConfig::default(),
                sh.pki.clone(),
                sim_kit::store::Store::ephemeral().unwrap(),
            )
            .unwrap();
            let k = mock_konnektor::KonnektorState::new(
                mock_konnektor::KonnektorConfig::default(),
                sh.pki.clone(),
                sim_kit::store::Store::ephemeral().unwrap(),
            )
            .unwrap();
            let any = sim_kit::serve::loopback_any();
            let vst = sim_kit::serve::spawn(mock_vst::app(v), any).await.unwrap();
            let konnektor = sim_kit::serve::spawn(mock_konnektor::app(k), any)
                .await
                .unwrap();
            cfg.sims = vec![
                ("vst".into(), vst.url()),
                ("konnektor".into(), konnektor.url()),
            ];
            let state = dashboard::AppState::new(cfg).unwrap();
            let l = tokio::net::TcpListener::bind(any).await.unwrap();
            let ui = format!("http://{}", l.local_addr().unwrap());
            tokio::spawn(dashboard::serve(l, state.clone(), std::future::pending()));
            (vst, konnektor, ui, state)
        });
        Env {
            rt,
            vst,
            konnektor,
            ui,
            state,
        }
    }

    pub fn client_env(&self, defect: Option<Defect>) -> ClientEnv {
        let mut e = ClientEnv::from_env();
        e.vst_url = self.vst.url();
        e.konnektor_url = self.konnektor.url();
        e.pki_dir = shared().pki_dir.clone();
        e.card_handle = None;
        e.timeout = Duration::from_secs(20);
        e.defect = defect;
        e
    }

    /// One reference-client action (blocking).
    pub fn act(
        &self,
        action: &str,
        input: Value,
        defect: Option<Defect>,
    ) -> Result<Value, ClientError> {
        client::run_action(action, &self.client_env(defect), &input)
    }

    /// A delivery of one record with this KVNR.
    pub fn submit(&self, kvnr: &str) -> Result<Value, ClientError> {
        self.act(
            "vst.submit_vitalstatus",
            json!({ "IdDatenlieferung": "2024-07", "Meldungen": [
                { "IdDatensatz": "2024-07-001", "IdVersicherter": kvnr, "Vitalstatus": "01", "Sterbedatum": "---N/A----" }
            ]}),
            None,
        )
    }

    /// `GET` a dashboard page: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        let r = http()
            .request("GET", &format!("{}{path}", self.ui), &[], b"")
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        (r.status, r.text())
    }

    /// Any request to the dashboard with headers and body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let r = http()
            .request(
                method,
                &format!("{}{path}", self.ui),
                headers,
                body.as_bytes(),
            )
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        (r.status, r.text())
    }

    /// Wait until the dashboard's timeline holds `n` entries.
    pub fn wait_entries(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.state.timeline().len() < n {
            assert!(
                Instant::now() < deadline,
                "the dashboard holds {} entries, not {n}",
                self.state.timeline().len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Poll a page until `pred` holds for its body.
    pub fn wait_page(&self, path: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (st, body) = self.get(path);
            if st == 200 && pred(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never showed {what}: {body}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.state.stop();
    }
}

fn http() -> conformance::http::Http {
    conformance::http::Http::new(Duration::from_secs(30), None).expect("HTTP client")
}
