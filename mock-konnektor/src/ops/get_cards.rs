//! EventService 7.2 GetCards: the inserted cards in terminals visible from the WorkplaceId, filtered by
//! CtId, SlotId and CardType.

use super::common::{CONTEXT, CallContext, mandant_wide, terminal_visible};
use super::{OpOk, OpResult};
use crate::KonnektorState;
use crate::schema::{Child, Particle, ns, optional};
use crate::write::XmlWriter;
use crate::xml::XmlError;
use serde_json::json;

const CT_ID: Particle = optional(ns::CARDCMN, "CtId");
const SLOT_ID: Particle = optional(ns::CARDCMN, "SlotId");
const CARD_TYPE: Particle = optional(ns::CARDCMN, "CardType");

#[derive(Debug)]
pub struct GetCardsRequest {
    pub mandant_wide: bool,
    pub context: CallContext,
    pub ct_id: Option<String>,
    pub slot_id: Option<u64>,
    pub card_type: Option<String>,
}

impl GetCardsRequest {
    pub fn parse(el: &Child<'_>) -> OpResult<GetCardsRequest> {
        let wide = mandant_wide(el)?;
        let m = el.sequence(&[CONTEXT, CT_ID, SLOT_ID, CARD_TYPE])?;
        let ct_id = match m.optional(CT_ID) {
            Some(c) => {
                let v = c.max_length(64)?;
                if v.is_empty() {
                    return Err(XmlError::new(
                        "schema.min-length",
                        "cvc-minLength-valid: Value '' with length = '0' is not facet-valid with respect to minLength '1' for type 'CtIdType'.",
                    )
                    .at(c.path)
                    .into());
                }
                Some(v)
            }
            None => None,
        };
        Ok(GetCardsRequest {
            mandant_wide: wide,
            context: CallContext::parse(&m.required(CONTEXT)?)?,
            ct_id,
            slot_id: m
                .optional(SLOT_ID)
                .map(|c| c.positive_integer())
                .transpose()?,
            card_type: m
                .optional(CARD_TYPE)
                .map(|c| c.enumeration(crate::config::CARD_TYPES, false))
                .transpose()?,
        })
    }

    pub fn apply(self, st: &KonnektorState) -> OpResult<OpOk> {
        let mut notes = Vec::new();
        self.context.check(st, &mut notes)?;
        let mut w = XmlWriter::new();
        w.open(
            "EVT:GetCardsResponse",
            &[
                ("xmlns:EVT", ns::EVT),
                ("xmlns:CONN", ns::CONN),
                ("xmlns:CARD", ns::CARD),
                ("xmlns:CARDCMN", ns::CARDCMN),
            ],
        );
        w.status_ok().open("CARD:Cards", &[]);
        let mut listed = Vec::new();
        for (c, s) in st.cards_with_state() {
            if !s.inserted
                || !terminal_visible(st, &c.cfg.ct_id, &self.context.workplace, self.mandant_wide)
                || self.ct_id.as_deref().is_some_and(|f| f != c.cfg.ct_id)
                || self.slot_id.is_some_and(|f| f != u64::from(c.slot_id))
                || self
                    .card_type
                    .as_deref()
                    .is_some_and(|f| f != c.cfg.card_type)
            {
                continue;
            }
            listed.push(c.cfg.handle.clone());
            card(&mut w, c);
        }
        w.close("CARD:Cards").close("EVT:GetCardsResponse");
        Ok(OpOk {
            body: w.buf,
            data: Some(json!({ "cards": listed })),
            notes,
        })
    }
}

/// One `CARD:Card` (CardInfoType); COS and object system versions are fixed.
fn card(w: &mut XmlWriter, c: &crate::cards::Card) {
    w.open("CARD:Card", &[])
        .leaf("CONN:CardHandle", &c.cfg.handle)
        .leaf("CARDCMN:CardType", &c.cfg.card_type)
        .open("CARD:CardVersion", &[]);
    for (name, (a, b, r)) in [
        ("CARD:COSVersion", (4, 6, 0)),
        ("CARD:ObjectSystemVersion", (4, 8, 0)),
    ] {
        w.open(name, &[])
            .leaf("CARD:Major", &a.to_string())
            .leaf("CARD:Minor", &b.to_string())
            .leaf("CARD:Revision", &r.to_string())
            .close(name);
    }
    w.close("CARD:CardVersion")
        .leaf("CARDCMN:Iccsn", &c.iccsn)
        .leaf("CARDCMN:CtId", &c.cfg.ct_id)
        .leaf("CARDCMN:SlotId", &c.slot_id.to_string())
        .leaf("CARD:InsertTime", &c.insert_time)
        .leaf("CARD:CardHolderName", &c.holder)
        .leaf("CARD:CertificateExpirationDate", &c.expiration_date)
        .close("CARD:Card");
}
