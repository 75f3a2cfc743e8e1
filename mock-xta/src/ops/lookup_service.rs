//! `lookupService` (ManagementPort): does a reader offer a service? Answered from the DVDV directory of the
//! configuration (accounts' `offers`), with the reader's encryption certificate as ServiceParameter. An
//! unknown reader or service is `ServiceIsAvailable false`, not a fault.

use super::{Answer, Ctx, body};
use crate::fault::{XtaFault, codes};
use crate::model::{Party, is_uri, sequence};
use crate::ns::{self, Op};
use crate::soap::Envelope;
use crate::xml::{Element, W, write_element};

/// The list of ServiceParameter types is not published; konform's one entry names the certificate.
pub const PARAMETER_LIST: &str = "urn:de:xta:codeliste:service.parameter.type";
pub const PARAMETER_CERT: &str = "ENCRYPTION_CERTIFICATE";

pub struct Query {
    pub reader_element: Element,
    pub reader: Party,
    pub service: String,
}

pub struct Request {
    pub queries: Vec<Query>,
}

const PATH: &str = "/Envelope/Body/LookupServiceRequest";

impl Request {
    pub fn parse(env: &Envelope) -> Result<Request, XtaFault> {
        let b = body(env, Op::LookupService)?
            .ok_or_else(|| XtaFault::of(codes::NO_PARAMETERS, "xta.body.missing", "empty"))?;
        sequence(
            b,
            PATH,
            &[(ns::XTA, "LookupServiceRequestList", 1, usize::MAX)],
        )?;
        let mut queries = Vec::new();
        for (i, item) in b.children.iter().enumerate() {
            let p = format!("{PATH}/LookupServiceRequestList[{}]", i + 1);
            sequence(item, &p, &[(ns::XTA, "LookupService", 1, 1)])?;
            let ls = &item.children[0];
            let lp = format!("{p}/LookupService");
            sequence(
                ls,
                &lp,
                &[
                    (ns::OSCIMETA, "Reader", 1, 1),
                    (ns::XTA, "ServiceType", 1, 1),
                ],
            )?;
            let reader_el = &ls.children[0];
            let service = ls.children[1].trimmed().to_string();
            if !is_uri(&service) {
                return Err(XtaFault::of(
                    codes::INVALID_URI,
                    "xta.lookup.service-uri",
                    format!("ServiceType '{service}' is not a URI"),
                )
                .at(format!("{lp}/ServiceType")));
            }
            queries.push(Query {
                reader: Party::parse(reader_el, &format!("{lp}/Reader"))?,
                reader_element: reader_el.clone(),
                service,
            });
        }
        Ok(Request { queries })
    }

    pub fn apply(self, cx: &Ctx<'_>, env: &Envelope) -> Result<Answer, XtaFault> {
        let caller = cx.caller(env)?;
        let mut notes = caller.notes.clone();
        let mut w = W::new();
        w.open("xta:LookupServiceResponse", &[("xmlns:xta", ns::XTA)])
            .open("xta:LookupServiceResultList", &[]);
        let mut results = Vec::new();
        for q in &self.queries {
            let account = cx.st.account(&q.reader.id);
            // A spelling the service's transport profile lists as a variant names the same service.
            let profile_uri = cx
                .st
                .profiles()
                .for_service(&q.service)
                .map(|p| p.service.uri.clone());
            let offered = account.as_ref().is_some_and(|a| {
                a.offers
                    .iter()
                    .any(|o| o.service == q.service || Some(&o.service) == profile_uri.as_ref())
            });
            if offered && profile_uri.as_ref().is_some_and(|u| *u != q.service) {
                notes.push(sim_kit::Diagnosis::new(
                    "profile.service.variant",
                    format!(
                        "ServiceType '{}' is a variant spelling of '{}'; answered for that service",
                        q.service,
                        profile_uri.as_deref().unwrap_or("")
                    ),
                ));
            }
            w.open("xta:LookupServiceResult", &[]);
            write_element(&mut w.buf, &q.reader_element);
            w.leaf("xta:ServiceType", &q.service)
                .open("xta:IsServiceAvailableValue", &[])
                .leaf(
                    "xta:ServiceIsAvailable",
                    if offered { "true" } else { "false" },
                )
                .close("xta:IsServiceAvailableValue");
            if offered && let Some(cert) = cx.st.enc_cert(&q.reader.id) {
                w.open("xta:ServiceParameter", &[])
                    .open(
                        "xta:ParameterType",
                        &[("listURI", PARAMETER_LIST), ("listVersionID", "1.0")],
                    )
                    .leaf("code", PARAMETER_CERT)
                    .close("xta:ParameterType")
                    .leaf("xta:Resource", &ti_core::b64_encode(&cert))
                    .close("xta:ServiceParameter");
            }
            w.close("xta:LookupServiceResult");
            results.push(serde_json::json!({ "reader": q.reader.id, "service": q.service, "available": offered }));
        }
        w.close("xta:LookupServiceResultList")
            .close("xta:LookupServiceResponse");
        Ok(Answer::xml(w.buf)
            .notes(notes)
            .data(serde_json::json!({ "results": results })))
    }
}
