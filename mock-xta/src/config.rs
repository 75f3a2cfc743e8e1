//! Configuration: accounts (keyed by DVDV organisation key) with the services they book and offer (the
//! DVDV directory), transport profiles and their switches, limits, and the switches for every choice the
//! XTA documents leave open (docs/xta.md, "Resolved ambiguities"). The defaults are the seed's own example
//! organisations with their test keys.

use crate::profile::Switches;
use crate::xml::Limits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The FIM service with the correct spelling (seed 001 §5.2).
pub const FIM_SERVICE: &str = "urn:fim:Versammlungsanzeige:1.4";
/// A synchronous test service offered by the default authority (sendMessageSync).
pub const SYNC_SERVICE: &str = "urn:konform:xta:test:Empfangsbestaetigung-sync";
pub const PORTAL_ID: &str = "ehp:010100100001";
pub const AUTHORITY_ID: &str = "vbe:010510440199";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XtaConfig {
    pub accounts: Vec<AccountConfig>,
    /// Further transport profile files (YAML), loaded at start next to the built-in ones.
    #[serde(default)]
    pub profile_files: Vec<PathBuf>,
    /// Per profile id: switches overriding the profile file.
    #[serde(default)]
    pub profile_switches: BTreeMap<String, Switches>,
    #[serde(default)]
    pub limits: XtaLimits,
    #[serde(default)]
    pub behaviour: Behaviour,
    /// `XTAServerIdentity` in transport reports.
    #[serde(default = "server_identity")]
    pub server_identity: String,
}

fn server_identity() -> String {
    "urn:konform:xta:server:mock-xta".into()
}

/// An XTA account, and (in `offers`) its DVDV directory entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// DVDV organisation key with category prefix, e.g. `ehp:010100100001`.
    pub id: String,
    pub name: String,
    /// DVDV organisation category, e.g. `Engagement- und Hobbyportal`.
    pub category: String,
    #[serde(default = "xoev")]
    pub identifier_type: String,
    /// Services this account has booked (may send with); others get 9013.
    #[serde(default)]
    pub books: Vec<String>,
    /// Services this organisation offers as a reader (the DVDV entry lookupService answers from).
    #[serde(default)]
    pub offers: Vec<OfferConfig>,
    #[serde(default)]
    pub locked: bool,
}

fn xoev() -> String {
    "xoev".into()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Async,
    Sync,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferConfig {
    pub service: String,
    #[serde(default)]
    pub mode: Mode,
    /// For synchronous services: what the configured responder answers.
    #[serde(default)]
    pub reply: Option<SyncReply>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncReply {
    pub content_type: String,
    pub text: String,
    #[serde(default)]
    pub filename: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XtaLimits {
    pub xml: Limits,
    /// Decoded content limit for services without a transport profile (the XTA schema's 40 MB).
    pub max_message_bytes: u64,
    /// A request body that stops arriving for this long is abandoned.
    pub body_idle_timeout_ms: u64,
    /// Iterators (MsgBoxRequestID) expire after this long.
    pub iterator_ttl_secs: u64,
}

impl Default for XtaLimits {
    fn default() -> Self {
        XtaLimits {
            xml: Limits::default(),
            max_message_bytes: 40 << 20,
            body_idle_timeout_ms: 30_000,
            iterator_ttl_secs: 3600,
        }
    }
}

/// Switches for what the XTA documents leave open; each is documented with its reason in docs/xta.md.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Behaviour {
    /// sendMessage must use a MessageID createMessageId issued to the account (else 9022).
    pub require_issued_message_id: bool,
    /// Requests must carry wsa:MessageID (WS-Addressing 1.0 §3.4 for request-reply); else a fault.
    pub require_wsa_message_id: bool,
    /// Envelope-level faults (malformed XML, addressing) carry the XTA detail with code 9000.
    pub envelope_fault_detail: bool,
    /// HTTP status of faults: 500 for all (what CXF and WCF servers send), or `soap12` (400 for Sender).
    pub fault_status: FaultStatus,
    /// Answer with MTOM even when the request came inline (for clients that expect MTOM).
    pub always_mtom: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            require_issued_message_id: true,
            require_wsa_message_id: true,
            envelope_fault_detail: true,
            fault_status: FaultStatus::Always500,
            always_mtom: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultStatus {
    #[serde(rename = "500")]
    Always500,
    Soap12,
}

impl Default for XtaConfig {
    fn default() -> Self {
        XtaConfig {
            accounts: vec![
                AccountConfig {
                    id: PORTAL_ID.into(),
                    name: "EFA-Onlinedienst Versammlungsanzeige Schleswig-Holstein".into(),
                    category: "Engagement- und Hobbyportal".into(),
                    identifier_type: xoev(),
                    books: vec![FIM_SERVICE.into(), SYNC_SERVICE.into()],
                    offers: vec![],
                    locked: false,
                },
                AccountConfig {
                    id: AUTHORITY_ID.into(),
                    name: "Kreisordnungsbehörde Dithmarschen".into(),
                    category: "Versammlungsbehörde".into(),
                    identifier_type: xoev(),
                    books: vec![],
                    offers: vec![
                        OfferConfig {
                            service: FIM_SERVICE.into(),
                            mode: Mode::Async,
                            reply: None,
                        },
                        OfferConfig {
                            service: SYNC_SERVICE.into(),
                            mode: Mode::Sync,
                            reply: Some(SyncReply {
                                content_type: "application/xml".into(),
                                text: "<Empfangsbestaetigung xmlns=\"urn:konform:xta:test\"><Status>eingegangen</Status></Empfangsbestaetigung>".into(),
                                filename: Some("Empfangsbestaetigung.xml".into()),
                            }),
                        },
                    ],
                    locked: false,
                },
            ],
            profile_files: Vec::new(),
            profile_switches: BTreeMap::new(),
            limits: XtaLimits::default(),
            behaviour: Behaviour::default(),
            server_identity: server_identity(),
        }
    }
}

impl XtaConfig {
    /// Consistency checks (serde checked the shapes).
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for a in &self.accounts {
            let ok = a.id.split_once(':').is_some_and(|(p, k)| {
                !p.is_empty() && !k.is_empty() && !a.id.chars().any(char::is_whitespace)
            });
            if !ok {
                return Err(format!(
                    "account `{}`: the id is a DVDV organisation key with its category prefix, e.g. ehp:010100100001",
                    a.id
                ));
            }
            if !seen.insert(a.id.clone()) {
                return Err(format!("account `{}` is configured twice", a.id));
            }
            for o in &a.offers {
                if o.mode == Mode::Sync && o.reply.is_none() {
                    return Err(format!(
                        "account `{}` offers `{}` synchronously but configures no reply",
                        a.id, o.service
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn account(&self, id: &str) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| a.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_round_trips_and_validates() {
        let c = XtaConfig::default();
        c.validate().unwrap();
        let json = serde_json::to_value(&c).unwrap();
        let back: XtaConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
        let yaml = "accounts: []\nbehaviour:\n  fault_status: soap12\n";
        let c: XtaConfig = sim_kit::config::from_yaml(yaml, "x").unwrap();
        assert_eq!(c.behaviour.fault_status, FaultStatus::Soap12);
        let mut bad = XtaConfig::default();
        bad.accounts[0].id = "010100100001".into();
        assert!(bad.validate().is_err());
    }
}
