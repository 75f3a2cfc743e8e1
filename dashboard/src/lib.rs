//! The konform dashboard: one page for every running simulator — a live timeline of their requests with
//! diagnoses and seed passages, their state, and the admin actions — served by `konform up` on
//! 127.0.0.1:8090.
//!
//! It talks to the simulators **only through their admin API** (`/__konform/…`, JSON; `client.rs`), so the
//! admin API's safety rules apply and the same dashboard works against simulators on another machine.
//! One task per simulator follows its journal (`follow.rs`) into a merged, bounded timeline (`store.rs`),
//! which pages are rendered from (`timeline.rs`, `entry_page.rs`, `sim_page.rs`) and live updates are sent
//! from (`live.rs`, server-sent events, batched). The browser gets server-rendered HTML, one stylesheet
//! and one small script (`assets/`), all embedded in the binary: nothing is fetched from elsewhere.
//!
//! Invariants: the dashboard never holds more than its timeline bounds (entries and bytes); state changes
//! reach a simulator only as admin calls with JSON bodies from the dashboard's own pages (`guard.rs`);
//! pages render whatever JSON a simulator answers without trusting it (everything is escaped).

pub mod client;
pub mod entry;
pub mod entry_page;
pub mod exchange_view;
pub mod filter;
pub mod flow;
pub mod follow;
pub mod forms;
pub mod guard;
pub mod html;
pub mod json_view;
pub mod live;
pub mod pretty;
pub mod reports;
mod routes;
pub mod sim_page;
pub mod store;
pub mod timeline;
pub mod views;

use client::AdminClient;
use follow::SimLink;
use std::path::PathBuf;
use std::sync::Arc;
use store::Timeline;
use tokio::sync::watch;

pub use client::{ClientError, tls_config};

/// The default port of the dashboard (`konform up --ui-port`).
pub const DEFAULT_PORT: u16 = 8090;

/// What the dashboard shows.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The simulators: the dashboard's name for each (the ready file's key) and the base URL of its admin API.
    pub sims: Vec<(String, String)>,
    /// Trust for `https` simulators (the test PKI's TLS CA, and a client certificate where required).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Sent as a bearer token to every simulator (`--admin-token` of a `konform up` serving beyond loopback).
    pub admin_token: Option<String>,
    /// Report files and folders (`konform run --html` output) to list.
    pub reports: Vec<PathBuf>,
    /// Host names to answer besides 127.0.0.1, localhost and `[::1]`.
    pub allow_hosts: Vec<String>,
    /// Timeline bounds (0 = the defaults).
    pub max_entries: usize,
    pub max_bytes: usize,
}

struct Inner {
    links: Vec<Arc<SimLink>>,
    timeline: Arc<Timeline>,
    reports: Vec<PathBuf>,
    hosts: guard::Hosts,
    stop: watch::Sender<bool>,
}

/// The dashboard's shared state (cheap to clone).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(cfg: Config) -> Result<AppState, ClientError> {
        let mut links = Vec::new();
        for (name, url) in &cfg.sims {
            let c = AdminClient::new(url, cfg.tls.clone(), cfg.admin_token.clone())?;
            links.push(Arc::new(SimLink::new(name, c)));
        }
        let or = |v: usize, d: usize| if v == 0 { d } else { v };
        Ok(AppState(Arc::new(Inner {
            links,
            timeline: Arc::new(Timeline::new(
                or(cfg.max_entries, store::DEFAULT_MAX_ENTRIES),
                or(cfg.max_bytes, store::DEFAULT_MAX_BYTES),
            )),
            reports: cfg.reports,
            hosts: guard::Hosts(Arc::new(cfg.allow_hosts)),
            stop: watch::channel(false).0,
        })))
    }

    pub fn timeline(&self) -> &Arc<Timeline> {
        &self.0.timeline
    }

    pub fn links(&self) -> &[Arc<SimLink>] {
        &self.0.links
    }

    pub fn link(&self, name: &str) -> Option<&Arc<SimLink>> {
        self.0.links.iter().find(|l| &*l.name == name)
    }

    pub fn reports(&self) -> &[PathBuf] {
        &self.0.reports
    }

    /// Turns true when the dashboard shuts down (live streams end).
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.0.stop.subscribe()
    }

    /// Start following every simulator's journal (needs a Tokio runtime).
    pub fn start_following(&self) {
        for l in &self.0.links {
            tokio::spawn(follow::follow(
                l.clone(),
                self.0.timeline.clone(),
                self.stopping(),
            ));
        }
    }

    /// End the followers and the live streams.
    pub fn stop(&self) {
        self.0.stop.send_replace(true);
    }
}

/// The dashboard's routes.
pub fn app(state: AppState) -> axum::Router {
    let hosts = state.0.hosts.clone();
    routes::router()
        .layer(axum::middleware::from_fn_with_state(hosts, guard::layer))
        .with_state(state)
}

/// Follow the simulators and serve the dashboard on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state.start_following();
    let st = state.clone();
    let shutdown = async move {
        shutdown.await;
        st.stop();
    };
    sim_kit::serve::serve(listener, app(state.clone()), shutdown).await
}
