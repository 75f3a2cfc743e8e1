//! The `.well-known` key document ("Downloadpunkt für den Abruf von Schlüsselmaterial der
//! Vertrauensstelle"): a compact JWS whose payload lists the VST's and the Registerstelle's encryption keys
//! and the VST's response-signing key as JWKs. It is signed with the VST's AUT certificate, which `x5c`
//! carries ("Das JWT-Token ist mit der ECDSA-Signatur versehen, die mithilfe des AUT-Zertifikats
//! (TI-Zertifikat) der Vertrauensstelle gebildet wurde. Dieses Zertifikat befindet sich als x5c-Angabe
//! innerhalb des Headers des JWT."). No I/O, no clock: the issue time is a parameter.
//!
//! For trust scenarios the profile can make the token deliberately untrustworthy while keeping its shape
//! (`wellknown_signer: untrusted`, `wellknown_valid_from_offset_secs`): the seed requires clients to check
//! "die zeitliche Gültigkeit des Tokens" and "das im Token angegebene Signaturzertifikat der TI".

use crate::config::{Profile, WellknownSigner};
use crate::seed;
use sim_kit::Diagnosis;
use std::time::{Duration, SystemTime};
use ti_core::b64_encode;
use ti_core::jws;
use ti_core::pki::{CertRole, CertSpec, Identity, Purpose, TestPki, issue, issue_with_policies};

/// Subject of the CA that is not part of the TI (it signs the untrusted `.well-known` signer).
pub const UNTRUSTED_CA_SUBJECT: &str =
    "CN=KONFORM.UNTRUSTED-CA TEST-ONLY,OU=nicht Teil der TI,O=konform NOT-VALID,C=DE";
/// Subject of the untrusted signer: the same name as the real VST AUT certificate, another issuer.
pub const UNTRUSTED_SIGNER_SUBJECT: &str =
    "CN=VST-IRD AUT TEST-ONLY,OU=Vertrauensstelle IRD,O=Robert Koch-Institut NOT-VALID,C=DE";

/// A signer of the token with the certificate chain its `x5c` carries (leaf first).
pub struct Signer<'a> {
    pub key: &'a Identity,
    pub x5c: Vec<&'a [u8]>,
}

/// A self-signed CA outside the TI and a `C.FD.AUT`-shaped leaf it issued, on the PKI's curve, valid
/// from a day before `now` for a year: only the chain to the TI fails, nothing else.
#[derive(Clone, Debug)]
pub struct UntrustedSigner {
    pub ca: Identity,
    pub leaf: Identity,
}

impl UntrustedSigner {
    pub fn generate(pki: &TestPki, now: SystemTime) -> Result<UntrustedSigner, ti_core::Error> {
        let day = Duration::from_secs(24 * 3600);
        let not_before = now.checked_sub(day).unwrap_or(now);
        let not_after = now + 365 * day;
        let ca_key = ti_core::keys::EcSecretKey::generate(pki.curve);
        let ca_spec = CertSpec {
            subject: UNTRUSTED_CA_SUBJECT,
            purpose: Purpose::Ca,
            not_before,
            not_after,
            serial: 0x5554_0001,
        };
        let ca = Identity {
            cert_der: issue(&ca_spec, &ca_key.public_key(), None, Some(&ca_key))?,
            key: ca_key,
        };
        let leaf_key = ti_core::keys::EcSecretKey::generate(pki.curve);
        let leaf_spec = CertSpec {
            subject: UNTRUSTED_SIGNER_SUBJECT,
            purpose: Purpose::Authentication,
            not_before,
            not_after,
            serial: 0x5554_0002,
        };
        let leaf = Identity {
            cert_der: issue_with_policies(
                &leaf_spec,
                &[CertRole::FdAut.policy()],
                &leaf_key.public_key(),
                Some(&ca),
                None,
            )?,
            key: leaf_key,
        };
        Ok(UntrustedSigner { ca, leaf })
    }

    pub fn signer(&self) -> Signer<'_> {
        Signer {
            key: &self.leaf,
            x5c: vec![&self.leaf.cert_der, &self.ca.cert_der],
        }
    }
}

/// The VST's own signer: its AUT certificate, alone in `x5c`.
pub fn aut_signer(pki: &TestPki) -> Signer<'_> {
    Signer {
        key: &pki.vst_aut,
        x5c: vec![&pki.vst_aut.cert_der],
    }
}

/// The token's time claims (seconds since the Unix epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    pub iat: u64,
    /// Only set when the start of validity is moved (`wellknown_valid_from_offset_secs` ≠ 0), so the
    /// default token keeps its shape.
    pub nbf: Option<u64>,
    pub exp: u64,
}

impl Validity {
    /// Valid from `now + offset_secs` for `validity_secs`; issued at `now`, or at the start when it lies
    /// in the past.
    pub fn from_offset(now: u64, offset_secs: i64, validity_secs: u64) -> Validity {
        let start = now.saturating_add_signed(offset_secs);
        Validity {
            iat: now.min(start),
            nbf: (offset_secs != 0).then_some(start),
            exp: start.saturating_add(validity_secs),
        }
    }
}

/// The token, signed by `signer`.
pub fn build(pki: &TestPki, signer: &Signer<'_>, v: Validity) -> String {
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), "JWT".into());
    let x5c: Vec<String> = signer.x5c.iter().map(|c| b64_encode(c)).collect();
    header.insert("x5c".into(), serde_json::json!(x5c));
    let mut payload = serde_json::json!({
        "iss": "konform mock-vst (Vertrauensstelle IRD, TEST-ONLY)",
        "iat": v.iat,
    });
    if let Some(nbf) = v.nbf {
        payload["nbf"] = nbf.into();
    }
    payload["exp"] = v.exp.into();
    payload["keys"] = serde_json::json!([
        jws::jwk(&pki.vst_enc.public_key(), "vst-enc", "enc"),
        jws::jwk(
            &pki.registerstelle_enc.public_key(),
            "registerstelle-enc",
            "enc"
        ),
        jws::jwk(&pki.vst_sig.public_key(), "vst-sig", "sig"),
    ]);
    let payload = serde_json::to_vec(&payload).unwrap_or_default();
    jws::sign_compact(header, &payload, &signer.key.key)
}

/// The diagnoses a `.well-known` answer carries when the profile makes the token untrustworthy on
/// purpose (none by default). The answer stays a `200` with a well-formed token: a client must refuse it.
pub fn diagnoses(p: &Profile) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let deliberate = "deliberately untrustworthy .well-known token (trust scenario); a client must not use its keys";
    if p.wellknown_signer == WellknownSigner::Untrusted {
        out.push(
            Diagnosis::new(
                "wellknown.untrusted-signer",
                format!("{deliberate}: signed correctly, but the x5c certificate chains to `{UNTRUSTED_CA_SUBJECT}`, not to the TI CA"),
            )
            .hint("check the x5c certificate against the TI trust anchor before using the token")
            .seed(seed::WELLKNOWN_TI_CERT),
        );
    }
    let offset = p.wellknown_valid_from_offset_secs;
    let validity = i64::try_from(p.wellknown_validity_secs).unwrap_or(i64::MAX);
    if offset.saturating_add(validity) < 0 {
        out.push(
            Diagnosis::new(
                "wellknown.expired",
                format!(
                    "{deliberate}: its `exp` lies {} s in the past",
                    -(offset.saturating_add(validity))
                ),
            )
            .hint("check `exp` before using the token")
            .seed(seed::WELLKNOWN_VALIDITY),
        );
    }
    if offset > 0 {
        out.push(
            Diagnosis::new(
                "wellknown.not-yet-valid",
                format!("{deliberate}: its `nbf` lies {offset} s in the future"),
            )
            .hint("check `nbf` (allowing only for a small clock skew) before using the token")
            .seed(seed::WELLKNOWN_VALIDITY),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_from_offset() {
        let v = Validity::from_offset(1_000_000, 0, 100);
        assert_eq!((v.iat, v.nbf, v.exp), (1_000_000, None, 1_000_100));
        let v = Validity::from_offset(1_000_000, -7200, 3600);
        assert_eq!((v.iat, v.nbf, v.exp), (992_800, Some(992_800), 996_400));
        let v = Validity::from_offset(1_000_000, 3600, 100);
        assert_eq!(
            (v.iat, v.nbf, v.exp),
            (1_000_000, Some(1_003_600), 1_003_700)
        );
    }

    #[test]
    fn diagnoses_only_for_untrustworthy_profiles() {
        assert!(diagnoses(&Profile::default()).is_empty());
        let rules =
            |p: &Profile| -> Vec<String> { diagnoses(p).into_iter().map(|d| d.rule).collect() };
        let p = Profile {
            wellknown_signer: WellknownSigner::Untrusted,
            ..Profile::default()
        };
        assert_eq!(rules(&p), ["wellknown.untrusted-signer"]);
        let p = Profile {
            wellknown_validity_secs: 3600,
            wellknown_valid_from_offset_secs: -3599,
            ..Profile::default()
        };
        assert!(rules(&p).is_empty(), "still valid for a second");
        let p = Profile {
            wellknown_validity_secs: 3600,
            wellknown_valid_from_offset_secs: -7200,
            ..Profile::default()
        };
        assert_eq!(rules(&p), ["wellknown.expired"]);
        let p = Profile {
            wellknown_valid_from_offset_secs: 3600,
            ..Profile::default()
        };
        assert_eq!(rules(&p), ["wellknown.not-yet-valid"]);
    }
}
