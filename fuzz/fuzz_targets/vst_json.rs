//! Fuzz the VST's strict JSON parser and the request model on arbitrary bytes: no panic, no hang, and
//! every error carries a rule and a JSON pointer that starts with `/` (or is empty for the document).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mock_vst::json::{Limits, parse};

fuzz_target!(|data: &[u8]| {
    match parse(data, Limits::default()) {
        Ok(v) => {
            // Feed the parsed value through both request models.
            let _ = mock_vst::model::vitalstatus_bundle(v.clone());
            if let Err(e) = mock_vst::model::insurance_update_bundle(v) {
                assert!(e.pointer.is_empty() || e.pointer.starts_with('/'));
            }
        }
        Err(e) => {
            assert!(e.rule.starts_with("json."));
            assert!(e.pointer.is_empty() || e.pointer.starts_with('/'));
            assert!(e.offset <= data.len());
        }
    }
});
