//! Integration tests of mock-melderegister (one binary).

mod browser;
mod common;
mod order;
mod service;
