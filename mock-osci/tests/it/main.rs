//! mock-osci integration tests (one binary).

mod bad_input;
mod common;
mod flows;
mod fuzzish;
mod java;
