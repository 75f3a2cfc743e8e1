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
