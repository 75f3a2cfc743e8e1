//! mock-melderegister — the Melderegisterdatenspiegel Niedersachsen's Applikationskopplung.
//!
//! Protocol cores with no I/O: [`search`] (DIN 91379 normalisation, Kölner Phonetik, the BMeldDAV matching
//! rules, the index), [`register`] (the synthetic register), [`codes`] (XMeld code lists). See
//! `docs/melderegister.md`.

pub mod codes;
pub mod register;
pub mod search;
pub mod xmeld;
