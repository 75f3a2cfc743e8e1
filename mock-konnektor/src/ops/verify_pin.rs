//! CardService 8.1 VerifyPin. There is no PIN in the request (a real Konnektor asks at the terminal's PIN
//! pad), so the answer follows the card's scripted "user" (see `crate::cards`): OK, REJECTED with LeftTries,
//! NOWBLOCKED, WASBLOCKED; a transport PIN is fault 4065. A wrong PIN is no fault.

use super::common::PinTarget;
use super::{OpErr, OpOk, OpResult};
use crate::KonnektorState;
use crate::cards::PinResult;
use crate::fault::codes;
use crate::schema::{Child, ns};
use crate::state::VerifyError;
use crate::write::XmlWriter;
use serde_json::json;
use sim_kit::Diagnosis;

#[derive(Debug)]
pub struct VerifyPinRequest {
    pub target: PinTarget,
    pub path: String,
}

impl VerifyPinRequest {
    pub fn parse(el: &Child<'_>) -> OpResult<VerifyPinRequest> {
        Ok(VerifyPinRequest {
            target: PinTarget::parse(el)?,
            path: el.path.clone(),
        })
    }

    pub fn apply(self, st: &KonnektorState) -> OpResult<OpOk> {
        let (i, mut notes) = self.target.check(st)?;
        let handle = &st.card_at(i).cfg.handle;
        let result = st.verify_pin(i).map_err(|e| match e {
            VerifyError::TransportPin => OpErr::new(
                codes::TRANSPORT_PIN,
                "konnektor.pin.transport",
                format!(
                    "card '{handle}' still has its transport PIN: it must be changed before it can be verified"
                ),
            )
            .at(self.path.clone()),
        })?;
        let mut w = XmlWriter::new();
        w.open(
            "CARD:VerifyPinResponse",
            &[
                ("xmlns:CARD", ns::CARD),
                ("xmlns:CONN", ns::CONN),
                ("xmlns:CARDCMN", ns::CARDCMN),
            ],
        );
        w.status_ok().leaf("CARDCMN:PinResult", result.as_str());
        if let Some(n) = result.left_tries() {
            w.leaf("CARDCMN:LeftTries", &n.to_string());
        }
        w.close("CARD:VerifyPinResponse");
        if !matches!(result, PinResult::Ok) {
            notes.push(Diagnosis::new(
                "konnektor.pin.result",
                format!(
                    "VerifyPin answered {} (scripted through the admin API)",
                    result.as_str()
                ),
            ));
        }
        Ok(OpOk {
            body: w.buf,
            data: Some(json!({ "card": handle, "pin_result": result.as_str() })),
            notes,
        })
    }
}
