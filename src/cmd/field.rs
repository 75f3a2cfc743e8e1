//! `konform field encrypt` / `konform field decrypt`: the IRD field-level ECIES of
//! [`ti_core::ecies`], for debugging a client's encrypted values. A failed decryption names the
//! likely mistake ([`ti_core::ecies::DecryptFailure`]).

use super::{CmdResult, Failure, read_file};
use base64::Engine;
use std::io::Write;
use std::path::{Path, PathBuf};
use ti_core::ecies::{self, AesKeySize, EciesParams};
use ti_core::{EcPublicKey, EcSecretKey};

#[derive(clap::Args, Debug)]
#[command(after_help = super::EXIT_CODES_HELP)]
pub struct Args {
    #[command(subcommand)]
    cmd: FieldCmd,
}

#[derive(clap::Subcommand, Debug)]
enum FieldCmd {
    /// Encrypt VALUE for a recipient; prints base64 of 0x01 || X || Y || IV || ct+tag
    #[command(after_help = super::EXIT_CODES_HELP)]
    Encrypt(EncryptArgs),
    /// Decrypt a base64 value; on failure names the likely mistake (exit 1)
    #[command(
        long_about = "Decrypt a base64 value with the recipient's private key and print the plaintext. \
                      When it does not decrypt, the likely mistakes are tried and the one that matches is \
                      named: HKDF info `ecies-vau-transport` (copied from e-Rezept) instead of \
                      `VST-IRD-Transport`, AES-256 instead of AES-128, an ephemeral point on the other curve, \
                      a bad version byte, a truncated value.",
        after_help = super::EXIT_CODES_HELP
    )]
    Decrypt(DecryptArgs),
}

fn parse_aes(s: &str) -> Result<AesKeySize, String> {
    s.parse::<u16>()
        .ok()
        .and_then(AesKeySize::from_bits)
        .ok_or_else(|| format!("`{s}` is not an AES key length (128 or 256)"))
}

#[derive(clap::Args, Debug)]
struct EncryptArgs {
    /// Recipient: PEM certificate or public key (a private key PEM or DER works too)
    #[arg(long, value_name = "CERT_OR_PUBKEY_PEM")]
    to: PathBuf,
    /// HKDF info string
    #[arg(long, value_name = "S", default_value = ecies::IRD_INFO)]
    info: String,
    /// AES-GCM key length in bits
    #[arg(long, value_name = "128|256", default_value = "128", value_parser = parse_aes)]
    aes: AesKeySize,
    /// The plaintext (UTF-8), e.g. a KVNR or the filler ---N/A----
    #[arg(value_name = "VALUE", allow_hyphen_values = true)]
    value: String,
}

#[derive(clap::Args, Debug)]
struct DecryptArgs {
    /// The recipient's private key (PEM PKCS#8 or SEC1; DER PKCS#8 works too)
    #[arg(long, value_name = "KEY_PEM")]
    key: PathBuf,
    /// HKDF info string
    #[arg(long, value_name = "S", default_value = ecies::IRD_INFO)]
    info: String,
    /// AES-GCM key length in bits
    #[arg(long, value_name = "128|256", default_value = "128", value_parser = parse_aes)]
    aes: AesKeySize,
    /// The encrypted value, standard base64 (as in a `Format: Byte` JSON field)
    #[arg(value_name = "B64", allow_hyphen_values = true)]
    b64: String,
}

pub fn run(args: Args) -> CmdResult {
    match args.cmd {
        FieldCmd::Encrypt(a) => encrypt(a),
        FieldCmd::Decrypt(a) => decrypt(a),
    }
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

fn pem_text<'a>(cmd: &'static str, path: &Path, bytes: &'a [u8]) -> Result<&'a str, Failure> {
    std::str::from_utf8(bytes).map_err(|_| {
        Failure::usage(
            cmd,
            format!("`{}` is not a text PEM file (not UTF-8)", path.display()),
        )
    })
}

/// A recipient public key from a certificate, a public key, or a private key (PEM or DER).
fn load_recipient(path: &Path) -> Result<EcPublicKey, Failure> {
    const CMD: &str = "field encrypt";
    let bytes = read_file(CMD, "recipient", path)?;
    let bad = |e: ti_core::Error| {
        Failure::usage(
            CMD,
            format!(
                "`{}` holds no usable recipient key (PEM certificate or public key expected): {e}",
                path.display()
            ),
        )
    };
    if is_pem(&bytes) {
        let text = pem_text(CMD, path, &bytes)?;
        match EcPublicKey::from_pem(text) {
            Ok(k) => Ok(k),
            Err(e) => match ti_core::pem_decode(text) {
                Ok((label, _)) if label.ends_with("PRIVATE KEY") => EcSecretKey::from_pem(text)
                    .map(|k| k.public_key())
                    .map_err(bad),
                _ => Err(bad(e)),
            },
        }
    } else {
        ti_core::pki::public_key_of_cert_der(&bytes)
            .or_else(|_| EcPublicKey::from_spki_der(&bytes))
            .or_else(|_| EcSecretKey::from_pkcs8_der(&bytes).map(|k| k.public_key()))
            .map_err(|_| {
                bad(ti_core::Error::Input(
                    "neither PEM nor a DER certificate, public key or PKCS#8 key".into(),
                ))
            })
    }
}

fn load_key(path: &Path) -> Result<EcSecretKey, Failure> {
    const CMD: &str = "field decrypt";
    let bytes = read_file(CMD, "key", path)?;
    let bad = |e: ti_core::Error| {
        Failure::usage(
            CMD,
            format!(
                "`{}` holds no usable private key (PEM PKCS#8 expected): {e}",
                path.display()
            ),
        )
    };
    if is_pem(&bytes) {
        EcSecretKey::from_pem(pem_text(CMD, path, &bytes)?).map_err(bad)
    } else {
        EcSecretKey::from_pkcs8_der(&bytes).map_err(|_| {
            bad(ti_core::Error::Input(
                "neither PEM nor a DER PKCS#8 private key".into(),
            ))
        })
    }
}

/// Strict standard base64; a value in another encoding gets a message that says which.
fn decode_value(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("the value is empty".into());
    }
    match ti_core::b64_decode(s) {
        Ok(b) => Ok(b),
        Err(e) => {
            let url = base64::engine::general_purpose::URL_SAFE;
            let url_np = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let std_np = base64::engine::general_purpose::STANDARD_NO_PAD;
            if s.len().is_multiple_of(2) && s.bytes().all(|c| c.is_ascii_hexdigit()) {
                Err(format!("{e}: the value looks like hex, not base64"))
            } else if std_np.decode(s).is_ok() {
                Err(format!(
                    "{e}: the value lacks its `=` padding; `Format: Byte` values are standard base64 with padding"
                ))
            } else if url.decode(s).is_ok() || url_np.decode(s).is_ok() {
                Err(format!(
                    "{e}: the value is base64url (`-_`); `Format: Byte` values are standard base64 (`+/`, `=` padding)"
                ))
            } else {
                Err(e.to_string())
            }
        }
    }
}

fn encrypt(a: EncryptArgs) -> CmdResult {
    let recipient = load_recipient(&a.to)?;
    let params = EciesParams {
        info: a.info,
        aes: a.aes,
    };
    let value = ecies::encrypt(&recipient, a.value.as_bytes(), &params);
    println!("{}", ti_core::b64_encode(&value));
    Ok(())
}

fn decrypt(a: DecryptArgs) -> CmdResult {
    const CMD: &str = "field decrypt";
    let key = load_key(&a.key)?;
    let data = decode_value(&a.b64).map_err(|e| Failure::usage(CMD, e))?;
    let params = EciesParams {
        info: a.info,
        aes: a.aes,
    };
    match ecies::decrypt(&key, &data, &params) {
        Ok(pt) => {
            match String::from_utf8(pt) {
                Ok(s) => println!("{s}"),
                Err(e) => {
                    eprintln!(
                        "konform {CMD}: the plaintext is not UTF-8 ({} bytes); printed as hex",
                        e.as_bytes().len()
                    );
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{}", hex_string(e.as_bytes()));
                }
            }
            Ok(())
        }
        Err(f) => Err(Failure::invalid(
            CMD,
            format!("does not decrypt [{}]: {f}", f.rule()),
        )),
    }
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
