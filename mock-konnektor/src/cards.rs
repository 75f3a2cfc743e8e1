//! Cards: their certificates and keys (fixed at start) and their PIN state (changes with VerifyPin, the admin
//! API and reset). The PIN state machine has no I/O and is tested here.

use crate::config::{
    CARD_TYPES, CardConfig, ConfigError, KeySource, KonnektorConfig, MAX_PIN_TRIES, PinConfig,
    PinStatus,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, SystemTime};
use ti_core::pki::{CertSpec, Identity, Purpose, TestPki};

/// A card as configured, with its identities.
#[derive(Clone, Debug)]
pub struct Card {
    pub cfg: CardConfig,
    pub holder: String,
    pub iccsn: String,
    pub slot_id: u32,
    pub insert_time: String,
    pub aut: Identity,
    pub sig: Identity,
    pub enc: Identity,
    /// `YYYY-MM-DD` of the C.AUT notAfter.
    pub expiration_date: String,
    pub initial_pin: PinConfig,
}

/// What the next VerifyPin does (there is no PIN value in the request: a PIN pad is simulated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyAnswer {
    /// The user types the right PIN.
    Ok,
    /// The user types a wrong PIN: REJECTED with LeftTries, NOWBLOCKED when no tries are left.
    Wrong,
}

/// The mutable state of one card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardState {
    pub pin: PinStatus,
    pub left_tries: u32,
    pub next_verify: VecDeque<VerifyAnswer>,
    pub inserted: bool,
}

/// The answer of VerifyPin (CardServiceCommon `PinResultEnum`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinResult {
    Ok,
    Rejected(u32),
    NowBlocked,
    WasBlocked,
    TransportPin,
}

impl PinResult {
    pub fn as_str(self) -> &'static str {
        match self {
            PinResult::Ok => "OK",
            PinResult::Rejected(_) => "REJECTED",
            PinResult::NowBlocked => "NOWBLOCKED",
            PinResult::WasBlocked => "WASBLOCKED",
            PinResult::TransportPin => "TRANSPORT_PIN",
        }
    }
    pub fn left_tries(self) -> Option<u32> {
        match self {
            PinResult::Rejected(n) => Some(n),
            PinResult::NowBlocked | PinResult::WasBlocked => Some(0),
            _ => None,
        }
    }
}

impl CardState {
    /// Insert or pull the card; a pulled card loses its security state, as a real card does.
    pub fn set_inserted(&mut self, inserted: bool) {
        self.inserted = inserted;
        if !inserted && self.pin == PinStatus::Verified {
            self.pin = PinStatus::Verifiable;
        }
    }

    pub fn initial(pin: &PinConfig, inserted: bool) -> CardState {
        CardState {
            pin: pin.status,
            left_tries: match pin.status {
                PinStatus::Blocked => 0,
                _ => pin.left_tries.min(MAX_PIN_TRIES),
            },
            next_verify: VecDeque::new(),
            inserted,
        }
    }

    /// VerifyPin. A transport PIN is reported as a fault by the caller (4065), not through here.
    pub fn verify(&mut self) -> PinResult {
        match self.pin {
            PinStatus::Verified => PinResult::Ok,
            PinStatus::Blocked => PinResult::WasBlocked,
            PinStatus::TransportPin => PinResult::TransportPin,
            PinStatus::Verifiable => match self.next_verify.pop_front().unwrap_or(VerifyAnswer::Ok)
            {
                VerifyAnswer::Ok => {
                    self.pin = PinStatus::Verified;
                    self.left_tries = MAX_PIN_TRIES;
                    PinResult::Ok
                }
                VerifyAnswer::Wrong => {
                    self.left_tries = self.left_tries.saturating_sub(1);
                    if self.left_tries == 0 {
                        self.pin = PinStatus::Blocked;
                        PinResult::NowBlocked
                    } else {
                        PinResult::Rejected(self.left_tries)
                    }
                }
            },
        }
    }

    /// LeftTries as GetPinStatus reports it.
    pub fn status_left_tries(&self) -> Option<u32> {
        match self.pin {
            PinStatus::Verifiable | PinStatus::Blocked => Some(self.left_tries),
            _ => None,
        }
    }
}

/// A change of PIN state through the admin API or in-process.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinUpdate {
    #[serde(default)]
    pub status: Option<PinStatus>,
    #[serde(default)]
    pub left_tries: Option<u32>,
    /// Replaces the queue of scripted VerifyPin answers.
    #[serde(default)]
    pub next_verify: Option<Vec<VerifyAnswer>>,
}

/// A PIN update that cannot be applied.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PinUpdateError {
    #[error("left_tries must be 0..={MAX_PIN_TRIES}, got {0}")]
    LeftTries(u32),
}

impl PinUpdate {
    pub fn apply(&self, st: &mut CardState) -> Result<(), PinUpdateError> {
        if let Some(n) = self.left_tries
            && n > MAX_PIN_TRIES
        {
            return Err(PinUpdateError::LeftTries(n));
        }
        if let Some(s) = self.status {
            st.pin = s;
            st.left_tries = match s {
                PinStatus::Blocked => 0,
                PinStatus::Verified => MAX_PIN_TRIES,
                _ => st.left_tries.max(1),
            };
        }
        if let Some(n) = self.left_tries {
            st.left_tries = n;
            if n == 0 && st.pin == PinStatus::Verifiable {
                st.pin = PinStatus::Blocked;
            }
        }
        if let Some(q) = &self.next_verify {
            st.next_verify = q.iter().copied().collect();
        }
        Ok(())
    }
}

/// A card as the admin API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardView {
    pub handle: String,
    pub card_type: String,
    pub holder: String,
    pub iccsn: String,
    pub ct_id: String,
    pub slot_id: u32,
    pub inserted: bool,
    pub pin_status: PinStatus,
    pub left_tries: u32,
    pub next_verify: Vec<VerifyAnswer>,
    pub certificate_expiration: String,
    pub keys: KeySource,
    pub aut_subject: String,
}

impl Card {
    /// The configured start state.
    pub fn initial_state(&self) -> CardState {
        CardState::initial(&self.initial_pin, self.cfg.inserted)
    }

    /// The identity behind a CertRef (`C.QES` only on an HBA, where it is the signature key).
    pub fn certificate(&self, cert_ref: &str) -> Option<&Identity> {
        match cert_ref {
            "C.AUT" => Some(&self.aut),
            "C.SIG" => Some(&self.sig),
            "C.ENC" => Some(&self.enc),
            "C.QES" if self.cfg.card_type.starts_with("HBA") => Some(&self.sig),
            _ => None,
        }
    }

    pub fn view(&self, st: &CardState) -> CardView {
        CardView {
            handle: self.cfg.handle.clone(),
            card_type: self.cfg.card_type.clone(),
            holder: self.holder.clone(),
            iccsn: self.iccsn.clone(),
            ct_id: self.cfg.ct_id.clone(),
            slot_id: self.slot_id,
            inserted: st.inserted,
            pin_status: st.pin,
            left_tries: st.left_tries,
            next_verify: st.next_verify.iter().copied().collect(),
            certificate_expiration: self.expiration_date.clone(),
            keys: self.cfg.keys,
            aut_subject: ti_core::pki::subject_string(&self.aut.cert()),
        }
    }
}

fn escape_rdn(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, '#' | ' '))
        {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

fn not_after(id: &Identity) -> SystemTime {
    id.cert()
        .tbs_certificate()
        .validity()
        .not_after
        .to_system_time()
}

fn check_context(config: &KonnektorConfig) -> Result<(), ConfigError> {
    let ctx = &config.context;
    for (field, v) in [
        ("context.mandant_id", &ctx.mandant_id),
        ("context.client_system_id", &ctx.client_system_id),
        ("context.workplace_id", &ctx.workplace_id),
    ] {
        if v.is_empty() || v.chars().count() > 64 {
            return Err(ConfigError::ContextLength { field });
        }
    }
    Ok(())
}

fn check_terminals(config: &KonnektorConfig) -> Result<(), ConfigError> {
    let mut cts = HashSet::new();
    for t in &config.terminals {
        if t.ct_id.is_empty() || t.ct_id.chars().count() > 64 {
            return Err(ConfigError::TerminalId(t.ct_id.clone()));
        }
        if !cts.insert(t.ct_id.clone()) {
            return Err(ConfigError::DuplicateTerminal(t.ct_id.clone()));
        }
        let mac_ok = t.mac_address.len() == 17
            && t.mac_address.split('-').count() == 6
            && t.mac_address
                .split('-')
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
        if !mac_ok {
            return Err(ConfigError::MacAddress {
                ct_id: t.ct_id.clone(),
                mac: t.mac_address.clone(),
            });
        }
        if let Some(ip) = &t.ip_address
            && ip.parse::<std::net::Ipv4Addr>().is_err()
        {
            return Err(ConfigError::IpAddress {
                ct_id: t.ct_id.clone(),
                ip: ip.clone(),
            });
        }
    }
    Ok(())
}

/// The card's place: its slot, checked against the terminal and the other inserted cards.
fn slot_of(
    config: &KonnektorConfig,
    c: &CardConfig,
    i: usize,
    taken: &mut HashSet<(String, u32)>,
) -> Result<u32, ConfigError> {
    let Some(t) = config.terminals.iter().find(|t| t.ct_id == c.ct_id) else {
        return Err(ConfigError::UnknownTerminal {
            handle: c.handle.clone(),
            ct_id: c.ct_id.clone(),
        });
    };
    let slot = c.slot_id.unwrap_or(i as u32 + 1);
    if slot == 0 || slot > t.slots {
        return Err(ConfigError::NoSuchSlot {
            handle: c.handle.clone(),
            slot,
            ct_id: c.ct_id.clone(),
            slots: t.slots,
        });
    }
    if c.inserted && !taken.insert((c.ct_id.clone(), slot)) {
        return Err(ConfigError::SlotTaken {
            handle: c.handle.clone(),
            slot,
            ct_id: c.ct_id.clone(),
        });
    }
    Ok(slot)
}

/// C.AUT, C.SIG, C.ENC of a card: the test PKI's insurer identities, or fresh ones issued by the test CA.
fn identities(
    c: &CardConfig,
    i: usize,
    holder: &str,
    pki: &TestPki,
    now: SystemTime,
) -> Result<(Identity, Identity, Identity), ConfigError> {
    if c.keys == KeySource::Pki {
        return Ok((
            pki.insurer_aut.clone(),
            pki.insurer_sig.clone(),
            pki.insurer_enc.clone(),
        ));
    }
    const DAY: Duration = Duration::from_secs(24 * 3600);
    let (nb, na) = if c.keys == KeySource::Expired {
        (now - 3 * 365 * DAY, now - DAY)
    } else {
        (now - DAY, now + 5 * 365 * DAY)
    };
    let mut ous = String::new();
    for v in [&c.ik, &c.telematik_id].into_iter().flatten() {
        ous.push_str(&format!(",OU={}", escape_rdn(v)));
    }
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() & 0xffff_ffff)
        .unwrap_or(0);
    let mk = |role: &str, purpose: Purpose, n: u64| -> Result<Identity, ConfigError> {
        let key = ti_core::EcSecretKey::generate(pki.curve);
        let subject = format!(
            "CN={} {role} TEST-ONLY{ous},O={} NOT-VALID,C=DE",
            escape_rdn(holder),
            escape_rdn(holder)
        );
        let spec = CertSpec {
            subject: &subject,
            purpose,
            not_before: nb,
            not_after: na,
            serial: 0x4b43_0000_0000u64 + (secs << 4) + (i as u64) * 8 + n,
        };
        let der = ti_core::pki::issue(&spec, &key.public_key(), Some(&pki.ca), None).map_err(
            |source| ConfigError::Certificate {
                handle: c.handle.clone(),
                source,
            },
        )?;
        Ok(Identity { cert_der: der, key })
    };
    Ok((
        mk("C.AUT", Purpose::Signature, 1)?,
        mk("C.SIG", Purpose::Signature, 2)?,
        mk("C.ENC", Purpose::Encryption, 3)?,
    ))
}

/// Build the cards of a configuration at time `now` (certificate validity, InsertTime); checks the
/// configuration.
pub fn build(
    config: &KonnektorConfig,
    pki: &TestPki,
    now: SystemTime,
) -> Result<Vec<Card>, ConfigError> {
    check_context(config)?;
    check_terminals(config)?;
    let mut cards = Vec::with_capacity(config.cards.len());
    let mut handles = HashSet::new();
    let mut taken = HashSet::new();
    let insert_time = crate::write::date_time(now);
    for (i, c) in config.cards.iter().enumerate() {
        if c.handle.is_empty() || c.handle.chars().count() > 128 {
            return Err(ConfigError::HandleLength(c.handle.clone()));
        }
        if !handles.insert(c.handle.clone()) {
            return Err(ConfigError::DuplicateHandle(c.handle.clone()));
        }
        if !CARD_TYPES.contains(&c.card_type.as_str()) {
            return Err(ConfigError::CardType {
                handle: c.handle.clone(),
                card_type: c.card_type.clone(),
            });
        }
        let slot_id = slot_of(config, c, i, &mut taken)?;
        let iccsn = match &c.iccsn {
            Some(s) if s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()) => s.clone(),
            Some(_) => {
                return Err(ConfigError::Iccsn {
                    handle: c.handle.clone(),
                });
            }
            None => format!("8027600{:013}", 1_000_000 + i as u64 + 1),
        };
        let holder = c.holder.clone().unwrap_or_else(|| match c.keys {
            KeySource::Pki => pki.insurer.name.clone(),
            _ => c.handle.clone(),
        });
        let (aut, sig, enc) = identities(c, i, &holder, pki, now)?;
        let initial_pin = c.pin.clone().unwrap_or(PinConfig {
            status: if config.pin_initially_verified {
                PinStatus::Verified
            } else {
                PinStatus::Verifiable
            },
            left_tries: MAX_PIN_TRIES,
        });
        if initial_pin.left_tries > MAX_PIN_TRIES {
            return Err(ConfigError::LeftTries {
                handle: c.handle.clone(),
            });
        }
        cards.push(Card {
            cfg: c.clone(),
            holder,
            iccsn,
            slot_id,
            insert_time: insert_time.clone(),
            expiration_date: crate::write::date(not_after(&aut)),
            aut,
            sig,
            enc,
            initial_pin,
        });
    }
    Ok(cards)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(pin: PinStatus, tries: u32) -> CardState {
        CardState::initial(
            &PinConfig {
                status: pin,
                left_tries: tries,
            },
            true,
        )
    }

    #[test]
    fn verify_then_verified() {
        let mut s = st(PinStatus::Verifiable, 3);
        assert_eq!(s.verify(), PinResult::Ok);
        assert_eq!(s.pin, PinStatus::Verified);
        assert_eq!(s.verify(), PinResult::Ok, "verifying again stays OK");
    }

    #[test]
    fn wrong_pins_count_down_then_block() {
        let mut s = st(PinStatus::Verifiable, 3);
        s.next_verify = [
            VerifyAnswer::Wrong,
            VerifyAnswer::Wrong,
            VerifyAnswer::Wrong,
        ]
        .into_iter()
        .collect();
        assert_eq!(s.verify(), PinResult::Rejected(2));
        assert_eq!(s.status_left_tries(), Some(2));
        assert_eq!(s.verify(), PinResult::Rejected(1));
        assert_eq!(s.verify(), PinResult::NowBlocked);
        assert_eq!(s.pin, PinStatus::Blocked);
        assert_eq!(s.verify(), PinResult::WasBlocked);
        assert_eq!(PinResult::WasBlocked.left_tries(), Some(0));
    }

    #[test]
    fn wrong_then_right_resets_tries() {
        let mut s = st(PinStatus::Verifiable, 3);
        s.next_verify = [VerifyAnswer::Wrong, VerifyAnswer::Ok]
            .into_iter()
            .collect();
        assert_eq!(s.verify(), PinResult::Rejected(2));
        assert_eq!(s.verify(), PinResult::Ok);
        assert_eq!(s.left_tries, 3);
    }

    #[test]
    fn transport_pin_and_updates() {
        let mut s = st(PinStatus::TransportPin, 3);
        assert_eq!(s.verify(), PinResult::TransportPin);
        assert_eq!(s.pin, PinStatus::TransportPin);
        PinUpdate {
            status: Some(PinStatus::Verifiable),
            left_tries: Some(1),
            next_verify: Some(vec![VerifyAnswer::Wrong]),
        }
        .apply(&mut s)
        .unwrap();
        assert_eq!(s.verify(), PinResult::NowBlocked);
        assert!(
            PinUpdate {
                left_tries: Some(9),
                ..Default::default()
            }
            .apply(&mut s)
            .is_err()
        );
    }
}
