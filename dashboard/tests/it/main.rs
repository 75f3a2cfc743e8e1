//! The dashboard's integration tests (one binary): HTTP-level tests, browser tests, and the screenshots
//! that `make screenshots` takes (ignored otherwise).

mod browser;
mod harness;
mod pages;
mod screenshots;
