//! DVDV organisation keys (`ehp:010100100001`): category prefix, length, the meaning of each position as
//! the profile states it, and production versus test (positions 11–12 in seed 001).

use super::model::{KeyRule, PartyRule};

/// Whether a key names a production or a test organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyEnvironment {
    Production,
    Test,
}

/// A broken key rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyProblem {
    pub rule: &'static str,
    pub message: String,
}

fn problem(rule: &'static str, message: String) -> KeyProblem {
    KeyProblem { rule, message }
}

/// Check `id` (the whole identifier, `prefix:digits`) against the party rule. Returns the environment the
/// key's environment positions name (None when the profile has no such segment).
pub fn check(id: &str, rule: &PartyRule) -> Result<Option<KeyEnvironment>, KeyProblem> {
    let Some((prefix, key)) = id.split_once(':') else {
        return Err(problem(
            "profile.key.prefix",
            format!(
                "{} '{id}' has no organisation category prefix: expected '{}:' followed by the key",
                rule.role, rule.prefix
            ),
        ));
    };
    if prefix != rule.prefix {
        return Err(problem(
            "profile.key.category",
            format!(
                "{} '{id}' belongs to the organisation category '{prefix}', but the profile admits only '{}'{}",
                rule.role,
                rule.prefix,
                rule.category
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            ),
        ));
    }
    match &rule.key {
        Some(k) => check_key(key, k, rule),
        None => Ok(None),
    }
}

fn check_key(
    key: &str,
    k: &KeyRule,
    rule: &PartyRule,
) -> Result<Option<KeyEnvironment>, KeyProblem> {
    if key.chars().count() != k.digits || !key.bytes().all(|b| b.is_ascii_digit()) {
        return Err(problem(
            "profile.key.format",
            format!(
                "{} key '{key}' must be exactly {} digits ({} of them)",
                rule.role,
                k.digits,
                if key.bytes().all(|b| b.is_ascii_digit()) {
                    key.len().to_string()
                } else {
                    "not all digits".into()
                }
            ),
        ));
    }
    for s in &k.segments {
        let part = &key[s.from - 1..s.to];
        if !s.allowed.is_empty() && !s.allowed.iter().any(|r| r.contains(part)) {
            let allowed: Vec<String> = s.allowed.iter().cloned().map(String::from).collect();
            return Err(problem(
                "profile.key.segment",
                format!(
                    "{} key '{key}': positions {}-{} ({}) are '{part}', allowed: {}",
                    rule.role,
                    s.from,
                    s.to,
                    s.name,
                    allowed.join(", ")
                ),
            ));
        }
    }
    let Some(e) = &k.environment else {
        return Ok(None);
    };
    let part = &key[e.from - 1..e.to];
    if e.production.iter().any(|r| r.contains(part)) {
        return Ok(Some(KeyEnvironment::Production));
    }
    if e.test.iter().any(|r| r.contains(part)) {
        return Ok(Some(KeyEnvironment::Test));
    }
    let list = |v: &Vec<super::model::DigitRange>| {
        v.iter()
            .cloned()
            .map(String::from)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(problem(
        "profile.key.environment",
        format!(
            "{} key '{key}': positions {}-{} are '{part}', which is neither production ({}) nor test ({})",
            rule.role,
            e.from,
            e.to,
            list(&e.production),
            list(&e.test)
        ),
    ))
}
