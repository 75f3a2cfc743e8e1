//! Property test: random and mutated deliveries. Every answer is one of the seed's status codes (or 413
//! for the body limit), never a 500; the journal records every request with its status; the store grows
//! by exactly one whole delivery per 200 and not at all otherwise.

use crate::common::*;
use axum::body::Body;
use axum::http::Request;
use mock_vst::VstConfig;
use proptest::prelude::*;
use std::sync::OnceLock;

/// Valid bodies to mutate (built once: encryption and signing are not free).
fn seeds() -> &'static (Sim, Vec<(String, String)>) {
    static S: OnceLock<(Sim, Vec<(String, String)>)> = OnceLock::new();
    S.get_or_init(|| {
        let s = sim_with(VstConfig {
            body_limit: 64 * 1024,
            ..VstConfig::default()
        });
        let pki = s.pki.clone();
        let bodies = vec![
            (
                VS.to_string(),
                vs_body(&pki, "prop-1", &[good(1), good(2), good(3)]),
            ),
            (
                VS.to_string(),
                vs_body(
                    &pki,
                    "prop-2",
                    &[vs_rec("p-1", "A111100046", "02", "2020-02-29")],
                ),
            ),
            (
                IU.to_string(),
                iu_body(
                    &pki,
                    "prop-3",
                    &[iu_rec("i-1", "A111100059", Some("A111100061"), "101575519")],
                ),
            ),
        ];
        (s, bodies)
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    None,
    FlipByte(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Random(Vec<u8>),
    LowercaseKeys,
    SwapQuotes(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => Just(Mutation::None),
        4 => (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Mutation::FlipByte(i, b)),
        2 => any::<usize>().prop_map(Mutation::Truncate),
        2 => (any::<usize>(), prop::collection::vec(prop_oneof![Just(b'{'), Just(b'['), Just(b'"'), Just(b','), Just(b'/'), Just(b'1'), Just(0xff), any::<u8>()], 1..8))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        2 => (any::<usize>(), 1usize..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
        2 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Mutation::Random),
        1 => Just(Mutation::LowercaseKeys),
        1 => any::<usize>().prop_map(Mutation::SwapQuotes),
    ]
}

fn apply(body: &str, m: &Mutation) -> Vec<u8> {
    let mut b = body.as_bytes().to_vec();
    let n = b.len();
    match m {
        Mutation::None => {}
        Mutation::FlipByte(i, x) => b[i % n] ^= x,
        Mutation::Truncate(i) => b.truncate(i % n),
        Mutation::Insert(i, v) => {
            let at = i % n;
            b.splice(at..at, v.iter().copied());
        }
        Mutation::Delete(i, k) => {
            let at = i % n;
            let end = (at + k).min(n);
            b.drain(at..end);
        }
        Mutation::Random(v) => b = v.clone(),
        Mutation::LowercaseKeys => {
            b = body
                .replace("\"IdDatensatz\"", "\"iddatensatz\"")
                .replace("\"Meldungen\"", "\"meldungen\"")
                .into_bytes();
        }
        Mutation::SwapQuotes(i) => {
            let quotes: Vec<usize> = b
                .iter()
                .enumerate()
                .filter(|(_, c)| **c == b'"')
                .map(|(i, _)| i)
                .collect();
            if !quotes.is_empty() {
                b[quotes[i % quotes.len()]] = b'\'';
            }
        }
    }
    b
}

const SEED_STATUSES: [u16; 6] = [200, 400, 401, 403, 413, 415];

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_and_mutated_deliveries(which in 0usize..3, m in mutation(), ct_ok in prop::bool::weighted(0.95), auth_ok in prop::bool::weighted(0.95)) {
        let (s, bodies) = seeds();
        let (path, body) = &bodies[which];
        let payload = apply(body, &m);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let before = s.state.deliveries().len();
        let last_seq = s.state.kit().journal().last_seq();
        let mut req = Request::post(path.as_str());
        if ct_ok {
            req = req.header("content-type", "application/json");
        }
        if auth_ok {
            req = req.header("authorization", auth(&s.pki));
        }
        let r = rt.block_on(send(&s.app, req.body(Body::from(payload.clone())).unwrap()));
        let status = r.status.as_u16();
        prop_assert!(SEED_STATUSES.contains(&status), "status {status} for {m:?}: {:?}", r.diags);
        if status != 200 {
            prop_assert!(!r.diags.is_empty(), "a rejection always carries a diagnosis");
        }
        let after = s.state.deliveries();
        if status == 200 {
            prop_assert_eq!(after.len(), before + 1);
            let d = after.last().unwrap();
            let sent: serde_json::Value = serde_json::from_slice(&payload).unwrap();
            let n = sent.as_object().unwrap().iter().find(|(k, _)| k.eq_ignore_ascii_case("meldungen")).unwrap().1.as_array().unwrap().len();
            prop_assert_eq!(d.records.len(), n, "stored whole");
            prop_assert!(d.records.iter().all(|r| r.id_versicherter.is_some()));
        } else {
            prop_assert_eq!(after.len(), before, "a rejected delivery stores nothing");
        }
        let j = s.state.kit().journal().entries(last_seq, usize::MAX);
        let posted: Vec<_> = j.iter().filter(|e| e.method == "POST").collect();
        prop_assert_eq!(posted.len(), 1);
        prop_assert_eq!(posted[0].status, status);
    }
}

#[test]
fn valid_seed_bodies_are_accepted() {
    // The unmutated bodies must pass, or the property above would test nothing but rejections.
    let (_, bodies) = seeds();
    let s = sim();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (path, body) in bodies {
        let r = rt.block_on(post(&s, path, body.clone()));
        assert_eq!(r.status.as_u16(), 200, "{path}: {:?}", r.diags);
    }
}
