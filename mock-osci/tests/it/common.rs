//! Shared helpers: a running intermediary with the library's sample keys or the test PKI.

use mock_osci::{IntermediaryKeys, OsciConfig, OsciState};
use sim_kit::serve::RunningSim;
use sim_kit::store::Store;
use std::path::PathBuf;

/// The library's sample certificates, if the shared reference material is there.
pub fn sample_dir() -> Option<PathBuf> {
    test_support::shared::require(
        "reference/osci/beispielanwendung/de/osci/osci12/samples/zertifikate",
    )
}

pub fn sample_keys() -> Option<IntermediaryKeys> {
    let dir = sample_dir()?;
    Some(IntermediaryKeys::from_sample_dir(&dir).expect("sample keys load"))
}

pub async fn start(config: OsciConfig, keys: IntermediaryKeys) -> (RunningSim, OsciState) {
    let st = OsciState::new(config, keys, Store::ephemeral().expect("store")).expect("state");
    let sim = sim_kit::serve::spawn(mock_osci::app(st.clone()), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("spawn");
    (sim, st)
}

use mock_osci::OsciPki;
use mock_osci::client::Client;
use std::sync::OnceLock;

/// The OSCI test PKI, generated once per test binary (RSA-2048: the library calls smaller keys weak).
pub fn pki() -> &'static OsciPki {
    static P: OnceLock<OsciPki> = OnceLock::new();
    P.get_or_init(|| OsciPki::generate(2048).expect("test PKI"))
}

pub async fn start_pki(config: OsciConfig) -> (RunningSim, OsciState) {
    start(config, pki().intermediary_keys()).await
}

/// The sending authority's client.
pub fn sender() -> Client {
    let p = pki();
    Client::new(
        p.sender_cipher.clone(),
        p.sender_signature.clone(),
        p.intermediary_cipher.cert.clone(),
    )
}

/// The receiving authority's client.
pub fn recipient() -> Client {
    let p = pki();
    Client::new(
        p.recipient_cipher.clone(),
        p.recipient_signature.clone(),
        p.intermediary_cipher.cert.clone(),
    )
}

/// An intermediary in process (no socket) with the test PKI.
pub fn state_pki(config: OsciConfig) -> OsciState {
    OsciState::new(
        config,
        pki().intermediary_keys(),
        Store::ephemeral().expect("store"),
    )
    .expect("state")
}

/// POST a request to the router; returns status and body.
pub async fn post(st: &OsciState, body: Vec<u8>) -> (u16, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = axum::http::Request::post("/osci")
        .header("content-type", "text/xml")
        .body(axum::body::Body::from(body))
        .unwrap();
    let resp = mock_osci::app(st.clone())
        .oneshot(req)
        .await
        .expect("router");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, bytes.to_vec())
}

/// One exchange: build, POST, open.
pub async fn exchange(
    st: &OsciState,
    c: &mut Client,
    build: impl FnOnce(&mut Client) -> Result<Vec<u8>, mock_osci::client::ClientError>,
) -> Result<mock_osci::client::Answer, mock_osci::client::ClientError> {
    let req = build(c)?;
    let (status, body) = post(st, req).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let r = c.open(&body);
    if let Err(e) = &r {
        eprintln!(
            "exchange failed: {e}; diagnoses: {:?}",
            last_entry(st).diagnoses
        );
    }
    r
}

/// The last journal entry.
pub fn last_entry(st: &OsciState) -> sim_kit::JournalEntry {
    use sim_kit::Simulator;
    st.kit()
        .journal()
        .entries(0, usize::MAX)
        .pop()
        .expect("journal entry")
}
