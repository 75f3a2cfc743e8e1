//! mock-vst benchmark (`cargo bench -p mock-vst`, `make bench`). std::time only.
//!
//! 1. **Large delivery**: a vital-status delivery of `VST_BENCH_RECORDS` (default 100,000) records, accepted
//!    and fully verified (CMS signature, synchronous decryption of every IdVersicherter, KVNR checks),
//!    measured in a fresh child process so its memory high-water mark (VmHWM, reset through
//!    `/proc/self/clear_refs`) belongs to the request alone. Reported against the ideal
//!    `cores × single-core scalar-multiplication rate ÷ scalar multiplications per record` (1 on the
//!    synchronous path: the ECDH of IdVersicherter), measured in the same run. A breakdown by phase says
//!    what dominates; with `VST_BENCH_PERF=1` and a working `perf`, a profile too.
//! 2. **Small requests**: `GET …/processingerrors` answering 204 and a 10-record POST, requests/s and p99
//!    latency with a loopback load generator (our own HTTP/1.1 keep-alive client; `wrk` as well for the
//!    GET when it is installed), next to a generic mock server serving the same endpoints from the
//!    project's OpenAPI document (Prism, when `prism` is on PATH or `PRISM` names its binary).
//!
//! The body and the PKI are cached under the bench's target tmp dir (`CARGO_TARGET_TMPDIR`); generation uses
//! a second ECIES implementation with distinct ephemeral keys e₀+i (point additions instead of scalar
//! multiplications), so building 300,000 encrypted values takes seconds, not minutes.
//!
//! Environment: `VST_BENCH_RECORDS`, `VST_BENCH_SECS` (load duration per scenario, default 5),
//! `VST_BENCH_CONNS` (default 32), `VST_BENCH_ONLY=large|small`, `VST_BENCH_PERF=1`, `PRISM=path`.

#[path = "http1.rs"]
mod http1;

use aes_gcm::KeyInit;
use aes_gcm::aead::Aead;
use elliptic_curve::point::AffineCoordinates;
use elliptic_curve::{CurveGroup, Group};
use mock_vst::{VstConfig, VstState};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use ti_core::ecies::IRD_INFO;
use ti_core::ids::{Environment, KvnrRules};
use ti_core::pki::{PkiOptions, TestPki};
use ti_core::{EcPublicKey, EcSecretKey, b64_encode};

type Bp = bp256::BrainpoolP256r1;

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn vm(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// Encrypt `plaintexts` for `recipient` with ephemeral keys e₀, e₀+1, …: distinct keys (no reuse), each
/// value a valid `0x01 || X || Y || IV || ct+tag` with a fresh random IV, for the price of two point
/// additions per value instead of two scalar multiplications.
fn encrypt_many(recipient: &EcPublicKey, plaintexts: &[&[u8]]) -> Vec<Vec<u8>> {
    let EcPublicKey::Bp(r) = recipient else {
        panic!("the benchmark uses brainpoolP256r1")
    };
    let EcSecretKey::Bp(sk) = EcSecretKey::generate(ti_core::Curve::BrainpoolP256r1) else {
        unreachable!()
    };
    let k: elliptic_curve::Scalar<Bp> = *sk.to_nonzero_scalar();
    let g = elliptic_curve::ProjectivePoint::<Bp>::generator();
    let rp = r.to_projective();
    let mut e = sk.public_key().to_projective();
    let mut s = rp * k;
    let n = plaintexts.len();
    let mut es = Vec::with_capacity(n);
    let mut ss = Vec::with_capacity(n);
    for _ in 0..n {
        es.push(e);
        ss.push(s);
        e += g;
        s += rp;
    }
    let mut ea = vec![elliptic_curve::AffinePoint::<Bp>::default(); n];
    let mut sa = vec![elliptic_curve::AffinePoint::<Bp>::default(); n];
    elliptic_curve::ProjectivePoint::<Bp>::batch_normalize(&es, &mut ea);
    elliptic_curve::ProjectivePoint::<Bp>::batch_normalize(&ss, &mut sa);
    plaintexts
        .iter()
        .enumerate()
        .map(|(i, pt)| {
            let sx = sa[i].x();
            let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, sx.as_ref());
            let mut key = [0u8; 16];
            hk.expand(IRD_INFO.as_bytes(), &mut key).unwrap();
            let iv = ti_core::keys::random_bytes::<12>();
            let ct = aes_gcm::Aes128Gcm::new_from_slice(&key)
                .unwrap()
                .encrypt(
                    &aes_gcm::Nonce::<aes_gcm::aes::cipher::consts::U12>::from(iv),
                    *pt,
                )
                .unwrap();
            let mut out = Vec::with_capacity(77 + ct.len());
            out.push(1);
            out.extend_from_slice(ea[i].x().as_ref());
            out.extend_from_slice(ea[i].y().as_ref());
            out.extend_from_slice(&iv);
            out.extend_from_slice(&ct);
            out
        })
        .collect()
}

/// A production-range KVNR for record `i` (letter + 8 digits + check digit).
fn kvnr(i: usize) -> String {
    let letter = (b'B' + (i % 25) as u8) as char;
    let first9 = format!("{letter}{:08}", i % 100_000_000);
    let cd = ti_core::ids::kvnr_check_digit(&first9).unwrap();
    format!("{first9}{cd}")
}

/// A vital status delivery body with `n` records.
fn delivery(pki: &TestPki, id: &str, n: usize, kvnrs: &dyn Fn(usize) -> String) -> Vec<u8> {
    let ks: Vec<String> = (0..n).map(kvnrs).collect();
    let vs: Vec<&[u8]> = (0..n)
        .map(|i| if i % 7 == 3 { &b"02"[..] } else { &b"01"[..] })
        .collect();
    let sd: Vec<&[u8]> = (0..n)
        .map(|i| {
            if i % 7 == 3 {
                &b"2024-05-31"[..]
            } else {
                &b"---N/A----"[..]
            }
        })
        .collect();
    let kb: Vec<&[u8]> = ks.iter().map(std::string::String::as_bytes).collect();
    let f0 = encrypt_many(&pki.vst_enc.public_key(), &kb);
    let reg = pki.registerstelle_enc.public_key();
    let f1 = encrypt_many(&reg, &vs);
    let f2 = encrypt_many(&reg, &sd);
    let ids: Vec<String> = (0..n).map(|i| format!("{id}-{i:06}")).collect();
    let enc: Vec<[String; 3]> = (0..n)
        .map(|i| [b64_encode(&f0[i]), b64_encode(&f1[i]), b64_encode(&f2[i])])
        .collect();
    let recs: Vec<ti_core::sig_input::VitalStatusRecord<'_>> = (0..n)
        .map(|i| ti_core::sig_input::VitalStatusRecord {
            id_datensatz: &ids[i],
            id_versicherter: &enc[i][0],
            vitalstatus: &enc[i][1],
            sterbedatum: &enc[i][2],
        })
        .collect();
    let digest = ti_core::sig_input::digest(
        &ti_core::sig_input::vitalstatus_segments(id, &recs),
        ti_core::sig_input::Variant::Canonical,
    )
    .unwrap();
    let cms = ti_core::cms::sign_digest(
        &digest,
        None,
        &pki.insurer_sig.key,
        &pki.insurer_sig.cert_der,
        SystemTime::now(),
    )
    .unwrap();
    let mut out = String::with_capacity(n * 520 + 1024);
    out.push_str(&format!("{{\"IdDatenlieferung\":\"{id}\",\"Meldungen\":["));
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"IdDatensatz\":\"{}\",\"IdVersicherter\":\"{}\",\"Vitalstatus\":\"{}\",\"Sterbedatum\":\"{}\"}}",
            ids[i], enc[i][0], enc[i][1], enc[i][2]
        ));
    }
    out.push_str(&format!("],\"Signatur\":\"{}\"}}", b64_encode(&cms)));
    out.into_bytes()
}

fn cache_dir(records: usize) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("vst-bench-{records}"))
}

fn load_pki(dir: &Path) -> TestPki {
    TestPki::from_files(&|p| {
        std::fs::read_to_string(dir.join("pki").join(p))
            .map_err(|e| ti_core::Error::Input(format!("{p}: {e}")))
    })
    .unwrap()
}

fn prepare(records: usize) -> PathBuf {
    let dir = cache_dir(records);
    if dir.join("body.json").exists() && dir.join("pki/ca.pem").exists() {
        return dir;
    }
    let t = Instant::now();
    let pki = TestPki::generate(&PkiOptions::default()).unwrap();
    for (p, text) in pki.files() {
        let f = dir.join("pki").join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    }
    let body = delivery(&pki, "BENCH-2024", records, &kvnr);
    std::fs::write(dir.join("body.json"), &body).unwrap();
    eprintln!(
        "generated a {records}-record delivery ({:.1} MiB) in {:.1} s (cached in {})",
        mib(body.len() as u64),
        t.elapsed().as_secs_f64(),
        dir.display()
    );
    dir
}

/// Single-core scalar multiplications per second (ECDH with the VST key, as the synchronous path does).
fn scalar_mult_rate(pki: &TestPki, threads: usize) -> f64 {
    let peer = EcSecretKey::generate(pki.curve).public_key();
    let key = &pki.vst_enc.key;
    let per = 1500;
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per {
                    std::hint::black_box(key.diffie_hellman(&peer).unwrap());
                }
            });
        }
    });
    (per * threads) as f64 / t.elapsed().as_secs_f64()
}

/// The measurement proper, in a fresh process.
fn child(dir: &Path) {
    let pki = Arc::new(load_pki(dir));
    let cores = std::thread::available_parallelism()
        .map(std::num::NonZero::get)
        .unwrap_or(1);
    let rate1 = scalar_mult_rate(&pki, 1);
    let rate_all = scalar_mult_rate(&pki, cores);
    if std::env::var("VST_BENCH_BREAKDOWN").is_ok() {
        breakdown(dir, &pki, cores);
        return;
    }
    let cfg = VstConfig {
        environment: Environment::Production,
        body_limit: 512 * 1024 * 1024,
        ..VstConfig::default()
    };
    let state = VstState::new(
        cfg,
        pki.clone(),
        sim_kit::store::Store::ephemeral().unwrap(),
    )
    .unwrap();
    let app = mock_vst::app(state.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .unwrap();
    let auth = {
        let input =
            ti_core::sig_input::registration_input(&pki.insurer.telematik_id, &pki.insurer.ik);
        let sig = pki
            .insurer_aut
            .key
            .sign_prehash_der(&ti_core::sha256(&input))
            .unwrap();
        mock_vst::auth_header(&pki.insurer.telematik_id, &pki.insurer.ik, &sig)
    };
    let rss_pre = vm("VmRSS");
    let body = bytes::Bytes::from(std::fs::read(dir.join("body.json")).unwrap());
    let body_len = body.len() as u64;
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_base = vm("VmRSS");
    let t = Instant::now();
    let (status, diags) = rt.block_on(async {
        use tower::ServiceExt;
        let req = axum::http::Request::post("/notify/api/v1/vitalstatusnotification")
            .header("content-type", "application/json")
            .header("authorization", &auth)
            .header("content-length", body_len.to_string())
            .body(axum::body::Body::from(body))
            .unwrap();
        let r = app.clone().oneshot(req).await.unwrap();
        let d: Vec<String> = r
            .headers()
            .get_all("x-konform-diagnosis")
            .iter()
            .map(|v| v.to_str().unwrap_or("").to_string())
            .collect();
        (r.status().as_u16(), d)
    });
    let sync = t.elapsed();
    let hwm_sync = vm("VmHWM");
    let t2 = Instant::now();
    let settled = rt.block_on(state.settle(Duration::from_secs(1200)));
    let async_t = t2.elapsed();
    let hwm_all = vm("VmHWM");
    let d = state.deliveries();
    let records = d.first().map(|d| d.records.len()).unwrap_or(0);
    let errors: usize = d
        .first()
        .map(|d| d.records.iter().map(|r| r.errors.len()).sum())
        .unwrap_or(0);
    let out = serde_json::json!({
        "status": status,
        "diagnoses": diags,
        "records": records,
        "settled": settled,
        "processing_errors": errors,
        "body_bytes": body_len,
        "sync_s": sync.as_secs_f64(),
        "async_s": async_t.as_secs_f64(),
        "rate1": rate1,
        "rate_all": rate_all,
        "cores": cores,
        "rss_pre": rss_pre,
        "rss_base": rss_base,
        "hwm_sync": hwm_sync,
        "hwm_all": hwm_all,
    });
    println!("CHILD {out}");
}

/// Phase timings of the synchronous path, run one by one (what dominates).
fn breakdown(dir: &Path, pki: &TestPki, cores: usize) {
    let body = std::fs::read(dir.join("body.json")).unwrap();
    let t = Instant::now();
    let doc = mock_vst::json::parse(&body, Default::default()).unwrap();
    let parse = t.elapsed();
    let t = Instant::now();
    let b = mock_vst::model::vitalstatus_bundle(doc).unwrap();
    let model = t.elapsed();
    let recs: Vec<ti_core::sig_input::VitalStatusRecord<'_>> = b
        .meldungen
        .iter()
        .map(|r| ti_core::sig_input::VitalStatusRecord {
            id_datensatz: &r.id_datensatz,
            id_versicherter: &r.id_versicherter,
            vitalstatus: &r.vitalstatus,
            sterbedatum: &r.sterbedatum,
        })
        .collect();
    let t = Instant::now();
    let segs = ti_core::sig_input::vitalstatus_segments(&b.id_datenlieferung, &recs);
    let d = ti_core::sig_input::digest(&segs, ti_core::sig_input::Variant::Canonical).unwrap();
    let digest = t.elapsed();
    let t = Instant::now();
    let cms = ti_core::cms::parse(&ti_core::b64_decode(&b.signatur).unwrap()).unwrap();
    cms.check_signature().unwrap();
    cms.check_content_digest(&d).unwrap();
    cms.check_trust(&[pki.ca.cert()], SystemTime::now())
        .unwrap();
    let cms_t = t.elapsed();
    let t = Instant::now();
    let decoded: Vec<Vec<u8>> = b
        .meldungen
        .iter()
        .map(|r| ti_core::b64_decode(&r.id_versicherter).unwrap())
        .collect();
    let decode = t.elapsed();
    let params = ti_core::ecies::EciesParams::default();
    let t = Instant::now();
    let pts = mock_vst::process::par_map(decoded.len(), cores, 64, |i| {
        ti_core::ecies::decrypt(&pki.vst_enc.key, &decoded[i], &params).unwrap()
    });
    let decrypt = t.elapsed();
    let t = Instant::now();
    let rules = KvnrRules::default();
    let ok = pts
        .iter()
        .filter(|p| {
            std::str::from_utf8(p)
                .map(|s| rules.check(s, Environment::Production).is_ok())
                .unwrap_or(false)
        })
        .count();
    assert_eq!(ok, pts.len());
    let kvnr_t = t.elapsed();
    let out = serde_json::json!({
        "json_parse_s": parse.as_secs_f64(),
        "model_s": model.as_secs_f64(),
        "signature_input_digest_s": digest.as_secs_f64(),
        "cms_verify_s": cms_t.as_secs_f64(),
        "base64_decode_s": decode.as_secs_f64(),
        "ecdh_decrypt_all_cores_s": decrypt.as_secs_f64(),
        "kvnr_checks_s": kvnr_t.as_secs_f64(),
    });
    println!("CHILD {out}");
}

fn run_child(dir: &Path, extra: &[(&str, &str)], perf: bool) -> Option<serde_json::Value> {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if perf {
        let mut c = std::process::Command::new("perf");
        c.args(["record", "-F", "499", "-g", "-o"])
            .arg(dir.join("perf.data"))
            .arg("--")
            .arg(&exe);
        c
    } else {
        std::process::Command::new(&exe)
    };
    cmd.env("VST_BENCH_CHILD", dir);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("CHILD "))?;
    serde_json::from_str(&line[6..]).ok()
}

fn part_large() {
    let records = env_usize("VST_BENCH_RECORDS", 100_000);
    let dir = prepare(records);
    println!(
        "\n== large delivery: {records} vital-status records, accepted and fully verified (load average {}) ==",
        loadavg()
    );
    let Some(r) = run_child(&dir, &[], false) else {
        println!("child run failed");
        return;
    };
    let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
    let cores = f("cores");
    let body = f("body_bytes");
    let sync = f("sync_s");
    let per_s = records as f64 / sync;
    let ideal = cores * f("rate1") / 1.0;
    println!(
        "status {} ({} records stored, diagnoses {:?})",
        r["status"], r["records"], r["diagnoses"]
    );
    println!(
        "scalar multiplications: {:.0}/s on one core, {:.0}/s on all {} cores together ({:.0}% scaling)",
        f("rate1"),
        f("rate_all"),
        cores,
        100.0 * f("rate_all") / (cores * f("rate1"))
    );
    println!(
        "synchronous path: {:.2} s for {records} records = {:.0} records/s; ideal (cores x single-core rate / 1 scalar mult per record) {:.0}/s -> {:.1}% of ideal (target >= 80%)",
        sync,
        per_s,
        ideal,
        100.0 * per_s / ideal
    );
    println!(
        "  (against the all-core rate measured together, {:.0}/s: {:.1}% - the difference to the ideal is the machine's scaling, not the simulator's)",
        f("rate_all"),
        100.0 * per_s / f("rate_all")
    );
    println!(
        "asynchronous Registerstelle checks (2 scalar mults per record, after the 200): {:.2} s = {:.0} records/s ({:.1}% of cores x rate / 2); {} processing errors",
        f("async_s"),
        records as f64 / f("async_s"),
        100.0 * (records as f64 / f("async_s")) / (cores * f("rate1") / 2.0),
        r["processing_errors"]
    );
    let pre = f("rss_pre");
    println!(
        "memory: body {:.1} MiB; VmHWM - VmRSS before the body: {:.1} MiB through the 200 = {:.2}x body, {:.1} MiB including the async checks = {:.2}x body (target <= 3x)",
        body / 1048576.0,
        (f("hwm_sync") - pre) / 1048576.0,
        (f("hwm_sync") - pre) / body,
        (f("hwm_all") - pre) / 1048576.0,
        (f("hwm_all") - pre) / body
    );
    if let Some(b) = run_child(&dir, &[("VST_BENCH_BREAKDOWN", "1")], false) {
        println!("breakdown of the synchronous path (phases run separately, seconds):");
        let mut total = 0.0;
        let obj = b.as_object().unwrap();
        for v in obj.values() {
            total += v.as_f64().unwrap_or(0.0);
        }
        for (k, v) in obj {
            let s = v.as_f64().unwrap_or(0.0);
            println!("  {k:<28} {s:>8.3}  {:>5.1}%", 100.0 * s / total);
        }
    }
    if std::env::var("VST_BENCH_PERF").is_ok() {
        if run_child(&dir, &[], true).is_some() {
            let rep = std::process::Command::new("perf")
                .args([
                    "report",
                    "--stdio",
                    "--no-children",
                    "--percent-limit",
                    "2",
                    "-i",
                ])
                .arg(dir.join("perf.data"))
                .output();
            if let Ok(o) = rep {
                println!("perf report (self time >= 2%):");
                for l in String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| l.contains('%') && !l.starts_with('#'))
                    .take(25)
                {
                    println!("  {}", l.trim());
                }
            }
        } else {
            println!("perf record did not run (perf missing or not permitted)");
        }
    }
}

struct LoadResult {
    requests: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    statuses: std::collections::BTreeMap<u16, usize>,
}

/// Closed-loop load: `conns` keep-alive connections, each sending the next request of `reqs` as soon as
/// the previous answer is in, for `secs` seconds.
async fn load(
    addr: std::net::SocketAddr,
    reqs: Arc<Vec<Vec<u8>>>,
    conns: usize,
    secs: f64,
) -> LoadResult {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    let start = Instant::now();
    for _ in 0..conns {
        let reqs = reqs.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut statuses = std::collections::BTreeMap::new();
            let Ok(mut c) = http1::Conn::connect(addr).await else {
                return (lat, statuses);
            };
            while Instant::now() < deadline {
                let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let t = Instant::now();
                match c.send_raw(&reqs[i % reqs.len()]).await {
                    Ok(r) => {
                        lat.push(t.elapsed().as_micros() as u32);
                        *statuses.entry(r.status).or_insert(0) += 1;
                    }
                    Err(_) => {
                        *statuses.entry(0).or_insert(0) += 1;
                        match http1::Conn::connect(addr).await {
                            Ok(n) => c = n,
                            Err(_) => break,
                        }
                    }
                }
            }
            (lat, statuses)
        }));
    }
    let mut all = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        let (l, s) = t.await.unwrap();
        all.extend(l);
        for (k, v) in s {
            *statuses.entry(k).or_insert(0) += v;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        if all.is_empty() {
            0.0
        } else {
            all[((all.len() as f64 * p) as usize).min(all.len() - 1)] as f64 / 1000.0
        }
    };
    LoadResult {
        requests: all.len(),
        rps: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        statuses,
    }
}

fn report(name: &str, r: &LoadResult) {
    println!(
        "  {name:<44} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} requests, statuses {:?})",
        r.rps, r.p50_ms, r.p99_ms, r.requests, r.statuses
    );
}

fn wrk(url: &str, auth: &str, conns: usize, secs: usize) -> Option<String> {
    let out = std::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{conns}"),
            &format!("-d{secs}s"),
            "--latency",
            "-H",
        ])
        .arg(format!("authorization: {auth}"))
        .arg(url)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec"))?
        .to_string();
    let p99 = text
        .lines()
        .find(|l| l.trim_start().starts_with("99%"))?
        .trim()
        .to_string();
    let non2xx = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .map(|l| format!(", {}", l.trim()))
        .unwrap_or_default();
    Some(format!(
        "{}, p99 {}{non2xx}",
        rps.trim(),
        p99.trim_start_matches("99%").trim()
    ))
}

fn find_prism() -> Option<String> {
    if let Ok(p) = std::env::var("PRISM") {
        return Some(p);
    }
    let ok = std::process::Command::new("prism")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| "prism".to_string())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn part_small() {
    let secs = env_usize("VST_BENCH_SECS", 5) as f64;
    let levels: Vec<usize> = std::env::var("VST_BENCH_CONNS")
        .unwrap_or_else(|_| "4,32".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let conns = levels.iter().copied().max().unwrap_or(32);
    let dir = prepare(env_usize("VST_BENCH_RECORDS", 100_000));
    let pki = Arc::new(load_pki(&dir));
    println!(
        "\n== small requests: {levels:?} keep-alive connections, {secs} s per scenario, loopback (load average {}) ==",
        loadavg()
    );
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let state = VstState::new(
        VstConfig::default(),
        pki.clone(),
        sim_kit::store::Store::ephemeral().unwrap(),
    )
    .unwrap();
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    server_rt.spawn(mock_vst::serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    let auth = {
        let input =
            ti_core::sig_input::registration_input(&pki.insurer.telematik_id, &pki.insurer.ik);
        let sig = pki
            .insurer_aut
            .key
            .sign_prehash_der(&ti_core::sha256(&input))
            .unwrap();
        mock_vst::auth_header(&pki.insurer.telematik_id, &pki.insurer.ik, &sig)
    };
    let get_req = Arc::new(vec![http1::Conn::request_bytes(
        "GET",
        "/notify/api/v1/vitalstatusnotification/processingerrors",
        &[("authorization", &auth)],
        b"",
    )]);
    // Distinct 10-record deliveries (distinct ids, fresh keys), cycled.
    let pool = env_usize("VST_BENCH_POOL", 1500);
    let t = Instant::now();
    let rules = KvnrRules::default();
    let posts: Vec<Vec<u8>> = (0..pool)
        .map(|j| {
            let body = delivery(&pki, &format!("S{j:05}"), 10, &|i| {
                rules.test_kvnr(((j * 10 + i) % 10_000) as u64).unwrap()
            });
            http1::Conn::request_bytes(
                "POST",
                "/notify/api/v1/vitalstatusnotification",
                &[
                    ("content-type", "application/json"),
                    ("authorization", &auth),
                ],
                &body,
            )
        })
        .collect();
    let post_len = posts[0].len();
    // CPU per POST, measured without load: the synchronous checks, then the asynchronous ones.
    {
        let probe = VstState::new(
            VstConfig::default(),
            pki.clone(),
            sim_kit::store::Store::ephemeral().unwrap(),
        )
        .unwrap();
        let who = mock_vst::InsurerId {
            telematik_id: pki.insurer.telematik_id.clone(),
            haupt_ik: pki.insurer.ik.clone(),
        };
        let bodies: Vec<bytes::Bytes> = (0..40)
            .map(|j| {
                let raw = &posts[pool - 1 - j];
                let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                bytes::Bytes::copy_from_slice(&raw[at..])
            })
            .collect();
        let rate1 = scalar_mult_rate(&pki, 1);
        let t = Instant::now();
        let checked: Vec<_> = bodies
            .iter()
            .map(|b| {
                probe
                    .check(&who, mock_vst::ErrorStream::VitalStatus, b)
                    .unwrap()
            })
            .collect();
        let sync_ms = t.elapsed().as_secs_f64() * 1000.0 / bodies.len() as f64;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let t = Instant::now();
        rt.block_on(async {
            for c in checked {
                if let Some(job) = probe.commit(&who, c).unwrap().job {
                    probe.run_job(job);
                }
            }
        });
        let async_ms = t.elapsed().as_secs_f64() * 1000.0 / bodies.len() as f64;
        println!(
            "  CPU per 10-record POST without load: {sync_ms:.2} ms before the answer, {async_ms:.2} ms of asynchronous checks; one scalar multiplication = {:.3} ms, so the floor is ~{:.0} req/s on {} cores (12 + 20 scalar mults per request)",
            1000.0 / rate1,
            std::thread::available_parallelism()
                .map(std::num::NonZero::get)
                .unwrap_or(1) as f64
                * 1000.0
                / (sync_ms + async_ms),
            std::thread::available_parallelism()
                .map(std::num::NonZero::get)
                .unwrap_or(1),
        );
    }
    let posts = Arc::new(posts);
    println!(
        "  (prepared {pool} distinct 10-record deliveries of ~{} bytes in {:.1} s)",
        post_len,
        t.elapsed().as_secs_f64()
    );
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("mock-vst (this crate):");
    let mut ours = Vec::new();
    for &c in &levels {
        let g = client_rt.block_on(load(addr, get_req.clone(), c, secs));
        report(&format!("GET processingerrors -> 204, {c} conns"), &g);
        let p = client_rt.block_on(load(addr, posts.clone(), c, secs));
        report(&format!("POST 10-record delivery -> 200, {c} conns"), &p);
        let _ = server_rt.block_on(state.settle(Duration::from_secs(300)));
        ours.push((g, p));
    }
    let best = |v: &[(LoadResult, LoadResult)], post: bool| {
        v.iter()
            .map(|(g, p)| {
                if post {
                    (p.rps, p.p99_ms)
                } else {
                    (g.rps, g.p99_ms)
                }
            })
            .fold((0.0f64, 0.0f64), |a, b| if b.0 > a.0 { b } else { a })
    };
    if let Some(w) = wrk(
        &format!("http://{addr}/notify/api/v1/vitalstatusnotification/processingerrors"),
        &auth,
        conns,
        secs as usize,
    ) {
        println!("  wrk GET processingerrors -> 204: {w}");
    }
    let _ = stop.send(());
    drop(server_rt);

    // The generic peer.
    let Some(prism) = find_prism() else {
        println!(
            "generic mock (Prism): not installed (npm install -g @stoplight/prism-cli, or PRISM=path) - no comparison"
        );
        return;
    };
    let spec = dir.join("openapi.json");
    std::fs::write(&spec, mock_vst::http::OPENAPI).unwrap();
    let port = 40_000 + (std::process::id() % 20_000) as u16;
    let mut child = match std::process::Command::new(&prism)
        .args([
            "mock",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--errors",
            "false",
        ])
        .arg(&spec)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            println!("generic mock (Prism): could not start `{prism}`: {e}");
            return;
        }
    };
    let paddr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let ready = client_rt.block_on(async {
        for _ in 0..300 {
            if let Ok(mut c) = http1::Conn::connect(paddr).await
                && c.send_raw(&get_req[0]).await.is_ok()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    });
    if ready {
        println!("generic mock (Prism, same OpenAPI document):");
        let mut theirs = Vec::new();
        for &c in &levels {
            let pg = client_rt.block_on(load(paddr, get_req.clone(), c, secs));
            report(&format!("GET processingerrors, {c} conns"), &pg);
            let pp = client_rt.block_on(load(paddr, posts.clone(), c, secs));
            report(&format!("POST 10-record delivery, {c} conns"), &pp);
            theirs.push((pg, pp));
        }
        if let Some(w) = wrk(
            &format!("http://{paddr}/notify/api/v1/vitalstatusnotification/processingerrors"),
            &auth,
            conns,
            secs as usize,
        ) {
            println!("  wrk GET processingerrors: {w}");
        }
        let (og, tg) = (best(&ours, false), best(&theirs, false));
        let (op, tp) = (best(&ours, true), best(&theirs, true));
        println!(
            "best of each, mock-vst / Prism: GET {:.1}x the requests/s (p99 {:.2} vs {:.2} ms), POST {:.2}x (p99 {:.2} vs {:.2} ms); target >= 10x",
            og.0 / tg.0.max(1e-9),
            og.1,
            tg.1,
            op.0 / tp.0.max(1e-9),
            op.1,
            tp.1,
        );
    } else {
        println!("generic mock (Prism): did not become ready on {paddr}");
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn main() {
    if let Ok(dir) = std::env::var("VST_BENCH_CHILD") {
        child(Path::new(&dir));
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not: then do nothing (it takes minutes).
    if !std::env::args().any(|a| a == "--bench") {
        println!("mock-vst bench: run it with `cargo bench -p mock-vst` (skipped in test mode)");
        return;
    }
    let only = std::env::var("VST_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "large" {
        part_large();
    }
    if only.is_empty() || only == "small" {
        part_small();
    }
}
