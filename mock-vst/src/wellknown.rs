//! The `.well-known` key document ("Downloadpunkt für den Abruf von Schlüsselmaterial der
//! Vertrauensstelle"): a compact JWS whose payload lists the VST's and the Registerstelle's encryption keys
//! and the VST's response-signing key as JWKs. No I/O, no clock: the issue time is a parameter.

use ti_core::b64_encode;
use ti_core::jws;
use ti_core::pki::TestPki;

/// The token, issued at `iat` (seconds since the Unix epoch), valid for `validity_secs`.
pub fn build(pki: &TestPki, iat: u64, validity_secs: u64) -> String {
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), "JWT".into());
    header.insert(
        "x5c".into(),
        serde_json::json!([b64_encode(&pki.vst_sig.cert_der)]),
    );
    let payload = serde_json::json!({
        "iss": "konform mock-vst (Vertrauensstelle IRD, TEST-ONLY)",
        "iat": iat,
        "exp": iat.saturating_add(validity_secs),
        "keys": [
            jws::jwk(&pki.vst_enc.public_key(), "vst-enc", "enc"),
            jws::jwk(&pki.registerstelle_enc.public_key(), "registerstelle-enc", "enc"),
            jws::jwk(&pki.vst_sig.public_key(), "vst-sig", "sig"),
        ],
    });
    let payload = serde_json::to_vec(&payload).unwrap_or_default();
    jws::sign_compact(header, &payload, &pki.vst_sig.key)
}
