//! CardService 8.1 GetPinStatus: VERIFIABLE / VERIFIED / BLOCKED / TRANSPORT_PIN, LeftTries when the PIN is
//! verifiable or blocked.

use super::common::PinTarget;
use super::{OpOk, OpResult};
use crate::KonnektorState;
use crate::schema::{Child, ns};
use crate::write::XmlWriter;
use serde_json::json;

#[derive(Debug)]
pub struct GetPinStatusRequest {
    pub target: PinTarget,
}

impl GetPinStatusRequest {
    pub fn parse(el: &Child<'_>) -> OpResult<GetPinStatusRequest> {
        Ok(GetPinStatusRequest {
            target: PinTarget::parse(el)?,
        })
    }

    pub fn apply(self, st: &KonnektorState) -> OpResult<OpOk> {
        let (i, notes) = self.target.check(st)?;
        let s = st.pin_state(i);
        let mut w = XmlWriter::new();
        w.open(
            "CARD:GetPinStatusResponse",
            &[("xmlns:CARD", ns::CARD), ("xmlns:CONN", ns::CONN)],
        );
        w.status_ok().leaf("CARD:PinStatus", s.pin.as_str());
        if let Some(n) = s.status_left_tries() {
            w.leaf("CARD:LeftTries", &n.to_string());
        }
        w.close("CARD:GetPinStatusResponse");
        Ok(OpOk {
            body: w.buf,
            data: Some(json!({ "card": st.card_at(i).cfg.handle, "pin_status": s.pin.as_str() })),
            notes,
        })
    }
}
