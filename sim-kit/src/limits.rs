//! The resource limits every simulator runs under, in one struct so `konform up` can take them from one
//! place (`limits:` in the `--config` file, docs/operations.md) and give them to every simulator:
//!
//! ```ignore
//! sim.kit().set_limits(&limits);                                // per request: body pace, in-flight bytes, journal
//! sim_kit::serve::serve_with(listener, app, limits, shutdown)   // per listener: connection cap, header timeout
//! ```
//!
//! A simulator that does neither runs with [`Limits::default`], which is sensible for local use.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Open connections per listener. A connection past it is closed at once (and a warning logged).
    pub max_connections: usize,
    /// Seconds a client has to send the request line and headers (also the keep-alive idle time).
    pub header_timeout_secs: u64,
    /// Seconds, counted from the end of the headers, within which the whole body must have arrived
    /// (otherwise `408`).
    pub body_deadline_secs: u64,
    /// Minimum average body rate in bytes per second once [`Limits::body_rate_grace_secs`] have passed
    /// (otherwise `408`). 0 switches the check off.
    pub min_body_rate: u64,
    /// Seconds before the minimum body rate applies.
    pub body_rate_grace_secs: u64,
    /// Request-body bytes in flight across all requests of one simulator (bodies being received or
    /// processed). A request that would pass it is answered `503` with `Retry-After`.
    pub max_body_bytes_in_flight: u64,
    /// Journal entries kept per simulator (oldest dropped first).
    pub journal_max_entries: usize,
    /// Journal bytes kept per simulator (approximate size of the entries; oldest dropped first).
    pub journal_max_bytes: usize,
    /// Seconds that `Retry-After` tells a client to wait after a `503` for lack of in-flight budget.
    pub retry_after_secs: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 512,
            header_timeout_secs: 30,
            body_deadline_secs: 120,
            min_body_rate: 1024,
            body_rate_grace_secs: 10,
            max_body_bytes_in_flight: 256 * 1024 * 1024,
            journal_max_entries: 10_000,
            journal_max_bytes: 64 * 1024 * 1024,
            retry_after_secs: 1,
        }
    }
}

impl Limits {
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs.max(1))
    }
    pub fn body_deadline(&self) -> Duration {
        Duration::from_secs(self.body_deadline_secs.max(1))
    }
    pub fn body_rate_grace(&self) -> Duration {
        Duration::from_secs(self.body_rate_grace_secs)
    }

    /// Every value usable: no zero where zero would mean "refuse everything".
    pub fn validate(&self) -> Result<(), String> {
        let nonzero = [
            ("max_connections", self.max_connections as u64),
            ("header_timeout_secs", self.header_timeout_secs),
            ("body_deadline_secs", self.body_deadline_secs),
            ("max_body_bytes_in_flight", self.max_body_bytes_in_flight),
            ("journal_max_entries", self.journal_max_entries as u64),
            ("journal_max_bytes", self.journal_max_bytes as u64),
        ];
        for (name, v) in nonzero {
            if v == 0 {
                return Err(format!("limits.{name} must be at least 1"));
            }
        }
        if self.max_body_bytes_in_flight > u64::from(u32::MAX) {
            return Err("limits.max_body_bytes_in_flight must be below 4 GiB".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_partial_yaml_keeps_the_rest() {
        assert!(Limits::default().validate().is_ok());
        let l: Limits = crate::config::from_yaml("max_connections: 8\n", "t").unwrap();
        assert_eq!(l.max_connections, 8);
        assert_eq!(l.journal_max_entries, 10_000);
        assert!(crate::config::from_yaml::<Limits>("max_conections: 8\n", "t").is_err());
        let zero = Limits {
            max_connections: 0,
            ..Limits::default()
        };
        assert!(zero.validate().unwrap_err().contains("max_connections"));
    }
}
