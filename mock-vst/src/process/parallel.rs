//! Record-parallel work for large deliveries: below a threshold everything runs inline; above it the
//! records are split into one chunk per thread (scoped threads, results in document order).

use super::{Issue, StoredRecord};

/// Map `f` over `0..n` on up to `threads` threads (inline below `threshold`).
pub fn par_map<R: Send>(
    n: usize,
    threads: usize,
    threshold: usize,
    f: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    if n < threshold.max(2) || threads <= 1 {
        return (0..n).map(&f).collect();
    }
    let threads = threads.min(n);
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                s.spawn(move || {
                    let lo = t * chunk;
                    let hi = ((t + 1) * chunk).min(n);
                    (lo..hi).map(f).collect::<Vec<R>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        out
    })
}

/// Run `f` on every record, on up to `threads` threads (inline below `threshold`); collect the issues
/// (the first `keep` in document order, and their total count).
pub(crate) fn par_records(
    records: &mut [StoredRecord],
    threads: usize,
    threshold: usize,
    keep: usize,
    f: impl Fn(usize, &mut StoredRecord, &mut Vec<Issue>) + Sync,
) -> (Vec<Issue>, usize) {
    let n = records.len();
    let run = |offset: usize, chunk: &mut [StoredRecord]| {
        let mut issues = Vec::new();
        let mut count = 0usize;
        let mut tmp = Vec::new();
        for (k, r) in chunk.iter_mut().enumerate() {
            f(offset + k, r, &mut tmp);
            count += tmp.len();
            for i in tmp.drain(..) {
                if issues.len() < keep {
                    issues.push(i);
                }
            }
        }
        (issues, count)
    };
    if n < threshold.max(2) || threads <= 1 {
        return run(0, records);
    }
    let chunk = n.div_ceil(threads.min(n));
    let parts: Vec<(Vec<Issue>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks_mut(chunk)
            .enumerate()
            .map(|(t, c)| {
                let run = &run;
                s.spawn(move || run(t * chunk, c))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut issues = Vec::new();
    let mut count = 0;
    for (i, c) in parts {
        count += c;
        for x in i {
            if issues.len() < keep {
                issues.push(x);
            }
        }
    }
    (issues, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_keeps_order() {
        let v = par_map(1000, 4, 10, |i| i * 2);
        assert_eq!(v, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(par_map(3, 4, 10, |i| i), vec![0, 1, 2]);
        assert!(par_map(0, 4, 0, |i| i).is_empty());
    }
}
