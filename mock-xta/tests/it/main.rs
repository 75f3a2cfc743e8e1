//! mock-xta integration tests (one binary): flows, profile rules, bad input, durability, TLS, zeep.

mod admin;
mod bad_input;
mod common;
mod durability;
mod flows;
mod profile;
mod tls;
mod zeep;
