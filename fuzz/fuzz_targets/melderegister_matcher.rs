//! Fuzz the BMeldDAV matcher (DIN 91379 normalisation, wildcards, Kölner Phonetik, both searches):
//! `cargo +nightly fuzz run melderegister_matcher`. Input: `nachname|pattern|vornamen|strasse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mock_melderegister::fuzzing::matcher(data);
});
