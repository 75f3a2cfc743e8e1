//! The register's search index. Every distinct normalised string (name, name part, phonetic code, street)
//! is interned once as a [`Sym`]; each resident keeps only symbols ([`NormEinwohner`]), and posting lists map
//! symbols to resident numbers. Wildcard patterns scan the sorted distinct parts from their literal prefix
//! (a wildcard is never the first character), so they never touch residents that cannot match.

use super::normal::{parts, search_form, street_form};
use super::phonetik;
use crate::register::model::Einwohner;
use std::collections::HashMap;

pub type Sym = u32;

/// Distinct strings, each stored once.
#[derive(Default)]
pub struct Interner {
    map: HashMap<Box<str>, Sym>,
    strings: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.strings.len() as Sym;
        self.strings.push(s.into());
        self.map.insert(s.into(), id);
        id
    }
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.map.get(s).copied()
    }
    pub fn resolve(&self, id: Sym) -> &str {
        self.strings.get(id as usize).map(|s| &**s).unwrap_or("")
    }
    pub fn len(&self) -> usize {
        self.strings.len()
    }
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
    fn bytes(&self) -> usize {
        // Each string is held twice (map key and vector); plus map slot overhead.
        self.strings.iter().map(|s| 2 * s.len() + 48).sum()
    }
}

/// Which DSMeld field a family-name-like entry comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Herkunft {
    /// 0101a, 0201a, 0203a: current, birth and earlier family names.
    Familienname,
    /// 0501 / 0502.
    OrdensOderKuenstlername,
}

/// One normalised name field: whole value, its phonetic code, and its separated parts with their codes.
#[derive(Clone, Debug)]
pub struct NameFeld {
    pub herkunft: Herkunft,
    pub whole: Sym,
    pub phon: Sym,
    pub parts: Box<[(Sym, Sym)]>,
}

/// What the matcher needs of a resident, as symbols.
#[derive(Clone, Debug)]
pub struct NormEinwohner {
    pub namen: Box<[NameFeld]>,
    /// Vornamen set (0301 current and former, 0501, 0502): (part, phonetic code).
    pub vornamen: Box<[(Sym, Sym)]>,
    /// "Name zu Recht nicht vorhanden" (`+`).
    pub ohne_vornamen: bool,
    /// Street form per Wohnung, in the order of `Einwohner::wohnungen`.
    pub strassen: Box<[Sym]>,
}

#[derive(Default)]
struct Postings(HashMap<Sym, Vec<u32>>);

impl Postings {
    fn add(&mut self, key: Sym, id: u32) {
        let v = self.0.entry(key).or_default();
        if v.last() != Some(&id) {
            v.push(id);
        }
    }
    fn get(&self, key: Sym) -> &[u32] {
        self.0.get(&key).map(|v| &v[..]).unwrap_or(&[])
    }
    fn bytes(&self) -> usize {
        self.0.values().map(|v| v.capacity() * 4 + 24 + 16).sum()
    }
}

/// The index over all residents.
#[derive(Default)]
pub struct Index {
    pub strings: Interner,
    pub norm: Vec<NormEinwohner>,
    name_whole: Postings,
    name_phon: Postings,
    name_part: Postings,
    name_part_phon: Postings,
    vorname: Postings,
    vorname_phon: Postings,
    /// Residents with any address (current or former) in a Gemeinde, by AGS.
    pub by_ags: HashMap<Box<str>, Vec<u32>>,
    /// Street forms known per Gemeinde (for reason 02 "street not found").
    strassen_by_ags: HashMap<Box<str>, std::collections::HashSet<Sym>>,
    /// Sorted distinct family-name parts and Vornamen (for wildcard prefix scans); rebuilt lazily.
    sorted_name_parts: Vec<(Box<str>, Sym)>,
    sorted_vornamen: Vec<(Box<str>, Sym)>,
    sorted_dirty: bool,
}

/// Whole form, its code, and its parts with their codes.
type CachedName = (Sym, Sym, Box<[(Sym, Sym)]>);

/// Normalisation results cached per distinct raw string while indexing (the generator repeats names).
#[derive(Default)]
pub struct NormCache {
    names: HashMap<String, CachedName>,
    streets: HashMap<String, Sym>,
}

impl Index {
    fn name_feld(
        &mut self,
        cache: &mut NormCache,
        raw: &str,
        herkunft: Herkunft,
    ) -> Option<NameFeld> {
        if let Some((whole, phon, parts)) = cache.names.get(raw) {
            return Some(NameFeld {
                herkunft,
                whole: *whole,
                phon: *phon,
                parts: parts.clone(),
            });
        }
        let n = search_form(raw);
        if n.is_empty() {
            return None;
        }
        let whole = self.strings.intern(&n);
        let phon = self.strings.intern(&phonetik::code(&n));
        let ps: Box<[(Sym, Sym)]> = parts(raw)
            .iter()
            .map(|p| {
                (
                    self.strings.intern(p),
                    self.strings.intern(&phonetik::code(p)),
                )
            })
            .collect();
        cache
            .names
            .insert(raw.to_string(), (whole, phon, ps.clone()));
        Some(NameFeld {
            herkunft,
            whole,
            phon,
            parts: ps,
        })
    }

    /// Add a resident; its number is its position in the register.
    pub fn add(&mut self, e: &Einwohner, cache: &mut NormCache) -> u32 {
        let id = self.norm.len() as u32;
        let mut namen = Vec::new();
        let fam = std::iter::once(&e.familienname).chain(e.fruehere_namen.iter());
        for raw in fam {
            namen.extend(self.name_feld(cache, raw, Herkunft::Familienname));
        }
        for raw in e.ordensname.iter().chain(e.kuenstlername.iter()) {
            namen.extend(self.name_feld(cache, raw, Herkunft::OrdensOderKuenstlername));
        }
        let mut vornamen: Vec<(Sym, Sym)> = Vec::new();
        let vn_sources = std::iter::once(&e.vornamen)
            .chain(e.fruehere_vornamen.iter())
            .chain(e.ordensname.iter())
            .chain(e.kuenstlername.iter());
        for raw in vn_sources {
            if let Some(f) = self.name_feld(cache, raw, Herkunft::Familienname) {
                for p in &f.parts {
                    if !vornamen.contains(p) {
                        vornamen.push(*p);
                    }
                }
            }
        }
        let strassen: Box<[Sym]> = e
            .wohnungen
            .iter()
            .map(|w| match cache.streets.get(&w.strasse) {
                Some(s) => *s,
                None => {
                    let s = self.strings.intern(&street_form(&w.strasse));
                    cache.streets.insert(w.strasse.clone(), s);
                    s
                }
            })
            .collect();
        for f in &namen {
            self.name_whole.add(f.whole, id);
            self.name_phon.add(f.phon, id);
            for (p, c) in &f.parts {
                self.name_part.add(*p, id);
                self.name_part_phon.add(*c, id);
            }
        }
        for (p, c) in &vornamen {
            self.vorname.add(*p, id);
            self.vorname_phon.add(*c, id);
        }
        for (w, s) in e.wohnungen.iter().zip(strassen.iter()) {
            self.strassen_by_ags
                .entry(w.ags.as_str().into())
                .or_default()
                .insert(*s);
            let v = self.by_ags.entry(w.ags.as_str().into()).or_default();
            if v.last() != Some(&id) {
                v.push(id);
            }
        }
        self.norm.push(NormEinwohner {
            namen: namen.into(),
            vornamen: vornamen.into(),
            ohne_vornamen: e.vornamen.trim() == "+",
            strassen,
        });
        self.sorted_dirty = true;
        id
    }

    /// Rebuild the sorted part lists after additions (call before searching).
    pub fn finish(&mut self) {
        if !self.sorted_dirty {
            return;
        }
        let sorted = |p: &Postings, s: &Interner| {
            let mut v: Vec<(Box<str>, Sym)> =
                p.0.keys().map(|&k| (s.resolve(k).into(), k)).collect();
            v.sort();
            v
        };
        self.sorted_name_parts = sorted(&self.name_part, &self.strings);
        self.sorted_vornamen = sorted(&self.vorname, &self.strings);
        self.sorted_dirty = false;
    }

    /// Whether the register knows a street (normalised street form) in a Gemeinde.
    pub fn has_street(&self, ags: &str, street_form: &str) -> bool {
        let Some(sym) = self.strings.get(street_form) else {
            return false;
        };
        self.strassen_by_ags
            .get(ags)
            .is_some_and(|s| s.contains(&sym))
    }

    pub fn by_name_whole(&self, normalised: &str) -> &[u32] {
        self.strings
            .get(normalised)
            .map(|s| self.name_whole.get(s))
            .unwrap_or(&[])
    }
    pub fn by_name_phon(&self, code: &str) -> &[u32] {
        self.strings
            .get(code)
            .map(|s| self.name_phon.get(s))
            .unwrap_or(&[])
    }
    pub fn by_name_part(&self, part: &str, phonetisch: bool) -> &[u32] {
        let p = if phonetisch {
            &self.name_part_phon
        } else {
            &self.name_part
        };
        self.strings.get(part).map(|s| p.get(s)).unwrap_or(&[])
    }
    pub fn by_vorname(&self, part: &str, phonetisch: bool) -> &[u32] {
        let p = if phonetisch {
            &self.vorname_phon
        } else {
            &self.vorname
        };
        self.strings.get(part).map(|s| p.get(s)).unwrap_or(&[])
    }

    /// Residents with a family-name part (or Vorname) matching a normalised wildcard pattern.
    pub fn by_pattern(&self, pattern: &str, vornamen: bool) -> Vec<u32> {
        let (sorted, post) = if vornamen {
            (&self.sorted_vornamen, &self.vorname)
        } else {
            (&self.sorted_name_parts, &self.name_part)
        };
        let prefix = super::normal::literal_prefix(pattern);
        let start = sorted.partition_point(|(s, _)| &**s < prefix);
        let mut out = Vec::new();
        for (s, sym) in &sorted[start..] {
            if !s.starts_with(prefix) {
                break;
            }
            if super::normal::wildcard_match(pattern, s) {
                out.extend_from_slice(post.get(*sym));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Approximate heap bytes of the index (postings, interned strings, per-resident symbols).
    pub fn approx_bytes(&self) -> usize {
        let norm: usize = self
            .norm
            .iter()
            .map(|n| {
                std::mem::size_of::<NormEinwohner>()
                    + n.namen
                        .iter()
                        .map(|f| std::mem::size_of::<NameFeld>() + f.parts.len() * 8 + 16)
                        .sum::<usize>()
                    + n.vornamen.len() * 8
                    + n.strassen.len() * 4
                    + 48
            })
            .sum();
        let ags: usize = self.by_ags.values().map(|v| v.capacity() * 4 + 64).sum();
        let sorted = (self.sorted_name_parts.len() + self.sorted_vornamen.len()) * 32;
        norm + ags
            + sorted
            + self.strings.bytes()
            + self.name_whole.bytes()
            + self.name_phon.bytes()
            + self.name_part.bytes()
            + self.name_part_phon.bytes()
            + self.vorname.bytes()
            + self.vorname_phon.bytes()
    }
}
