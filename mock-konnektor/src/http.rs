//! The HTTP edge: `/connector.sds`, the per-service SOAP endpoints and `/Konnektorservice`.
//!
//! A SOAP request runs through a short pipeline; each step either hands on what it found or answers
//! (`Err(Response)`): Content-Type → body → XML → envelope → operation → injected faults → the operation.
//! The decisions themselves live in `soap` and `ops`; this module turns them into HTTP answers and journal
//! outcomes, and supplies the time.

// The Err of a pipeline step is the answer itself, built once on the way out; boxing it would only add noise.
#![allow(clippy::result_large_err)]

use crate::KonnektorState;
use crate::fault::{Code, FaultCode, TelFault, codes, fault_envelope, plain_fault_envelope};
use crate::ops::{self, OpEnv, OpErr};
use crate::soap::{self, ContentTypeError, DispatchError, EnvelopeError, Operation, Service};
use crate::write::envelope;
use crate::xml::{Document, Element, Limits};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sim_kit::faults::{FaultAction, InjectedFault};
use sim_kit::{Diagnosis, Outcome, Simulator, Verdict};
use std::time::SystemTime;

pub const SOAP_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// A step of the pipeline: what it found, or the answer already made.
type Step<T> = Result<T, Response>;

pub fn routes(_st: &KonnektorState) -> Router<KonnektorState> {
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
        &sim_kit::now_rfc3339(),
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
    let body = fault_envelope(&err.fault, &st.config().instance, &sim_kit::now_rfc3339());
    Outcome {
        operation: op.map(str::to_string),
        verdict: Some(verdict),
        diagnoses: vec![err.diagnosis],
        data: Some(serde_json::json!({ "fault_code": err.fault.code.code })),
        fault: fault_note,
    }
    .attach(xml_response(status, body))
}

/// A plain SOAP fault (no tel/error detail) with HTTP 500.
fn plain_fault(op: Option<&str>, code: FaultCode, text: &str, diagnosis: Diagnosis) -> Response {
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
    .attach(xml_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        plain_fault_envelope(code, text),
    ))
}

fn verdict_for(code: &Code) -> Verdict {
    if code.code == codes::INTERNAL.code {
        Verdict::Failed
    } else {
        Verdict::Rejected
    }
}

async fn soap_endpoint(st: KonnektorState, service: Option<Service>, req: Request) -> Response {
    handle(&st, service, req).await.unwrap_or_else(|r| r)
}

async fn handle(st: &KonnektorState, service: Option<Service>, req: Request) -> Step<Response> {
    let (parts, body) = req.into_parts();
    let path_injected = parts.extensions.get::<InjectedFault>().cloned();
    let raw_action = parts
        .headers
        .get("soapaction")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let action = soap::clean_action(raw_action.as_deref());
    content_type(st, &parts.headers)?;
    let bytes = read_body(st, &parts.headers, body).await?;
    let doc = parse(st, &bytes, action.as_deref())?;
    let el = payload(st, &doc, action.as_deref())?;
    let op = dispatch(st, service, action.as_deref(), &el)?;
    let injection = inject(st, op, path_injected).await?;
    Ok(answer(st, op, &el, service, action.as_deref(), injection))
}

/// SOAP 1.2 is a version mismatch; anything but XML is refused with 415.
fn content_type(st: &KonnektorState, headers: &HeaderMap) -> Step<()> {
    let ct = headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes);
    match soap::check_content_type(ct) {
        Ok(()) => Ok(()),
        // The behaviour before the Content-Type rule was settled (issue 8): accepted.
        Err(ContentTypeError::Missing) => Ok(()),
        Err(e @ ContentTypeError::Soap12) => Err(plain_fault(
            None,
            FaultCode::VersionMismatch,
            "SOAP 1.2 (application/soap+xml) is not supported: the Konnektor interfaces are SOAP 1.1",
            Diagnosis::new("konnektor.soap.version", e.to_string()).hint(
                "send Content-Type: text/xml; charset=UTF-8 with a SOAPAction header and a SOAP 1.1 envelope",
            ),
        )),
        Err(e) => {
            let err = OpErr::new(codes::SYNTAX, "konnektor.http.content-type", e.to_string())
                .hint("SOAP 1.1 requests use Content-Type: text/xml; charset=UTF-8");
            Err(tel_fault(
                st,
                None,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                err,
                Verdict::Rejected,
                None,
            ))
        }
    }
}

/// The body, up to `limits.max_body_bytes` (413 beyond).
async fn read_body(st: &KonnektorState, headers: &HeaderMap, body: Body) -> Step<Bytes> {
    let limit = st.config().limits.max_body_bytes;
    sim_kit::body::read_limited(headers, body, limit)
        .await
        .map_err(|e| {
            let status = match e {
                sim_kit::body::BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                sim_kit::body::BodyError::Truncated(_) => StatusCode::BAD_REQUEST,
            };
            let err = OpErr::new(codes::SYNTAX, &format!("konnektor.{}", e.rule()), e.to_string())
                .hint(format!(
                    "the simulator accepts request bodies up to {limit} bytes (config limits.max_body_bytes)"
                ));
            tel_fault(st, None, status, err, Verdict::Rejected, None)
        })
}

/// Well-formed, safe XML within the limits (4000 otherwise).
fn parse<'b>(st: &KonnektorState, bytes: &'b [u8], action: Option<&str>) -> Step<Document<'b>> {
    let limits = st.config().limits;
    crate::xml::parse(
        bytes,
        Limits {
            max_depth: limits.max_depth,
            max_elements: limits.max_elements,
        },
    )
    .map_err(|e| syntax_fault(st, e.into(), action))
}

fn syntax_fault(st: &KonnektorState, err: OpErr, action: Option<&str>) -> Response {
    let op = action.and_then(soap::by_action).map(|o| o.name);
    tel_fault(
        st,
        op,
        StatusCode::INTERNAL_SERVER_ERROR,
        err,
        Verdict::Rejected,
        None,
    )
}

/// A SOAP 1.1 envelope with one operation element.
fn payload<'d>(
    st: &KonnektorState,
    doc: &'d Document<'d>,
    action: Option<&str>,
) -> Step<Element<'d>> {
    soap::payload(doc).map_err(|e| match e {
        EnvelopeError::VersionMismatch(msg) => plain_fault(
            None,
            FaultCode::VersionMismatch,
            &msg,
            Diagnosis::new("konnektor.soap.version", msg.clone())
                .at("/Envelope")
                .hint(
                    "use the SOAP 1.1 envelope namespace http://schemas.xmlsoap.org/soap/envelope/",
                ),
        ),
        EnvelopeError::MustUnderstand(msg) => plain_fault(
            None,
            FaultCode::MustUnderstand,
            &msg,
            Diagnosis::new("konnektor.soap.must-understand", msg.clone()).at("/Envelope/Header"),
        ),
        EnvelopeError::Syntax(e) => syntax_fault(st, e.into(), action),
    })
}

/// The operation: SOAPAction, body element and endpoint agree, and it is implemented.
fn dispatch(
    st: &KonnektorState,
    service: Option<Service>,
    action: Option<&str>,
    el: &Element<'_>,
) -> Step<&'static Operation> {
    soap::resolve(service, action, el).map_err(|e| dispatch_fault(st, &e))
}

fn dispatch_fault(st: &KonnektorState, e: &DispatchError) -> Response {
    let msg = e.to_string();
    match e {
        DispatchError::ActionMismatch {
            named, carried, at, ..
        } => {
            let hint = match carried {
                Some(b) => format!("for {} send SOAPAction \"{}\"", b.name, b.action),
                None => format!("{} is expected in namespace {}", named.name, named.ns),
            };
            let err = OpErr::new(codes::SYNTAX, "konnektor.soap.action-mismatch", msg)
                .at(at.clone())
                .hint(hint);
            tel_fault(
                st,
                Some(named.name),
                StatusCode::INTERNAL_SERVER_ERROR,
                err,
                Verdict::Rejected,
                None,
            )
        }
        DispatchError::UnknownAction { action, carried } => {
            let hint = match carried {
                Some(b) => format!(
                    "the Body carries {}: send SOAPAction \"{}\"",
                    b.name, b.action
                ),
                None => "see docs/konnektor.md for the SOAPActions served".to_string(),
            };
            plain_fault(
                None,
                FaultCode::Client,
                &format!("Unbekannte SOAPAction: {action}"),
                Diagnosis::new("konnektor.soap.unknown-action", msg).hint(hint),
            )
        }
        DispatchError::UnknownOperation { at, .. } => {
            let err = OpErr::new(codes::SYNTAX, "konnektor.soap.unknown-operation", msg)
                .at(at.clone())
                .hint("check the namespace of the operation element against the WSDL (e.g. http://ws.gematik.de/conn/SignatureService/v7.4)");
            tel_fault(
                st,
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
                err,
                Verdict::Rejected,
                None,
            )
        }
        DispatchError::WrongEndpoint { op, .. } => plain_fault(
            Some(op.name),
            FaultCode::Client,
            &msg,
            Diagnosis::new("konnektor.soap.wrong-endpoint", msg.clone()).hint(format!(
                "send it to {} (see connector.sds) or to /Konnektorservice",
                op.service.path()
            )),
        ),
        DispatchError::NotImplemented { op } => plain_fault(
            Some(op.name),
            FaultCode::Server,
            &msg,
            Diagnosis::new("konnektor.not-implemented", msg.clone()),
        ),
    }
}

/// What an injected fault leaves for the operation to do.
#[derive(Default)]
struct Injection {
    corrupt_signature: bool,
    note: Option<String>,
}

/// Operation-level fault injection (and the simulator-specific actions of path rules): a status, drop or
/// tel/error fault answers here; a delay has been waited for; `bad_signature` is handed on.
async fn inject(
    st: &KonnektorState,
    op: &Operation,
    path_injected: Option<InjectedFault>,
) -> Step<Injection> {
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
    let Some(f) = injected else {
        return Ok(Injection::default());
    };
    let note = Some(f.describe());
    if let Some(mut r) = sim_kit::layer::apply_injected(&f).await {
        // A status or drop rule answered; the layer journals it with this outcome.
        r.extensions_mut().insert(Outcome {
            operation: Some(op.name.to_string()),
            verdict: Some(Verdict::Injected),
            fault: note,
            ..Outcome::default()
        });
        return Err(r);
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
            let err = OpErr {
                diagnosis: Diagnosis::new(
                    "konnektor.injected",
                    format!("injected tel/error fault {n}"),
                ),
                fault: TelFault {
                    code: c,
                    text: text.clone(),
                    detail: Some(format!("injected fault {n} (konform fault injection)")),
                },
            };
            Err(tel_fault(
                st,
                Some(op.name),
                StatusCode::INTERNAL_SERVER_ERROR,
                err,
                Verdict::Injected,
                note,
            ))
        }
        Some(FaultAction::BadSignature) => Ok(Injection {
            corrupt_signature: true,
            note,
        }),
        // Delays were waited for; status and drop rules answered above.
        _ => Ok(Injection {
            corrupt_signature: false,
            note,
        }),
    }
}

/// Notes about how the request named its operation.
fn dispatch_notes(
    service: Option<Service>,
    action: Option<&str>,
    op: &Operation,
) -> Vec<Diagnosis> {
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
    if action == Some(soap::ALT_EXTERNAL_AUTHENTICATE_ACTION) {
        diags.push(Diagnosis::new(
            "konnektor.soap.action-alias",
            "SOAPAction for ExternalAuthenticate named after AuthSignatureService; the WSDL binds http://ws.gematik.de/conn/SignatureService/v7.4#ExternalAuthenticate",
        ));
    }
    diags
}

/// Run the operation and answer: the response envelope, or its tel/error fault.
fn answer(
    st: &KonnektorState,
    op: &Operation,
    el: &Element<'_>,
    service: Option<Service>,
    action: Option<&str>,
    injection: Injection,
) -> Response {
    let mut diags = dispatch_notes(service, action, op);
    let env = OpEnv {
        now: SystemTime::now(),
        corrupt_signature: injection.corrupt_signature,
    };
    match ops::execute(st, op, el, &env) {
        Ok(ok) => {
            diags.extend(ok.notes);
            Outcome {
                operation: Some(op.name.to_string()),
                verdict: Some(if injection.corrupt_signature {
                    Verdict::Injected
                } else {
                    Verdict::Accepted
                }),
                diagnoses: diags,
                data: ok.data,
                fault: injection.note,
            }
            .attach(xml_response(StatusCode::OK, envelope(&ok.body)))
        }
        Err(err) => {
            let verdict = verdict_for(&err.fault.code);
            let mut r = tel_fault(
                st,
                Some(op.name),
                StatusCode::INTERNAL_SERVER_ERROR,
                err,
                verdict,
                injection.note,
            );
            if let Some(o) = r.extensions_mut().get_mut::<Outcome>() {
                o.diagnoses.extend(diags);
            }
            r
        }
    }
}
