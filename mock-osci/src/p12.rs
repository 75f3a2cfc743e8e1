//! Reading the PKCS#12 files of the library's samples (`zertifikate/*.p12`, PIN `123456`): the key in a
//! `pkcs8ShroudedKeyBag` (pbeWithSHAAnd3-KeyTripleDES-CBC) and the certificates (leaf and CA chain) in an
//! encrypted bag (pbeWithSHAAnd40BitRC2-CBC), with the PKCS#12 key derivation of RFC 7292 appendix B.
//! Only what those files use is supported; anything else is refused with the algorithm's OID.

use cbc::cipher::{BlockModeDecrypt, InnerIvInit, KeyIvInit, block_padding::Pkcs7};
use sha1::{Digest, Sha1};

#[derive(Debug, thiserror::Error)]
pub enum P12Error {
    #[error("PKCS#12 structure: {0}")]
    Asn1(&'static str),
    #[error("unsupported PKCS#12 encryption algorithm {0}")]
    Algorithm(String),
    #[error("PKCS#12 decryption failed (wrong PIN?)")]
    Decrypt,
}

/// The contents of a PKCS#12 file: the PKCS#8 private key (DER) and the certificates (DER), leaf first.
#[derive(Debug, Default)]
pub struct P12 {
    pub key_pkcs8: Option<Vec<u8>>,
    pub certs: Vec<Vec<u8>>,
}

const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const OID_ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
const OID_SHROUDED_KEY_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02,
];
const OID_KEY_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x01,
];
const OID_CERT_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x03,
];
const OID_PBE_3DES: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03];
const OID_PBE_RC2_40: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x06];

/// One TLV: tag byte and content.
fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), P12Error> {
    let bad = P12Error::Asn1("truncated or malformed DER");
    let (&tag, rest) = input.split_first().ok_or(P12Error::Asn1("empty"))?;
    let (&l0, mut rest) = rest.split_first().ok_or(P12Error::Asn1("no length"))?;
    let len = if l0 < 0x80 {
        l0 as usize
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad);
        }
        let mut l = 0usize;
        for &b in &rest[..n] {
            l = (l << 8) | b as usize;
        }
        rest = &rest[n..];
        l
    };
    if rest.len() < len {
        return Err(bad);
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn expect(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), P12Error> {
    let (t, c, r) = tlv(input)?;
    if t != tag {
        return Err(P12Error::Asn1("unexpected tag"));
    }
    Ok((c, r))
}

fn items(mut seq: &[u8]) -> Result<Vec<(u8, &[u8])>, P12Error> {
    let mut v = Vec::new();
    while !seq.is_empty() {
        let (t, c, r) = tlv(seq)?;
        v.push((t, c));
        seq = r;
    }
    Ok(v)
}

/// RFC 7292 appendix B.2 with SHA-1.
fn kdf(password: &str, salt: &[u8], iterations: u32, id: u8, n: usize) -> Vec<u8> {
    const V: usize = 64;
    let mut pw: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    pw.extend_from_slice(&[0, 0]);
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            return Vec::new();
        }
        let len = V * src.len().div_ceil(V);
        src.iter().copied().cycle().take(len).collect()
    };
    let mut i_buf = fill(salt);
    i_buf.extend(fill(&pw));
    let d = [id; V];
    let mut out = Vec::new();
    while out.len() < n {
        let mut a = Sha1::new().chain_update(d).chain_update(&i_buf).finalize();
        for _ in 1..iterations {
            a = Sha1::digest(a);
        }
        out.extend_from_slice(&a);
        let b: Vec<u8> = a.iter().copied().cycle().take(V).collect();
        for block in i_buf.chunks_mut(V) {
            let mut carry = 1u16;
            for k in (0..V).rev() {
                let s = block[k] as u16 + b[k] as u16 + carry;
                block[k] = s as u8;
                carry = s >> 8;
            }
        }
    }
    out.truncate(n);
    out
}

/// Decrypt with a PKCS#12 PBE algorithm (AlgorithmIdentifier content given).
fn pbe_decrypt(alg: &[u8], data: &[u8], password: &str) -> Result<Vec<u8>, P12Error> {
    let (oid, rest) = expect(alg, 0x06)?;
    let (params, _) = expect(rest, 0x30)?;
    let (salt, rest) = expect(params, 0x04)?;
    let (iter, _) = expect(rest, 0x02)?;
    let iterations = iter
        .iter()
        .fold(0u64, |a, &b| (a << 8) | b as u64)
        .min(10_000_000) as u32;
    let mut buf = data.to_vec();
    if oid == OID_PBE_3DES {
        let key = kdf(password, salt, iterations, 1, 24);
        let iv = kdf(password, salt, iterations, 2, 8);
        let dec = cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map_err(|_| P12Error::Decrypt)?;
        let n = dec
            .decrypt_padded::<Pkcs7>(&mut buf)
            .map_err(|_| P12Error::Decrypt)?
            .len();
        buf.truncate(n);
        Ok(buf)
    } else if oid == OID_PBE_RC2_40 {
        let key = kdf(password, salt, iterations, 1, 5);
        let iv = kdf(password, salt, iterations, 2, 8);
        let rc2 = rc2::Rc2::new_with_eff_key_len(&key, 40);
        let dec = cbc::Decryptor::<rc2::Rc2>::inner_iv_slice_init(rc2, &iv)
            .map_err(|_| P12Error::Decrypt)?;
        let n = dec
            .decrypt_padded::<Pkcs7>(&mut buf)
            .map_err(|_| P12Error::Decrypt)?
            .len();
        buf.truncate(n);
        Ok(buf)
    } else {
        Err(P12Error::Algorithm(hex::encode(oid)))
    }
}

fn safe_contents(data: &[u8], password: &str, out: &mut P12) -> Result<(), P12Error> {
    let (seq, _) = expect(data, 0x30)?;
    for (t, bag) in items(seq)? {
        if t != 0x30 {
            continue;
        }
        let (oid, rest) = expect(bag, 0x06)?;
        let (value, _) = expect(rest, 0xa0)?;
        if oid == OID_SHROUDED_KEY_BAG {
            let (epki, _) = expect(value, 0x30)?;
            let (alg, rest) = expect(epki, 0x30)?;
            let (enc, _) = expect(rest, 0x04)?;
            out.key_pkcs8 = Some(pbe_decrypt(alg, enc, password)?);
        } else if oid == OID_KEY_BAG {
            out.key_pkcs8 = Some(tlv_whole(value)?);
        } else if oid == OID_CERT_BAG {
            let (cb, _) = expect(value, 0x30)?;
            let (_cert_type, rest) = expect(cb, 0x06)?;
            let (v, _) = expect(rest, 0xa0)?;
            let (der, _) = expect(v, 0x04)?;
            out.certs.push(der.to_vec());
        }
    }
    Ok(())
}

fn tlv_whole(input: &[u8]) -> Result<Vec<u8>, P12Error> {
    let (_, _, rest) = tlv(input)?;
    Ok(input[..input.len() - rest.len()].to_vec())
}

/// Parse a PKCS#12 file (the MAC is not checked: a wrong PIN fails the decryption's padding).
pub fn parse(der: &[u8], password: &str) -> Result<P12, P12Error> {
    let (pfx, _) = expect(der, 0x30)?;
    let (_version, rest) = expect(pfx, 0x02)?;
    let (auth_safe, _) = expect(rest, 0x30)?;
    let (oid, rest) = expect(auth_safe, 0x06)?;
    if oid != OID_DATA {
        return Err(P12Error::Asn1(
            "authSafe is not data (public-key integrity mode)",
        ));
    }
    let (explicit, _) = expect(rest, 0xa0)?;
    let (octets, _) = expect(explicit, 0x04)?;
    let (infos, _) = expect(octets, 0x30)?;
    let mut out = P12::default();
    for (t, ci) in items(infos)? {
        if t != 0x30 {
            continue;
        }
        let (oid, rest) = expect(ci, 0x06)?;
        let (content, _) = expect(rest, 0xa0)?;
        if oid == OID_DATA {
            let (data, _) = expect(content, 0x04)?;
            safe_contents(data, password, &mut out)?;
        } else if oid == OID_ENCRYPTED_DATA {
            let (ed, _) = expect(content, 0x30)?;
            let (_v, rest) = expect(ed, 0x02)?;
            let (eci, _) = expect(rest, 0x30)?;
            let (_ct, rest) = expect(eci, 0x06)?;
            let (alg, rest) = expect(rest, 0x30)?;
            // encryptedContent [0] IMPLICIT OCTET STRING (primitive 0x80 or constructed 0xa0)
            let (t, enc, _) = tlv(rest)?;
            let enc = if t == 0xa0 {
                items(enc)?
                    .into_iter()
                    .flat_map(|(_, c)| c.to_vec())
                    .collect()
            } else {
                enc.to_vec()
            };
            let plain = pbe_decrypt(alg, &enc, password)?;
            safe_contents(&plain, password, &mut out)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdf_matches_a_known_vector() {
        // RFC 7292-style vector (from the PKCS#12 test vectors used by BouncyCastle / OpenSSL):
        // password "smeg", salt 0A58CF64530D823F, ID 1, 1 iteration, 24 bytes.
        let salt = [0x0a, 0x58, 0xcf, 0x64, 0x53, 0x0d, 0x82, 0x3f];
        let k = kdf("smeg", &salt, 1, 1, 24);
        assert_eq!(
            hex::encode(k),
            "8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3"
        );
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse(b"", "x").is_err());
        assert!(parse(&[0x30, 0x03, 0x02, 0x01, 0x03], "x").is_err());
    }
}
