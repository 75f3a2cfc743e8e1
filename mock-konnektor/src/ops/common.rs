//! What several operations share: the call context, the card handle and its lookup, the PIN gate before
//! signing, and the `mandant-wide` attribute.

use super::{OpErr, OpResult};
use crate::KonnektorState;
use crate::config::PinStatus;
use crate::fault::codes;
use crate::schema::{Child, Particle, collapse, ns, optional, required};
use crate::state::CardLookup;
use crate::xml::{XmlError, quote};
use sim_kit::Diagnosis;

pub const CONTEXT: Particle = required(ns::CCTX, "Context");
pub const CARD_HANDLE: Particle = required(ns::CONN, "CardHandle");

const MANDANT_ID: Particle = required(ns::CONN, "MandantId");
const CLIENT_SYSTEM_ID: Particle = required(ns::CONN, "ClientSystemId");
const WORKPLACE_ID: Particle = required(ns::CONN, "WorkplaceId");
const USER_ID: Particle = optional(ns::CONN, "UserId");

/// The call context (ConnectorContext 2.0) as sent.
#[derive(Clone, Debug)]
pub struct CallContext {
    pub mandant: String,
    pub client: String,
    pub workplace: String,
    pub user: Option<String>,
    pub path: String,
}

impl CallContext {
    pub fn parse(c: &Child<'_>) -> OpResult<CallContext> {
        let m = c.sequence(&[MANDANT_ID, CLIENT_SYSTEM_ID, WORKPLACE_ID, USER_ID])?;
        Ok(CallContext {
            mandant: m.required(MANDANT_ID)?.max_length(64)?,
            client: m.required(CLIENT_SYSTEM_ID)?.max_length(64)?,
            workplace: m.required(WORKPLACE_ID)?.max_length(64)?,
            user: m.optional(USER_ID).map(|u| u.max_length(64)).transpose()?,
            path: c.path.clone(),
        })
    }

    /// 4021 for an empty value, 4004 / 4005 / 4006 for one the Konnektor does not know; a different UserId
    /// is only noted.
    pub fn check(&self, st: &KonnektorState, notes: &mut Vec<Diagnosis>) -> OpResult<()> {
        let cfg = &st.config().context;
        let p = &self.path;
        for (name, v) in [
            ("MandantId", &self.mandant),
            ("ClientSystemId", &self.client),
            ("WorkplaceId", &self.workplace),
        ] {
            if v.trim().is_empty() {
                return Err(OpErr::new(
                    codes::CONTEXT_INCOMPLETE,
                    "konnektor.context.incomplete",
                    format!("{name} is empty"),
                )
                .at(format!("{p}/{name}"))
                .hint(
                    "MandantId, ClientSystemId and WorkplaceId are mandatory and must not be empty",
                ));
            }
        }
        let checks = [
            (
                "MandantId",
                &self.mandant,
                &cfg.mandant_id,
                codes::MANDANT,
                "mandant-id",
            ),
            (
                "ClientSystemId",
                &self.client,
                &cfg.client_system_id,
                codes::CLIENT_SYSTEM,
                "client-system-id",
            ),
            (
                "WorkplaceId",
                &self.workplace,
                &cfg.workplace_id,
                codes::WORKPLACE,
                "workplace-id",
            ),
        ];
        for (name, got, want, code, rule) in checks {
            if got != want {
                let near = got.trim() == want.as_str() || got.eq_ignore_ascii_case(want);
                let hint = if near {
                    format!(
                        "the configured value is '{want}': {name} is compared exactly (case and whitespace matter)"
                    )
                } else {
                    format!("the configured value is '{want}' (simulator config `context`)")
                };
                return Err(OpErr::new(
                    code,
                    &format!("konnektor.context.{rule}"),
                    format!("{name} '{got}' is not configured in this Konnektor"),
                )
                .at(format!("{p}/{name}"))
                .hint(hint));
            }
        }
        if let (Some(u), Some(want)) = (&self.user, &cfg.user_id)
            && u != want
        {
            notes.push(
                    Diagnosis::new(
                        "konnektor.context.user-id",
                        format!(
                            "UserId '{u}' differs from the configured '{want}' (not checked for SMC-B access)"
                        ),
                    )
                    .at(format!("{p}/UserId")),
                );
        }
        Ok(())
    }
}

/// A CardHandle as sent (≤ 128 characters), with its XPath.
#[derive(Clone, Debug)]
pub struct CardRef {
    pub handle: String,
    pub path: String,
}

impl CardRef {
    pub fn parse(c: &Child<'_>) -> OpResult<CardRef> {
        Ok(CardRef {
            handle: c.max_length(128)?,
            path: c.path.clone(),
        })
    }

    /// Index of the inserted card with this handle, or 4008 (naming near misses).
    pub fn inserted(&self, st: &KonnektorState) -> OpResult<usize> {
        let handle = &self.handle;
        match st.lookup_inserted(handle) {
            CardLookup::Inserted(i) => Ok(i),
            CardLookup::NotInserted => Err(OpErr::new(
                codes::CARD_NOT_INSERTED,
                "konnektor.card.not-inserted",
                format!("card '{handle}' is not inserted"),
            )
            .at(self.path.clone())
            .hint(
                "insert it with PUT /__konform/cards/{handle}/inserted, or use a handle GetCards lists",
            )),
            CardLookup::Unknown { inserted } => {
                let near = inserted
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(handle.trim()));
                let hint = match near {
                    Some(k) => format!("did you mean '{k}'? Card handles are compared exactly"),
                    None if inserted.is_empty() => {
                        "take the CardHandle from GetCards; inserted cards: none".to_string()
                    }
                    None => format!(
                        "take the CardHandle from GetCards; inserted cards: {}",
                        inserted.join(", ")
                    ),
                };
                Err(OpErr::new(
                    codes::CARD_NOT_INSERTED,
                    "konnektor.card.unknown-handle",
                    format!("no inserted card has the handle '{}'", quote(handle)),
                )
                .at(self.path.clone())
                .hint(hint))
            }
        }
    }
}

/// Signing needs the card's PIN to be VERIFIED.
pub fn require_verified(st: &KonnektorState, i: usize, path: &str, op: &str) -> OpResult<()> {
    let status = st.pin_state(i).pin;
    let handle = &st.card_at(i).cfg.handle;
    match status {
        PinStatus::Verified => Ok(()),
        PinStatus::Blocked => Err(OpErr::new(
            codes::PIN_BLOCKED,
            "konnektor.pin.blocked",
            format!("{op}: the PIN of card '{handle}' is blocked"),
        )
        .at(path.to_string())
        .hint("unblock it through the admin API (PUT /__konform/cards/{handle}/pin)")),
        PinStatus::TransportPin => Err(OpErr::new(
            codes::TRANSPORT_PIN,
            "konnektor.pin.transport",
            format!("{op}: card '{handle}' still has its transport PIN"),
        )
        .at(path.to_string())),
        PinStatus::Verifiable => Err(OpErr::new(
            codes::ACCESS_CONDITIONS,
            "konnektor.pin.not-verified",
            format!("{op}: the PIN of card '{handle}' has not been verified"),
        )
        .at(path.to_string())
        .hint("call CardService VerifyPin (PinTyp PIN.SMC) for this card first")
        .seed("Freigabe der SMC-B durch Eingabe der PIN")),
    }
}

/// The `mandant-wide` attribute of GetCards / GetCardTerminals (xs:boolean, default false).
pub fn mandant_wide(c: &Child<'_>) -> OpResult<bool> {
    c.allowed_attrs(&["mandant-wide"])?;
    match c.el.attr("mandant-wide") {
        None => Ok(false),
        Some(v) => match collapse(v).as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(XmlError::new(
                "schema.datatype",
                format!(
                    "cvc-datatype-valid.1.2.1: '{}' is not a valid value for 'boolean' (attribute 'mandant-wide').",
                    quote(other)
                ),
            )
            .at(c.path.clone())
            .into()),
        },
    }
}

/// Is a terminal visible from this workplace (or all of them, mandant-wide)?
pub fn terminal_visible(st: &KonnektorState, ct_id: &str, workplace: &str, wide: bool) -> bool {
    wide || st
        .config()
        .terminals
        .iter()
        .find(|t| t.ct_id == ct_id)
        .is_some_and(|t| t.workplaces.is_empty() || t.workplaces.iter().any(|w| w == workplace))
}

const PIN_TYP: Particle = required(ns::CARDCMN, "PinTyp");

/// The body of VerifyPin and GetPinStatus: context, card and PIN type.
#[derive(Clone, Debug)]
pub struct PinTarget {
    pub context: CallContext,
    pub card: CardRef,
    pub pin_typ: String,
    pub pin_typ_path: String,
}

impl PinTarget {
    pub fn parse(el: &Child<'_>) -> OpResult<PinTarget> {
        let m = el.sequence(&[CONTEXT, CARD_HANDLE, PIN_TYP])?;
        let pin = m.required(PIN_TYP)?;
        Ok(PinTarget {
            context: CallContext::parse(&m.required(CONTEXT)?)?,
            card: CardRef::parse(&m.required(CARD_HANDLE)?)?,
            pin_typ: pin.max_length(64)?,
            pin_typ_path: pin.path,
        })
    }

    /// Context, card and PIN type checked: the card's index and the notes so far.
    pub fn check(&self, st: &KonnektorState) -> OpResult<(usize, Vec<Diagnosis>)> {
        let mut notes = Vec::new();
        self.context.check(st, &mut notes)?;
        let i = self.card.inserted(st)?;
        let card_type = &st.card_at(i).cfg.card_type;
        let allowed = crate::config::pin_types(card_type);
        if !allowed.contains(&self.pin_typ.as_str()) {
            return Err(OpErr::new(
                codes::PIN_TYPE,
                "konnektor.pin.type",
                format!(
                    "PinTyp '{}' does not exist on a {card_type} card",
                    quote(&self.pin_typ)
                ),
            )
            .at(self.pin_typ_path.clone())
            .hint(if allowed.is_empty() {
                "this card type has no PIN".to_string()
            } else {
                format!("use {}", allowed.join(" or "))
            }));
        }
        Ok((i, notes))
    }
}
