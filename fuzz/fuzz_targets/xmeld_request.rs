//! Fuzz the Melderegister's XMeld reader and the answering path: `cargo +nightly fuzz run xmeld_request`.
//! Seeds: the example requests in `../shared/reference/xmeld/examples/` (copy them into
//! `fuzz/corpus/xmeld_request/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mock_melderegister::fuzzing::xmeld_request(data);
});
