//! `.well-known` trust modes (profile `wellknown_signer`, `wellknown_valid_from_offset_secs`): each serves
//! what it claims — checked with ti-core's JWS and certificate-chain code, as a client would — and the
//! default serves a token that passes every check.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use mock_vst::{Profile, VstConfig, WellknownSigner};
use std::time::{SystemTime, UNIX_EPOCH};
use ti_core::jws;
use ti_core::pki::{self, verify_chain};
use x509_cert::Certificate;

fn sim_profile(profile: Profile) -> Sim {
    sim_with(VstConfig {
        profile,
        ..VstConfig::default()
    })
}

/// Fetch the token; verify its JWS with the x5c key; return claims, the x5c chain and the diagnoses.
async fn fetch(s: &Sim) -> (serde_json::Value, Vec<Certificate>, Vec<String>) {
    let r = send(
        &s.app,
        Request::get("/.well-known").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type.as_deref(), Some("application/jwt"));
    let v = jws::verify_compact(&r.text(), None).expect("the JWS verifies with its x5c key");
    let chain = v
        .x5c
        .iter()
        .map(|d| der::Decode::from_der(d).unwrap())
        .collect();
    (serde_json::from_slice(&v.payload).unwrap(), chain, r.diags)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn journal_rules(s: &Sim) -> Vec<String> {
    s.state
        .kit()
        .journal()
        .all()
        .iter()
        .filter(|e| e.path == "/.well-known")
        .flat_map(|e| e.diagnoses.iter().map(|d| d.rule.clone()))
        .collect()
}

fn chain_ok(s: &Sim, chain: &[Certificate]) -> Result<(), ti_core::Error> {
    verify_chain(
        &chain[0],
        &chain[1..],
        &[s.pki.ca.cert()],
        SystemTime::now(),
    )
}

#[tokio::test]
async fn default_token_is_trusted_and_valid_now() {
    let s = sim();
    let (claims, chain, diags) = fetch(&s).await;
    chain_ok(&s, &chain).unwrap();
    let t = now();
    assert!(claims["iat"].as_u64().unwrap() <= t);
    assert!(claims["exp"].as_u64().unwrap() > t);
    assert!(
        claims.get("nbf").is_none(),
        "the default token keeps its shape"
    );
    assert!(diags.is_empty(), "{diags:?}");
    assert!(journal_rules(&s).is_empty());
}

#[tokio::test]
async fn untrusted_signer_signs_correctly_but_does_not_chain_to_the_ti() {
    let s = sim_profile(Profile {
        wellknown_signer: WellknownSigner::Untrusted,
        ..Profile::default()
    });
    let (claims, chain, diags) = fetch(&s).await;
    assert_eq!(chain.len(), 2, "x5c carries leaf and its CA");
    let e = chain_ok(&s, &chain).unwrap_err();
    assert!(matches!(e, ti_core::Error::Certificate(_)), "{e}");
    // It is a consistent chain of its own: valid against its own CA, with the AUT role.
    verify_chain(&chain[0], &[], &chain[1..], SystemTime::now()).unwrap();
    assert_ne!(chain[0], s.pki.vst_aut.cert());
    assert_eq!(pki::role_of(&chain[0]).role, Some(pki::CertRole::FdAut));
    // Otherwise faithful: valid now, the real keys.
    assert!(claims["exp"].as_u64().unwrap() > now());
    assert_eq!(claims["keys"].as_array().unwrap().len(), 3);
    assert!(
        diags
            .iter()
            .any(|d| d.starts_with("wellknown.untrusted-signer")),
        "{diags:?}"
    );
    assert_eq!(journal_rules(&s), ["wellknown.untrusted-signer"]);
}

#[tokio::test]
async fn expired_token_has_exp_in_the_past() {
    let s = sim_profile(Profile {
        wellknown_validity_secs: 3600,
        wellknown_valid_from_offset_secs: -7200,
        ..Profile::default()
    });
    let (claims, chain, diags) = fetch(&s).await;
    chain_ok(&s, &chain).unwrap();
    let t = now();
    let exp = claims["exp"].as_u64().unwrap();
    assert!(exp + 3000 < t, "exp {exp} lies an hour before {t}");
    assert!(claims["iat"].as_u64().unwrap() < exp);
    assert!(
        diags.iter().any(|d| d.starts_with("wellknown.expired")),
        "{diags:?}"
    );
    assert_eq!(journal_rules(&s), ["wellknown.expired"]);
}

#[tokio::test]
async fn not_yet_valid_token_has_nbf_beyond_clock_skew() {
    let s = sim_profile(Profile {
        wellknown_valid_from_offset_secs: 3600,
        ..Profile::default()
    });
    let (claims, chain, diags) = fetch(&s).await;
    chain_ok(&s, &chain).unwrap();
    let t = now();
    let nbf = claims["nbf"].as_u64().unwrap();
    assert!(nbf > t + 3000, "nbf {nbf} lies an hour after {t}");
    assert!(claims["exp"].as_u64().unwrap() > nbf);
    assert!(claims["iat"].as_u64().unwrap() <= t);
    assert!(
        diags
            .iter()
            .any(|d| d.starts_with("wellknown.not-yet-valid")),
        "{diags:?}"
    );
    assert_eq!(journal_rules(&s), ["wellknown.not-yet-valid"]);
}

#[tokio::test]
async fn profile_switch_at_run_time_takes_effect_and_offset_is_bounded() {
    let s = sim();
    let (_, chain, _) = fetch(&s).await;
    chain_ok(&s, &chain).unwrap();
    s.state
        .set_profile(Profile {
            wellknown_signer: WellknownSigner::Untrusted,
            ..Profile::default()
        })
        .unwrap();
    let (_, chain, _) = fetch(&s).await;
    assert!(
        chain_ok(&s, &chain).is_err(),
        "the cached token was replaced"
    );
    let too_far = Profile {
        wellknown_valid_from_offset_secs: i64::MIN,
        ..Profile::default()
    };
    assert!(s.state.set_profile(too_far).is_err());
}
