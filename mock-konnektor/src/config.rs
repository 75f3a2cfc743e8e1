//! Configuration (YAML through `sim_kit::config::from_yaml`, or built in code). Every field has a default;
//! the default is one inserted SMC-B whose C.AUT / C.SIG / C.ENC are the test PKI's insurer certificates,
//! in terminal `CT1`, and the context `Mandant1` / `ClientID1` / `Workplace1` / `User1`.

use serde::{Deserialize, Serialize};

/// Handle of the default SMC-B.
pub const DEFAULT_CARD_HANDLE: &str = "SMC-B-1";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KonnektorConfig {
    /// The one valid call context.
    pub context: ContextConfig,
    /// When true, cards without an explicit `pin` start VERIFIED (no VerifyPin needed before signing).
    pub pin_initially_verified: bool,
    pub terminals: Vec<TerminalConfig>,
    pub cards: Vec<CardConfig>,
    pub limits: LimitsConfig,
    /// `Trace/Instance` in faults.
    pub instance: String,
}

impl Default for KonnektorConfig {
    fn default() -> Self {
        KonnektorConfig {
            context: ContextConfig::default(),
            pin_initially_verified: false,
            terminals: vec![TerminalConfig::default()],
            cards: vec![CardConfig::default()],
            limits: LimitsConfig::default(),
            instance: "Konnektor-Lokal".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextConfig {
    pub mandant_id: String,
    pub client_system_id: String,
    pub workplace_id: String,
    /// Only journaled when it differs: real Konnektors use the UserId for HBA access only.
    pub user_id: Option<String>,
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig {
            mandant_id: "Mandant1".into(),
            client_system_id: "ClientID1".into(),
            workplace_id: "Workplace1".into(),
            user_id: Some("User1".into()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TerminalConfig {
    pub ct_id: String,
    pub name: String,
    /// `XX-XX-XX-XX-XX-XX`
    pub mac_address: String,
    pub ip_address: Option<String>,
    pub slots: u32,
    /// Workplaces the terminal is assigned to (listed in GetCardTerminals).
    pub workplaces: Vec<String>,
    pub connected: bool,
    pub physical: bool,
}

impl Default for TerminalConfig {
    fn default() -> Self {
        TerminalConfig {
            ct_id: "CT1".into(),
            name: "konform Terminal 1".into(),
            mac_address: "02-00-00-00-00-01".into(),
            ip_address: Some("127.0.0.1".into()),
            slots: 4,
            workplaces: vec!["Workplace1".into()],
            connected: true,
            physical: false,
        }
    }
}

/// Where a card's certificates and keys come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// The test PKI's insurer C.AUT / C.SIG / C.ENC (what mock-vst trusts and has registered).
    #[default]
    Pki,
    /// Fresh keys, certificates issued by the test CA at start.
    Generate,
    /// Fresh keys, certificates issued by the test CA that expired yesterday.
    Expired,
}

/// PIN states as GetPinStatus reports them (CardService 8.1 `PinStatusEnum`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PinStatus {
    #[serde(rename = "VERIFIABLE", alias = "verifiable")]
    Verifiable,
    #[serde(rename = "VERIFIED", alias = "verified")]
    Verified,
    #[serde(rename = "BLOCKED", alias = "blocked")]
    Blocked,
    #[serde(rename = "TRANSPORT_PIN", alias = "transport_pin")]
    TransportPin,
}

impl PinStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PinStatus::Verifiable => "VERIFIABLE",
            PinStatus::Verified => "VERIFIED",
            PinStatus::Blocked => "BLOCKED",
            PinStatus::TransportPin => "TRANSPORT_PIN",
        }
    }
}

/// Start state of a card's PIN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinConfig {
    pub status: PinStatus,
    #[serde(default = "max_tries")]
    pub left_tries: u32,
}

pub const MAX_PIN_TRIES: u32 = 3;

fn max_tries() -> u32 {
    MAX_PIN_TRIES
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CardConfig {
    /// CardHandle (≤ 128 characters).
    pub handle: String,
    /// CardServiceCommon `CardType`: SMC-B, HBA, EGK, …
    pub card_type: String,
    /// CardHolderName; default: the insurer name of the PKI (for `pki` keys) or the handle.
    pub holder: Option<String>,
    /// 20 digits; default derived from the position.
    pub iccsn: Option<String>,
    pub ct_id: String,
    /// Default: position in the list + 1.
    pub slot_id: Option<u32>,
    pub inserted: bool,
    pub keys: KeySource,
    /// Default: VERIFIABLE with 3 tries (VERIFIED when `pin_initially_verified`).
    pub pin: Option<PinConfig>,
    /// Telematik-ID and IK written into generated certificates (`OU`s, as the test PKI does).
    pub telematik_id: Option<String>,
    pub ik: Option<String>,
}

impl Default for CardConfig {
    fn default() -> Self {
        CardConfig {
            handle: DEFAULT_CARD_HANDLE.into(),
            card_type: "SMC-B".into(),
            holder: None,
            iccsn: None,
            ct_id: "CT1".into(),
            slot_id: None,
            inserted: true,
            keys: KeySource::Pki,
            pin: None,
            telematik_id: None,
            ik: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Larger request bodies are refused with HTTP 413 (and a tel/error 4000 fault body).
    pub max_body_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 8 * 1024 * 1024,
            max_depth: 64,
            max_elements: 100_000,
        }
    }
}

/// CardType values of CardServiceCommon 2.0.
pub const CARD_TYPES: &[&str] = &[
    "EGK", "HBA-qSig", "HBA", "SMC-B", "HSM-B", "SMC-KT", "KVK", "ZOD_2.0", "UNKNOWN", "HBAx",
    "SM-B",
];

/// PIN types a card type knows.
pub fn pin_types(card_type: &str) -> &'static [&'static str] {
    match card_type {
        "SMC-B" | "HSM-B" | "SM-B" => &["PIN.SMC"],
        "HBA" | "HBA-qSig" | "HBAx" => &["PIN.CH", "PIN.QES"],
        "EGK" => &["PIN.CH", "MRPIN.home"],
        _ => &[],
    }
}

/// Can this card type sign (SignDocument / ExternalAuthenticate)?
pub fn can_sign(card_type: &str) -> bool {
    matches!(
        card_type,
        "SMC-B" | "HSM-B" | "SM-B" | "HBA" | "HBA-qSig" | "HBAx"
    )
}

/// A configuration the simulator cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{field} must be 1 to 64 characters")]
    ContextLength { field: &'static str },
    #[error("terminal ct_id `{0}` must be 1 to 64 characters")]
    TerminalId(String),
    #[error("terminal ct_id `{0}` appears twice")]
    DuplicateTerminal(String),
    #[error("terminal `{ct_id}`: mac_address `{mac}` must look like 02-00-00-00-00-01")]
    MacAddress { ct_id: String, mac: String },
    #[error("terminal `{ct_id}`: ip_address `{ip}` must be an IPv4 address")]
    IpAddress { ct_id: String, ip: String },
    #[error("card handle `{0}` must be 1 to 128 characters")]
    HandleLength(String),
    #[error("card handle `{0}` appears twice")]
    DuplicateHandle(String),
    #[error("card `{handle}`: card_type `{card_type}` is not one of {}", CARD_TYPES.join(", "))]
    CardType { handle: String, card_type: String },
    #[error("card `{handle}`: terminal `{ct_id}` is not configured")]
    UnknownTerminal { handle: String, ct_id: String },
    #[error("card `{handle}`: slot {slot} does not exist in terminal `{ct_id}` ({slots} slots)")]
    NoSuchSlot {
        handle: String,
        slot: u32,
        ct_id: String,
        slots: u32,
    },
    #[error("card `{handle}`: slot {slot} of terminal `{ct_id}` is taken by another inserted card")]
    SlotTaken {
        handle: String,
        slot: u32,
        ct_id: String,
    },
    #[error("card `{handle}`: iccsn must be 20 digits")]
    Iccsn { handle: String },
    #[error("card `{handle}`: pin.left_tries must be at most {MAX_PIN_TRIES}")]
    LeftTries { handle: String },
    #[error("card `{handle}`: issuing its certificates failed")]
    Certificate {
        handle: String,
        #[source]
        source: ti_core::Error,
    },
}
