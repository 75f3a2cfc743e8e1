//! mock-melderegister benchmark (`cargo bench -p mock-melderegister`, `make bench`). std::time only.
//!
//! Builds the synthetic register with `MR_BENCH_RESIDENTS` (default 1,000,000) residents and reports the
//! build time and the index bytes per resident, then runs each search kind on one core (single thread) over
//! the whole register and reports p50 / p99 latency and throughput:
//!
//! - Personensuche exact and phonetic (a random generated resident's own data: name, AGS, street);
//! - freie Suche exact family name + Vorname over the whole Land;
//! - freie Suche wildcard family name over the whole Land (`Sch*dt`, `M?ller`, `Kr*se` + a Vorname).
//!
//! Targets (issue 13): indexed searches p99 ≤ 5 ms, wildcard searches over the whole Land p99 ≤ 100 ms,
//! ≤ 1 KiB of index per resident.

use mock_melderegister::register::Register;
use mock_melderegister::register::generate::Rng;
use mock_melderegister::search::query::*;
use std::time::{Duration, Instant};

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, target_ms: f64, mut t: Vec<Duration>, hits: usize) {
    let total: Duration = t.iter().sum();
    let n = t.len();
    let (p50, p99) = (pct(&mut t, 0.5), pct(&mut t, 0.99));
    let ok = p99.as_secs_f64() * 1000.0 <= target_ms;
    println!(
        "{name:<44} n={n:>5}  p50 {:>8.3} ms  p99 {:>8.3} ms  {:>9.0} searches/s/core  avg hits {:>6.1}  target p99 ≤ {target_ms} ms: {}",
        p50.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        n as f64 / total.as_secs_f64(),
        hits as f64 / n as f64,
        if ok { "met" } else { "MISSED" }
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not: then do nothing (it takes minutes).
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: usize = std::env::var("MR_BENCH_RESIDENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let t = Instant::now();
    let reg = Register::synthetic(1, n);
    let build = t.elapsed();
    let bytes = reg.index().approx_bytes();
    println!(
        "register: {} residents built and indexed in {:.2} s ({:.0} residents/s); index ≈ {} MiB = {} bytes/resident (target ≤ 1024): {}",
        reg.len(),
        build.as_secs_f64(),
        reg.len() as f64 / build.as_secs_f64(),
        bytes / (1 << 20),
        bytes / reg.len(),
        if bytes / reg.len() <= 1024 {
            "met"
        } else {
            "MISSED"
        }
    );
    let mut rng = Rng::new(42);
    let samples: Vec<u32> = (0..2000)
        .map(|_| 1013 + rng.below((reg.len() - 1013) as u64) as u32)
        .collect();
    for phon in [false, true] {
        let (mut times, mut hits) = (Vec::new(), 0);
        for &id in &samples {
            let Some(e) = reg.get(id) else { continue };
            let w = &e.wohnungen[0];
            let q = Personensuche {
                name: PersonName::NachnameUndVornamen {
                    nachname: e.familienname.clone(),
                    vornamen: e.vornamen.split(' ').next().unwrap_or("").to_string(),
                },
                phonetik: phon,
                ags: w.ags.clone(),
                plz: None,
                strasse: Some(w.strasse.clone()),
                hausnummer: Hausnummer::default(),
                geburtsdatum: None,
                geburtsort: None,
                geschlecht: None,
                sterbetag: None,
                sterbeort: None,
                azr_nummer: None,
            };
            let t = Instant::now();
            let r = reg.personensuche(&q).map(|v| v.len()).unwrap_or(0);
            times.push(t.elapsed());
            hits += r;
        }
        report(
            if phon {
                "Personensuche phonetic (AGS + street)"
            } else {
                "Personensuche exact (AGS + street)"
            },
            5.0,
            times,
            hits,
        );
    }
    let land = || FreieSuche::in_area(Suchbereich::Bundesland("03".into()));
    let (mut times, mut hits) = (Vec::new(), 0);
    for &id in samples.iter().take(500) {
        let Some(e) = reg.get(id) else { continue };
        let mut q = land();
        q.nachname = e.familienname.split_whitespace().last().map(str::to_string);
        q.vornamen = e.vornamen.split(' ').next().map(str::to_string);
        q.geburt = Some(Geburt::Datum(e.geburtsdatum));
        let t = Instant::now();
        hits += reg.freie_suche(&q).len();
        times.push(t.elapsed());
    }
    report(
        "freie Suche exact name + birth date, whole Land",
        5.0,
        times,
        hits,
    );
    let (mut times, mut hits) = (Vec::new(), 0);
    let patterns = [
        "Sch*dt", "M?ller", "Kr*se", "Wa*ner", "Ho?fmann", "Jä*er", "Ne*mann", "B*cker",
    ];
    let vornamen = [
        "Peter", "Anna", "Jürgen", "Maria", "Lukas", "Petra", "Hans", "Sabine",
    ];
    for i in 0..200 {
        let mut q = land();
        q.nachname = Some(patterns[i % patterns.len()].into());
        q.vornamen = Some(vornamen[(i / patterns.len()) % vornamen.len()].into());
        let t = Instant::now();
        hits += reg.freie_suche(&q).len();
        times.push(t.elapsed());
    }
    report(
        "freie Suche wildcard + Vorname, whole Land",
        100.0,
        times,
        hits,
    );
    let (mut times, mut hits) = (Vec::new(), 0);
    for p in patterns.iter().cycle().take(40) {
        let mut q = land();
        q.nachname = Some(p.to_string());
        let t = Instant::now();
        hits += reg.freie_suche(&q).len();
        times.push(t.elapsed());
    }
    report(
        "freie Suche wildcard only, whole Land (→ 13)",
        100.0,
        times,
        hits,
    );
}
