//! The timeline filter: simulator, verdict, status, rule, text and flow, from the page's query string.
//! One implementation serves the first render, paging and the live updates (each live connection carries
//! its filter), so the browser never filters.

use crate::entry::Stored;
use serde::Deserialize;

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Filter {
    /// A simulator name (the dashboard's); empty = all.
    #[serde(default)]
    pub sim: String,
    /// `accepted`, `rejected`, `failed`, `injected`; empty = all.
    #[serde(default)]
    pub verdict: String,
    /// `400`, `4xx`, `2xx`…; empty = all.
    #[serde(default)]
    pub status: String,
    /// A rule name, a prefix ending in `*` or `.` (`kvnr.*`, `json.`), or `*` for "has any diagnosis".
    #[serde(default)]
    pub rule: String,
    /// Case-insensitive text in the path, operation, diagnoses and fault.
    #[serde(default)]
    pub q: String,
    /// A cross-simulator flow id (an empty or unreadable value means none).
    #[serde(default, deserialize_with = "lenient_id")]
    pub flow: Option<u64>,
}

fn lenient_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    Ok(s.and_then(|s| s.trim().parse().ok()))
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// The filter as a query string (without `?`), for links that keep it.
    pub fn query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("sim", &self.sim),
            ("verdict", &self.verdict),
            ("status", &self.status),
            ("rule", &self.rule),
            ("q", &self.q),
        ] {
            if !v.trim().is_empty() {
                parts.push(format!("{k}={}", url_encode(v.trim())));
            }
        }
        if let Some(f) = self.flow {
            parts.push(format!("flow={f}"));
        }
        parts.join("&")
    }

    /// Whether an entry passes. `flow_of` tells the entry's flow, when it has one.
    pub fn matches(&self, s: &Stored, flow_of: Option<u64>) -> bool {
        let e = &s.entry;
        if !self.sim.is_empty() && *s.sim != *self.sim {
            return false;
        }
        if !self.verdict.is_empty() && !e.verdict.eq_ignore_ascii_case(&self.verdict) {
            return false;
        }
        if !self.status.trim().is_empty() && !status_matches(self.status.trim(), e.status) {
            return false;
        }
        if let Some(f) = self.flow
            && flow_of != Some(f)
        {
            return false;
        }
        let rule = self.rule.trim();
        if !rule.is_empty() && !e.diagnoses.iter().any(|d| rule_matches(rule, &d.rule)) {
            return false;
        }
        let q = self.q.trim();
        if !q.is_empty() && !text_matches(q, s) {
            return false;
        }
        true
    }
}

fn status_matches(pattern: &str, status: u16) -> bool {
    let p = pattern.to_ascii_lowercase();
    if let Some(class) = p.strip_suffix("xx") {
        return class.len() == 1 && class.parse::<u16>().is_ok_and(|c| status / 100 == c);
    }
    p.parse::<u16>().is_ok_and(|s| s == status)
}

fn rule_matches(pattern: &str, rule: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return rule.starts_with(prefix);
    }
    if pattern.ends_with('.') {
        return rule.starts_with(pattern);
    }
    rule == pattern
}

fn contains_ci(hay: &str, needle_lower: &str) -> bool {
    if hay.is_ascii() && needle_lower.is_ascii() {
        hay.as_bytes()
            .windows(needle_lower.len())
            .any(|w| w.eq_ignore_ascii_case(needle_lower.as_bytes()))
    } else {
        hay.to_lowercase().contains(needle_lower)
    }
}

fn text_matches(q: &str, s: &Stored) -> bool {
    let q = q.to_lowercase();
    let e = &s.entry;
    let mut fields: Vec<&str> = vec![&e.path, &e.method, &e.verdict, &s.sim];
    if let Some(o) = &e.operation {
        fields.push(o);
    }
    if let Some(f) = &e.fault {
        fields.push(f);
    }
    for d in &e.diagnoses {
        fields.push(&d.rule);
        fields.push(&d.message);
        if let Some(l) = &d.location {
            fields.push(l);
        }
        if let Some(h) = &d.hint {
            fields.push(h);
        }
    }
    fields.into_iter().any(|f| contains_ci(f, &q))
}

/// Percent-encode a query value (RFC 3986 unreserved characters stay).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Diagnosis, Entry};

    fn stored(sim: &str, status: u16, verdict: &str, rule: Option<&str>) -> Stored {
        Stored::new(
            1,
            sim.into(),
            Entry {
                seq: 1,
                at: "2026-11-25T12:00:00.123Z".into(),
                method: "POST".into(),
                path: "/notify/api/v1/vitalstatusnotification".into(),
                status,
                verdict: verdict.into(),
                diagnoses: rule
                    .map(|r| Diagnosis {
                        rule: r.into(),
                        location: Some("/Meldungen/0/IdVersicherter".into()),
                        message: "Prüfziffer".into(),
                        ..Diagnosis::default()
                    })
                    .into_iter()
                    .collect(),
                ..Entry::default()
            },
        )
    }

    #[test]
    fn each_criterion_can_exclude() {
        let s = stored("vst", 400, "rejected", Some("kvnr.check-digit"));
        let f = |f: Filter| f.matches(&s, Some(3));
        assert!(f(Filter::default()));
        assert!(f(Filter {
            sim: "vst".into(),
            ..Filter::default()
        }));
        assert!(!f(Filter {
            sim: "konnektor".into(),
            ..Filter::default()
        }));
        assert!(f(Filter {
            verdict: "Rejected".into(),
            ..Filter::default()
        }));
        assert!(!f(Filter {
            verdict: "accepted".into(),
            ..Filter::default()
        }));
        assert!(f(Filter {
            status: "4xx".into(),
            ..Filter::default()
        }));
        assert!(f(Filter {
            status: "400".into(),
            ..Filter::default()
        }));
        assert!(!f(Filter {
            status: "5xx".into(),
            ..Filter::default()
        }));
        assert!(!f(Filter {
            status: "abc".into(),
            ..Filter::default()
        }));
        assert!(f(Filter {
            rule: "kvnr.*".into(),
            ..Filter::default()
        }));
        assert!(f(Filter {
            rule: "kvnr.".into(),
            ..Filter::default()
        }));
        assert!(f(Filter {
            rule: "*".into(),
            ..Filter::default()
        }));
        assert!(!f(Filter {
            rule: "kvnr".into(),
            ..Filter::default()
        }));
        assert!(f(Filter {
            q: "idversicherter".into(),
            ..Filter::default()
        }));
        assert!(f(Filter {
            q: "PRÜF".into(),
            ..Filter::default()
        }));
        assert!(!f(Filter {
            q: "xta".into(),
            ..Filter::default()
        }));
        assert!(f(Filter {
            flow: Some(3),
            ..Filter::default()
        }));
        assert!(!f(Filter {
            flow: Some(4),
            ..Filter::default()
        }));
        let ok = stored("vst", 200, "accepted", None);
        assert!(
            !Filter {
                rule: "*".into(),
                ..Filter::default()
            }
            .matches(&ok, None)
        );
    }

    #[test]
    fn query_round_trips_through_encoding() {
        let f = Filter {
            sim: "vst".into(),
            q: "a b&c".into(),
            flow: Some(2),
            ..Filter::default()
        };
        assert_eq!(f.query(), "sim=vst&q=a%20b%26c&flow=2");
    }
}
