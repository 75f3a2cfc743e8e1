//! mock-osci integration tests (one binary).

mod common;
mod java;
