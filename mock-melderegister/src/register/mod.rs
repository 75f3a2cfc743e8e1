//! The synthetic register: residents ([`model`]), the municipalities they live in ([`gemeinden`]), the
//! generator ([`generate`]), the fixed example persons ([`beispiele`]) and [`Register`], which keeps the
//! residents with their search index.

pub mod beispiele;
pub mod gemeinden;
pub mod generate;
pub mod model;

use crate::search::index::{Index, NormCache};
use crate::search::{FreieSuche, Personensuche, Rejection, engine};
use model::Einwohner;

/// Residents plus index. Residents are only ever added (scenarios and the admin API add; nothing deletes),
/// so a resident's number stays valid.
#[derive(Default)]
pub struct Register {
    einwohner: Vec<Einwohner>,
    index: Index,
    cache: NormCache,
}

impl Register {
    /// The example persons, the cap cluster and `n` generated residents for `seed`.
    pub fn synthetic(seed: u64, n: usize) -> Register {
        let mut r = Register::default();
        r.add_all(beispiele::anlage());
        r.add_all(beispiele::cap_cluster());
        let mut rng = generate::Rng::new(seed);
        r.einwohner.reserve(n);
        for i in 0..n as u64 {
            let e = generate::einwohner(&mut rng, i);
            r.index.add(&e, &mut r.cache);
            r.einwohner.push(e);
        }
        r.index.finish();
        r
    }

    pub fn add_all(&mut self, v: impl IntoIterator<Item = Einwohner>) {
        for e in v {
            self.index.add(&e, &mut self.cache);
            self.einwohner.push(e);
        }
        self.index.finish();
    }

    pub fn len(&self) -> usize {
        self.einwohner.len()
    }
    pub fn is_empty(&self) -> bool {
        self.einwohner.is_empty()
    }
    pub fn get(&self, id: u32) -> Option<&Einwohner> {
        self.einwohner.get(id as usize)
    }
    pub fn by_ordnungsmerkmal(&self, om: &str) -> Option<u32> {
        self.einwohner
            .iter()
            .position(|e| e.ordnungsmerkmal == om)
            .map(|i| i as u32)
    }
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Matching residents (at most `CAP + 1`), or the rejection the search rules demand.
    pub fn personensuche(&self, q: &Personensuche) -> Result<Vec<u32>, Rejection> {
        engine::personensuche(&self.einwohner, &self.index, q)
    }
    pub fn freie_suche(&self, q: &FreieSuche) -> Vec<u32> {
        engine::freie_suche(&self.einwohner, &self.index, q)
    }
}
