//! The fuzz targets' entry points on mutations of real requests (so `cargo test` exercises them too).

use proptest::prelude::*;

fn sample_inner() -> Vec<u8> {
    let mut c = crate::common::sender();
    c.opts.encrypt = false;
    c.get_message_id().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn mutated_requests_never_panic(pos in 0usize..4000, byte in any::<u8>(), cut in 0usize..4000) {
        let mut b = sample_inner();
        let p = pos % b.len();
        b[p] = byte;
        mock_osci::fuzz_mime(&b);
        let text = String::from_utf8_lossy(&b);
        if let Some(i) = text.find("<soap:Envelope") {
            let env = &b[i..];
            mock_osci::fuzz_envelope(env);
            mock_osci::fuzz_envelope(&env[..cut.min(env.len())]);
        }
    }
}

#[test]
fn the_unmutated_envelope_passes_every_check() {
    let b = sample_inner();
    let text = String::from_utf8_lossy(&b);
    let i = text.find("<soap:Envelope").unwrap();
    let j = text.find("</soap:Envelope>").unwrap() + "</soap:Envelope>".len();
    mock_osci::fuzz_envelope(&b[i..j]);
}
