//! Identifiers of the statutory health insurance: KVNR (unchangeable part of the Krankenversichertennummer)
//! and IK (Institutionskennzeichen), with their check digits. Which KVNRs are test data and which value is
//! reserved for patients without German insurance is data ([`KvnrRules`]), not code: the seed states the test
//! range (`A1111xxxxP`) but not the reserved value.

use serde::{Deserialize, Serialize};

/// Which TI environment a simulator plays ("Umgebungen").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Referenzumgebung (RU): only test-range KVNRs are allowed.
    #[default]
    Reference,
    /// Produktivumgebung (PU): production KVNRs, and test-range KVNRs for connection tests.
    Production,
}

impl std::str::FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "reference" | "ru" | "referenz" => Ok(Environment::Reference),
            "production" | "pu" | "produktiv" => Ok(Environment::Production),
            _ => Err(format!("unknown environment `{s}` (reference|production)")),
        }
    }
}

/// Data-driven KVNR rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KvnrRules {
    /// Test range pattern: `x` = any digit, `P` = check digit, other characters literal.
    pub test_range: String,
    /// KVNRs reserved for patients without German insurance (footnote 1). Not public: configurable.
    pub reserved: Vec<String>,
}

impl Default for KvnrRules {
    fn default() -> Self {
        KvnrRules {
            test_range: "A1111xxxxP".into(),
            reserved: Vec::new(),
        }
    }
}

/// Why a KVNR is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KvnrError {
    #[error("does not match ^[A-Z][0-9]{{9}}$")]
    Pattern,
    #[error("check digit is {found}, expected {expected}")]
    CheckDigit { expected: u8, found: u8 },
    #[error("is the KVNR reserved for patients without German insurance")]
    Reserved,
    #[error("is not in the test range {range}; the reference environment accepts only test KVNRs")]
    NotTestRange { range: String },
}

impl KvnrError {
    pub fn rule(&self) -> &'static str {
        match self {
            KvnrError::Pattern => "kvnr.pattern",
            KvnrError::CheckDigit { .. } => "kvnr.check-digit",
            KvnrError::Reserved => "kvnr.reserved",
            KvnrError::NotTestRange { .. } => "kvnr.environment",
        }
    }
}

/// `^[A-Z][0-9]{9}$`.
pub fn is_kvnr_shaped(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit)
}

/// Check digit of a KVNR from its first nine characters (letter + 8 digits).
/// Letter → two digits (A=01 … Z=26); weights 1,2,1,2,… from the left; digit sums of the products; mod 10.
pub fn kvnr_check_digit(first9: &str) -> Option<u8> {
    let b = first9.as_bytes();
    if b.len() != 9 || !b[0].is_ascii_uppercase() || !b[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let letter = b[0] - b'A' + 1;
    let mut digits = [0u8; 10];
    digits[0] = letter / 10;
    digits[1] = letter % 10;
    for (i, d) in b[1..].iter().enumerate() {
        digits[2 + i] = d - b'0';
    }
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let p = d * if i % 2 == 0 { 1 } else { 2 };
            (p / 10 + p % 10) as u32
        })
        .sum();
    Some((sum % 10) as u8)
}

/// Pattern and check digit only.
pub fn check_kvnr(v: &str) -> Result<(), KvnrError> {
    if !is_kvnr_shaped(v) {
        return Err(KvnrError::Pattern);
    }
    let expected = kvnr_check_digit(&v[..9]).expect("shape checked");
    let found = v.as_bytes()[9] - b'0';
    if expected != found {
        return Err(KvnrError::CheckDigit { expected, found });
    }
    Ok(())
}

impl KvnrRules {
    /// Whether a (well-formed) KVNR lies in the test range.
    pub fn is_test_kvnr(&self, v: &str) -> bool {
        let p = self.test_range.as_bytes();
        let b = v.as_bytes();
        p.len() == b.len()
            && p.iter().zip(b).all(|(pc, c)| match pc {
                b'x' => c.is_ascii_digit(),
                b'P' => c.is_ascii_digit(),
                lit => lit == c,
            })
    }

    /// Every check the seed lists for IdVersicherter, in the given environment.
    pub fn check(&self, v: &str, env: Environment) -> Result<(), KvnrError> {
        check_kvnr(v)?;
        if self.reserved.iter().any(|r| r == v) {
            return Err(KvnrError::Reserved);
        }
        if env == Environment::Reference && !self.is_test_kvnr(v) {
            return Err(KvnrError::NotTestRange {
                range: self.test_range.clone(),
            });
        }
        Ok(())
    }

    /// The `n`-th test-range KVNR (n < 10^k for k free digits), with its check digit.
    pub fn test_kvnr(&self, n: u64) -> Option<String> {
        let free = self.test_range.bytes().filter(|c| *c == b'x').count();
        if free as u32 > 18 || n >= 10u64.pow(free as u32) {
            return None;
        }
        let digits = format!("{n:0free$}");
        let mut it = digits.bytes();
        let mut s = String::new();
        for c in self.test_range.bytes() {
            match c {
                b'x' => s.push(it.next()? as char),
                b'P' => {}
                other => s.push(other as char),
            }
        }
        let cd = kvnr_check_digit(&s)?;
        s.push((b'0' + cd) as char);
        Some(s)
    }
}

/// Why an IK is not valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IkError {
    #[error("does not match ^[0-9]{{9}}$")]
    Pattern,
    #[error("check digit is {found}, expected {expected}")]
    CheckDigit { expected: u8, found: u8 },
}

impl IkError {
    pub fn rule(&self) -> &'static str {
        match self {
            IkError::Pattern => "ik.pattern",
            IkError::CheckDigit { .. } => "ik.check-digit",
        }
    }
}

/// IK check digit over positions 3–8 (the two-digit class is excluded): weights 2,1,2,1,2,1, digit sums, mod 10.
/// Takes the first eight digits.
pub fn ik_check_digit(first8: &str) -> Option<u8> {
    let b = first8.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b[2..8]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let p = (c - b'0') * if i % 2 == 0 { 2 } else { 1 };
            (p / 10 + p % 10) as u32
        })
        .sum();
    Some((sum % 10) as u8)
}

pub fn check_ik(v: &str) -> Result<(), IkError> {
    let b = v.as_bytes();
    if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) {
        return Err(IkError::Pattern);
    }
    let expected = ik_check_digit(&v[..8]).expect("shape checked");
    let found = b[8] - b'0';
    if expected != found {
        return Err(IkError::CheckDigit { expected, found });
    }
    Ok(())
}

/// Finds a KVNR-shaped substring (letter + 9 digits, not embedded in a longer run of letters/digits) whose
/// check digit is valid. Used to refuse patient data in IdDatenlieferung / IdDatensatz ("Allgemeiner Hinweis").
pub fn find_kvnr_in(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    if b.len() < 10 {
        return None;
    }
    for i in 0..=b.len() - 10 {
        let cand = &text.get(i..i + 10)?;
        let before_ok = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        let after_ok = i + 10 == b.len() || !b[i + 10].is_ascii_digit();
        if before_ok && after_ok && check_kvnr(cand).is_ok() {
            return Some(cand);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kvnr_vectors_from_reference() {
        for v in [
            "A123456780",
            "T012345678",
            "K220645122",
            "A000500015",
            "C000500021",
            "Q123456784",
            "Z123456783",
            "A111100008",
            "A111100010",
            "A111112344",
            "A111199994",
        ] {
            assert_eq!(check_kvnr(v), Ok(()), "{v}");
        }
        for v in [
            "K220645129",
            "T012345679",
            "A005000112",
            "C000500020",
            "G995030567",
            "X114428530",
        ] {
            assert!(
                matches!(check_kvnr(v), Err(KvnrError::CheckDigit { .. })),
                "{v}"
            );
        }
        for v in ["a123456780", "A12345678", "A1234567800", "AA23456780", ""] {
            assert_eq!(check_kvnr(v), Err(KvnrError::Pattern), "{v}");
        }
    }

    #[test]
    fn environment_rules() {
        let mut r = KvnrRules::default();
        assert_eq!(r.check("A111100008", Environment::Reference), Ok(()));
        assert!(matches!(
            r.check("A123456780", Environment::Reference),
            Err(KvnrError::NotTestRange { .. })
        ));
        assert_eq!(r.check("A123456780", Environment::Production), Ok(()));
        assert_eq!(r.check("A111100008", Environment::Production), Ok(()));
        r.reserved.push("A111100010".into());
        assert_eq!(
            r.check("A111100010", Environment::Reference),
            Err(KvnrError::Reserved)
        );
    }

    #[test]
    fn test_kvnr_generation() {
        let r = KvnrRules::default();
        assert_eq!(r.test_kvnr(0).as_deref(), Some("A111100008"));
        assert_eq!(r.test_kvnr(1).as_deref(), Some("A111100010"));
        assert_eq!(r.test_kvnr(1234).as_deref(), Some("A111112344"));
        assert_eq!(r.test_kvnr(9999).as_deref(), Some("A111199994"));
        assert_eq!(r.test_kvnr(10000), None);
        for n in 0..10000 {
            let k = r.test_kvnr(n).unwrap();
            assert!(r.check(&k, Environment::Reference).is_ok(), "{k}");
        }
    }

    #[test]
    fn ik_vectors_from_reference() {
        assert_eq!(ik_check_digit("26032682"), Some(2));
        for v in [
            "260326822",
            "101575519",
            "109500969",
            "108310400",
            "109519005",
            "100696012",
        ] {
            assert_eq!(check_ik(v), Ok(()), "{v}");
        }
        assert!(matches!(
            check_ik("260326823"),
            Err(IkError::CheckDigit { .. })
        ));
        assert_eq!(check_ik("26032682"), Err(IkError::Pattern));
        assert_eq!(check_ik("2603268a2"), Err(IkError::Pattern));
    }

    #[test]
    fn kvnr_in_text() {
        assert_eq!(find_kvnr_in("lieferung-A111100008"), Some("A111100008"));
        assert_eq!(find_kvnr_in("2024-01-001"), None);
        assert_eq!(find_kvnr_in("A111100009"), None);
        assert_eq!(find_kvnr_in("XA1111000080"), None);
    }

    proptest::proptest! {
        #[test]
        fn checks_never_panic(s in "\\PC{0,20}") {
            let _ = check_kvnr(&s);
            let _ = check_ik(&s);
            let _ = find_kvnr_in(&s);
            let _ = KvnrRules::default().check(&s, Environment::Reference);
        }

        #[test]
        fn every_single_digit_change_breaks_kvnr(n in 0u64..10000, pos in 1usize..10, d in 1u8..10) {
            let k = KvnrRules::default().test_kvnr(n).unwrap();
            let mut b = k.into_bytes();
            b[pos] = b'0' + (b[pos] - b'0' + d) % 10;
            let s = String::from_utf8(b).unwrap();
            // Luhn-style weights detect every single-digit substitution.
            proptest::prop_assert!(check_kvnr(&s).is_err());
        }
    }
}
