//! The certificate bundle of an order (seed: "das Client-SSL-Zertifikat in einer ZIP-Datei in verschiedenen
//! Formaten"): PKCS#12 protected by the passphrase, PEM certificate + encrypted PEM key, DER certificate,
//! zipped. The PKCS#12 uses what OpenSSL 3 opens without `-legacy`: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC)
//! for the key bag and the certificate bag, HMAC-SHA256 integrity with the RFC 7292 key derivation.
//! No I/O; randomness comes from the caller's salt/IV bytes so tests are reproducible.

use der::Encode;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use ti_core::pki::Identity;

/// Iterations of PBKDF2 and of the PKCS#12 MAC KDF (OpenSSL 3's default).
pub const ITERATIONS: u32 = 2048;

#[derive(Debug, thiserror::Error)]
#[error("bundle: {0}")]
pub struct BundleError(String);

// --- a minimal DER writer: only what PKCS#12 needs ---

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 128 {
        v.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        v.push(0x80 | bytes.len() as u8);
        v.extend_from_slice(&bytes);
    }
    v.extend_from_slice(content);
    v
}
fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}
fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}
fn octets(b: &[u8]) -> Vec<u8> {
    tlv(0x04, b)
}
fn int(n: u32) -> Vec<u8> {
    let mut b: Vec<u8> = n
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    if b.is_empty() || b[0] & 0x80 != 0 {
        b.insert(0, 0);
    }
    tlv(0x02, &b)
}
fn explicit0(inner: &[u8]) -> Vec<u8> {
    tlv(0xA0, inner)
}
fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &a in &arcs[2..] {
        let mut stack = vec![(a & 0x7f) as u8];
        let mut x = a >> 7;
        while x > 0 {
            stack.push(0x80 | (x & 0x7f) as u8);
            x >>= 7;
        }
        stack.reverse();
        body.extend(stack);
    }
    tlv(0x06, &body)
}
fn bmp(s: &str) -> Vec<u8> {
    tlv(
        0x1E,
        &s.encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect::<Vec<u8>>(),
    )
}

const ID_DATA: &str = "1.2.840.113549.1.7.1";
const ID_ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const X509_CERT: &str = "1.2.840.113549.1.9.22.1";
const FRIENDLY_NAME: &str = "1.2.840.113549.1.9.20";
const LOCAL_KEY_ID: &str = "1.2.840.113549.1.9.21";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";

/// PBES2 AlgorithmIdentifier and ciphertext for `plain`.
fn pbes2(
    pass: &str,
    salt: &[u8; 16],
    iv: [u8; 16],
    plain: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), BundleError> {
    let params = pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(ITERATIONS, salt, iv)
        .map_err(|e| BundleError(e.to_string()))?;
    let ct = params
        .encrypt(pass.as_bytes(), plain)
        .map_err(|e| BundleError(e.to_string()))?;
    let alg = pkcs5::EncryptionScheme::Pbes2(params)
        .to_der()
        .map_err(|e| BundleError(e.to_string()))?;
    Ok((alg, ct))
}

/// `EncryptedPrivateKeyInfo` (RFC 5958) of the key, PBES2-protected.
pub fn encrypted_pkcs8(
    id: &Identity,
    pass: &str,
    salt: &[u8; 16],
    iv: [u8; 16],
) -> Result<Vec<u8>, BundleError> {
    let (alg, ct) = pbes2(pass, salt, iv, &id.key.to_pkcs8_der())?;
    Ok(seq(&[alg, octets(&ct)]))
}

/// RFC 7292 Appendix B key derivation (ID 3 = MAC key) with SHA-256, password as BMPString + 00 00.
fn pkcs12_mac_key(pass: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    const V: usize = 64;
    let mut pw: Vec<u8> = pass.encode_utf16().flat_map(u16::to_be_bytes).collect();
    pw.extend_from_slice(&[0, 0]);
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            return Vec::new();
        }
        let len = V * src.len().div_ceil(V);
        (0..len).map(|i| src[i % src.len()]).collect()
    };
    let mut i_buf = fill(salt);
    i_buf.extend(fill(&pw));
    let d = [3u8; V];
    let mut a: [u8; 32] = Sha256::new()
        .chain_update(d)
        .chain_update(&i_buf)
        .finalize()
        .into();
    for _ in 1..iterations {
        a = Sha256::digest(a).into();
    }
    a
}

/// The PKCS#12 file: certificate and shrouded key, friendly name and local key id on both bags.
pub fn pkcs12(
    id: &Identity,
    name: &str,
    pass: &str,
    rnd: &[u8; 64],
) -> Result<Vec<u8>, BundleError> {
    let salt = |i: usize| -> [u8; 16] { rnd[i * 16..i * 16 + 16].try_into().unwrap_or([0; 16]) };
    let key_id = ti_core::sha256(&id.cert_der)[..20].to_vec();
    let attrs = set(&[
        seq(&[oid(FRIENDLY_NAME), set(&[bmp(name)])]),
        seq(&[oid(LOCAL_KEY_ID), set(&[octets(&key_id)])]),
    ]);
    let cert_bag = seq(&[
        oid(CERT_BAG),
        explicit0(&seq(&[oid(X509_CERT), explicit0(&octets(&id.cert_der))])),
        attrs.clone(),
    ]);
    let (alg, ct) = pbes2(pass, &salt(0), salt(1), &seq(&[cert_bag]))?;
    let encrypted_data = seq(&[int(0), seq(&[oid(ID_DATA), alg, tlv(0x80, &ct)])]);
    let certs = seq(&[oid(ID_ENCRYPTED_DATA), explicit0(&encrypted_data)]);
    let shrouded = encrypted_pkcs8(id, pass, &salt(2), salt(3))?;
    let key_bag = seq(&[oid(SHROUDED_KEY_BAG), explicit0(&shrouded), attrs]);
    let keys = seq(&[oid(ID_DATA), explicit0(&octets(&seq(&[key_bag])))]);
    let auth_safe = seq(&[certs, keys]);
    let mac_salt = &ti_core::sha256(rnd)[..16];
    let mac_key = pkcs12_mac_key(pass, mac_salt, ITERATIONS);
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&mac_key)
        .map_err(|e| BundleError(e.to_string()))?;
    mac.update(&auth_safe);
    let digest = mac.finalize().into_bytes();
    let mac_data = seq(&[
        seq(&[seq(&[oid(SHA256), tlv(0x05, &[])]), octets(&digest)]),
        octets(mac_salt),
        int(ITERATIONS),
    ]);
    Ok(seq(&[
        int(3),
        seq(&[oid(ID_DATA), explicit0(&octets(&auth_safe))]),
        mac_data,
    ]))
}

/// CRC-32 (IEEE) for the ZIP entries.
fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// An uncompressed ("stored") ZIP of the files (the ZIP itself is not encrypted).
pub fn zip(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    let le16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    for (name, data) in files {
        let (crc, len, off) = (crc32(data), data.len() as u32, out.len() as u32);
        le32(&mut out, 0x0403_4b50);
        for x in [20u16, 0x0800, 0, 0, 0x5A21] {
            le16(&mut out, x); // version, flags (UTF-8 names), stored, time, date
        }
        le32(&mut out, crc);
        le32(&mut out, len);
        le32(&mut out, len);
        le16(&mut out, name.len() as u16);
        le16(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        le32(&mut central, 0x0201_4b50);
        for x in [20u16, 20, 0x0800, 0, 0, 0x5A21] {
            le16(&mut central, x);
        }
        le32(&mut central, crc);
        le32(&mut central, len);
        le32(&mut central, len);
        le16(&mut central, name.len() as u16);
        for _ in 0..4 {
            le16(&mut central, 0); // extra, comment, disk, internal attrs
        }
        le32(&mut central, 0); // external attrs
        le32(&mut central, off);
        central.extend_from_slice(name.as_bytes());
    }
    let (cd_off, cd_len) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    le32(&mut out, 0x0605_4b50);
    for x in [0u16, 0, files.len() as u16, files.len() as u16] {
        le16(&mut out, x);
    }
    le32(&mut out, cd_len);
    le32(&mut out, cd_off);
    le16(&mut out, 0);
    out
}

/// The ZIP of an order: `<base>.p12`, `<base>.cert.pem`, `<base>.key.pem` (encrypted), `<base>.cert.der`,
/// and a short LIESMICH.txt.
pub fn zip_bundle(
    id: &Identity,
    base: &str,
    pass: &str,
    rnd: &[u8; 64],
) -> Result<Vec<u8>, BundleError> {
    let p12 = pkcs12(id, base, pass, rnd)?;
    let salt: [u8; 16] = rnd[32..48].try_into().unwrap_or([0; 16]);
    let iv: [u8; 16] = rnd[48..64].try_into().unwrap_or([0; 16]);
    let key = ti_core::pem_encode(
        "ENCRYPTED PRIVATE KEY",
        &encrypted_pkcs8(id, pass, &salt, iv)?,
    );
    let readme = format!(
        "Client-Zertifikat der Applikationskopplung (konform-Simulator, TEST-ONLY, fiktiv)\r\n\r\n\
         {base}.p12      PKCS#12 (Zertifikat + Schlüssel), geschützt mit der Passphrase der Bestellung\r\n\
         {base}.cert.pem Zertifikat (PEM)\r\n\
         {base}.key.pem  privater Schlüssel (PEM, PKCS#8, mit der Passphrase verschlüsselt)\r\n\
         {base}.cert.der Zertifikat (DER)\r\n\r\n\
         Die Kundennummer kommt mit einer eigenen E-Mail der AG MiN.\r\n\
         Bei Verlust der Passphrase muss ein neues Zertifikat bestellt werden.\r\n"
    );
    Ok(zip(&[
        (&format!("{base}.p12"), p12),
        (&format!("{base}.cert.pem"), id.cert_pem().into_bytes()),
        (&format!("{base}.key.pem"), key.into_bytes()),
        (&format!("{base}.cert.der"), id.cert_der.clone()),
        ("LIESMICH.txt", readme.into_bytes()),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_helpers_and_crc() {
        assert_eq!(
            oid("1.2.840.113549.1.7.1"),
            hex_of("06092a864886f70d010701")
        );
        assert_eq!(int(2048), hex_of("02020800"));
        assert_eq!(int(0), hex_of("020100"));
        assert_eq!(int(128), hex_of("02020080"));
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
    }

    fn hex_of(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
