//! mock-vst's integration tests, one binary (every extra test binary costs a link).

mod common;

mod admin;
mod bad_input;
mod durable;
mod fidelity;
mod flow;
mod openapi;
mod props;
mod rules;
mod snapshots;
mod trust;
