//! The login token ("Authentisierung und Authentifizierung"; the seed: "Das Verfahren sowie die konkreten
//! Formate … sind aktuell in Klärung"). konform's reading, profile `auth: ird-header`:
//! `Authorization: IRD <base64(TelematikId|HauptIK)>.<base64(DER ECDSA signature over SHA-256 of those
//! bytes)>`, checked against the registered C.AUT key. Successful logins are cached per header value.

use super::{VstState, lock};
use crate::config::AuthMode;
use crate::process::{InsurerId, Rejection};
use crate::seed;
use sim_kit::Diagnosis;
use ti_core::b64_decode;

/// The request headers the login reads (the HTTP edge extracts them; raw bytes, not yet text).
#[derive(Clone, Copy, Debug, Default)]
pub struct Credentials<'a> {
    pub authorization: Option<&'a [u8]>,
}

/// Logins remembered before the cache starts over.
const CACHE_LIMIT: usize = 1024;

const FORMAT: &str = "Authorization: IRD <base64(TelematikId|HauptIK)>.<base64(DER ECDSA signature by the SMC-B C.AUT key over SHA-256 of those bytes)>";

fn r401(rule: &str, msg: String, hint: &str) -> Rejection {
    Rejection::new(
        401,
        Diagnosis::new(rule, msg)
            .at("header:Authorization")
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

fn parse_token(value: &str) -> Result<Token, Rejection> {
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("IRD") {
        return Err(r401(
            "auth.scheme",
            format!("authorization scheme `{scheme}`, expected `IRD`"),
            FORMAT,
        ));
    }
    let Some((ident_b64, sig_b64)) = token.trim().split_once('.') else {
        return Err(r401(
            "auth.format",
            "the IRD token has no `.` between identity and signature".into(),
            FORMAT,
        ));
    };
    let base64_hint = "standard base64 with padding (not base64url)";
    let ident = b64_decode(ident_b64)
        .map_err(|e| r401("auth.format", format!("identity part: {e}"), base64_hint))?;
    let ident_s = std::str::from_utf8(&ident)
        .map_err(|_| r401("auth.format", "identity part is not UTF-8".into(), FORMAT))?;
    let Some((tid, ik)) = ident_s.split_once('|') else {
        return Err(r401(
            "auth.format",
            format!("identity `{ident_s}` is not `TelematikId|HauptIK`"),
            FORMAT,
        ));
    };
    let id = InsurerId {
        telematik_id: tid.to_string(),
        haupt_ik: ik.to_string(),
    };
    let signature = b64_decode(sig_b64)
        .map_err(|e| r401("auth.format", format!("signature part: {e}"), base64_hint))?;
    Ok(Token {
        ident,
        id,
        signature,
    })
}

impl VstState {
    /// Authenticate a request (profile `auth`).
    pub fn authenticate(&self, creds: &Credentials<'_>) -> Result<InsurerId, Rejection> {
        if self.profile().auth == AuthMode::None {
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
        let Some(raw) = creds.authorization else {
            return Err(r401(
                "auth.missing",
                "no Authorization header".into(),
                FORMAT,
            ));
        };
        let Some(value) = std::str::from_utf8(raw).ok().filter(|v| v.is_ascii()) else {
            return Err(r401(
                "auth.format",
                "the Authorization header is not ASCII".into(),
                FORMAT,
            ));
        };
        if let Some(hit) = lock(&self.inner.logins).get(value) {
            return Ok(hit.clone());
        }
        let token = parse_token(value)?;
        let key = self
            .data()
            .insurers
            .iter()
            .find(|i| i.id == token.id)
            .map(|i| i.aut_key);
        let Some(key) = key else {
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
                .at("header:Authorization")
                .hint("register first: POST /__konform/registrations (see docs/vst.md)")
                .seed(seed::REGISTRATION),
            ));
        };
        let sig = &token.signature;
        let digest = ti_core::sha256(&token.ident);
        if key.verify_prehash(&digest, sig).is_err() {
            let hint = if sig.len() == 64 {
                "the signature looks like raw r||s (64 bytes); send the DER encoding ExternalAuthenticate returns"
            } else if key.verify_prehash(&ti_core::sha256(&digest), sig).is_ok() {
                "near miss: the signature is over SHA-256(SHA-256(bytes)); ExternalAuthenticate must get SHA-256(TelematikId|HauptIK) once"
            } else {
                "sign SHA-256(TelematikId|HauptIK) with ExternalAuthenticate and the registered C.AUT certificate's card"
            };
            return Err(r401(
                "auth.signature",
                format!(
                    "the token signature does not verify with the registered C.AUT certificate of {}",
                    token.id.telematik_id
                ),
                hint,
            ));
        }
        if sig.len() == 64 {
            return Err(r401(
                "auth.signature-encoding",
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

    /// Forget cached logins (registrations changed).
    pub(super) fn forget_logins(&self) {
        lock(&self.inner.logins).clear();
    }
}
