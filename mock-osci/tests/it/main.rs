//! mock-osci integration tests (one binary).

mod common;
mod flows;
mod java;
