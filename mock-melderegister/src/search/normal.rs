//! Character normalisation of selection data (BMeldDAV Anlage Nr. 4a / 6a): every letter or letter sequence
//! of DIN 91379 is mapped to its search form (upper-case base letters analog ICAO: `Ä`→`AE`, `ß`→`SS`,
//! `Œ`→`OE`, `C̨̆`→`C`), the longest listed sequence winning; **every other character is removed** (spaces,
//! hyphens, dots, apostrophes, digits, stray combining marks). A value with nothing left counts as absent.
//!
//! Names are separated at spaces *before* normalisation (never at hyphens: `Karl-Heinz` = `KARLHEINZ`).
//!
//! Input is expected in NFC, as DIN 91379 requires: a decomposed `A` + U+0308 is read as the listed letter
//! `A` followed by a combining mark that is not part of a listed sequence, and so becomes `A` (not `AE`).

use super::din91379_table::SEARCH_FORM;
use std::collections::HashMap;
use std::sync::OnceLock;

type Entries = Vec<(&'static [char], &'static str)>;

/// First code point → candidate sequences starting with it, longest first.
fn table() -> &'static HashMap<char, Entries> {
    static T: OnceLock<HashMap<char, Entries>> = OnceLock::new();
    T.get_or_init(|| {
        let mut m: HashMap<char, Entries> = HashMap::new();
        for (seq, form) in SEARCH_FORM {
            if let Some(first) = seq.first() {
                m.entry(*first).or_default().push((seq, form));
            }
        }
        for v in m.values_mut() {
            v.sort_by_key(|e| std::cmp::Reverse(e.0.len()));
        }
        m
    })
}

/// Append the search form of `s` to `out`.
fn push_search_form(s: &str, out: &mut String) {
    let chars: Vec<char> = s.chars().collect();
    let t = table();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // ASCII fast path: the table maps A–Z to themselves and a–z to upper case, and lists no other
        // ASCII character (checked by a test), so those are removed.
        if c.is_ascii() {
            if c.is_ascii_alphabetic() {
                out.push(c.to_ascii_uppercase());
            }
            i += 1;
            continue;
        }
        let mut matched = false;
        if let Some(cands) = t.get(&c) {
            for (seq, form) in cands {
                if chars[i..].starts_with(seq) {
                    out.push_str(form);
                    i += seq.len();
                    matched = true;
                    break;
                }
            }
        }
        if !matched {
            i += 1;
        }
    }
}

/// The search form of a whole value (all parts joined, since spaces are removed too).
pub fn search_form(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_search_form(s, &mut out);
    out
}

/// Separate at spaces (any white space), then normalise each part; parts that become empty are dropped.
pub fn parts(s: &str) -> Vec<String> {
    s.split_whitespace()
        .map(search_form)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Street names: the search form, then the suffix mapping of Nr. 4e / 6h at the end of the string only
/// (`STRASSE`|`STR` → `STRASSE`, `PLATZ`|`PL` → `PLATZ`, `WEG`|`WEGLE` → `WEG`, `GASSE`|`GAESSLE` → `GASSE`).
pub fn street_form(s: &str) -> String {
    map_street_suffix(search_form(s))
}

/// The suffix mapping alone, on an already normalised value.
pub fn map_street_suffix(mut n: String) -> String {
    const MAP: [(&str, &str); 8] = [
        ("STRASSE", "STRASSE"),
        ("STR", "STRASSE"),
        ("PLATZ", "PLATZ"),
        ("PL", "PLATZ"),
        ("WEGLE", "WEG"),
        ("WEG", "WEG"),
        ("GAESSLE", "GASSE"),
        ("GASSE", "GASSE"),
    ];
    for (suffix, canonical) in MAP {
        if n.ends_with(suffix) {
            n.truncate(n.len() - suffix.len());
            n.push_str(canonical);
            return n;
        }
    }
    n
}

/// Wildcard characters of the freie Suche (Anlage Nr. 7).
pub fn is_wildcard(c: char) -> bool {
    c == '?' || c == '*'
}

pub fn has_wildcard(s: &str) -> bool {
    s.chars().any(is_wildcard)
}

/// Normalise a name part that may contain wildcards: the literal pieces between wildcards get their search
/// form, the wildcards stay (Nr. 7: wildcards apply to the normalised value).
pub fn pattern_form(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut piece = String::new();
    for c in s.chars() {
        if is_wildcard(c) {
            push_search_form(&piece, &mut out);
            piece.clear();
            out.push(c);
        } else {
            piece.push(c);
        }
    }
    push_search_form(&piece, &mut out);
    out
}

/// Whether a normalised value matches a normalised pattern (`?` exactly one character, `*` any number).
/// Iterative with backtracking to the last `*`: linear memory, O(n·m) worst case.
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The literal prefix of a normalised pattern (up to the first wildcard).
pub fn literal_prefix(pattern: &str) -> &str {
    match pattern.find(is_wildcard) {
        Some(i) => &pattern[..i],
        None => pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anlage_examples() {
        // Nr. 4a: stored `Sœrensen` matches `Sörensen`, `Soerensen`, `Sœrensen`, but not `Sorensen`.
        let stored = search_form("Sœrensen");
        assert_eq!(stored, "SOERENSEN");
        for q in ["Sörensen", "Soerensen", "Sœrensen"] {
            assert_eq!(search_form(q), stored, "{q}");
        }
        assert_ne!(search_form("Sorensen"), stored);
        assert_eq!(search_form("Karl-Heinz"), search_form("Karlheinz"));
        assert_eq!(search_form("Karl-Heinz"), "KARLHEINZ");
        assert_eq!(search_form("Straße"), "STRASSE");
        assert_eq!(search_form("ẞ"), "SS");
        assert_eq!(
            search_form("Þór Ægir Øster Åsa Ĳssel"),
            "THORAEGIROESTERAASAIJSSEL"
        );
        assert_eq!(search_form("O'Neill, Dr. 3."), "ONEILLDR");
        assert_eq!(search_form("- . 12"), "");
    }

    #[test]
    fn longest_match_on_combining_sequences() {
        // C + ogonek + breve is one listed sequence → C; K + double macron below + h → KH.
        assert_eq!(search_form("C\u{328}\u{306}a"), "CA");
        assert_eq!(search_form("K\u{35F}h"), "KH");
        // A stray combining mark after a letter is not listed as a sequence: it is removed.
        assert_eq!(search_form("A\u{308}"), "A");
        assert_eq!(
            search_form("Dvořák Łukasz Yılmaz Çelik"),
            "DVORAKLUKASZYILMAZCELIK"
        );
    }

    #[test]
    fn parts_split_at_spaces_not_hyphens() {
        assert_eq!(
            parts("Graf  von Neuenwalde"),
            vec!["GRAF", "VON", "NEUENWALDE"]
        );
        assert_eq!(parts("Hans-Georg Arthur"), vec!["HANSGEORG", "ARTHUR"]);
        assert_eq!(parts(" - Anna"), vec!["ANNA"]);
    }

    #[test]
    fn street_suffixes_only_at_the_end() {
        assert_eq!(street_form("Lange Str."), street_form("Lange Straße"));
        assert_ne!(
            street_form("Pl. d. Republik"),
            street_form("Platz d. Republik")
        );
        assert_eq!(street_form("Markt-Pl."), street_form("Marktplatz"));
        assert_eq!(street_form("Kirchwegle"), street_form("Kirchweg"));
        assert_eq!(street_form("Schulgässle"), street_form("Schulgasse"));
        assert_eq!(street_form("Strandallee"), "STRANDALLEE");
    }

    #[test]
    fn wildcards() {
        let m = |p: &str, v: &str| wildcard_match(&pattern_form(p), &search_form(v));
        assert!(m("Me?er", "Meyer") && m("Me?er", "Meier") && !m("Me?er", "Meer"));
        assert!(m("Me*er", "Meyer") && m("Me*er", "Meier") && m("Me*er", "Meer"));
        assert!(!m("Meier?Müller", "Meier-Müller") && !m("Meier?Müller", "Meiermüller"));
        // ß → SS and œ → OE: a `?` never stands for such a letter.
        assert!(!m("S?rensen", "Sœrensen") && m("So?rensen", "Sœrensen"));
        assert!(m("M*", "Müller") && m("Mü*r", "Müller") && !m("Mü*x", "Müller"));
        assert_eq!(literal_prefix("MUE*R?"), "MUE");
    }

    #[test]
    fn ascii_fast_path_agrees_with_the_table() {
        for b in 0u8..128 {
            let c = b as char;
            let listed = SEARCH_FORM
                .iter()
                .find(|(s, _)| s.len() == 1 && s[0] == c)
                .map(|(_, f)| f.to_string())
                .unwrap_or_default();
            let mut fast = String::new();
            push_search_form(&c.to_string(), &mut fast);
            assert_eq!(fast, listed, "{c:?}");
        }
    }

    #[test]
    fn table_matches_reference() {
        let Some(text) = test_support::shared::read_to_string(
            "reference/xmeld/din91379/latin_list_search_form_1.3.txt",
        ) else {
            return;
        };
        let mut n = 0;
        for line in text.lines() {
            let f: Vec<&str> = line.split(';').map(str::trim).collect();
            if f.len() < 9 || f[0] != "bll" {
                continue;
            }
            let seq: Vec<char> = f[2]
                .split_whitespace()
                .map(|h| char::from_u32(u32::from_str_radix(h, 16).unwrap()).unwrap())
                .collect();
            let form: String = f[5]
                .split_whitespace()
                .map(|h| char::from_u32(u32::from_str_radix(h, 16).unwrap()).unwrap())
                .collect();
            assert!(
                SEARCH_FORM
                    .iter()
                    .any(|(s, t)| *s == &seq[..] && *t == form),
                "{line}"
            );
            assert_eq!(search_form(&seq.iter().collect::<String>()), form, "{line}");
            n += 1;
        }
        assert_eq!(n, SEARCH_FORM.len());
    }
}
