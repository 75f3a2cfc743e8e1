//! The login token ("Authentisierung und Authentifizierung"; the seed: "Das Verfahren sowie die konkreten
//! Formate … sind aktuell in Klärung"). konform's reading, profile `auth: ird-header`:
//! `Authorization: IRD <base64(TelematikId|HauptIK)>.<base64(DER ECDSA signature over SHA-256 of those
//! bytes)>`, checked against the registered C.AUT key. The seed's own wording differs in two places, each a
//! profile switch: the token is sent "als Authentication-Header" (`auth_header`) and signed "mithilfe des
//! Signatur-Zertifikats der SMC-B-Karte" (`auth_token_key`). A mismatch is diagnosed naming the other
//! reading and its switch. Successful logins are cached per header value.

use super::registry::Insurer;
use super::{VstState, lock};
use crate::config::{AuthMode, Profile, TokenHeader, TokenKey};
use crate::process::{InsurerId, Rejection};
use crate::seed;
use sim_kit::Diagnosis;
use ti_core::{EcPublicKey, b64_decode};

/// The request headers the login reads (the HTTP edge extracts them; raw bytes, not yet text).
#[derive(Clone, Copy, Debug, Default)]
pub struct Credentials<'a> {
    pub authorization: Option<&'a [u8]>,
    pub authentication: Option<&'a [u8]>,
}

/// Logins remembered before the cache starts over.
const CACHE_LIMIT: usize = 1024;

const FORMAT: &str = "<header>: IRD <base64(TelematikId|HauptIK)>.<base64(DER ECDSA signature by the SMC-B C.AUT key over SHA-256 of those bytes)>";

fn r401(rule: &str, header: &str, msg: String, hint: &str) -> Rejection {
    Rejection::new(
        401,
        Diagnosis::new(rule, msg)
            .at(format!("header:{header}"))
            .hint(hint)
            .seed(seed::AUTH),
    )
}

/// The parts of an `IRD` token.
struct Token {
    /// The bytes `TelematikId|HauptIK`.
    ident: Vec<u8>,
    id: InsurerId,
    signature: Vec<u8>,
}

fn parse_token(header: &str, value: &str) -> Result<Token, Rejection> {
    let bad = |rule: &str, msg: String, hint: &str| r401(rule, header, msg, hint);
    let format = FORMAT.replace("<header>", header);
    let format = format.as_str();
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("IRD") {
        return Err(bad(
            "auth.scheme",
            format!("authorization scheme `{scheme}`, expected `IRD`"),
            format,
        ));
    }
    let Some((ident_b64, sig_b64)) = token.trim().split_once('.') else {
        return Err(bad(
            "auth.format",
            "the IRD token has no `.` between identity and signature".into(),
            format,
        ));
    };
    let base64_hint = "standard base64 with padding (not base64url)";
    let ident = b64_decode(ident_b64)
        .map_err(|e| bad("auth.format", format!("identity part: {e}"), base64_hint))?;
    let ident_s = std::str::from_utf8(&ident)
        .map_err(|_| bad("auth.format", "identity part is not UTF-8".into(), format))?;
    let Some((tid, ik)) = ident_s.split_once('|') else {
        return Err(bad(
            "auth.format",
            format!("identity `{ident_s}` is not `TelematikId|HauptIK`"),
            format,
        ));
    };
    let id = InsurerId {
        telematik_id: tid.to_string(),
        haupt_ik: ik.to_string(),
    };
    let signature = b64_decode(sig_b64)
        .map_err(|e| bad("auth.format", format!("signature part: {e}"), base64_hint))?;
    Ok(Token {
        ident,
        id,
        signature,
    })
}

/// Pick the header the profile reads; a token in the other header is diagnosed, not used.
fn token_header<'a>(
    creds: &Credentials<'a>,
    reading: TokenHeader,
) -> Result<(&'static str, &'a [u8]), Rejection> {
    let (authz, authn) = (creds.authorization, creds.authentication);
    let found = match reading {
        TokenHeader::Authorization => authz.map(|v| ("Authorization", v)),
        TokenHeader::Authentication => authn.map(|v| ("Authentication", v)),
        TokenHeader::Either => authz
            .map(|v| ("Authorization", v))
            .or(authn.map(|v| ("Authentication", v))),
    };
    if let Some(f) = found {
        return Ok(f);
    }
    let (read, other, switch) = match reading {
        TokenHeader::Authorization => (
            "Authorization",
            authn.map(|_| "Authentication"),
            "auth_header: authentication (or either)",
        ),
        TokenHeader::Authentication => (
            "Authentication",
            authz.map(|_| "Authorization"),
            "auth_header: authorization (or either)",
        ),
        TokenHeader::Either => ("Authorization", None, ""),
    };
    Err(match other {
        Some(other) => r401(
            "auth.header-name",
            read,
            format!(
                "no {read} header, but the token came in an {other} header: the seed says \"als Authentication-Header\", HTTP's credentials header is Authorization; this profile reads {read}"
            ),
            &format!("send the token in the {read} header, or set the profile switch `{switch}`"),
        ),
        None => r401(
            "auth.missing",
            read,
            format!("no {read} header"),
            &FORMAT.replace("<header>", read),
        ),
    })
}

/// The keys the profile accepts for the token, with their names for diagnoses.
fn keys(insurer: &Insurer, reading: TokenKey) -> Vec<(&'static str, EcPublicKey)> {
    let aut = ("C.AUT", insurer.aut_key);
    let sig = insurer.sig_key.map(|k| ("C.SIG", k));
    match reading {
        TokenKey::Aut => vec![aut],
        TokenKey::Sig => sig.into_iter().collect(),
        TokenKey::Either => std::iter::once(aut).chain(sig).collect(),
    }
}

/// Why a token signature does not verify with the accepted keys: the other reading, a double hash, raw
/// r||s — or nothing recognisable.
fn explain_signature(
    insurer: &Insurer,
    reading: TokenKey,
    digest: &[u8; 32],
    sig: &[u8],
) -> (String, String) {
    let other = match reading {
        TokenKey::Aut => insurer
            .sig_key
            .map(|k| ("C.SIG", k, "auth_token_key: sig (or either)")),
        TokenKey::Sig => Some(("C.AUT", insurer.aut_key, "auth_token_key: aut (or either)")),
        TokenKey::Either => None,
    };
    if let Some((name, key, switch)) = other
        && key.verify_prehash(digest, sig).is_ok()
    {
        return (
            format!(
                "the token is signed with the SMC-B's {name} key; this profile verifies it with {}",
                if reading == TokenKey::Aut {
                    "C.AUT (the registration section's ExternalAuthenticate)"
                } else {
                    "C.SIG (\"mithilfe des Signatur-Zertifikats der SMC-B-Karte\")"
                }
            ),
            format!(
                "the seed names both readings; set the profile switch `{switch}` to accept this one"
            ),
        );
    }
    let hint = if sig.len() == 64 {
        "the signature looks like raw r||s (64 bytes); send the DER encoding ExternalAuthenticate returns"
    } else if keys(insurer, reading)
        .iter()
        .any(|(_, k)| k.verify_prehash(&ti_core::sha256(digest), sig).is_ok())
    {
        "near miss: the signature is over SHA-256(SHA-256(bytes)); ExternalAuthenticate must get SHA-256(TelematikId|HauptIK) once"
    } else {
        "sign SHA-256(TelematikId|HauptIK) with ExternalAuthenticate and the registered C.AUT certificate's card"
    };
    let names: Vec<&str> = keys(insurer, reading).iter().map(|(n, _)| *n).collect();
    (
        format!(
            "the token signature does not verify with the registered {} key of {}",
            if names.is_empty() {
                "C.SIG (none was registered)".to_string()
            } else {
                names.join(" or ")
            },
            insurer.id.telematik_id
        ),
        hint.to_string(),
    )
}

impl VstState {
    /// Authenticate a request (profile `auth`, `auth_header`, `auth_token_key`).
    pub fn authenticate(&self, creds: &Credentials<'_>) -> Result<InsurerId, Rejection> {
        let profile: Profile = self.profile();
        if profile.auth == AuthMode::None {
            return self
                .data()
                .insurers
                .first()
                .map(|i| i.id.clone())
                .ok_or_else(|| {
                    Rejection::new(
                        403,
                        Diagnosis::new(
                            "auth.unregistered",
                            "auth mode `none`, but no insurer is registered",
                        )
                        .seed(seed::REGISTRATION),
                    )
                });
        }
        let (header, raw) = token_header(creds, profile.auth_header)?;
        let Some(value) = std::str::from_utf8(raw).ok().filter(|v| v.is_ascii()) else {
            return Err(r401(
                "auth.format",
                header,
                format!("the {header} header is not ASCII"),
                &FORMAT.replace("<header>", header),
            ));
        };
        if let Some(hit) = lock(&self.inner.logins).get(value) {
            return Ok(hit.clone());
        }
        let token = parse_token(header, value)?;
        let insurer = self
            .data()
            .insurers
            .iter()
            .find(|i| i.id == token.id)
            .cloned();
        let Some(insurer) = insurer else {
            let InsurerId {
                telematik_id: tid,
                haupt_ik: ik,
            } = &token.id;
            return Err(Rejection::new(
                403,
                Diagnosis::new(
                    "auth.unregistered",
                    format!(
                        "no insurer is registered with Telematik-ID `{tid}` and Haupt-IK `{ik}`"
                    ),
                )
                .at(format!("header:{header}"))
                .hint("register first: POST /__konform/registrations (see docs/vst.md)")
                .seed(seed::REGISTRATION),
            ));
        };
        let sig = &token.signature;
        let digest = ti_core::sha256(&token.ident);
        let accepted = keys(&insurer, profile.auth_token_key)
            .iter()
            .any(|(_, k)| k.verify_prehash(&digest, sig).is_ok());
        if !accepted {
            let (msg, hint) = explain_signature(&insurer, profile.auth_token_key, &digest, sig);
            return Err(r401("auth.signature", header, msg, &hint));
        }
        if sig.len() == 64 {
            return Err(r401(
                "auth.signature-encoding",
                header,
                "the token signature is raw r||s; DER is expected".into(),
                "send the DER signature ExternalAuthenticate returns",
            ));
        }
        let mut cache = lock(&self.inner.logins);
        if cache.len() > CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(value.to_string(), token.id.clone());
        Ok(token.id)
    }

    /// Forget cached logins (registrations or the profile changed).
    pub(super) fn forget_logins(&self) {
        lock(&self.inner.logins).clear();
    }
}
