//! mock-konnektor's integration tests, one binary (each extra test binary costs a link).
//!
//! Tests that need the shared reference material (official XSDs, recorded templates) find it through
//! `test_support` (`KONFORM_SHARED`, else `../shared`); without it they say they were skipped (or fail under
//! `CI=true`). Every SOAP response a test receives is XSD-validated inside `support::soap` when the XSDs are
//! there.

mod bad_input;
mod flows;
mod recorded;
mod snapshot;
mod support;
mod tls;
mod zeep;
