//! Expectation matching: does a `then` check hold for a snapshot of the journals and the actions'
//! outputs? Pure functions (no I/O, no clock), so every rule is unit-tested below; the runner only
//! decides when to take the snapshot.

use crate::event::Failure;
use crate::model::{Check, JournalCheck, OutputCheck, Step, glob_match};
use serde_json::Value;
use sim_kit::JournalEntry;
use std::collections::BTreeMap;

/// Every started simulator's journal, by simulator name.
pub type Journals = BTreeMap<String, Vec<JournalEntry>>;

/// Does the entry match every field the matcher names?
pub fn journal_matches(m: &JournalCheck, e: &JournalEntry) -> bool {
    let path = e.path.split('?').next().unwrap_or("");
    m.method
        .as_ref()
        .is_none_or(|x| x.eq_ignore_ascii_case(&e.method))
        && m.path.as_ref().is_none_or(|p| glob_match(p, path))
        && m.operation
            .as_ref()
            .is_none_or(|o| e.operation.as_deref() == Some(o.as_str()))
        && m.status.as_ref().is_none_or(|s| s.matches(e.status))
        && m.verdict.is_none_or(|v| v == e.verdict)
        && m.diagnosis
            .as_ref()
            .is_none_or(|d| e.diagnoses.iter().any(|x| glob_match(d, &x.rule)))
        && m.data
            .as_ref()
            .is_none_or(|d| e.data.as_ref().is_some_and(|a| contains_json(a, d)))
}

/// `want` is a subset of `have`: objects by key, arrays element-wise by position, scalars equal.
pub fn contains_json(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| h.get(k).is_some_and(|hv| contains_json(hv, wv))),
        (Value::Array(h), Value::Array(w)) => {
            w.len() <= h.len() && w.iter().zip(h).all(|(wv, hv)| contains_json(hv, wv))
        }
        (h, w) => h == w,
    }
}

/// The matcher in words: `vst POST /notify/… status 400 diagnosis kvnr.*`.
pub fn describe_journal(m: &JournalCheck) -> String {
    let mut parts = vec![m.sim.clone()];
    parts.extend(m.method.clone());
    parts.extend(m.path.clone());
    parts.extend(m.operation.as_ref().map(|x| format!("operation {x}")));
    parts.extend(m.status.as_ref().map(|x| format!("status {}", x.0)));
    parts.extend(m.verdict.map(|x| format!("verdict {x:?}").to_lowercase()));
    parts.extend(m.diagnosis.as_ref().map(|x| format!("diagnosis {x}")));
    parts.extend(m.data.as_ref().map(|x| format!("data ⊇ {x}")));
    parts.join(" ")
}

/// `GET /path → 200; POST /x → 400`, or `no requests`.
pub fn summarize(entries: &[JournalEntry]) -> String {
    if entries.is_empty() {
        return "no requests".into();
    }
    entries
        .iter()
        .map(|e| {
            format!(
                "{} {} → {}",
                e.method,
                e.path.split('?').next().unwrap_or(""),
                e.status
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One line per diagnosis: `POST /path → 400: rule at location: message`.
pub fn diag_lines(entries: &[JournalEntry]) -> Vec<String> {
    entries
        .iter()
        .flat_map(|e| {
            e.diagnoses.iter().map(move |d| {
                format!(
                    "{} {} → {}: {}",
                    e.method,
                    e.path,
                    e.status,
                    d.header_value()
                )
            })
        })
        .collect()
}

/// Does `then[i]` hold? `when` and `outputs` (one per step) resolve output checks.
pub fn check(
    c: &Check,
    i: usize,
    when: &[Step],
    journals: &Journals,
    outputs: &[Option<Value>],
) -> Result<(), Failure> {
    if let Some(m) = &c.journal {
        check_journal(m, i, journals)?;
    }
    if let Some(m) = &c.no_journal {
        check_no_journal(m, i, journals)?;
    }
    if let Some(seq) = &c.sequence {
        check_sequence(seq, i, journals)?;
    }
    if let Some(o) = &c.output {
        check_output(o, i, when, outputs)?;
    }
    Ok(())
}

fn journal_of<'a>(journals: &'a Journals, sim: &str) -> &'a [JournalEntry] {
    journals.get(sim).map(Vec::as_slice).unwrap_or(&[])
}

fn check_journal(m: &JournalCheck, i: usize, journals: &Journals) -> Result<(), Failure> {
    let all = journal_of(journals, &m.sim);
    let n = all.iter().filter(|e| journal_matches(m, e)).count();
    let (ok, expected) = match (m.count, m.min, m.max) {
        (Some(k), _, _) => (n == k, format!("exactly {k} × {}", describe_journal(m))),
        (None, min, max) => {
            let lo = min.unwrap_or(1);
            let ok = n >= lo && max.is_none_or(|hi| n <= hi);
            let range = match max {
                Some(hi) => format!("{lo}..={hi}"),
                None => format!("at least {lo}"),
            };
            (ok, format!("{range} × {}", describe_journal(m)))
        }
    };
    if ok {
        return Ok(());
    }
    Err(Failure {
        check: format!("then[{i}] journal"),
        expected,
        actual: format!("{n} matching; journal: {}", summarize(all)),
        diagnoses: diag_lines(all),
    })
}

fn check_no_journal(m: &JournalCheck, i: usize, journals: &Journals) -> Result<(), Failure> {
    let hits: Vec<JournalEntry> = journal_of(journals, &m.sim)
        .iter()
        .filter(|e| journal_matches(m, e))
        .cloned()
        .collect();
    if hits.is_empty() {
        return Ok(());
    }
    Err(Failure {
        check: format!("then[{i}] no_journal"),
        expected: format!("no {}", describe_journal(m)),
        actual: summarize(&hits),
        diagnoses: diag_lines(&hits),
    })
}

/// Each matcher finds an entry after the previous one: within one simulator strictly after by
/// sequence number; across simulators not before by time (millisecond timestamps may tie).
fn check_sequence(seq: &[JournalCheck], i: usize, journals: &Journals) -> Result<(), Failure> {
    let mut all: Vec<(&str, &JournalEntry)> = journals
        .iter()
        .flat_map(|(sim, es)| es.iter().map(move |e| (sim.as_str(), e)))
        .collect();
    all.sort_by(|a, b| a.1.at.cmp(&b.1.at).then(a.1.seq.cmp(&b.1.seq)));
    let mut last: Option<(&str, &JournalEntry)> = None;
    for (k, m) in seq.iter().enumerate() {
        let found = all.iter().find(|(sim, e)| {
            *sim == m.sim
                && journal_matches(m, e)
                && match last {
                    None => true,
                    Some((lsim, le)) if lsim == *sim => e.seq > le.seq,
                    Some((_, le)) => e.at >= le.at,
                }
        });
        match found {
            Some(hit) => last = Some(*hit),
            None => {
                let order: Vec<String> = all
                    .iter()
                    .map(|(sim, e)| {
                        let what = e
                            .operation
                            .clone()
                            .unwrap_or_else(|| format!("{} {}", e.method, e.path));
                        format!("{sim} {what}")
                    })
                    .collect();
                return Err(Failure {
                    check: format!("then[{i}] sequence"),
                    expected: seq
                        .iter()
                        .map(describe_journal)
                        .collect::<Vec<_>>()
                        .join(" → "),
                    actual: format!(
                        "no `{}` after step {k} of the sequence; order seen: {}",
                        describe_journal(m),
                        order.join(" → ")
                    ),
                    diagnoses: vec![],
                });
            }
        }
    }
    Ok(())
}

fn check_output(
    o: &OutputCheck,
    i: usize,
    when: &[Step],
    outputs: &[Option<Value>],
) -> Result<(), Failure> {
    let step = o
        .step
        .or_else(|| when.iter().rposition(|s| s.action.is_some()));
    let Some(out) = step.and_then(|s| outputs.get(s).cloned().flatten()) else {
        return Err(Failure {
            check: format!("then[{i}] output"),
            expected: format!(
                "output of step {}",
                step.map(|s| s.to_string()).unwrap_or_else(|| "?".into())
            ),
            actual: "the step produced no JSON output".into(),
            diagnoses: vec![],
        });
    };
    let v = out.pointer(&o.pointer);
    if let Some(want) = &o.equals
        && v != Some(want)
    {
        return Err(Failure {
            check: format!("then[{i}] output {}", o.pointer),
            expected: want.to_string(),
            actual: v
                .map(std::string::ToString::to_string)
                .unwrap_or_else(|| "absent".into()),
            diagnoses: vec![],
        });
    }
    if let Some(len) = o.len {
        let actual = v.and_then(Value::as_array).map(Vec::len);
        if actual != Some(len) {
            return Err(Failure {
                check: format!("then[{i}] output {}", o.pointer),
                expected: format!("an array of {len}"),
                actual: actual
                    .map(|a| format!("an array of {a}"))
                    .unwrap_or_else(|| "no array".into()),
                diagnoses: vec![],
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StatusPattern;
    use serde_json::json;
    use sim_kit::{Diagnosis, Verdict};

    fn entry(seq: u64, at: &str, method: &str, path: &str, status: u16) -> JournalEntry {
        JournalEntry {
            seq,
            at: at.into(),
            simulator: String::new(),
            method: method.into(),
            path: path.into(),
            operation: None,
            status,
            verdict: if status < 400 {
                Verdict::Accepted
            } else {
                Verdict::Rejected
            },
            diagnoses: vec![],
            fault: None,
            duration_ms: 0.0,
            data: None,
        }
    }

    fn matcher(sim: &str) -> JournalCheck {
        serde_json::from_value(json!({ "sim": sim })).unwrap()
    }

    fn journals(entries: &[(&str, JournalEntry)]) -> Journals {
        let mut j = Journals::new();
        for (sim, e) in entries {
            j.entry(sim.to_string()).or_default().push(e.clone());
        }
        j
    }

    fn journal_check(m: JournalCheck) -> Check {
        Check {
            journal: Some(m),
            ..Check::default()
        }
    }

    #[test]
    fn matcher_fields_each_narrow_the_match() {
        let mut e = entry(1, "t1", "POST", "/notify/a?x=1", 400);
        e.operation = Some("op".into());
        e.diagnoses = vec![Diagnosis::new("kvnr.check-digit", "bad")];
        e.data = Some(json!({"a": {"b": [1, 2]}, "c": 3}));
        let mut m = matcher("vst");
        assert!(journal_matches(&m, &e));
        m.method = Some("post".into());
        m.path = Some("/notify/*".into());
        m.operation = Some("op".into());
        m.status = Some(StatusPattern("4xx".into()));
        m.verdict = Some(Verdict::Rejected);
        m.diagnosis = Some("kvnr.*".into());
        m.data = Some(json!({"a": {"b": [1]}}));
        assert!(journal_matches(&m, &e), "every field matches");
        for (field, bad) in [
            ("method", json!("GET")),
            ("path", json!("/notify")),
            ("operation", json!("other")),
            ("status", json!("5xx")),
            ("verdict", json!("accepted")),
            ("diagnosis", json!("ik.*")),
            ("data", json!({"c": 4})),
        ] {
            let mut v = serde_json::to_value(&m).unwrap();
            v[field] = bad;
            let m2: JournalCheck = serde_json::from_value(v).unwrap();
            assert!(!journal_matches(&m2, &e), "{field} must narrow");
        }
    }

    #[test]
    fn subset_json() {
        assert!(contains_json(&json!({"a": 1, "b": 2}), &json!({"a": 1})));
        assert!(!contains_json(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(contains_json(&json!([1, 2, 3]), &json!([1, 2])));
        assert!(!contains_json(&json!([1]), &json!([1, 2])));
        assert!(!contains_json(&json!([2, 1]), &json!([1])), "by position");
        assert!(!contains_json(&json!("1"), &json!(1)));
    }

    #[test]
    fn counts_bound_the_number_of_matches() {
        let j = journals(&[
            ("vst", entry(1, "t1", "GET", "/a", 200)),
            ("vst", entry(2, "t2", "GET", "/a", 200)),
        ]);
        let mut m = matcher("vst");
        assert!(check(&journal_check(m.clone()), 0, &[], &j, &[]).is_ok());
        m.count = Some(1);
        let f = check(&journal_check(m.clone()), 3, &[], &j, &[]).unwrap_err();
        assert_eq!(f.check, "then[3] journal");
        assert!(f.expected.starts_with("exactly 1 ×"), "{}", f.expected);
        assert!(f.actual.starts_with("2 matching"), "{}", f.actual);
        m.count = None;
        m.min = Some(3);
        assert!(check(&journal_check(m.clone()), 0, &[], &j, &[]).is_err());
        m.min = Some(0);
        m.max = Some(1);
        assert!(check(&journal_check(m.clone()), 0, &[], &j, &[]).is_err());
        m.max = Some(2);
        assert!(check(&journal_check(m), 0, &[], &j, &[]).is_ok());
        // Another simulator's journal does not count.
        let other = journal_check(matcher("konnektor"));
        assert!(check(&other, 0, &[], &j, &[]).is_err());
    }

    #[test]
    fn no_journal_lists_the_offending_entries() {
        let mut e = entry(1, "t1", "POST", "/x", 400);
        e.diagnoses = vec![Diagnosis::new("json.comment", "no comments")];
        let j = journals(&[("vst", e)]);
        let c = Check {
            no_journal: Some(matcher("vst")),
            ..Check::default()
        };
        let f = check(&c, 1, &[], &j, &[]).unwrap_err();
        assert_eq!(f.actual, "POST /x → 400");
        assert!(f.diagnoses[0].contains("json.comment"), "{:?}", f.diagnoses);
        let c = Check {
            no_journal: Some(matcher("konnektor")),
            ..Check::default()
        };
        assert!(check(&c, 1, &[], &j, &[]).is_ok());
    }

    fn op(seq: u64, at: &str, name: &str) -> JournalEntry {
        let mut e = entry(seq, at, "POST", "/", 200);
        e.operation = Some(name.into());
        e
    }

    fn op_matcher(sim: &str, name: &str) -> JournalCheck {
        serde_json::from_value(json!({ "sim": sim, "operation": name })).unwrap()
    }

    #[test]
    fn sequences_respect_order_within_and_across_simulators() {
        let j = journals(&[
            ("konnektor", op(1, "t1", "VerifyPin")),
            ("konnektor", op(2, "t2", "SignDocument")),
            ("vst", op(1, "t2", "deliver")),
        ]);
        let seq = |names: &[(&str, &str)]| Check {
            sequence: Some(names.iter().map(|(s, n)| op_matcher(s, n)).collect()),
            ..Check::default()
        };
        let ok = seq(&[
            ("konnektor", "VerifyPin"),
            ("konnektor", "SignDocument"),
            ("vst", "deliver"),
        ]);
        assert!(check(&ok, 0, &[], &j, &[]).is_ok(), "timestamps may tie");
        let bad = seq(&[("konnektor", "SignDocument"), ("konnektor", "VerifyPin")]);
        let f = check(&bad, 2, &[], &j, &[]).unwrap_err();
        assert!(f.actual.contains("after step 1"), "{}", f.actual);
        assert!(f.actual.contains("konnektor VerifyPin → "), "{}", f.actual);
        let bad = seq(&[("vst", "deliver"), ("konnektor", "VerifyPin")]);
        assert!(check(&bad, 0, &[], &j, &[]).is_err(), "earlier time");
    }

    #[test]
    fn outputs_default_to_the_last_action_step() {
        let when: Vec<Step> = serde_json::from_value(json!([
            { "action": "vst.poll_requests" },
            { "sleep_ms": 1 },
            { "action": "vst.poll_requests" },
            { "sleep_ms": 1 }
        ]))
        .unwrap();
        let outputs = vec![
            Some(json!({"Anfragen": ["A"]})),
            None,
            Some(json!({"Anfragen": []})),
            None,
        ];
        let out = |v: Value| Check {
            output: Some(serde_json::from_value(v).unwrap()),
            ..Check::default()
        };
        let j = Journals::new();
        assert!(
            check(
                &out(json!({"pointer": "/Anfragen", "len": 0})),
                0,
                &when,
                &j,
                &outputs
            )
            .is_ok()
        );
        assert!(
            check(
                &out(json!({"pointer": "/Anfragen/0", "equals": "A", "step": 0})),
                0,
                &when,
                &j,
                &outputs
            )
            .is_ok()
        );
        let f = check(
            &out(json!({"pointer": "/Anfragen/0", "equals": "A"})),
            0,
            &when,
            &j,
            &outputs,
        )
        .unwrap_err();
        assert_eq!(
            (f.expected.as_str(), f.actual.as_str()),
            ("\"A\"", "absent")
        );
        let f = check(
            &out(json!({"pointer": "/Anfragen", "len": 2})),
            0,
            &when,
            &j,
            &outputs,
        )
        .unwrap_err();
        assert_eq!(f.actual, "an array of 0");
        let none = vec![None, None, None, None];
        let f = check(&out(json!({"pointer": "/x"})), 0, &when, &j, &none).unwrap_err();
        assert_eq!(f.actual, "the step produced no JSON output");
    }
}
