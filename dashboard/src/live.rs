//! Live updates: `GET /events?<filter>&after=ID` is a server-sent event stream of the rows that arrived
//! after `ID` and match the filter. Updates are batched — at most one event per [`MIN_GAP`], each with the
//! newest [`crate::timeline::PAGE_SIZE`] rows and the count of all that matched — so a simulator answering
//! thousands of requests a second costs the browser a few small DOM updates a second.

use crate::AppState;
use crate::filter::Filter;
use crate::store::Timeline;
use crate::timeline::{PAGE_SIZE, row, row_id};
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The shortest time between two events of one stream.
pub const MIN_GAP: Duration = Duration::from_millis(250);

#[derive(Deserialize)]
pub struct After {
    #[serde(default)]
    after: Option<String>,
}

struct Follow {
    timeline: Arc<Timeline>,
    filter: Filter,
    last: u64,
    tick: watch::Receiver<u64>,
    stop: watch::Receiver<bool>,
    sent: Option<Instant>,
}

impl Follow {
    /// The next event, or `None` when the dashboard shuts down.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(sent) = self.sent {
                let wait = MIN_GAP.saturating_sub(sent.elapsed());
                if !wait.is_zero() {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = self.stop.wait_for(|s| *s) => return None,
                    }
                }
            }
            self.tick.mark_unchanged();
            let u = self.timeline.since(&self.filter, self.last, PAGE_SIZE);
            let changed = !u.entries.is_empty() || !u.flows.is_empty();
            self.last = u.last_id;
            if changed {
                self.sent = Some(Instant::now());
                let rows: Vec<String> = u.entries.iter().map(|(s, f)| row(s, *f)).collect();
                let flows: Vec<_> = u
                    .flows
                    .iter()
                    .map(|(id, members)| {
                        json!({ "id": id, "rows": members.iter().map(|(sim, seq)| row_id(sim, *seq)).collect::<Vec<_>>() })
                    })
                    .collect();
                let newest = u.entries.first().map(|(s, _)| s.entry.at.clone());
                let data = json!({ "rows": rows, "matched": u.matched, "last": u.last_id, "flows": flows, "newest_at": newest });
                return Some(Event::default().event("rows").data(data.to_string()));
            }
            tokio::select! {
                r = self.tick.changed() => if r.is_err() { return None },
                _ = self.stop.wait_for(|s| *s) => return None,
            }
        }
    }
}

pub async fn events(
    State(app): State<AppState>,
    filter: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
    after: Result<Query<After>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filter = filter.map(|Query(f)| f).unwrap_or_default();
    let timeline = app.timeline().clone();
    let last = after
        .ok()
        .and_then(|Query(a)| a.after)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| timeline.last_id());
    let follow = Follow {
        tick: timeline.subscribe(),
        timeline,
        filter,
        last,
        stop: app.stopping(),
        sent: None,
    };
    let stream = futures_util::stream::unfold(follow, |mut f| async move {
        let ev = f.next().await?;
        Some((Ok::<_, Infallible>(ev), f))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
