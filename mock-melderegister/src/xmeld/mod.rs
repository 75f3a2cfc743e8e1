//! XMeld 25.11a Datenabruf: reading 1330 / 1332 ([`parse`]), answering them ([`abruf`]) and writing
//! 1331 / 1333 ([`write`](mod@write)). No I/O: the clock, the answer's UUID and the Identifikationsmerkmale are the
//! caller's.

pub mod abruf;
pub mod parse;
mod parse_freie;
pub mod request;
pub mod tree;
pub mod write;

pub use abruf::{Ergebnis, Kontext, Merkmale, Treffer, bearbeiten};
pub use parse::{Anfrage, Suche, anfrage};
pub use tree::{SchemaError, XMELD};

/// Limits for XMeld messages inside `callApplicationByte` (the decoded message, not the envelope).
pub const LIMITS: sim_kit::xmltree::Limits = sim_kit::xmltree::Limits {
    max_depth: 40,
    max_elements: 20_000,
};

#[cfg(test)]
mod tests;
