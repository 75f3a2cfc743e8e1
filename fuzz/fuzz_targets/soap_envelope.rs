//! Fuzz the Konnektor simulator's SOAP envelope parser and request validation:
//! `cargo +nightly fuzz run soap_envelope` (from the repository root). Seeds: the request templates in
//! `../shared/reference/konnektor/recorded/` (copy them into `fuzz/corpus/soap_envelope/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mock_konnektor::fuzz_soap_envelope(data);
});
