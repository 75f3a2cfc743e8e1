//! Where the asynchronous checks run: on tokio's blocking pool after the processing delay (profile
//! `processing_delay_ms`; with `0` before the answer), and how to wait for them
//! ([`VstState::settle`]). Part of the edge: the state only hands out [`PendingJob`]s.

use crate::state::{PendingJob, VstState};
use std::time::Duration;

/// Run a job: with no processing delay now (the caller answers afterwards), else after the delay in the
/// background, so a poll meanwhile answers 204.
pub(crate) async fn run(state: &VstState, job: PendingJob) {
    let delay = Duration::from_millis(job.processing_delay_ms());
    let s = state.clone();
    if delay.is_zero() {
        // A panic in the checks loses the job (the count drops with it); the answer still goes out.
        let _ = tokio::task::spawn_blocking(move || s.run_job(job)).await;
        return;
    }
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let _ = tokio::task::spawn_blocking(move || s.run_job(job)).await;
    });
}

/// Run the asynchronous checks a previous run of the simulator left unfinished (see
/// [`VstState::resume_unfinished`]), in the background.
pub fn resume(state: &VstState) {
    for job in state.resume_unfinished() {
        let s = state.clone();
        tokio::spawn(async move { run(&s, job).await });
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
