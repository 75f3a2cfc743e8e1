//! The root package's integration tests, in one binary: the source tree's invariants (`architecture`), the
//! `konform` binary as users run it (`cli`,
//! `up`, `run`), and independent implementations checking ours (`interop_openssl`, `interop_python`).

mod architecture;
mod cli;
mod common;
mod interop_openssl;
mod interop_python;
mod run;
mod up;
mod up_xta;
