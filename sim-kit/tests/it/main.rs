//! The shared kit through a toy simulator: journal, diagnosis header, path faults, panics, admin API,
//! real dropped connections over TCP (`kit`), and the hardening every simulator inherits — bounded
//! journal, body deadline and rate, in-flight budget, connection cap, admin access (`hardening`).

mod common;
mod hardening;
mod kit;
