#![no_main]
//! The OSCI MIME parser (headers in the body, parts by boundary) on arbitrary bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mock_osci::fuzz_mime(data);
});
