//! The search core, with no I/O: DIN 91379 normalisation ([`normal`]), Kölner Phonetik ([`phonetik`]),
//! the selection data ([`query`]), the pre-search checks ([`rules`]), the index ([`index`]) and the matching
//! rules of the BMeldDAV Anlage ([`engine`]).

mod din91379_table;
pub mod engine;
pub mod index;
pub mod normal;
pub mod phonetik;
pub mod query;
pub mod rules;

pub use engine::CAP;
pub use query::{FreieSuche, Personensuche};
pub use rules::Rejection;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod prop_tests;
