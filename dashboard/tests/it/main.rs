//! The dashboard's integration tests (one binary): HTTP-level tests and browser tests.

mod browser;
mod harness;
mod pages;
