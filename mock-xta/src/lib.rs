//! `mock-xta` — NOT BUILT YET. The XTA 2.1.1 transport simulator (FIM-Versammlungsanzeige profile, seed
//! `001_9f056f430192a776.txt`) comes in a later issue. This crate is an empty placeholder so the workspace
//! has its final shape; it serves nothing, and `konform up` reports `"xta": null`.
//!
//! When it is built it reuses `sim-kit` (journal, diagnoses, fault injection with `Fault { code }` as the
//! XTA error code, admin API, `serve`/`serve_tls`) like mock-vst and mock-konnektor.

/// Plainly: nothing here works yet.
pub const STATUS: &str = "mock-xta is not built yet (later issue)";
