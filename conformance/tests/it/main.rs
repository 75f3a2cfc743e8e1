//! Integration tests of the conformance crate, in one binary: the shipped packs against the scenario
//! schema, the reporters' output (snapshots), adapters (command environment, HTTP harness).

mod adapters;
mod ci_docs;
mod fairness;
mod obligations;
mod python_example;
mod reports;
mod schema;
mod sharding;

use std::path::PathBuf;

/// The workspace's `scenarios/` folder.
pub fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}
