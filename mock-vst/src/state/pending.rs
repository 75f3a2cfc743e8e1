//! Bookkeeping of the asynchronous checks: a [`PendingJob`] per accepted delivery that still has checks
//! to run, a count of jobs not yet finished (observable for `settle`), and recording a job's results as
//! processing errors and a journal entry. Running the jobs is the edge's business (`crate::worker`).

use super::VstState;
use crate::config::Profile;
use crate::process::{self, AsyncResult, Ctx, ErrorStream, InsurerId, PendingChecks};
use crate::state::mailbox::ProcessingError;
use sim_kit::{JournalEntry, Verdict};
use ti_core::cms::{CmsFailure, ParsedCms};
use tokio::sync::watch;

/// Diagnoses kept in the journal entry of one asynchronous run.
const JOURNALED: usize = 50;

/// The asynchronous checks of one accepted delivery. Counted as pending from creation until it has run
/// or is dropped.
pub struct PendingJob {
    insurer: InsurerId,
    seq: u64,
    generation: u64,
    profile: Profile,
    checks: PendingChecks,
    _count: PendingCount,
}

impl PendingJob {
    /// The delivery this job belongs to.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

/// Decrements the pending count when dropped.
struct PendingCount(watch::Sender<usize>);

impl Drop for PendingCount {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl VstState {
    pub(super) fn begin_job(
        &self,
        insurer: InsurerId,
        seq: u64,
        generation: u64,
        profile: Profile,
        checks: PendingChecks,
    ) -> PendingJob {
        self.inner.pending.send_modify(|n| *n += 1);
        PendingJob {
            insurer,
            seq,
            generation,
            profile,
            checks,
            _count: PendingCount(self.inner.pending.clone()),
        }
    }

    /// Run a job's checks and record their results (CPU-bound: call it on a blocking thread).
    pub fn run_job(&self, job: PendingJob) {
        let environment = self.environment();
        let cfg = &self.inner.config;
        // The signature was checked before the answer.
        let trust = |_: &ParsedCms| -> Result<(), CmsFailure> { Ok(()) };
        let ctx = Ctx {
            profile: &job.profile,
            environment,
            kvnr: &cfg.kvnr,
            vst_enc: &self.inner.pki.vst_enc.key,
            registerstelle_enc: &self.inner.pki.registerstelle_enc.key,
            insurer: &job.insurer,
            limits: crate::json::Limits::default(),
            threads: cfg.threads(),
            parallel_threshold: cfg.parallel_threshold,
            trust: &trust,
        };
        let mut results = process::run_async_checks(&ctx, &job.checks);
        let stream = job.checks.stream;
        let PendingJob {
            insurer,
            seq,
            generation,
            checks,
            _count,
            ..
        } = job;
        // The request body is no longer needed.
        drop(checks);
        self.finish_job(&insurer, seq, generation, stream, &mut results);
    }

    /// Apply a job's results to the stored delivery, queue its processing errors, journal the run.
    fn finish_job(
        &self,
        insurer: &InsurerId,
        seq: u64,
        generation: u64,
        stream: ErrorStream,
        results: &mut [AsyncResult],
    ) {
        let mut diagnoses = Vec::new();
        let mut codes = 0usize;
        {
            let mut d = self.data();
            if d.generation != generation {
                return;
            }
            let Some(pos) = d.deliveries.iter().position(|x| x.seq == seq) else {
                return;
            };
            let delivery = &mut d.deliveries[pos];
            process::apply_async(&mut delivery.records, results);
            delivery.processed = true;
            let mut errs = Vec::new();
            for r in results.iter() {
                let Some(id_datensatz) = delivery.records.get(r.record).map(|r| &r.id_datensatz)
                else {
                    continue;
                };
                for f in &r.errors {
                    codes += 1;
                    if diagnoses.len() < JOURNALED {
                        diagnoses.push(f.diagnosis.clone());
                    }
                    errs.push(ProcessingError {
                        id_datenlieferung: delivery.id_datenlieferung.clone(),
                        id_datensatz: id_datensatz.clone(),
                        code: f.code.to_string(),
                    });
                }
            }
            d.mailboxes
                .entry(insurer.telematik_id.clone())
                .or_default()
                .errors_mut(stream)
                .extend(errs);
        }
        self.inner.kit.journal().record(JournalEntry {
            seq: 0,
            at: String::new(),
            simulator: String::new(),
            method: "ASYNC".into(),
            path: format!("/notify/api/v1/{}", stream.operation()),
            operation: Some(format!("{}.async-checks", stream.operation())),
            status: 0,
            verdict: if codes == 0 {
                Verdict::Accepted
            } else {
                Verdict::Rejected
            },
            diagnoses,
            fault: None,
            duration_ms: 0.0,
            data: Some(serde_json::json!({ "delivery": seq, "processing_errors": codes })),
        });
    }

    /// Number of asynchronous checks not yet finished.
    pub fn pending_checks(&self) -> usize {
        *self.inner.pending.borrow()
    }

    /// Observe the number of asynchronous checks not yet finished.
    pub fn watch_pending(&self) -> watch::Receiver<usize> {
        self.inner.pending.subscribe()
    }
}
