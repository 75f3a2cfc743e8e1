#![no_main]
//! The OSCI request envelope: XML reader, request model, signature check, profile, canonical form.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mock_osci::fuzz_envelope(data);
});
