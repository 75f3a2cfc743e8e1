//! Where the asynchronous checks run: on tokio's blocking pool (inline when there is no runtime, as in
//! synchronous tests), and how to wait for them ([`VstState::settle`]). Part of the edge: the state only
//! hands out [`PendingJob`]s.

use crate::state::{PendingJob, VstState};
use std::time::Duration;

/// Run a job after the answer.
pub(crate) fn spawn(state: &VstState, job: PendingJob) {
    let s = state.clone();
    match tokio::runtime::Handle::try_current() {
        Ok(h) => {
            h.spawn_blocking(move || s.run_job(job));
        }
        Err(_) => s.run_job(job),
    }
}

impl VstState {
    /// Wait until every asynchronous check has finished (at most `timeout`). Returns whether they have.
    pub async fn settle(&self, timeout: Duration) -> bool {
        let mut rx = self.watch_pending();
        tokio::time::timeout(timeout, rx.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}
