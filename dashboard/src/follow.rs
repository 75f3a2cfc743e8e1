//! Following a simulator's journal: one task per simulator long-polls `GET /__konform/journal?since=N&wait=MS`
//! (a simulator without `wait` answers at once, and the task then polls every [`POLL_IDLE`]), adds what
//! arrives to the timeline and keeps the simulator's health for the page. Batches are collected for
//! [`BATCH`] after the first entry arrives, so a busy simulator costs a few requests per second, not one
//! per entry. A restarted simulator (its journal's last sequence number fell back) is followed from 1.

use crate::client::AdminClient;
use crate::store::Timeline;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub const PAGE: usize = 2_000;
/// Short enough that a simulator shutting down never waits long for an open poll.
pub const WAIT_MS: u64 = 1_000;
pub const BATCH: Duration = Duration::from_millis(100);
pub const POLL_IDLE: Duration = Duration::from_millis(250);
const HEALTH_EVERY: Duration = Duration::from_secs(5);

/// What the page shows about one followed simulator.
#[derive(Clone, Debug, Default)]
pub struct LinkStatus {
    /// The last call succeeded.
    pub connected: bool,
    pub error: Option<String>,
    /// The last sequence number read.
    pub since: u64,
    /// `GET /__konform/health` as last answered.
    pub health: Option<Value>,
}

impl LinkStatus {
    /// The simulator's own name (`vst`, `konnektor`, …) from its health, which picks the tailored views.
    pub fn kind(&self) -> Option<&str> {
        self.health.as_ref()?.get("simulator")?.as_str()
    }
}

/// A simulator the dashboard follows: its name (the ready file's key) and its admin client.
pub struct SimLink {
    pub name: Arc<str>,
    pub client: AdminClient,
    status: Mutex<LinkStatus>,
}

impl SimLink {
    pub fn new(name: &str, client: AdminClient) -> SimLink {
        SimLink {
            name: name.into(),
            client,
            status: Mutex::new(LinkStatus::default()),
        }
    }

    pub fn status(&self) -> LinkStatus {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn update(&self, f: impl FnOnce(&mut LinkStatus)) {
        f(&mut self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    /// Read the health now (also used by pages that want fresh state).
    pub async fn refresh_health(&self) -> Option<Value> {
        match self
            .client
            .call("GET", "/__konform/health", None, Duration::from_secs(5))
            .await
        {
            Ok(r) if r.is_success() => {
                let h = r.json();
                self.update(|s| {
                    s.connected = true;
                    s.error = None;
                    s.health = h.clone();
                });
                h
            }
            Ok(r) => {
                self.update(|s| {
                    s.connected = false;
                    s.error = Some(format!("health answered {}", r.status));
                });
                None
            }
            Err(e) => {
                self.update(|s| {
                    s.connected = false;
                    s.error = Some(e.to_string());
                });
                None
            }
        }
    }
}

fn last_seq_of(health: &Value) -> Option<u64> {
    health.get("journal")?.get("last_seq")?.as_u64()
}

/// Follow one simulator until `stop` turns true.
pub async fn follow(link: Arc<SimLink>, timeline: Arc<Timeline>, mut stop: watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(500);
    let mut last_health = Instant::now() - HEALTH_EVERY;
    loop {
        if *stop.borrow() {
            return;
        }
        if last_health.elapsed() >= HEALTH_EVERY {
            last_health = Instant::now();
            if let Some(h) = link.refresh_health().await {
                let since = link.status().since;
                if last_seq_of(&h).is_some_and(|last| last < since) {
                    // Restarted: its sequence numbers begin again.
                    timeline.forget_sim(&link.name);
                    link.update(|s| s.since = 0);
                }
            }
        }
        let since = link.status().since;
        let path = format!("/__konform/journal?since={since}&limit={PAGE}&wait={WAIT_MS}");
        let started = Instant::now();
        let call = link.client.call(
            "GET",
            &path,
            None,
            Duration::from_millis(WAIT_MS) + Duration::from_secs(10),
        );
        let res = tokio::select! {
            r = call => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        let pause = match res {
            Ok(r) if r.is_success() => match crate::entry::parse_journal_page(&r.body) {
                Ok(entries) => {
                    backoff = Duration::from_millis(500);
                    let n = entries.len();
                    let max = entries.iter().map(|e| e.seq).max().unwrap_or(since);
                    timeline.add(&link.name, entries);
                    link.update(|s| {
                        s.connected = true;
                        s.error = None;
                        s.since = s.since.max(max);
                    });
                    if n >= PAGE {
                        Duration::ZERO
                    } else if n > 0 {
                        BATCH
                    } else if started.elapsed() < Duration::from_millis(WAIT_MS / 2) {
                        POLL_IDLE
                    } else {
                        Duration::ZERO
                    }
                }
                Err(e) => {
                    link.update(|s| s.error = Some(format!("journal page unreadable: {e}")));
                    backoff
                }
            },
            Ok(r) => {
                link.update(|s| {
                    s.connected = false;
                    s.error = Some(format!(
                        "journal answered {}: {}",
                        r.status,
                        String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
                    ));
                });
                backoff
            }
            Err(e) => {
                link.update(|s| {
                    s.connected = false;
                    s.error = Some(e.to_string());
                });
                last_health = Instant::now() - HEALTH_EVERY;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                backoff
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}
