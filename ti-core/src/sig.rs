//! ECDSA signature encodings: DER (`SEQUENCE { r INTEGER, s INTEGER }`, as ExternalAuthenticate and CMS
//! carry it) and raw `r || s` (64 bytes, as JWS carries it). Conversion is curve-independent.

use crate::Error;

/// Raw `r || s` (64 bytes) to DER.
pub fn raw_to_der(raw: &[u8]) -> Result<Vec<u8>, Error> {
    if raw.len() != 64 {
        return Err(Error::Input(format!(
            "raw ECDSA signature must be 64 bytes, got {}",
            raw.len()
        )));
    }
    let r = der_uint(&raw[..32]);
    let s = der_uint(&raw[32..]);
    let body_len = r.len() + s.len();
    let mut out = Vec::with_capacity(body_len + 3);
    out.push(0x30);
    push_len(&mut out, body_len);
    out.extend_from_slice(&r);
    out.extend_from_slice(&s);
    Ok(out)
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.push(0x81);
        out.push(len as u8);
    }
}

fn der_uint(v: &[u8]) -> Vec<u8> {
    let mut i = 0;
    while i < v.len() - 1 && v[i] == 0 {
        i += 1;
    }
    let v = &v[i..];
    let mut out = vec![0x02];
    let pad = v[0] & 0x80 != 0;
    out.push((v.len() + pad as usize) as u8);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(v);
    out
}

/// DER to raw `r || s` (64 bytes). Strict: no trailing bytes, minimal integers, values fit 32 bytes.
pub fn der_to_raw(der: &[u8]) -> Result<[u8; 64], Error> {
    let bad = |why: &str| Error::Input(format!("not a DER ECDSA signature: {why}"));
    let (tag, body, rest) = tlv(der).ok_or_else(|| bad("truncated"))?;
    if tag != 0x30 || !rest.is_empty() {
        return Err(bad("expected one SEQUENCE"));
    }
    let (t1, r, rest) = tlv(body).ok_or_else(|| bad("truncated r"))?;
    let (t2, s, rest) = tlv(rest).ok_or_else(|| bad("truncated s"))?;
    if t1 != 0x02 || t2 != 0x02 || !rest.is_empty() {
        return Err(bad("expected two INTEGERs"));
    }
    let mut out = [0u8; 64];
    for (i, v) in [r, s].into_iter().enumerate() {
        if v.is_empty() || v[0] & 0x80 != 0 {
            return Err(bad("negative or empty integer"));
        }
        let v = if v.len() > 1 && v[0] == 0 {
            if v[1] & 0x80 == 0 {
                return Err(bad("non-minimal integer"));
            }
            &v[1..]
        } else {
            v
        };
        if v.len() > 32 {
            return Err(bad("integer longer than 32 bytes"));
        }
        out[i * 32 + 32 - v.len()..(i + 1) * 32].copy_from_slice(v);
    }
    Ok(out)
}

fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let l0 = *b.get(1)? as usize;
    let (len, hdr) = if l0 < 0x80 {
        (l0, 2)
    } else if l0 == 0x81 {
        (*b.get(2)? as usize, 3)
    } else {
        return None;
    };
    let body = b.get(hdr..hdr + len)?;
    Some((tag, body, &b[hdr + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seed_external_authenticate_example_is_der() {
        // The seed's ExternalAuthenticate response value (a space in the seed's rendering removed).
        let sig = crate::b64_decode(
            "MEQCIBZU1+5f0iFAoX558/k+9HNPnCvDoKreSor+QSn4lsd6AiAhdgrjuMxNz9dlw1BjAIOsMSLzfsdJ/q/5PT5duYzG5g==",
        )
        .unwrap();
        let raw = der_to_raw(&sig).unwrap();
        assert_eq!(raw_to_der(&raw).unwrap(), sig);
    }

    proptest! {
        #[test]
        fn raw_der_roundtrip(raw in proptest::array::uniform32(any::<u8>()), raw2 in proptest::array::uniform32(any::<u8>())) {
            let mut r = [0u8; 64];
            r[..32].copy_from_slice(&raw);
            r[32..].copy_from_slice(&raw2);
            let der = raw_to_der(&r).unwrap();
            prop_assert_eq!(der_to_raw(&der).unwrap(), r);
        }

        #[test]
        fn der_decoder_never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = der_to_raw(&data);
        }
    }
}
