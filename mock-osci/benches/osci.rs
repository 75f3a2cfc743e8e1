//! mock-osci throughput next to the raw RSA bound of the same crate, and a 40 MB delivery's memory.
//!
//! `cargo bench -p mock-osci` (part of `make bench`). Knob: `OSCI_BENCH_SECS` (seconds per key set,
//! default 5). Measured on the protocol core (`ops::handle`, what the HTTP edge runs on a blocking
//! thread), timing only the intermediary's work — the client's request building and answer checking run
//! outside the clock.
//!
//! - Round trip = GetMessageId + StoreDelivery + FetchDelivery (the recipient keeps one explicit dialog
//!   open). The intermediary's private-key work per round trip is 3 RSA-OAEP unwraps (one per request)
//!   and 3 RSA-SHA256 signatures (one per answer); the raw bound is 1 / (3 t_unwrap + 3 t_sign) with the
//!   same keys, measured in the same run. Target: ≥ 70 % of the bound.
//! - Key sets: the test PKI (RSA-2048) and the library's sample keys (RSA-4096, when `../shared` is there).
//! - Memory (first, in this fresh process): a 40 MB attachment stored and fetched; the peak resident set
//!   above the level before each request (`/proc/self/clear_refs` resets the high-water mark), against the
//!   message size. Target ≤ 2×.

use mock_osci::client::Client;
use mock_osci::{IntermediaryKeys, OsciConfig, OsciState, crypto, ops};
use sim_kit::store::Store;
use std::time::{Duration, Instant};

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn rss_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn package() -> String {
    format!(
        "<xenc:EncryptedData Id=\"encdata_0\" MimeType=\"text/xml\"><xenc:EncryptionMethod Algorithm=\"{}\"></xenc:EncryptionMethod><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>",
        crypto::AES256_GCM
    )
}

struct Parties {
    sender: Client,
    recipient: Client,
    addressee: mock_osci::certs::Cert,
}

/// Time one request through the intermediary; returns the answer.
fn timed(
    st: &OsciState,
    c: &mut Client,
    req: Vec<u8>,
    clock: &mut Duration,
) -> mock_osci::client::Answer {
    let t = Instant::now();
    let r = ops::handle(st, req, now_ms(), false);
    *clock += t.elapsed();
    c.open(&r.body).expect("answer")
}

fn round_trips(st: &OsciState, p: &mut Parties, secs: f64) -> (u64, Duration) {
    let mut clock = Duration::ZERO;
    let r = p.recipient.init_dialog().unwrap();
    timed(st, &mut p.recipient, r, &mut clock);
    clock = Duration::ZERO;
    let mut n = 0u64;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < secs {
        let req = p.sender.get_message_id().unwrap();
        let mid = timed(st, &mut p.sender, req, &mut clock)
            .message_id
            .unwrap();
        let req = p
            .sender
            .store_delivery(&mid, &p.addressee, None, &package(), &[])
            .unwrap();
        assert_eq!(timed(st, &mut p.sender, req, &mut clock).codes, ["0800"]);
        let req = p.recipient.fetch_delivery(Some(&mid)).unwrap();
        assert_eq!(
            timed(st, &mut p.recipient, req, &mut clock).codes[0],
            "0801"
        );
        n += 1;
    }
    (n, clock)
}

fn raw_bound(keys: &IntermediaryKeys, secs: f64) -> (f64, f64) {
    let public = keys.cipher.1.to_public_key();
    let wrapped = crypto::oaep_wrap(&public, &[7u8; 32]).unwrap();
    let (mut n, start) = (0u64, Instant::now());
    while start.elapsed().as_secs_f64() < secs / 2.0 {
        crypto::oaep_unwrap(&keys.cipher.1, &wrapped).unwrap();
        n += 1;
    }
    let unwrap = n as f64 / start.elapsed().as_secs_f64();
    let (mut n, start) = (0u64, Instant::now());
    while start.elapsed().as_secs_f64() < secs / 2.0 {
        crypto::sign_sha256(&keys.signature.1, b"SignedInfo").unwrap();
        n += 1;
    }
    (unwrap, n as f64 / start.elapsed().as_secs_f64())
}

fn run_set(name: &str, keys: IntermediaryKeys, mut p: Parties, secs: f64) {
    let (unwrap, sign) = raw_bound(&keys, secs);
    let bound = 1.0 / (3.0 / unwrap + 3.0 / sign);
    let st = OsciState::new(
        OsciConfig {
            profile: mock_osci::ProfileMode::Report,
            ..OsciConfig::default()
        },
        keys,
        Store::ephemeral().unwrap(),
    )
    .unwrap();
    let (n, clock) = round_trips(&st, &mut p, secs);
    let rate = n as f64 / clock.as_secs_f64();
    println!(
        "{name}: {rate:.1} round trips/s (GetMessageId+StoreDelivery+FetchDelivery, {n} in {:.2} s intermediary time); raw RSA-OAEP unwrap {unwrap:.0}/s, RSA-SHA256 sign {sign:.0}/s → bound {bound:.1}/s; {:.0} % of the bound",
        clock.as_secs_f64(),
        100.0 * rate / bound
    );
}

fn memory(pki: &mock_osci::OsciPki) {
    let st = OsciState::new(
        OsciConfig::default(),
        pki.intermediary_keys(),
        Store::ephemeral().unwrap(),
    )
    .unwrap();
    let mut s = Client::new(
        pki.sender_cipher.clone(),
        pki.sender_signature.clone(),
        pki.intermediary_cipher.cert.clone(),
    );
    let mut r = Client::new(
        pki.recipient_cipher.clone(),
        pki.recipient_signature.clone(),
        pki.intermediary_cipher.cert.clone(),
    );
    let mut clock = Duration::ZERO;
    let req = s.get_message_id().unwrap();
    let mid = timed(&st, &mut s, req, &mut clock).message_id.unwrap();
    let size = 40 * 1024 * 1024 - 64 * 1024;
    let atts = vec![("Nachweis.pdf".to_string(), vec![0x42u8; size])];
    let req = s
        .store_delivery(&mid, &pki.recipient_cipher.cert, None, &package(), &atts)
        .unwrap();
    drop(atts);
    let len = req.len() as f64;
    reset_peak();
    let before = rss_kb("VmRSS:");
    let t = Instant::now();
    let answer = ops::handle(&st, req, now_ms(), false);
    let store_time = t.elapsed();
    let store_peak = rss_kb("VmHWM:").saturating_sub(before) as f64 * 1024.0;
    assert!(answer.fault.is_none(), "{:?}", answer.diagnoses);
    drop(answer);
    let req = r.init_dialog().unwrap();
    timed(&st, &mut r, req, &mut clock);
    let req = r.fetch_delivery(Some(&mid)).unwrap();
    reset_peak();
    let before = rss_kb("VmRSS:");
    let t = Instant::now();
    let answer = ops::handle(&st, req, now_ms(), false);
    let fetch_time = t.elapsed();
    let fetch_peak = rss_kb("VmHWM:").saturating_sub(before) as f64 * 1024.0;
    let out_len = answer.body.len();
    assert!(r.open(&answer.body).unwrap().attachments[0].1.len() == size);
    println!(
        "40 MB delivery ({:.1} MB on the wire): StoreDelivery {:.0} MB/s, peak +{:.1} MB = {:.2}× the message; FetchDelivery ({:.1} MB) {:.0} MB/s, peak +{:.1} MB = {:.2}×",
        len / 1e6,
        len / 1e6 / store_time.as_secs_f64(),
        store_peak / 1e6,
        store_peak / len,
        out_len as f64 / 1e6,
        out_len as f64 / 1e6 / fetch_time.as_secs_f64(),
        fetch_peak / 1e6,
        fetch_peak / len
    );
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return; // `cargo test --benches` compiles the bench and must not run it.
    }
    let secs: f64 = std::env::var("OSCI_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let pki = mock_osci::OsciPki::generate(2048).expect("test PKI");
    memory(&pki);
    let parties = |p: &mock_osci::OsciPki| Parties {
        sender: Client::new(
            p.sender_cipher.clone(),
            p.sender_signature.clone(),
            p.intermediary_cipher.cert.clone(),
        ),
        recipient: Client::new(
            p.recipient_cipher.clone(),
            p.recipient_signature.clone(),
            p.intermediary_cipher.cert.clone(),
        ),
        addressee: p.recipient_cipher.cert.clone(),
    };
    run_set(
        "test PKI (RSA-2048)",
        pki.intermediary_keys(),
        parties(&pki),
        secs,
    );
    match test_support::shared::root()
        .map(|r| r.join("reference/osci/beispielanwendung/de/osci/osci12/samples/zertifikate"))
    {
        Some(dir) if dir.is_dir() => {
            let keys = IntermediaryKeys::from_sample_dir(&dir).expect("sample keys");
            let id = |f: &str| {
                let (i, _) = mock_osci::pki::read_p12(&dir.join(f), mock_osci::pki::SAMPLE_PIN)
                    .expect("sample p12");
                i
            };
            let p = Parties {
                sender: Client::new(
                    id("carol_cipher_4096.p12"),
                    id("alice_signature_4096.p12"),
                    keys.cipher.0.clone(),
                ),
                recipient: Client::new(
                    id("bob_cipher_4096.p12"),
                    id("bob_signature_4096.p12"),
                    keys.cipher.0.clone(),
                ),
                addressee: id("bob_cipher_4096.p12").cert,
            };
            run_set("sample keys (RSA-4096)", keys, p, secs);
        }
        _ => println!("sample keys (RSA-4096): skipped, ../shared/reference/osci not found"),
    }
}
