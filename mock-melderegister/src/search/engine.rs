//! The matching rules of the BMeldDAV Anlage, applied to the index: candidates come from the most selective
//! posting list, every candidate is then checked against **all** selection data (Anlage Nr. 4 / 6: all data
//! must be used). The search stops after `CAP + 1` hits: more than 1,000 is a rejection, never a truncated
//! list (§ 1(4)).

use super::index::{Herkunft, Index, NameFeld, NormEinwohner, Sym};
use super::normal::{has_wildcard, parts, pattern_form, search_form, street_form, wildcard_match};
use super::phonetik;
use super::query::{
    Aktualitaet, FreieSuche, Geburt, Hausnummer, HausnummerAuswahl, PersonName, Personensuche,
};
use super::rules::Rejection;
use crate::codes::Grund;
use crate::register::model::{Einwohner, TeilDatum, Wohnung};

/// The result cap of § 1(4) BMeldDAV: exactly 1,000, never less.
pub const CAP: usize = 1000;

/// One normalised query term: literal, wildcard pattern, or phonetic code.
#[derive(Clone, Debug)]
enum Term {
    Literal(String),
    Pattern(String),
    Phon(String),
}

impl Term {
    fn of_part(raw: &str, phonetik: bool) -> Term {
        if has_wildcard(raw) {
            Term::Pattern(pattern_form(raw))
        } else if phonetik {
            Term::Phon(phonetik::code(&search_form(raw)))
        } else {
            Term::Literal(search_form(raw))
        }
    }
    fn parts(raw: &str, phonetik: bool) -> Vec<Term> {
        raw.split_whitespace()
            .map(|p| Term::of_part(p, phonetik))
            .filter(|t| match t {
                Term::Literal(s) | Term::Pattern(s) => !s.is_empty(),
                Term::Phon(_) => true,
            })
            .collect()
    }
    /// Whether a stored (part, code) pair matches.
    fn hits(&self, idx: &Index, part: Sym, code: Sym) -> bool {
        match self {
            Term::Literal(s) => idx.strings.resolve(part) == s,
            Term::Pattern(p) => wildcard_match(p, idx.strings.resolve(part)),
            Term::Phon(c) => idx.strings.resolve(code) == c,
        }
    }
    fn postings(&self, idx: &Index, vornamen: bool) -> Vec<u32> {
        match (self, vornamen) {
            (Term::Literal(s), false) => idx.by_name_part(s, false).to_vec(),
            (Term::Phon(c), false) => idx.by_name_part(c, true).to_vec(),
            (Term::Literal(s), true) => idx.by_vorname(s, false).to_vec(),
            (Term::Phon(c), true) => idx.by_vorname(c, true).to_vec(),
            (Term::Pattern(p), v) => idx.by_pattern(p, v),
        }
    }
}

fn eq_norm(a: &str, b: &str) -> bool {
    search_form(a) == search_form(b)
}

/// Vornamen rule (Nr. 4c / 6c): every given Vorname is in the stored set, order irrelevant; `+` matches
/// only the marker "Name zu Recht nicht vorhanden".
fn vornamen_match(idx: &Index, n: &NormEinwohner, raw: &str, terms: &[Term]) -> bool {
    if raw.trim() == "+" {
        return n.ohne_vornamen;
    }
    terms
        .iter()
        .all(|t| n.vornamen.iter().any(|(p, c)| t.hits(idx, *p, *c)))
}

/// House number fields: every given field equal, absent fields are wildcards (Nr. 4g / 6i).
fn hausnummer_match(q: &Hausnummer, w: &Wohnung) -> bool {
    // 1208/1209 hold letters and digits (`a`, `1/2`): compared without spaces, case-insensitively.
    let canon = |v: &str| -> String {
        v.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_uppercase)
            .collect()
    };
    let eq = |a: &Option<String>, b: &Option<String>| match a {
        None => true,
        Some(a) => b.as_deref().is_some_and(|b| canon(a) == canon(b)),
    };
    q.nummer.is_none_or(|n| w.hausnummer == Some(n))
        && eq(&q.zusatz, &w.zusatz)
        && eq(&q.teilnummer, &w.teilnummer)
}

fn geburt_match(e: &Einwohner, d: &TeilDatum) -> bool {
    e.geburtsdatum == *d || e.fruehere_geburtsdaten.contains(d)
}

/// Birth period (Nr. 6f): full dates in range; `YYYY-MM-00` if the 1st of the month is in range,
/// `YYYY-00-00` if 1 January is; a completely unknown date never.
fn im_zeitraum(d: &TeilDatum, von: &TeilDatum, bis: &TeilDatum) -> bool {
    if d.jahr == 0 {
        return false;
    }
    let probe = TeilDatum::new(d.jahr, d.monat.max(1), d.tag.max(1)).ordinal();
    von.ordinal() <= probe && probe <= bis.ordinal()
}

/// Personensuche (§ 4): exact Familienname (or phonetic code over the whole name), Vornamen set, one AGS
/// and every other given datum.
pub fn personensuche(
    reg: &[Einwohner],
    idx: &Index,
    q: &Personensuche,
) -> Result<Vec<u32>, Rejection> {
    if let Some(s) = &q.strasse
        && !idx.has_street(&q.ags, &street_form(s))
    {
        return Err(Rejection::new(
                Grund::StrasseNichtGefunden,
                "melderegister.personensuche.strasse-unbekannt",
                format!(
                    "Die Straße `{s}` ist im Melderegister der Gemeinde {} nicht bekannt (BMeldDAV Anlage Nr. 4e)",
                    q.ags
                ),
            )
            .at("/suchprofil/auswahldaten/anschrift/strasse"));
    }
    let (whole, ordens, vn_raw) = match &q.name {
        PersonName::NachnameUndVornamen { nachname, vornamen } => {
            (search_form(nachname), false, vornamen.as_str())
        }
        PersonName::OrdensOderKuenstlername(n) => (search_form(n), true, ""),
    };
    let key = if q.phonetik {
        phonetik::code(&whole)
    } else {
        whole.clone()
    };
    let candidates = if q.phonetik {
        idx.by_name_phon(&key)
    } else {
        idx.by_name_whole(&key)
    };
    let vn_terms = Term::parts(vn_raw, q.phonetik);
    let street = q.strasse.as_deref().map(street_form);
    let mut out = Vec::new();
    for &id in candidates {
        let (Some(e), Some(n)) = (reg.get(id as usize), idx.norm.get(id as usize)) else {
            continue;
        };
        // § 6 / § 8 BMeldDAV: persons with an Auskunftssperre never appear; a unique hit with one is
        // answered neutrally (03), exactly as "not found".
        if e.auskunftssperre {
            continue;
        }
        let name_ok = n.namen.iter().any(|f: &NameFeld| {
            (!ordens || f.herkunft == Herkunft::OrdensOderKuenstlername)
                && if q.phonetik {
                    idx.strings.resolve(f.phon) == key
                } else {
                    f.whole == idx.strings.get(&key).unwrap_or(Sym::MAX)
                }
        });
        if !name_ok || (!ordens && !vornamen_match(idx, n, vn_raw, &vn_terms)) {
            continue;
        }
        let addr_ok = e.wohnungen.iter().zip(n.strassen.iter()).any(|(w, s)| {
            w.ags == q.ags
                && q.plz.as_deref().is_none_or(|p| p.trim() == w.plz)
                && street
                    .as_deref()
                    .is_none_or(|st| idx.strings.resolve(*s) == st)
                && hausnummer_match(&q.hausnummer, w)
        });
        let rest_ok = addr_ok
            && q.geburtsdatum.is_none_or(|d| geburt_match(e, &d))
            && q.geburtsort
                .as_deref()
                .is_none_or(|o| eq_norm(o, &e.geburtsort))
            && q.geschlecht
                .as_deref()
                .is_none_or(|g| g.trim().eq_ignore_ascii_case(&e.geschlecht))
            && q.sterbetag.is_none_or(|d| e.sterbedatum == Some(d))
            && q.sterbeort
                .as_deref()
                .is_none_or(|o| e.sterbeort.as_deref().is_some_and(|s| eq_norm(o, s)))
            && q.azr_nummer.is_none();
        if rest_ok {
            out.push(id);
            if out.len() > CAP {
                break;
            }
        }
    }
    Ok(out)
}

fn aktualitaet_ok(a: Option<Aktualitaet>, aktuell: bool) -> bool {
    match a.unwrap_or_default() {
        Aktualitaet::Beide => true,
        Aktualitaet::Aktuell => aktuell,
        Aktualitaet::Inaktuell => !aktuell,
    }
}

/// Name part-set rule (Nr. 6b): all given parts within the parts of one stored field.
fn name_parts_match(idx: &Index, n: &NormEinwohner, terms: &[Term], ordens: bool) -> bool {
    n.namen.iter().any(|f| {
        (!ordens || f.herkunft == Herkunft::OrdensOderKuenstlername)
            && terms
                .iter()
                .all(|t| f.parts.iter().any(|(p, c)| t.hits(idx, *p, *c)))
    })
}

/// The candidate list: the smallest posting list of any name term, else the residents of the area.
fn candidates(idx: &Index, q: &FreieSuche, nn: &[Term], on: &[Term], vn: &[Term]) -> Vec<u32> {
    let mut best: Option<Vec<u32>> = None;
    for (terms, vornamen) in [(nn, false), (on, false), (vn, true)] {
        for t in terms {
            let p = t.postings(idx, vornamen);
            if best.as_ref().is_none_or(|b| p.len() < b.len()) {
                best = Some(p);
            }
        }
    }
    if let Some(b) = best {
        return b;
    }
    let area = q.ags.as_deref().unwrap_or(q.suchbereich.key());
    if let Some(v) = idx.by_ags.get(area) {
        return v.clone();
    }
    let mut all: Vec<u32> = idx
        .by_ags
        .iter()
        .filter(|(ags, _)| ags.starts_with(area))
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Freie Suche (§ 7): part-set names, Vornamen set, wildcards, phonetics, address with house number or
/// range, birth date or period, and the search area.
pub fn freie_suche(reg: &[Einwohner], idx: &Index, q: &FreieSuche) -> Vec<u32> {
    let nn = q
        .nachname
        .as_deref()
        .map(|n| Term::parts(n, q.phonetik))
        .unwrap_or_default();
    let on = q
        .ordens_oder_kuenstlername
        .as_deref()
        .map(|n| Term::parts(n, q.phonetik))
        .unwrap_or_default();
    let vn = q
        .vornamen
        .as_deref()
        .map(|n| Term::parts(n, q.phonetik))
        .unwrap_or_default();
    let street = q.strasse.as_deref().map(|s| {
        if has_wildcard(s) {
            Term::Pattern(crate::search::normal::map_street_suffix(pattern_form(s)))
        } else {
            Term::Literal(street_form(s))
        }
    });
    let mut out = Vec::new();
    for id in candidates(idx, q, &nn, &on, &vn) {
        let (Some(e), Some(n)) = (reg.get(id as usize), idx.norm.get(id as usize)) else {
            continue;
        };
        if e.auskunftssperre {
            continue;
        }
        if (!nn.is_empty() && !name_parts_match(idx, n, &nn, false))
            || (!on.is_empty() && !name_parts_match(idx, n, &on, true))
            || (q.vornamen.is_some()
                && !vornamen_match(idx, n, q.vornamen.as_deref().unwrap_or(""), &vn))
        {
            continue;
        }
        let person_aktuell = !e.verstorben() && !e.verzogen();
        if !aktualitaet_ok(q.aktualitaet_person, person_aktuell) {
            continue;
        }
        let addr_ok = e.wohnungen.iter().zip(n.strassen.iter()).any(|(w, s)| {
            q.suchbereich.contains(&w.ags)
                && aktualitaet_ok(q.aktualitaet_anschrift, w.aktuell)
                && q.ags.as_deref().is_none_or(|a| a.trim() == w.ags)
                && q.plz.as_deref().is_none_or(|p| p.trim() == w.plz)
                && q.wohnort.as_deref().is_none_or(|o| eq_norm(o, &w.ort))
                && street.as_ref().is_none_or(|t| match t {
                    Term::Literal(l) => idx.strings.resolve(*s) == l,
                    Term::Pattern(p) => wildcard_match(p, idx.strings.resolve(*s)),
                    Term::Phon(_) => false,
                })
                && match &q.hausnummer {
                    None => true,
                    Some(HausnummerAuswahl::Einzeln(h)) => hausnummer_match(h, w),
                    Some(HausnummerAuswahl::Bereich { von, bis }) => {
                        w.hausnummer.is_some_and(|h| *von <= h && h <= *bis)
                    }
                }
        });
        let geburt_ok = match &q.geburt {
            None => true,
            Some(Geburt::Datum(d)) => geburt_match(e, d),
            Some(Geburt::Zeitraum { von, bis }) => std::iter::once(&e.geburtsdatum)
                .chain(e.fruehere_geburtsdaten.iter())
                .any(|d| im_zeitraum(d, von, bis)),
        };
        let ok = addr_ok
            && geburt_ok
            && q.doktorgrad
                .as_deref()
                .is_none_or(|d| e.doktorgrad.as_deref().is_some_and(|x| eq_norm(d, x)))
            && q.geburtsort
                .as_deref()
                .is_none_or(|o| eq_norm(o, &e.geburtsort))
            && q.geschlecht
                .as_deref()
                .is_none_or(|g| g.trim().eq_ignore_ascii_case(&e.geschlecht))
            && q.staatsangehoerigkeit
                .as_deref()
                .is_none_or(|s| s.trim() == e.staatsangehoerigkeit)
            && q.sterbetag.is_none_or(|d| e.sterbedatum == Some(d))
            && q.sterbeort
                .as_deref()
                .is_none_or(|o| e.sterbeort.as_deref().is_some_and(|s| eq_norm(o, s)));
        if ok {
            out.push(id);
            if out.len() > CAP {
                break;
            }
        }
    }
    out
}

/// Parts of a raw name as the index stores them (for tests and the admin API).
pub fn name_parts(raw: &str) -> Vec<String> {
    parts(raw)
}
