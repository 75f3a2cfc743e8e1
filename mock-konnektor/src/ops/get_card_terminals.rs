//! EventService 7.2 GetCardTerminals: the configured terminals visible from the WorkplaceId.

use super::common::{CONTEXT, CallContext, mandant_wide, terminal_visible};
use super::{OpEnv, OpOk, OpResult};
use crate::KonnektorState;
use crate::schema::{Child, ns};
use crate::sds::product_information;
use crate::write::{XmlWriter, date_time};

#[derive(Debug)]
pub struct GetCardTerminalsRequest {
    pub mandant_wide: bool,
    pub context: CallContext,
}

impl GetCardTerminalsRequest {
    pub fn parse(el: &Child<'_>) -> OpResult<GetCardTerminalsRequest> {
        let wide = mandant_wide(el)?;
        let m = el.sequence(&[CONTEXT])?;
        Ok(GetCardTerminalsRequest {
            mandant_wide: wide,
            context: CallContext::parse(&m.required(CONTEXT)?)?,
        })
    }

    pub fn apply(self, st: &KonnektorState, env: &OpEnv) -> OpResult<OpOk> {
        let mut notes = Vec::new();
        self.context.check(st, &mut notes)?;
        let mut w = XmlWriter::new();
        w.open(
            "EVT:GetCardTerminalsResponse",
            &[
                ("xmlns:EVT", ns::EVT),
                ("xmlns:CONN", ns::CONN),
                ("xmlns:CT", ns::CT),
                ("xmlns:CARDCMN", ns::CARDCMN),
                ("xmlns:PI", ns::PI),
            ],
        );
        w.status_ok().open("CT:CardTerminals", &[]);
        let now = date_time(env.now);
        for t in &st.config().terminals {
            if !terminal_visible(st, &t.ct_id, &self.context.workplace, self.mandant_wide) {
                continue;
            }
            w.open("CT:CardTerminal", &[]);
            product_information(
                &mut w,
                "PI",
                &now,
                "eHealth-Kartenterminal",
                "KONFT",
                "VTerm",
            );
            w.leaf("CARDCMN:CtId", &t.ct_id)
                .open("CONN:WorkplaceIds", &[]);
            for wp in &t.workplaces {
                w.leaf("CONN:WorkplaceId", wp);
            }
            w.close("CONN:WorkplaceIds")
                .leaf("CT:Name", &t.name)
                .leaf("CT:MacAddress", &t.mac_address);
            if let Some(ip) = &t.ip_address {
                w.open("CT:IPAddress", &[])
                    .leaf("CT:IPV4Address", ip)
                    .close("CT:IPAddress");
            }
            w.leaf("CT:Slots", &t.slots.to_string())
                .leaf("CT:IS_PHYSICAL", if t.physical { "true" } else { "false" })
                .leaf("CT:Connected", if t.connected { "true" } else { "false" })
                .close("CT:CardTerminal");
        }
        w.close("CT:CardTerminals")
            .close("EVT:GetCardTerminalsResponse");
        Ok(OpOk {
            body: w.buf,
            data: None,
            notes,
        })
    }
}
