//! Accepting a delivery: run the checks ([`crate::process`]) without the lock, then commit in one step
//! under it (duplicate `IdDatenlieferung`, key reuse across deliveries, store, start of the asynchronous
//! checks), so a rejected delivery stores nothing and an accepted one appears whole.

use super::pending::PendingJob;
use super::{VstState, lock};
use crate::config::ReusePolicy;
use crate::process::{self, Checked, Ctx, ErrorStream, InsurerId, Rejection, StoredRecord};
use crate::seed;
use serde::{Deserialize, Serialize};
use sim_kit::Diagnosis;
use std::time::{Duration, Instant, SystemTime};
use ti_core::cms::{CmsFailure, ParsedCms};

/// An accepted delivery with its decrypted plaintext.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDelivery {
    pub seq: u64,
    pub stream: ErrorStream,
    #[serde(rename = "TelematikId")]
    pub telematik_id: String,
    #[serde(rename = "IdDatenlieferung")]
    pub id_datenlieferung: String,
    pub received_at: String,
    #[serde(rename = "Transfernummer", skip_serializing_if = "Option::is_none")]
    pub transfer_number: Option<String>,
    /// The asynchronous checks have run.
    pub processed: bool,
    pub records: Vec<StoredRecord>,
}

/// An `IdDatenlieferung` as used by one insurer on one stream.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct DeliveryKey {
    pub telematik_id: String,
    pub stream: ErrorStream,
    pub id_datenlieferung: String,
}

/// What committing an accepted delivery yields.
pub struct Committed {
    /// The stored delivery's number.
    pub seq: u64,
    /// Diagnoses to report with the 200 (reuse, a repeated IdDatenlieferung, …).
    pub warnings: Vec<Diagnosis>,
    /// The transfer number (insurance updates).
    pub transfer_number: Option<String>,
    /// The asynchronous checks still to run (the edge runs them; see `crate::worker`).
    pub job: Option<PendingJob>,
}

/// How long a signer certificate's chain check is remembered.
const TRUST_TTL: Duration = Duration::from_secs(300);
/// Signer certificates remembered before the cache starts over.
const TRUST_CACHE_LIMIT: usize = 1024;

impl VstState {
    /// Chain check of a CMS signer, cached for five minutes per certificate.
    fn trust(&self, p: &ParsedCms) -> Result<(), CmsFailure> {
        use der::Encode as _;
        let key = p
            .signer_cert
            .to_der()
            .map(|d| ti_core::sha256(&d))
            .unwrap_or([0; 32]);
        if let Some(t) = lock(&self.inner.trusted).get(&key)
            && t.elapsed() < TRUST_TTL
        {
            return Ok(());
        }
        p.check_trust(&self.inner.anchors, SystemTime::now())?;
        let mut c = lock(&self.inner.trusted);
        if c.len() > TRUST_CACHE_LIMIT {
            c.clear();
        }
        c.insert(key, Instant::now());
        Ok(())
    }

    /// Run every synchronous check of a delivery (CPU-bound; call it on a blocking thread).
    pub fn check(
        &self,
        insurer: &InsurerId,
        stream: ErrorStream,
        body: &bytes::Bytes,
    ) -> Result<Checked, Rejection> {
        let (profile, environment) = {
            let d = self.data();
            (d.profile.clone(), d.environment)
        };
        let cfg = &self.inner.config;
        let trust = |p: &ParsedCms| self.trust(p);
        let ctx = Ctx {
            profile: &profile,
            environment,
            kvnr: &cfg.kvnr,
            vst_enc: &self.inner.pki.vst_enc.key,
            registerstelle_enc: &self.inner.pki.registerstelle_enc.key,
            insurer,
            limits: crate::json::Limits {
                max_depth: cfg.max_json_depth,
                ..Default::default()
            },
            threads: cfg.threads(),
            parallel_threshold: cfg.parallel_threshold,
            trust: &trust,
        };
        process::check_delivery(&ctx, stream, body)
    }

    /// Store an accepted delivery atomically (after the duplicate-id and cross-delivery reuse checks)
    /// and hand back its asynchronous checks.
    pub fn commit(&self, insurer: &InsurerId, checked: Checked) -> Result<Committed, Rejection> {
        let Checked {
            stream,
            id_datenlieferung,
            records,
            mut warnings,
            fingerprints,
            pending,
        } = checked;
        let mut d = self.data();
        let profile = d.profile.clone();
        let key = DeliveryKey {
            telematik_id: insurer.telematik_id.clone(),
            stream,
            id_datenlieferung: id_datenlieferung.clone(),
        };
        if profile.duplicate_delivery_id != ReusePolicy::Ignore && d.delivery_ids.contains(&key) {
            let diag = Diagnosis::new(
                "delivery.duplicate-id-datenlieferung",
                format!("IdDatenlieferung `{id_datenlieferung}` was already used by this insurer for an accepted delivery"),
            )
            .at("/IdDatenlieferung")
            .hint("the seed calls it the insurer's unique id of the delivery; use a new one for every delivery")
            .seed(seed::ID_UNIQUE);
            if profile.duplicate_delivery_id == ReusePolicy::Reject {
                return Err(Rejection::new(400, diag));
            }
            warnings.push(diag);
        }
        if profile.key_reuse != ReusePolicy::Ignore {
            let found = d.reuse.check(stream, &fingerprints);
            if !found.is_empty() && profile.key_reuse == ReusePolicy::Reject {
                return Err(Rejection {
                    status: 400,
                    diagnoses: found,
                });
            }
            warnings.extend(found);
            d.reuse.remember(&fingerprints);
        }
        d.delivery_ids.insert(key);
        let seq = d.next_seq;
        d.next_seq += 1;
        let transfer_number =
            (stream == ErrorStream::InsuranceUpdate).then(|| new_transfer_number(seq));
        d.deliveries.push(StoredDelivery {
            seq,
            stream,
            telematik_id: insurer.telematik_id.clone(),
            id_datenlieferung,
            received_at: sim_kit::now_rfc3339(),
            transfer_number: transfer_number.clone(),
            processed: pending.is_none(),
            records,
        });
        let generation = d.generation;
        drop(d);
        let job =
            pending.map(|checks| self.begin_job(insurer.clone(), seq, generation, profile, checks));
        Ok(Committed {
            seq,
            warnings,
            transfer_number,
            job,
        })
    }

    /// Accepted deliveries with decrypted plaintext (asynchronous results as far as they have run).
    pub fn deliveries(&self) -> Vec<StoredDelivery> {
        self.data().deliveries.clone()
    }

    pub fn delivery(&self, seq: u64) -> Option<StoredDelivery> {
        self.data()
            .deliveries
            .iter()
            .find(|d| d.seq == seq)
            .cloned()
    }
}

/// A transfer number: `TN-` + delivery number + 16 random hex digits.
fn new_transfer_number(seq: u64) -> String {
    let r = ti_core::keys::random_bytes::<8>();
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!("TN-{seq:08}-{hex}")
}
