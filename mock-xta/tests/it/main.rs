//! mock-xta integration tests (one binary): flows, profile rules, bad input, durability, TLS, zeep.

mod common;
mod flows;
