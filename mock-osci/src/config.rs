//! Configuration of the intermediary (YAML section `osci` of `konform up --config`).

use serde::{Deserialize, Serialize};

/// How the seed's OSCI profile (section 4.2) is applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileMode {
    /// Violations are refused with the OSCI feedback/fault and a diagnosis (default).
    #[default]
    Enforce,
    /// Violations are journaled as diagnoses, the request is processed (the library's samples, which
    /// break the profile on purpose, run unchanged).
    Report,
    /// No profile checks.
    Off,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OsciConfig {
    /// The endpoint path clients POST to.
    pub path: String,
    /// Largest HTTP body accepted at all (bytes); the profile's 40 MB rule is checked separately.
    pub max_body: usize,
    /// The profile's limit on the message as a whole (rule 9/10: 40 MB).
    pub max_message: usize,
    /// Sign answers (SupplierSignature, RSA-SHA256).
    pub sign_responses: bool,
    /// Refuse unsigned requests with 9600 (the seed: usage data *may* be signed, so off by default).
    pub require_client_signature: bool,
    pub profile: ProfileMode,
    /// HTTP status of SOAP faults. 200 by default: the library's transport reads the answer body only on
    /// a 2xx (`HttpURLConnection.getInputStream`), so only then does the client see the OSCI code.
    pub fault_status: u16,
    /// Seconds an explicit dialog may stay idle.
    pub dialog_timeout_secs: i64,
}

impl Default for OsciConfig {
    fn default() -> Self {
        OsciConfig {
            path: "/osci".into(),
            max_body: 48 * 1024 * 1024,
            max_message: 40 * 1024 * 1024,
            sign_responses: true,
            require_client_signature: false,
            profile: ProfileMode::Enforce,
            fault_status: 200,
            dialog_timeout_secs: 3600,
        }
    }
}
