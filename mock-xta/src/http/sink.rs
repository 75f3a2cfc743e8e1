//! Where streamed request content goes: one store blob per content element or MTOM part, written as it
//! arrives and counted against the decoded size limit (9023 the moment it is exceeded). When the SOAP
//! Header is complete, the precheck (version, operation, caller, the profile's limit) runs before a byte of
//! content is stored. Blobs that no message row adopts are removed when this sink is dropped.

use crate::XtaState;
use crate::auth::Transport;
use crate::fault::{XtaFault, codes};
use crate::ns::Port;
use crate::ops::{Precheck, Slot, precheck};
use crate::xml::{ContentSink, Element};
use sim_kit::store::BlobWriter;
use std::io::Write;

const HEAD: usize = 16;

enum State {
    Writing { w: BlobWriter, head: Vec<u8> },
    Done(Slot),
    Gone,
}

pub struct RequestSink<'a> {
    pub st: &'a XtaState,
    pub transport: &'a Transport,
    pub port: Port,
    pub http_action: Option<String>,
    pub limit: u64,
    pub limit_rule: String,
    pub total: u64,
    pub pre: Option<Precheck>,
    slots: Vec<State>,
}

impl<'a> RequestSink<'a> {
    pub fn new(
        st: &'a XtaState,
        transport: &'a Transport,
        port: Port,
        http_action: Option<String>,
    ) -> Self {
        RequestSink {
            st,
            transport,
            port,
            http_action,
            limit: st.config().limits.max_message_bytes,
            limit_rule: "server limit (limits.max_message_bytes)".into(),
            total: 0,
            pre: None,
            slots: Vec::new(),
        }
    }

    /// The finished slots, in slot order (None for discarded ones).
    pub fn into_slots(self) -> Vec<Option<Slot>> {
        self.slots
            .into_iter()
            .map(|s| match s {
                State::Done(slot) => Some(slot),
                _ => None,
            })
            .collect()
    }

    fn too_large(&self) -> XtaFault {
        XtaFault::of(
            codes::TOO_LARGE,
            "xta.size.limit",
            format!(
                "the message content exceeds {} bytes ({}); refused while it was arriving",
                self.limit, self.limit_rule
            ),
        )
        .at("/Envelope/Body/GenericContentContainer")
    }
}

fn io_fault(e: impl std::fmt::Display) -> XtaFault {
    XtaFault::internal(format!("writing the content to the store failed: {e}"))
}

impl ContentSink for RequestSink<'_> {
    type Error = XtaFault;

    fn create(&mut self) -> Result<usize, XtaFault> {
        let w = self.st.store().blob_writer().map_err(io_fault)?;
        self.slots.push(State::Writing {
            w,
            head: Vec::with_capacity(HEAD),
        });
        Ok(self.slots.len() - 1)
    }

    fn write(&mut self, slot: usize, data: &[u8]) -> Result<(), XtaFault> {
        self.total += data.len() as u64;
        if self.total > self.limit {
            return Err(self.too_large());
        }
        if let Some(State::Writing { w, head }) = self.slots.get_mut(slot) {
            if head.len() < HEAD {
                let n = (HEAD - head.len()).min(data.len());
                head.extend_from_slice(&data[..n]);
            }
            w.write_all(data).map_err(io_fault)?;
        }
        Ok(())
    }

    fn close(&mut self, slot: usize) -> Result<(), XtaFault> {
        let Some(s) = self.slots.get_mut(slot) else {
            return Ok(());
        };
        if let State::Writing { w, head } = std::mem::replace(s, State::Gone) {
            let len = w.len();
            let blob = w.finish().map_err(io_fault)?;
            *s = State::Done(Slot { blob, len, head });
        }
        Ok(())
    }

    fn discard(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            // Dropping the writer removes its temporary file.
            *s = State::Gone;
        }
    }

    fn before_body(&mut self, root: &Element) -> Result<(), XtaFault> {
        let p = precheck(
            self.st,
            self.transport,
            root,
            self.http_action.as_deref(),
            self.port,
        )?;
        self.limit = p.limit;
        self.limit_rule = p.limit_rule.clone();
        if self.total > self.limit {
            return Err(self.too_large());
        }
        self.pre = Some(p);
        Ok(())
    }
}
