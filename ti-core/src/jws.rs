//! Compact JWS with ECDSA as the TI uses it: `alg` `BP256R1` for brainpoolP256r1 (gematik), `ES256` for
//! P-256; the signature is raw `r || s` (64 bytes, base64url); `x5c` carries standard-base64 DER
//! certificates. JWKs name the curve `BP-256` / `P-256`.

use crate::{Curve, EcPublicKey, EcSecretKey, Error, b64url_decode, b64url_encode};
use serde_json::{Map, Value, json};

/// Sign `payload` with `key`; `alg` is set from the key's curve, other header fields are taken from `header`.
pub fn sign_compact(header: Map<String, Value>, payload: &[u8], key: &EcSecretKey) -> String {
    let mut h = header;
    h.insert("alg".into(), Value::String(key.curve().jws_alg().into()));
    let header_json = serde_json::to_vec(&Value::Object(h)).expect("JSON object serialises");
    let signing_input = format!("{}.{}", b64url_encode(&header_json), b64url_encode(payload));
    let sig = key.sign_sha256_raw(signing_input.as_bytes());
    format!("{signing_input}.{}", b64url_encode(&sig))
}

/// A JWS whose signature verified.
#[derive(Clone, Debug)]
pub struct VerifiedJws {
    pub header: Map<String, Value>,
    pub payload: Vec<u8>,
    /// DER certificates from `x5c`, leaf first (empty if absent).
    pub x5c: Vec<Vec<u8>>,
}

/// The three parts of a compact JWS, decoded but not verified.
#[derive(Clone, Debug)]
pub struct DecodedJws {
    pub header: Map<String, Value>,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Split and decode without verifying.
pub fn decode_unverified(token: &str) -> Result<DecodedJws, Error> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    if parts.len() != 3 {
        return Err(Error::Input(format!(
            "compact JWS has {} parts, expected 3",
            parts.len()
        )));
    }
    let header_bytes = b64url_decode(parts[0])?;
    let header: Map<String, Value> = serde_json::from_slice(&header_bytes)
        .map_err(|e| Error::Input(format!("JWS header is not a JSON object: {e}")))?;
    Ok(DecodedJws {
        header,
        payload: b64url_decode(parts[1])?,
        signature: b64url_decode(parts[2])?,
    })
}

/// Verify a compact JWS. With `key` = `None` the key is taken from the first `x5c` certificate (the caller
/// must then check that certificate against its trust anchors).
pub fn verify_compact(token: &str, key: Option<&EcPublicKey>) -> Result<VerifiedJws, Error> {
    let token = token.trim();
    let DecodedJws {
        header,
        payload,
        signature: sig,
    } = decode_unverified(token)?;
    let mut x5c = Vec::new();
    if let Some(Value::Array(certs)) = header.get("x5c") {
        for c in certs {
            let s = c
                .as_str()
                .ok_or_else(|| Error::Input("x5c entries must be strings".into()))?;
            x5c.push(crate::b64_decode(s)?);
        }
    }
    let from_cert;
    let key = match key {
        Some(k) => k,
        None => {
            let leaf = x5c
                .first()
                .ok_or_else(|| Error::Input("JWS without x5c and no key given".into()))?;
            from_cert = crate::pki::public_key_of_cert_der(leaf)?;
            &from_cert
        }
    };
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != key.curve().jws_alg() {
        return Err(Error::BadSignature(format!(
            "JWS alg `{alg}` does not fit a {} key (expected `{}`)",
            key.curve().name(),
            key.curve().jws_alg()
        )));
    }
    if sig.len() != 64 {
        return Err(Error::BadSignature(format!(
            "JWS ECDSA signature must be raw r||s of 64 bytes, got {} (DER?)",
            sig.len()
        )));
    }
    let dot = token.rfind('.').expect("three parts checked");
    key.verify_sha256(&token.as_bytes()[..dot], &sig)?;
    Ok(VerifiedJws {
        header,
        payload,
        x5c,
    })
}

/// A public JWK (`kty` EC, `crv` BP-256 / P-256).
pub fn jwk(key: &EcPublicKey, kid: &str, use_: &str) -> Value {
    let (x, y) = key.xy();
    json!({
        "kty": "EC",
        "crv": key.curve().jwk_name(),
        "x": b64url_encode(&x),
        "y": b64url_encode(&y),
        "kid": kid,
        "use": use_,
    })
}

/// Read a public key from a JWK.
pub fn public_key_from_jwk(jwk: &Value) -> Result<EcPublicKey, Error> {
    let get = |k: &str| {
        jwk.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Input(format!("JWK lacks string member `{k}`")))
    };
    if get("kty")? != "EC" {
        return Err(Error::Input("JWK kty must be EC".into()));
    }
    let crv = get("crv")?;
    let curve = Curve::from_jwk_name(crv)
        .ok_or_else(|| Error::Input(format!("unsupported JWK crv `{crv}`")))?;
    EcPublicKey::from_xy(
        curve,
        &b64url_decode(get("x")?)?,
        &b64url_decode(get("y")?)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_both_curves() {
        for curve in [Curve::BrainpoolP256r1, Curve::P256] {
            let k = EcSecretKey::generate(curve);
            let mut h = Map::new();
            h.insert("typ".into(), "JWT".into());
            let t = sign_compact(h, br#"{"a":1}"#, &k);
            let v = verify_compact(&t, Some(&k.public_key())).unwrap();
            assert_eq!(v.payload, br#"{"a":1}"#);
            assert_eq!(v.header["alg"], curve.jws_alg());
            // Tamper with the payload.
            let parts: Vec<&str> = t.split('.').collect();
            let forged = format!("{}.{}.{}", parts[0], b64url_encode(br#"{"a":2}"#), parts[2]);
            assert!(verify_compact(&forged, Some(&k.public_key())).is_err());
            let j = jwk(&k.public_key(), "k1", "enc");
            assert_eq!(public_key_from_jwk(&j).unwrap(), k.public_key());
        }
    }

    proptest::proptest! {
        #[test]
        fn verify_never_panics(s in "\\PC{0,200}") {
            let k = EcSecretKey::from_scalar_bytes(Curve::P256, &[3u8; 32]).unwrap();
            let _ = verify_compact(&s, Some(&k.public_key()));
            let _ = verify_compact(&s, None);
        }
    }
}
