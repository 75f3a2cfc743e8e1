//! The simulator's per-instance state: registrations, mailboxes (requests, anonymizations, processing
//! errors per insurer), accepted deliveries, reuse fingerprints. One mutex guards it all, so a delivery is
//! committed whole or not at all, and a concurrent poll never sees half of it.

use crate::config::{AuthMode, Profile, Registration, ReusePolicy, SignatureEncoding, VstConfig};
use crate::process::{
    self, AsyncResult, Checked, Ctx, ErrorStream, Fingerprint, PendingChecks, Rejection,
    StoredRecord,
};
use crate::seed;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use sim_kit::{Diagnosis, JournalEntry, Kit, Verdict};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use ti_core::cms::{CmsFailure, ParsedCms};
use ti_core::ids::Environment;
use ti_core::pki::TestPki;
use ti_core::{EcPublicKey, b64_decode, b64_encode, ecies};
use tokio::sync::watch;
use x509_cert::Certificate;

/// Errors of the in-process API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("registration refused: {0}")]
    Registration(String),
    #[error("{0}")]
    Invalid(String),
    #[error("no registered insurer with Telematik-ID `{0}`")]
    UnknownInsurer(String),
}

/// A registered insurer.
#[derive(Clone, Debug)]
pub struct Insurer {
    pub telematik_id: String,
    pub haupt_ik: String,
    pub aut_cert_der: Vec<u8>,
    pub aut_key: EcPublicKey,
    /// For values the VST encrypts for this insurer (requests, anonymizations).
    pub enc_key: Option<EcPublicKey>,
    pub registered_at: String,
}

/// What the admin API shows of an insurer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct InsurerView {
    #[serde(rename = "TelematikId")]
    pub telematik_id: String,
    #[serde(rename = "HauptIK")]
    pub haupt_ik: String,
    pub certificate_subject: String,
    pub can_receive_encrypted: bool,
    pub registered_at: String,
}

/// One processing error as the poll endpoints deliver it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessingError {
    #[serde(rename = "IdDatenlieferung")]
    pub id_datenlieferung: String,
    #[serde(rename = "IdDatensatz")]
    pub id_datensatz: String,
    #[serde(rename = "Code")]
    pub code: String,
}

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

#[derive(Default)]
struct Mailbox {
    /// base64 values, encrypted for the insurer.
    requests: Vec<String>,
    anonymizations: Vec<String>,
    errors_vs: Vec<ProcessingError>,
    errors_iu: Vec<ProcessingError>,
}

/// What a poll takes from a mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    Requests,
    Anonymizations,
    Errors(ErrorStream),
}

struct Data {
    profile: Profile,
    environment: Environment,
    insurers: Vec<Insurer>,
    mailboxes: HashMap<String, Mailbox>,
    deliveries: Vec<StoredDelivery>,
    next_seq: u64,
    seen_x: HashSet<u64>,
    seen_iv: HashSet<u64>,
    delivery_ids: HashSet<(String, ErrorStream, String)>,
    /// Bumped by reset: asynchronous jobs of an older generation are discarded.
    generation: u64,
}

/// Fingerprints kept for cross-delivery reuse checks before the window restarts.
const REUSE_WINDOW: usize = 4_000_000;

pub(crate) struct Inner {
    pub(crate) kit: Kit,
    pub(crate) config: VstConfig,
    pub(crate) pki: Arc<TestPki>,
    pub(crate) anchors: Vec<Certificate>,
    data: Mutex<Data>,
    pending: watch::Sender<usize>,
    auth_cache: Mutex<HashMap<String, (String, String)>>,
    trust_cache: Mutex<HashMap<[u8; 32], Instant>>,
    wellknown: Mutex<Option<(Instant, String)>>,
}

/// The VST simulator. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct VstState {
    pub(crate) inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Parse a certificate given as PEM or base64 DER.
pub fn parse_certificate(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    if t.contains("-----BEGIN") {
        let (label, der) = ti_core::pem_decode(t).map_err(|e| e.to_string())?;
        if label != "CERTIFICATE" {
            return Err(format!("expected a PEM CERTIFICATE, found `{label}`"));
        }
        Ok(der)
    } else {
        let compact: String = t.split_whitespace().collect();
        b64_decode(&compact).map_err(|e| format!("certificate: {e}"))
    }
}

impl VstState {
    pub fn new(config: VstConfig, pki: Arc<TestPki>) -> Result<Self, Error> {
        config.validate().map_err(Error::Config)?;
        let anchors = vec![pki.ca.cert()];
        let data = Data {
            profile: config.profile.clone(),
            environment: config.environment,
            insurers: Vec::new(),
            mailboxes: HashMap::new(),
            deliveries: Vec::new(),
            next_seq: 1,
            seen_x: HashSet::new(),
            seen_iv: HashSet::new(),
            delivery_ids: HashSet::new(),
            generation: 0,
        };
        let s = VstState {
            inner: Arc::new(Inner {
                kit: Kit::new("vst"),
                config,
                pki,
                anchors,
                data: Mutex::new(data),
                pending: watch::channel(0).0,
                auth_cache: Mutex::new(HashMap::new()),
                trust_cache: Mutex::new(HashMap::new()),
                wellknown: Mutex::new(None),
            }),
        };
        s.register_configured()?;
        Ok(s)
    }

    fn register_configured(&self) -> Result<(), Error> {
        if self.inner.config.register_default_insurer {
            let r = default_registration(&self.inner.pki);
            self.register_insurer(r)?;
        }
        for r in self.inner.config.insurers.clone() {
            self.register_insurer(r)?;
        }
        Ok(())
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        lock(&self.inner.data)
    }

    pub fn kit(&self) -> &Kit {
        &self.inner.kit
    }
    pub fn config(&self) -> &VstConfig {
        &self.inner.config
    }
    pub fn pki(&self) -> &TestPki {
        &self.inner.pki
    }

    /// Verify a registration ("Registrierung an der Schnittstelle") and register (or replace) the insurer.
    pub fn register_insurer(&self, r: Registration) -> Result<(), Error> {
        let insurer = verify_registration(&r, &self.inner.anchors, &self.inner.pki)?;
        let mut d = self.data();
        d.insurers
            .retain(|i| i.telematik_id != insurer.telematik_id);
        d.mailboxes.entry(insurer.telematik_id.clone()).or_default();
        d.insurers.push(insurer);
        drop(d);
        lock(&self.inner.auth_cache).clear();
        Ok(())
    }

    /// Remove a registration. Its mailbox stays until reset.
    pub fn unregister_insurer(&self, telematik_id: &str) -> Result<(), Error> {
        let mut d = self.data();
        let before = d.insurers.len();
        d.insurers.retain(|i| i.telematik_id != telematik_id);
        if d.insurers.len() == before {
            return Err(Error::UnknownInsurer(telematik_id.into()));
        }
        drop(d);
        lock(&self.inner.auth_cache).clear();
        Ok(())
    }

    pub fn insurers(&self) -> Vec<InsurerView> {
        self.data()
            .insurers
            .iter()
            .map(|i| InsurerView {
                telematik_id: i.telematik_id.clone(),
                haupt_ik: i.haupt_ik.clone(),
                certificate_subject: ti_core::pki::public_key_of_cert_der(&i.aut_cert_der)
                    .ok()
                    .and(
                        der_cert(&i.aut_cert_der)
                            .map(|c| ti_core::pki::subject_string(&c))
                            .ok(),
                    )
                    .unwrap_or_default(),
                can_receive_encrypted: i.enc_key.is_some(),
                registered_at: i.registered_at.clone(),
            })
            .collect()
    }

    fn insurer_or_default(&self, d: &Data, tid: Option<&str>) -> Result<Insurer, Error> {
        match tid {
            Some(t) => d
                .insurers
                .iter()
                .find(|i| i.telematik_id == t)
                .cloned()
                .ok_or_else(|| Error::UnknownInsurer(t.into())),
            None => d
                .insurers
                .first()
                .cloned()
                .ok_or_else(|| Error::UnknownInsurer("(default: none registered)".into())),
        }
    }

    fn queue(&self, kvnr: &str, tid: Option<&str>, anonymization: bool) -> Result<(), Error> {
        ti_core::ids::check_kvnr(kvnr).map_err(|e| Error::Invalid(format!("KVNR `{kvnr}` {e}")))?;
        let mut d = self.data();
        let ins = self.insurer_or_default(&d, tid)?;
        let key = ins.enc_key.ok_or_else(|| {
            Error::Invalid(format!(
                "insurer {} was registered without an encryption certificate",
                ins.telematik_id
            ))
        })?;
        let value = b64_encode(&ecies::encrypt(&key, kvnr.as_bytes(), &d.profile.ecies()));
        let mb = d.mailboxes.entry(ins.telematik_id).or_default();
        if anonymization {
            mb.anonymizations.push(value);
        } else {
            mb.requests.push(value);
        }
        Ok(())
    }

    /// Queue a vital status request for the default insurer (the VST encrypts the KVNR for it).
    pub fn queue_request(&self, kvnr: &str) -> Result<(), Error> {
        self.queue(kvnr, None, false)
    }
    pub fn queue_request_for(&self, kvnr: &str, telematik_id: &str) -> Result<(), Error> {
        self.queue(kvnr, Some(telematik_id), false)
    }
    /// Queue an anonymization notification for the default insurer.
    pub fn queue_anonymization(&self, kvnr: &str) -> Result<(), Error> {
        self.queue(kvnr, None, true)
    }
    pub fn queue_anonymization_for(&self, kvnr: &str, telematik_id: &str) -> Result<(), Error> {
        self.queue(kvnr, Some(telematik_id), true)
    }

    /// Add a processing error for the default insurer (as if the Registerstelle had raised it).
    pub fn inject_processing_error(
        &self,
        kind: ErrorStream,
        id_datenlieferung: &str,
        id_datensatz: &str,
        code: &str,
    ) {
        let _ = self.inject_processing_error_for(kind, None, id_datenlieferung, id_datensatz, code);
    }

    pub fn inject_processing_error_for(
        &self,
        kind: ErrorStream,
        telematik_id: Option<&str>,
        id_datenlieferung: &str,
        id_datensatz: &str,
        code: &str,
    ) -> Result<(), Error> {
        let mut d = self.data();
        let tid = match telematik_id {
            Some(t) => t.to_string(),
            None => d
                .insurers
                .first()
                .map(|i| i.telematik_id.clone())
                .unwrap_or_default(),
        };
        let mb = d.mailboxes.entry(tid).or_default();
        let e = ProcessingError {
            id_datenlieferung: id_datenlieferung.into(),
            id_datensatz: id_datensatz.into(),
            code: code.into(),
        };
        match kind {
            ErrorStream::VitalStatus => mb.errors_vs.push(e),
            ErrorStream::InsuranceUpdate => mb.errors_iu.push(e),
        }
        Ok(())
    }

    pub fn set_profile(&self, p: Profile) {
        self.data().profile = p;
        *lock(&self.inner.wellknown) = None;
    }
    pub fn profile(&self) -> Profile {
        self.data().profile.clone()
    }
    pub fn set_environment(&self, e: Environment) {
        self.data().environment = e;
    }
    pub fn environment(&self) -> Environment {
        self.data().environment
    }

    /// Accepted deliveries with decrypted plaintext (asynchronous results as far as they have run; see
    /// [`VstState::settle`]).
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

    /// Pending items per mailbox (admin view, nothing is consumed).
    pub fn mailbox_view(&self, kind: ListKind) -> serde_json::Value {
        let d = self.data();
        let mut out = serde_json::Map::new();
        for (tid, mb) in &d.mailboxes {
            let v = match kind {
                ListKind::Requests => serde_json::json!(mb.requests),
                ListKind::Anonymizations => serde_json::json!(mb.anonymizations),
                ListKind::Errors(ErrorStream::VitalStatus) => serde_json::json!(mb.errors_vs),
                ListKind::Errors(ErrorStream::InsuranceUpdate) => serde_json::json!(mb.errors_iu),
            };
            out.insert(tid.clone(), v);
        }
        serde_json::Value::Object(out)
    }

    /// Wait until every asynchronous check has finished (at most `timeout`). Returns whether they have.
    pub async fn settle(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.pending.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Number of asynchronous checks still running.
    pub fn pending_checks(&self) -> usize {
        *self.inner.pending.borrow()
    }

    /// Authenticate a request (profile `auth`). Returns (Telematik-ID, Haupt-IK).
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<(String, String), Rejection> {
        let mode = self.data().profile.auth;
        if mode == AuthMode::None {
            let d = self.data();
            return d
                .insurers
                .first()
                .map(|i| (i.telematik_id.clone(), i.haupt_ik.clone()))
                .ok_or_else(|| {
                    Rejection::new(
                        403,
                        Diagnosis::new(
                            "auth.unregistered",
                            "auth mode `none`, but no insurer is registered",
                        )
                        .seed(seed::REGISTRATION),
                    )
                });
        }
        let r401 = |rule: &str, msg: String, hint: &str| {
            Rejection::new(
                401,
                Diagnosis::new(rule, msg)
                    .at("header:Authorization")
                    .hint(hint)
                    .seed(seed::AUTH),
            )
        };
        const FORMAT: &str = "Authorization: IRD <base64(TelematikId|HauptIK)>.<base64(DER ECDSA signature by the SMC-B C.AUT key over SHA-256 of those bytes)>";
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Err(r401(
                "auth.missing",
                "no Authorization header".into(),
                FORMAT,
            ));
        };
        let Ok(value) = value.to_str() else {
            return Err(r401(
                "auth.format",
                "the Authorization header is not ASCII".into(),
                FORMAT,
            ));
        };
        if let Some(hit) = lock(&self.inner.auth_cache).get(value) {
            return Ok(hit.clone());
        }
        let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("IRD") {
            return Err(r401(
                "auth.scheme",
                format!("authorization scheme `{scheme}`, expected `IRD`"),
                FORMAT,
            ));
        }
        let Some((ident_b64, sig_b64)) = token.trim().split_once('.') else {
            return Err(r401(
                "auth.format",
                "the IRD token has no `.` between identity and signature".into(),
                FORMAT,
            ));
        };
        let ident = b64_decode(ident_b64).map_err(|e| {
            r401(
                "auth.format",
                format!("identity part: {e}"),
                "standard base64 with padding (not base64url)",
            )
        })?;
        let ident_s = String::from_utf8(ident.clone())
            .map_err(|_| r401("auth.format", "identity part is not UTF-8".into(), FORMAT))?;
        let Some((tid, ik)) = ident_s.split_once('|') else {
            return Err(r401(
                "auth.format",
                format!("identity `{ident_s}` is not `TelematikId|HauptIK`"),
                FORMAT,
            ));
        };
        let sig = b64_decode(sig_b64).map_err(|e| {
            r401(
                "auth.format",
                format!("signature part: {e}"),
                "standard base64 with padding (not base64url)",
            )
        })?;
        let insurer = {
            let d = self.data();
            d.insurers
                .iter()
                .find(|i| i.telematik_id == tid && i.haupt_ik == ik)
                .cloned()
        };
        let Some(insurer) = insurer else {
            return Err(Rejection::new(
                403,
                Diagnosis::new(
                    "auth.unregistered",
                    format!(
                        "no insurer is registered with Telematik-ID `{tid}` and Haupt-IK `{ik}`"
                    ),
                )
                .at("header:Authorization")
                .hint("register first: POST /__konform/registrations (see docs/vst.md)")
                .seed(seed::REGISTRATION),
            ));
        };
        let digest = ti_core::sha256(&ident);
        if insurer.aut_key.verify_prehash(&digest, &sig).is_err() {
            let hint = if sig.len() == 64 {
                "the signature looks like raw r||s (64 bytes); send the DER encoding ExternalAuthenticate returns"
            } else if insurer
                .aut_key
                .verify_prehash(&ti_core::sha256(&digest), &sig)
                .is_ok()
            {
                "near miss: the signature is over SHA-256(SHA-256(bytes)); ExternalAuthenticate must get SHA-256(TelematikId|HauptIK) once"
            } else {
                "sign SHA-256(TelematikId|HauptIK) with ExternalAuthenticate and the registered C.AUT certificate's card"
            };
            return Err(r401(
                "auth.signature",
                format!(
                    "the token signature does not verify with the registered C.AUT certificate of {tid}"
                ),
                hint,
            ));
        }
        if sig.len() == 64 {
            return Err(r401(
                "auth.signature-encoding",
                "the token signature is raw r||s; DER is expected".into(),
                "send the DER signature ExternalAuthenticate returns",
            ));
        }
        let hit = (tid.to_string(), ik.to_string());
        let mut cache = lock(&self.inner.auth_cache);
        if cache.len() > 1024 {
            cache.clear();
        }
        cache.insert(value.to_string(), hit.clone());
        Ok(hit)
    }

    /// Chain check of a CMS signer, cached for five minutes per certificate.
    fn trust(&self, p: &ParsedCms) -> Result<(), CmsFailure> {
        use der::Encode as _;
        let key = p
            .signer_cert
            .to_der()
            .map(|d| ti_core::sha256(&d))
            .unwrap_or([0; 32]);
        if let Some(t) = lock(&self.inner.trust_cache).get(&key) {
            if t.elapsed() < Duration::from_secs(300) {
                return Ok(());
            }
        }
        p.check_trust(&self.inner.anchors, SystemTime::now())?;
        let mut c = lock(&self.inner.trust_cache);
        if c.len() > 1024 {
            c.clear();
        }
        c.insert(key, Instant::now());
        Ok(())
    }

    /// Run every synchronous check of a delivery (CPU-bound; call it on a blocking thread).
    pub fn check(
        &self,
        insurer: &(String, String),
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
            insurer: (&insurer.0, &insurer.1),
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

    /// Store an accepted delivery atomically (after the cross-delivery reuse and duplicate checks) and
    /// start its asynchronous checks. Returns the stored delivery's number, diagnoses to report with
    /// the 200, and the transfer number (insurance updates).
    pub fn commit(
        &self,
        insurer: &(String, String),
        checked: Checked,
    ) -> Result<(u64, Vec<Diagnosis>, Option<String>), Rejection> {
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
        // Duplicate IdDatenlieferung of the same insurer and stream.
        let key = (insurer.0.clone(), stream, id_datenlieferung.clone());
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
        // Reuse across deliveries.
        if profile.key_reuse != ReusePolicy::Ignore {
            let fields = |stream: ErrorStream, slot: u8| match (stream, slot) {
                (_, 0) => "IdVersicherter",
                (ErrorStream::VitalStatus, 1) => "Vitalstatus",
                (ErrorStream::VitalStatus, _) => "Sterbedatum",
                (ErrorStream::InsuranceUpdate, 1) => "IdVersicherterAlt",
                (ErrorStream::InsuranceUpdate, _) => "IkAlt",
            };
            let mut found = Vec::new();
            let mut count = 0;
            for f in &fingerprints {
                for (set, v, what, rule) in [
                    (&d.seen_x, f.x, "ephemeral key", "ecies.key-reuse"),
                    (&d.seen_iv, f.iv, "IV", "ecies.iv-reuse"),
                ] {
                    if set.contains(&v) {
                        count += 1;
                        if found.len() < 10 {
                            found.push(
                                Diagnosis::new(
                                    rule,
                                    format!("the {what} of this value was already used in an earlier delivery"),
                                )
                                .at(format!("/Meldungen/{}/{}", f.record, fields(stream, f.slot)))
                                .hint("generate a fresh ephemeral key pair and a fresh random IV for every encrypted value")
                                .seed(seed::KEY_REUSE),
                            );
                        }
                    }
                }
            }
            if count > found.len() {
                found.push(
                    Diagnosis::new(
                        "ecies.key-reuse",
                        format!("{count} ephemeral keys or IVs of this delivery were used in earlier deliveries"),
                    )
                    .seed(seed::KEY_REUSE),
                );
            }
            if !found.is_empty() && profile.key_reuse == ReusePolicy::Reject {
                return Err(Rejection {
                    status: 400,
                    diagnoses: found,
                });
            }
            warnings.extend(found);
            if d.seen_x.len() + fingerprints.len() > REUSE_WINDOW {
                d.seen_x.clear();
                d.seen_iv.clear();
            }
            for Fingerprint { x, iv, .. } in &fingerprints {
                d.seen_x.insert(*x);
                d.seen_iv.insert(*iv);
            }
        }
        d.delivery_ids.insert(key);
        let seq = d.next_seq;
        d.next_seq += 1;
        let transfer_number =
            (stream == ErrorStream::InsuranceUpdate).then(|| new_transfer_number(seq));
        let processed = pending.is_none();
        d.deliveries.push(StoredDelivery {
            seq,
            stream,
            telematik_id: insurer.0.clone(),
            id_datenlieferung,
            received_at: sim_kit::now_rfc3339(),
            transfer_number: transfer_number.clone(),
            processed,
            records,
        });
        let generation = d.generation;
        drop(d);
        if let Some(p) = pending {
            self.spawn_async(insurer.clone(), seq, generation, profile, p);
        }
        Ok((seq, warnings, transfer_number))
    }

    fn spawn_async(
        &self,
        insurer: (String, String),
        seq: u64,
        generation: u64,
        profile: Profile,
        pending: PendingChecks,
    ) {
        self.inner.pending.send_modify(|n| *n += 1);
        let s = self.clone();
        let run = move || {
            let environment = s.environment();
            let cfg = &s.inner.config;
            let trust = |_: &ParsedCms| Ok(());
            let ctx = Ctx {
                profile: &profile,
                environment,
                kvnr: &cfg.kvnr,
                vst_enc: &s.inner.pki.vst_enc.key,
                registerstelle_enc: &s.inner.pki.registerstelle_enc.key,
                insurer: (&insurer.0, &insurer.1),
                limits: crate::json::Limits::default(),
                threads: cfg.threads(),
                parallel_threshold: cfg.parallel_threshold,
                trust: &trust,
            };
            let mut results = process::run_async_checks(&ctx, &pending);
            let stream = pending.stream;
            // The request body is no longer needed.
            drop(pending);
            s.finish_async(&insurer.0, seq, generation, stream, &mut results);
        };
        let s2 = self.clone();
        let guard = PendingGuard(s2);
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(move || {
                    let _g = guard;
                    run();
                });
            }
            Err(_) => {
                let _g = guard;
                run();
            }
        }
    }

    fn finish_async(
        &self,
        tid: &str,
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
            let id_dl = d.deliveries[pos].id_datenlieferung.clone();
            process::apply_async(&mut d.deliveries[pos].records, results);
            d.deliveries[pos].processed = true;
            let mut errs = Vec::new();
            for r in results.iter() {
                let id_ds = d.deliveries[pos].records[r.record].id_datensatz.clone();
                for (code, diag) in &r.errors {
                    codes += 1;
                    if diagnoses.len() < 50 {
                        diagnoses.push(diag.clone());
                    }
                    errs.push(ProcessingError {
                        id_datenlieferung: id_dl.clone(),
                        id_datensatz: id_ds.clone(),
                        code: code.clone(),
                    });
                }
            }
            let mb = d.mailboxes.entry(tid.to_string()).or_default();
            match stream {
                ErrorStream::VitalStatus => mb.errors_vs.extend(errs),
                ErrorStream::InsuranceUpdate => mb.errors_iu.extend(errs),
            }
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

    /// Take (or, with `consume_fetched: false`, copy) a mailbox's items for a poll.
    pub fn take(&self, tid: &str, kind: ListKind) -> Vec<serde_json::Value> {
        let mut d = self.data();
        let consume = d.profile.consume_fetched;
        let Some(mb) = d.mailboxes.get_mut(tid) else {
            return Vec::new();
        };
        fn grab<T: Clone + Serialize>(v: &mut Vec<T>, consume: bool) -> Vec<serde_json::Value> {
            let items: Vec<T> = if consume {
                std::mem::take(v)
            } else {
                v.clone()
            };
            items
                .iter()
                .map(|i| serde_json::to_value(i).unwrap_or_default())
                .collect()
        }
        match kind {
            ListKind::Requests => grab(&mut mb.requests, consume),
            ListKind::Anonymizations => grab(&mut mb.anonymizations, consume),
            ListKind::Errors(ErrorStream::VitalStatus) => grab(&mut mb.errors_vs, consume),
            ListKind::Errors(ErrorStream::InsuranceUpdate) => grab(&mut mb.errors_iu, consume),
        }
    }

    /// Sign a response's signature input with the VST's key (profile `response_signature`).
    pub fn sign_response(&self, input: &[u8], corrupt: bool) -> String {
        let key = &self.inner.pki.vst_sig.key;
        let mut sig = match self.data().profile.response_signature {
            SignatureEncoding::Der => key.sign_sha256_der(input),
            SignatureEncoding::Raw => key.sign_sha256_raw(input).to_vec(),
        };
        if corrupt {
            // Flip a bit in the last byte (part of s): still well-formed, no longer valid.
            if let Some(b) = sig.last_mut() {
                *b ^= 0x01;
            }
        }
        b64_encode(&sig)
    }

    /// The `.well-known` token (cached for a minute).
    pub fn wellknown_token(&self) -> String {
        let mut c = lock(&self.inner.wellknown);
        if let Some((at, t)) = c.as_ref() {
            if at.elapsed() < Duration::from_secs(60) {
                return t.clone();
            }
        }
        let validity = self.data().profile.wellknown_validity_secs;
        let t = crate::http::build_wellknown(&self.inner.pki, validity);
        *c = Some((Instant::now(), t.clone()));
        t
    }

    /// Back to the configured state: registrations, profile, environment; empty mailboxes and store.
    pub fn reset_state(&self) {
        {
            let mut d = self.data();
            let generation = d.generation + 1;
            *d = Data {
                profile: self.inner.config.profile.clone(),
                environment: self.inner.config.environment,
                insurers: Vec::new(),
                mailboxes: HashMap::new(),
                deliveries: Vec::new(),
                next_seq: d.next_seq,
                seen_x: HashSet::new(),
                seen_iv: HashSet::new(),
                delivery_ids: HashSet::new(),
                generation,
            };
        }
        lock(&self.inner.auth_cache).clear();
        *lock(&self.inner.wellknown) = None;
        // The configured registrations were valid at start; they still are.
        let _ = self.register_configured();
    }

    pub fn describe_state(&self) -> serde_json::Value {
        let d = self.data();
        serde_json::json!({
            "environment": d.environment,
            "profile": d.profile,
            "insurers": d.insurers.iter().map(|i| &i.telematik_id).collect::<Vec<_>>(),
            "deliveries": d.deliveries.len(),
            "pending_async_checks": *self.inner.pending.borrow(),
            "curve": self.inner.pki.curve,
            "body_limit": self.inner.config.body_limit,
            "endpoints": crate::http::ENDPOINTS,
        })
    }
}

struct PendingGuard(VstState);

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0
            .inner
            .pending
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

fn der_cert(bytes: &[u8]) -> Result<Certificate, String> {
    use der::Decode as _;
    Certificate::from_der(bytes).map_err(|e| e.to_string())
}

/// A transfer number: `TN-` + delivery number + 16 random hex digits.
fn new_transfer_number(seq: u64) -> String {
    let r = ti_core::keys::random_bytes::<8>();
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!("TN-{seq:08}-{hex}")
}

/// The PKI's default insurer, registered with a signature made by its C.AUT key.
pub fn default_registration(pki: &TestPki) -> Registration {
    let input = ti_core::sig_input::registration_input(&pki.insurer.telematik_id, &pki.insurer.ik);
    let digest = ti_core::sha256(&input);
    let sig = pki
        .insurer_aut
        .key
        .sign_prehash_der(&digest)
        .expect("32-byte digest");
    Registration {
        telematik_id: pki.insurer.telematik_id.clone(),
        haupt_ik: pki.insurer.ik.clone(),
        certificate: pki.insurer_aut.cert_pem(),
        signature: b64_encode(&sig),
        encryption_certificate: Some(pki.insurer_enc.cert_pem()),
    }
}

/// Check a registration: certificate chains to the CA, belongs to the Telematik-ID/IK it names (when it
/// names them), IK check digit, ExternalAuthenticate signature over SHA-256(`TelematikId|HauptIK`).
pub fn verify_registration(
    r: &Registration,
    anchors: &[Certificate],
    _pki: &TestPki,
) -> Result<Insurer, Error> {
    let bad = |m: String| Error::Registration(m);
    if r.telematik_id.trim().is_empty() || r.telematik_id.contains('|') {
        return Err(bad("TelematikId is empty or contains `|`".into()));
    }
    ti_core::ids::check_ik(&r.haupt_ik)
        .map_err(|e| bad(format!("HauptIK `{}` {e}", r.haupt_ik)))?;
    let cert_der = parse_certificate(&r.certificate).map_err(bad)?;
    let cert = der_cert(&cert_der).map_err(|e| bad(format!("certificate: {e}")))?;
    ti_core::pki::verify_chain(&cert, &[], anchors, SystemTime::now())
        .map_err(|e| bad(e.to_string()))?;
    let (tid, ik) = ti_core::pki::insurer_of_cert(&cert);
    if let Some(t) = &tid {
        if t != &r.telematik_id {
            return Err(bad(format!(
                "the certificate belongs to Telematik-ID `{t}`, not `{}`",
                r.telematik_id
            )));
        }
    }
    if let Some(i) = &ik {
        if i != &r.haupt_ik {
            return Err(bad(format!(
                "the certificate names IK `{i}`, not `{}`",
                r.haupt_ik
            )));
        }
    }
    let aut_key = ti_core::pki::public_key_of_cert(&cert).map_err(|e| bad(e.to_string()))?;
    let sig = b64_decode(r.signature.trim()).map_err(|e| bad(format!("signature: {e}")))?;
    let input = ti_core::sig_input::registration_input(&r.telematik_id, &r.haupt_ik);
    let digest = ti_core::sha256(&input);
    if aut_key.verify_prehash(&digest, &sig).is_err() {
        let hint = if aut_key
            .verify_prehash(&ti_core::sha256(&digest), &sig)
            .is_ok()
        {
            " (near miss: it is over SHA-256 of the digest; ExternalAuthenticate must receive SHA-256(TelematikId|HauptIK))"
        } else {
            ""
        };
        return Err(bad(format!(
            "the signature does not verify with the certificate's key over SHA-256(`{}|{}`){hint}",
            r.telematik_id, r.haupt_ik
        )));
    }
    let enc_key = match &r.encryption_certificate {
        Some(text) => {
            let der = parse_certificate(text).map_err(bad)?;
            let c = der_cert(&der).map_err(|e| bad(format!("encryption certificate: {e}")))?;
            ti_core::pki::verify_chain(&c, &[], anchors, SystemTime::now())
                .map_err(|e| bad(format!("encryption certificate: {e}")))?;
            Some(ti_core::pki::public_key_of_cert(&c).map_err(|e| bad(e.to_string()))?)
        }
        None => None,
    };
    Ok(Insurer {
        telematik_id: r.telematik_id.clone(),
        haupt_ik: r.haupt_ik.clone(),
        aut_cert_der: cert_der,
        aut_key,
        enc_key,
        registered_at: sim_kit::now_rfc3339(),
    })
}
