//! The HTTP edge: `/connector.sds`, the per-service SOAP endpoints and `/Konnektorservice`.

use crate::KonnektorState;
use crate::fault::{Code, FaultCode, TelFault, codes, fault_envelope, plain_fault_envelope};
use crate::ops::{self, OpErr};
use crate::soap::{self, EnvelopeError, Operation, Service};
use crate::write::envelope;
use crate::xml::Limits;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sim_kit::faults::{FaultAction, InjectedFault};
use sim_kit::{Diagnosis, Outcome, Simulator, Verdict};

pub const SOAP_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

pub fn routes() -> Router<KonnektorState> {
    let mut r = Router::new().route("/connector.sds", get(sds)).route(
        "/Konnektorservice",
        post(
            |State(st): State<KonnektorState>, req: Request| async move {
                soap_endpoint(st, None, req).await
            },
        ),
    );
    for s in Service::ALL {
        r = r.route(
            s.path(),
            post(
                move |State(st): State<KonnektorState>, req: Request| async move {
                    soap_endpoint(st, Some(s), req).await
                },
            ),
        );
    }
    r
}

fn host_of(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
        })
        .unwrap_or("127.0.0.1")
        .to_string()
}

async fn sds(State(_st): State<KonnektorState>, req: Request) -> Response {
    let host = host_of(req.headers());
    let tls = req.extensions().get::<sim_kit::tls::TlsInfo>();
    let body = crate::sds::connector_sds(
        &host,
        tls.is_some(),
        tls.is_some_and(|t| t.client_auth_required),
    );
    Outcome::op("connector.sds").attach(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
            body,
        )
            .into_response(),
    )
}

fn xml_response(status: StatusCode, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SOAP_CONTENT_TYPE),
    );
    r
}

/// A tel/error fault response with its journal outcome.
fn tel_fault(
    st: &KonnektorState,
    op: Option<&str>,
    status: StatusCode,
    err: OpErr,
    verdict: Verdict,
    fault_note: Option<String>,
) -> Response {
    let body = fault_envelope(&err.fault, &st.config().instance);
    Outcome {
        operation: op.map(str::to_string),
        verdict: Some(verdict),
        diagnoses: vec![err.diagnosis],
        data: Some(serde_json::json!({ "fault_code": err.fault.code.code })),
        fault: fault_note,
    }
    .attach(xml_response(status, body))
}

fn plain_fault(
    op: Option<&str>,
    code: FaultCode,
    text: &str,
    diagnosis: Diagnosis,
    status: StatusCode,
) -> Response {
    Outcome {
        operation: op.map(str::to_string),
        verdict: Some(if code == FaultCode::Server {
            Verdict::Failed
        } else {
            Verdict::Rejected
        }),
        diagnoses: vec![diagnosis],
        data: None,
        fault: None,
    }
    .attach(xml_response(status, plain_fault_envelope(code, text)))
}

fn verdict_for(code: &Code) -> Verdict {
    if code.code == codes::INTERNAL.code {
        Verdict::Failed
    } else {
        Verdict::Rejected
    }
}

async fn soap_endpoint(st: KonnektorState, service: Option<Service>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path_injected = parts.extensions.get::<InjectedFault>().cloned();
    let limits = st.config().limits;
    let raw_action = parts
        .headers
        .get("soapaction")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let action = soap::clean_action(raw_action.as_deref());

    // Content type: SOAP 1.2 is a version mismatch; anything not XML is refused.
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        let ct = String::from_utf8_lossy(ct.as_bytes()).to_ascii_lowercase();
        let mime = ct.split(';').next().unwrap_or("").trim().to_string();
        if mime == "application/soap+xml" {
            return plain_fault(
                None,
                FaultCode::VersionMismatch,
                "SOAP 1.2 (application/soap+xml) is not supported: the Konnektor interfaces are SOAP 1.1",
                Diagnosis::new(
                    "konnektor.soap.version",
                    "Content-Type application/soap+xml (SOAP 1.2); the Konnektor WSDLs bind SOAP 1.1",
                )
                .hint("send Content-Type: text/xml; charset=UTF-8 with a SOAPAction header and a SOAP 1.1 envelope"),
                StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
        if !(mime == "text/xml" || mime == "application/xml" || mime.is_empty()) {
            let err = OpErr::new(
                codes::SYNTAX,
                "konnektor.http.content-type",
                format!("Content-Type '{mime}' is not text/xml"),
            )
            .hint("SOAP 1.1 requests use Content-Type: text/xml; charset=UTF-8");
            return tel_fault(
                &st,
                None,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                err,
                Verdict::Rejected,
                None,
            );
        }
    }

    let bytes = match sim_kit::body::read_limited(&parts.headers, body, limits.max_body_bytes).await
    {
        Ok(b) => b,
        Err(e) => {
            let status = match e {
                sim_kit::body::BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                sim_kit::body::BodyError::Truncated(_) => StatusCode::BAD_REQUEST,
            };
            let err = OpErr::new(codes::SYNTAX, &format!("konnektor.{}", e.rule()), e.to_string())
                .hint(format!(
                    "the simulator accepts request bodies up to {} bytes (config limits.max_body_bytes)",
                    limits.max_body_bytes
                ));
            return tel_fault(&st, None, status, err, Verdict::Rejected, None);
        }
    };

    let el = match soap::parse_envelope(
        &bytes,
        Limits {
            max_depth: limits.max_depth,
            max_elements: limits.max_elements,
        },
    ) {
        Ok(el) => el,
        Err(EnvelopeError::VersionMismatch(msg)) => {
            return plain_fault(
                None,
                FaultCode::VersionMismatch,
                &msg,
                Diagnosis::new("konnektor.soap.version", msg.clone())
                    .at("/Envelope")
                    .hint("use the SOAP 1.1 envelope namespace http://schemas.xmlsoap.org/soap/envelope/"),
                StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
        Err(EnvelopeError::MustUnderstand(msg)) => {
            return plain_fault(
                None,
                FaultCode::MustUnderstand,
                &msg,
                Diagnosis::new("konnektor.soap.must-understand", msg.clone())
                    .at("/Envelope/Header"),
                StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
        Err(EnvelopeError::Syntax(e)) => {
            let op = action.as_deref().and_then(soap::by_action).map(|o| o.name);
            return tel_fault(
                &st,
                op,
                StatusCode::INTERNAL_SERVER_ERROR,
                e.into(),
                Verdict::Rejected,
                None,
            );
        }
    };

    // Which operation?
    let by_el = soap::by_element(&el);
    let op: &'static Operation = match (&action, by_el) {
        (Some(a), _) => match soap::by_action(a) {
            Some(o) => {
                if !el.is(o.ns, o.name) {
                    let err = OpErr::new(
                        codes::SYNTAX,
                        "konnektor.soap.action-mismatch",
                        format!(
                            "SOAPAction '{a}' names {} but the Body carries '{}' ({})",
                            o.name,
                            el.qname,
                            el.ns.as_deref().unwrap_or("no namespace")
                        ),
                    )
                    .at(format!("/Envelope/Body/{}", el.qname))
                    .hint(match by_el {
                        Some(b) => format!("for {} send SOAPAction \"{}\"", b.name, b.action),
                        None => format!("{} is expected in namespace {}", o.name, o.ns),
                    });
                    return tel_fault(
                        &st,
                        Some(o.name),
                        StatusCode::INTERNAL_SERVER_ERROR,
                        err,
                        Verdict::Rejected,
                        None,
                    );
                }
                o
            }
            None => {
                let hint = match by_el {
                    Some(b) => format!(
                        "the Body carries {}: send SOAPAction \"{}\"",
                        b.name, b.action
                    ),
                    None => "see docs/konnektor.md for the SOAPActions served".to_string(),
                };
                return plain_fault(
                    None,
                    FaultCode::Client,
                    &format!("Unbekannte SOAPAction: {a}"),
                    Diagnosis::new(
                        "konnektor.soap.unknown-action",
                        format!("unknown SOAPAction '{a}'"),
                    )
                    .hint(hint),
                    StatusCode::INTERNAL_SERVER_ERROR,
                );
            }
        },
        (None, Some(o)) => o,
        (None, None) => {
            let err = OpErr::new(
                codes::SYNTAX,
                "konnektor.soap.unknown-operation",
                format!(
                    "cvc-elt.1.a: Cannot find the declaration of element '{}' ({}).",
                    el.qname,
                    el.ns.as_deref().unwrap_or("no namespace")
                ),
            )
            .at(format!("/Envelope/Body/{}", el.qname))
            .hint("check the namespace of the operation element against the WSDL (e.g. http://ws.gematik.de/conn/SignatureService/v7.4)");
            return tel_fault(
                &st,
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
                err,
                Verdict::Rejected,
                None,
            );
        }
    };

    if let Some(s) = service {
        if op.service != s {
            let msg = format!(
                "{} belongs to {}, not to {} (this endpoint)",
                op.name,
                op.service.name(),
                s.name()
            );
            return plain_fault(
                Some(op.name),
                FaultCode::Client,
                &msg,
                Diagnosis::new("konnektor.soap.wrong-endpoint", msg.clone()).hint(format!(
                    "send it to {} (see connector.sds) or to /Konnektorservice",
                    op.service.path()
                )),
                StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    }
    if !op.implemented {
        let msg = format!(
            "{} ({}) is not implemented by the konform Konnektor simulator",
            op.name,
            op.service.name()
        );
        return plain_fault(
            Some(op.name),
            FaultCode::Server,
            &msg,
            Diagnosis::new("konnektor.not-implemented", msg.clone()),
            StatusCode::INTERNAL_SERVER_ERROR,
        );
    }

    // Operation-level fault injection (and simulator-specific actions of path rules).
    let injected = st
        .kit()
        .faults()
        .take_for_operation(op.name)
        .or(path_injected.filter(|f| {
            matches!(
                f.action,
                Some(FaultAction::Fault { .. }) | Some(FaultAction::BadSignature)
            )
        }));
    let mut corrupt = false;
    let mut fault_note = None;
    if let Some(f) = &injected {
        fault_note = Some(f.describe());
        if let Some(r) = sim_kit::layer::apply_injected(f).await {
            // A status or drop rule answered; the layer journals it with this outcome.
            let mut r = r;
            r.extensions_mut().insert(Outcome {
                operation: Some(op.name.to_string()),
                verdict: Some(Verdict::Injected),
                fault: fault_note,
                ..Outcome::default()
            });
            return r;
        }
        match &f.action {
            Some(FaultAction::Fault { code, text }) => {
                let n: u32 = code.trim().parse().unwrap_or(codes::INTERNAL.code);
                let c = codes::lookup(n).unwrap_or(Code {
                    code: n,
                    text: "Fehler (injiziert)",
                    error_type: "Technical",
                    severity: "Error",
                    faultcode: FaultCode::Server,
                });
                let fault = TelFault {
                    code: c,
                    text: text.clone(),
                    detail: Some(format!("injected fault {n} (konform fault injection)")),
                };
                let err = OpErr {
                    diagnosis: Diagnosis::new(
                        "konnektor.injected",
                        format!("injected tel/error fault {n}"),
                    ),
                    fault,
                };
                return tel_fault(
                    &st,
                    Some(op.name),
                    StatusCode::INTERNAL_SERVER_ERROR,
                    err,
                    Verdict::Injected,
                    fault_note,
                );
            }
            Some(FaultAction::BadSignature) => corrupt = true,
            // Delays were waited for; status and drop rules answered above.
            _ => {}
        }
    }

    let mut diags = Vec::new();
    if service.is_none() && action.is_none() {
        diags.push(
            Diagnosis::new(
                "konnektor.soap.no-action",
                format!(
                    "no SOAPAction header: dispatched on the Body element {}",
                    op.name
                ),
            )
            .hint(format!("send SOAPAction: \"{}\"", op.action)),
        );
    }
    if action.as_deref() == Some(soap::ALT_EXTERNAL_AUTHENTICATE_ACTION) {
        diags.push(Diagnosis::new(
            "konnektor.soap.action-alias",
            "SOAPAction for ExternalAuthenticate named after AuthSignatureService; the WSDL binds http://ws.gematik.de/conn/SignatureService/v7.4#ExternalAuthenticate",
        ));
    }
    match ops::execute(&st, op, &el, corrupt) {
        Ok(ok) => {
            diags.extend(ok.notes);
            Outcome {
                operation: Some(op.name.to_string()),
                verdict: Some(if corrupt {
                    Verdict::Injected
                } else {
                    Verdict::Accepted
                }),
                diagnoses: diags,
                data: ok.data,
                fault: fault_note,
            }
            .attach(xml_response(StatusCode::OK, envelope(&ok.body)))
        }
        Err(err) => {
            let verdict = verdict_for(&err.fault.code);
            let mut r = tel_fault(
                &st,
                Some(op.name),
                StatusCode::INTERNAL_SERVER_ERROR,
                err,
                verdict,
                fault_note,
            );
            if !diags.is_empty() {
                if let Some(o) = r.extensions_mut().get_mut::<Outcome>() {
                    o.diagnoses.extend(diags);
                }
            }
            r
        }
    }
}
