//! The reference client's second correct mode, `--strict` (`KONFORM_STRICT=1`): before sending anything
//! it checks every rule of the seed it can check itself, and refuses (exit 1, nothing sent) instead of
//! letting the service reject the delivery. The packs must pass in both modes: a scenario never fails a
//! client for being careful (a rejection scenario allows a local refusal with `may_refuse`).
//!
//! Checked: KVNR pattern, check digit and environment (`KONFORM_ENVIRONMENT`; the reserved KVNR is not
//! public, so it is left to the service), IK pattern and check digit, no KVNR inside `IdDatenlieferung` /
//! `IdDatensatz`, `IdDatensatz` unique, no empty strings or deliveries, `Vitalstatus` in 01/02/03,
//! `Sterbedatum` a calendar date or the filler and consistent with `Vitalstatus`; ExternalAuthenticate
//! takes exactly a 32-byte digest.

use super::{ClientEnv, ClientError};
use serde_json::Value;
use std::collections::BTreeSet;
use ti_core::ids::{Environment, KvnrRules, check_ik, find_kvnr_in};

const FILLER: &str = "---N/A----";

fn refuse(at: &str, why: impl std::fmt::Display) -> ClientError {
    ClientError::Refused(format!("strict: {at}: {why}; not sent"))
}

fn environment(env: &ClientEnv) -> Environment {
    match env.var("KONFORM_ENVIRONMENT") {
        Some("production") => Environment::Production,
        _ => Environment::Reference,
    }
}

fn text<'a>(v: &'a Value, key: &str, at: &str) -> Result<&'a str, ClientError> {
    let s = v
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ClientError::Input(format!("{at}: string `{key}` required")))?;
    if s.is_empty() {
        return Err(refuse(&format!("{at}/{key}"), "empty"));
    }
    Ok(s)
}

/// A plaintext identifier must not carry patient data ("Allgemeiner Hinweis").
fn no_patient_data(v: &str, at: &str) -> Result<(), ClientError> {
    match find_kvnr_in(v) {
        Some(k) => Err(refuse(at, format!("contains the KVNR-shaped value {k}"))),
        None => Ok(()),
    }
}

fn kvnr(env: &ClientEnv, v: &str, at: &str) -> Result<(), ClientError> {
    KvnrRules::default()
        .check(v, environment(env))
        .map_err(|e| refuse(at, format!("KVNR {v} {e}")))
}

/// `yyyy-mm-dd`, a real calendar date.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// The envelope both delivery kinds share; returns the records.
fn delivery(input: &Value) -> Result<&[Value], ClientError> {
    no_patient_data(
        text(input, "IdDatenlieferung", "input")?,
        "/IdDatenlieferung",
    )?;
    let records = input
        .get("Meldungen")
        .and_then(Value::as_array)
        .ok_or_else(|| ClientError::Input("input: array `Meldungen` required".into()))?;
    if records.is_empty() {
        return Err(refuse("/Meldungen", "no records"));
    }
    let mut ids = BTreeSet::new();
    for (i, m) in records.iter().enumerate() {
        let at = format!("/Meldungen/{i}");
        let id = text(m, "IdDatensatz", &at)?;
        no_patient_data(id, &format!("{at}/IdDatensatz"))?;
        if !ids.insert(id) {
            return Err(refuse(
                &format!("{at}/IdDatensatz"),
                format!("`{id}` used twice"),
            ));
        }
    }
    Ok(records)
}

/// Everything checkable in a vital status delivery.
pub fn vitalstatus(env: &ClientEnv, input: &Value) -> Result<(), ClientError> {
    for (i, m) in delivery(input)?.iter().enumerate() {
        let at = format!("/Meldungen/{i}");
        kvnr(
            env,
            text(m, "IdVersicherter", &at)?,
            &format!("{at}/IdVersicherter"),
        )?;
        let status = text(m, "Vitalstatus", &at)?;
        if !["01", "02", "03"].contains(&status) {
            return Err(refuse(
                &format!("{at}/Vitalstatus"),
                format!("`{status}` is not 01 (Lebend), 02 (Verstorben) or 03 (Unbekannt)"),
            ));
        }
        let date = m
            .get("Sterbedatum")
            .and_then(Value::as_str)
            .unwrap_or(FILLER);
        let at = format!("{at}/Sterbedatum");
        match (status, date) {
            (_, d) if d != FILLER && !is_date(d) => {
                return Err(refuse(
                    &at,
                    format!("`{d}` is neither yyyy-mm-dd nor {FILLER}"),
                ));
            }
            ("02", FILLER) => return Err(refuse(&at, "Verstorben (02) needs the date of death")),
            ("01" | "03", d) if d != FILLER => {
                return Err(refuse(
                    &at,
                    format!("only Verstorben (02) has a date, not {status}"),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Everything checkable in an insurance update.
pub fn insurance_update(env: &ClientEnv, input: &Value) -> Result<(), ClientError> {
    for (i, m) in delivery(input)?.iter().enumerate() {
        let at = format!("/Meldungen/{i}");
        kvnr(
            env,
            text(m, "IdVersicherter", &at)?,
            &format!("{at}/IdVersicherter"),
        )?;
        if m.get("IdVersicherterAlt").is_some_and(|v| !v.is_null()) {
            let alt = text(m, "IdVersicherterAlt", &at)?;
            kvnr(env, alt, &format!("{at}/IdVersicherterAlt"))?;
        }
        let ik = text(m, "IkAlt", &at)?;
        check_ik(ik).map_err(|e| refuse(&format!("{at}/IkAlt"), format!("IK {ik} {e}")))?;
    }
    Ok(())
}

/// ExternalAuthenticate signs a SHA-256 digest: exactly 32 bytes.
pub fn digest(data: &[u8]) -> Result<(), ClientError> {
    if data.len() != 32 {
        return Err(refuse(
            "ExternalAuthenticate",
            format!(
                "{} bytes, but it signs a 32-byte SHA-256 digest",
                data.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn env(environment: &str) -> ClientEnv {
        ClientEnv::from_vars(BTreeMap::from([(
            "KONFORM_ENVIRONMENT".to_string(),
            environment.to_string(),
        )]))
    }

    fn vs(records: Value) -> Value {
        json!({ "IdDatenlieferung": "2024-01", "Meldungen": records })
    }

    #[test]
    fn valid_deliveries_pass() {
        let ok = vs(json!([
            { "IdDatensatz": "1", "IdVersicherter": "A111100008", "Vitalstatus": "01" },
            { "IdDatensatz": "2", "IdVersicherter": "A111100010", "Vitalstatus": "02", "Sterbedatum": "2024-02-29" },
            { "IdDatensatz": "3", "IdVersicherter": "A111100008", "Vitalstatus": "03", "Sterbedatum": FILLER }
        ]));
        vitalstatus(&env("reference"), &ok).unwrap();
        let prod = vs(
            json!([{ "IdDatensatz": "1", "IdVersicherter": "A123456780", "Vitalstatus": "01" }]),
        );
        vitalstatus(&env("production"), &prod).unwrap();
        let iu = vs(
            json!([{ "IdDatensatz": "1", "IdVersicherter": "A111100008", "IkAlt": "109500969" }]),
        );
        insurance_update(&env("reference"), &iu).unwrap();
    }

    #[test]
    fn every_rule_refuses() {
        let e = env("reference");
        let bad = [
            json!([{ "IdDatensatz": "1", "IdVersicherter": "A123456780", "Vitalstatus": "01" }]),
            json!([{ "IdDatensatz": "1", "IdVersicherter": "A111100009", "Vitalstatus": "01" }]),
            json!([{ "IdDatensatz": "1", "IdVersicherter": "a111100008", "Vitalstatus": "01" }]),
            json!([{ "IdDatensatz": "A111100008", "IdVersicherter": "A111100008", "Vitalstatus": "01" }]),
            json!([{ "IdDatensatz": "1", "IdVersicherter": "A111100008", "Vitalstatus": "04" }]),
            json!([{ "IdDatensatz": "1", "IdVersicherter": "A111100008", "Vitalstatus": "02" }]),
            json!([{ "IdDatensatz": "1", "IdVersicherter": "A111100008", "Vitalstatus": "01", "Sterbedatum": "2023-12-31" }]),
            json!([{ "IdDatensatz": "1", "IdVersicherter": "A111100008", "Vitalstatus": "02", "Sterbedatum": "2023-02-29" }]),
            json!([{ "IdDatensatz": "1", "IdVersicherter": "A111100008", "Vitalstatus": "01" },
                   { "IdDatensatz": "1", "IdVersicherter": "A111100008", "Vitalstatus": "01" }]),
            json!([]),
        ];
        for records in bad {
            let r = vitalstatus(&e, &vs(records.clone()));
            assert!(
                matches!(r, Err(ClientError::Refused(_))),
                "{records}: {r:?}"
            );
        }
        let in_id = json!({ "IdDatenlieferung": "L-A111100008", "Meldungen": [
            { "IdDatensatz": "1", "IdVersicherter": "A111100008", "Vitalstatus": "01" } ] });
        assert!(vitalstatus(&e, &in_id).is_err());
        let ik = vs(
            json!([{ "IdDatensatz": "1", "IdVersicherter": "A111100008", "IkAlt": "123456789" }]),
        );
        assert!(insurance_update(&e, &ik).is_err());
        let alt = vs(
            json!([{ "IdDatensatz": "1", "IdVersicherter": "A111100008", "IdVersicherterAlt": "Z123456783", "IkAlt": "109500969" }]),
        );
        assert!(insurance_update(&e, &alt).is_err());
        assert!(digest(&[0; 32]).is_ok() && digest(&[0; 33]).is_err());
    }

    #[test]
    fn dates() {
        assert!(is_date("2024-02-29") && !is_date("2023-02-29") && is_date("2000-02-29"));
        assert!(!is_date("1900-02-29") && !is_date("2024-13-01") && !is_date("24-01-01"));
        assert!(!is_date("31.12.2023") && !is_date("2024-04-31"));
    }
}
