//! SignatureService 7.4 GetJobNumber: `AAA-000`, `AAA-001`, … (the counter survives restarts).

use super::common::{CONTEXT, CallContext};
use super::{OpErr, OpOk, OpResult};
use crate::KonnektorState;
use crate::fault::codes;
use crate::schema::{Child, ns};
use crate::write::XmlWriter;
use serde_json::json;

#[derive(Debug)]
pub struct GetJobNumberRequest {
    pub context: CallContext,
}

impl GetJobNumberRequest {
    pub fn parse(el: &Child<'_>) -> OpResult<GetJobNumberRequest> {
        let m = el.sequence(&[CONTEXT])?;
        Ok(GetJobNumberRequest {
            context: CallContext::parse(&m.required(CONTEXT)?)?,
        })
    }

    pub fn apply(self, st: &KonnektorState) -> OpResult<OpOk> {
        let mut notes = Vec::new();
        self.context.check(st, &mut notes)?;
        let n = st.next_job_number().map_err(|e| {
            OpErr::new(
                codes::INTERNAL,
                "konnektor.internal",
                format!("the job counter could not be stored: {e}"),
            )
        })?;
        let job = job_number(n);
        let mut w = XmlWriter::new();
        w.open("SIG:GetJobNumberResponse", &[("xmlns:SIG", ns::SIG)])
            .leaf("SIG:JobNumber", &job)
            .close("SIG:GetJobNumberResponse");
        Ok(OpOk {
            body: w.buf,
            data: Some(json!({ "job_number": job })),
            notes,
        })
    }
}

/// The `n`-th job number: three letters counting up every thousand, then three digits.
pub fn job_number(n: u64) -> String {
    let letters = n / 1000;
    let l = |k: u64| char::from(b'A' + ((letters / k) % 26) as u8);
    format!("{}{}{}-{:03}", l(676), l(26), l(1), n % 1000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn job_numbers_count_up() {
        assert_eq!(super::job_number(0), "AAA-000");
        assert_eq!(super::job_number(1001), "AAB-001");
        assert_eq!(super::job_number(26 * 1000), "ABA-000");
    }
}
