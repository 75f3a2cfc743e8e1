//! Integration tests of mock-melderegister (one binary).

mod common;
mod order;
mod service;
