//! The HTTP edge: the three port endpoints and `GET /xta.wsdl`. A request is read as it streams (in a
//! blocking task, through [`body`]), parsed into an envelope while content goes to store blobs
//! ([`sink`]), dispatched on `wsa:Action` to its operation, and answered inline or as MTOM
//! ([`response`]). Every answer is journaled with its diagnoses.

pub mod body;
pub mod response;
pub mod sink;

use crate::XtaState;
use crate::auth::Transport;
use crate::config::FaultStatus;
use crate::fault::{SoapCode, XtaFault, codes};
use crate::mime::{self, Packaging};
use crate::ns::{self, Op, Port};
use crate::ops::{self, Answer, Ctx, Incoming};
use crate::soap::{self, sender_fault};
use crate::xml::reader::ParseError;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sim_kit::faults::{FaultAction, InjectedFault};
use sim_kit::{Diagnosis, Outcome, Verdict};
use std::time::Duration;

pub fn routes() -> Router<XtaState> {
    let mut r = Router::new().route("/xta.wsdl", get(wsdl));
    for port in Port::ALL {
        r = r.route(
            port.path(),
            post(move |State(st): State<XtaState>, req: Request| async move {
                endpoint(st, port, req).await
            })
            .get(move |State(st): State<XtaState>, req: Request| async move {
                port_get(st, port, req).await
            }),
        );
    }
    r
}

/// The `Host` the client used, for addresses in the WSDL.
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

async fn wsdl(State(_st): State<XtaState>, req: Request) -> Response {
    let tls = req.extensions().get::<sim_kit::tls::TlsInfo>().is_some();
    let base = format!(
        "{}://{}",
        if tls { "https" } else { "http" },
        host_of(req.headers())
    );
    Outcome::op("xta.wsdl").attach(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            crate::wsdl::wsdl(&base),
        )
            .into_response(),
    )
}

/// `GET` on a port: `?wsdl` gives the WSDL (as CXF and WCF servers do), anything else 405.
async fn port_get(st: XtaState, port: Port, req: Request) -> Response {
    if req
        .uri()
        .query()
        .is_some_and(|q| q.eq_ignore_ascii_case("wsdl"))
    {
        return wsdl(State(st), req).await;
    }
    Outcome::op(format!("{}.get", port.wsdl_name()))
        .diagnose(Diagnosis::new(
            "http.method",
            format!(
                "{} takes SOAP requests by POST; GET {}?wsdl gives the WSDL",
                port.wsdl_name(),
                port.path()
            ),
        ))
        .attach((StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")]).into_response())
}

/// What the blocking part of a request produced.
struct Processed {
    op: Option<Op>,
    relates_to: Option<String>,
    mtom: bool,
    result: Result<Answer, XtaFault>,
    notes: Vec<Diagnosis>,
    injected: Option<InjectedFault>,
}

fn status_for(st: &XtaState, f: &XtaFault) -> StatusCode {
    match (st.config().behaviour.fault_status, f.soap) {
        (FaultStatus::Soap12, SoapCode::Sender) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A fault response with its journal outcome.
fn fault_response(
    st: &XtaState,
    op: Option<Op>,
    relates_to: Option<&str>,
    f: XtaFault,
    notes: Vec<Diagnosis>,
    http: Option<StatusCode>,
    injected: Option<String>,
) -> Response {
    let action = op
        .map(super::ns::Op::action)
        .unwrap_or(ns::WSA_FAULT_ACTION);
    let with_detail = st.config().behaviour.envelope_fault_detail
        || f.code.is_some_and(|c| c.code != codes::UNSPECIFIED.code);
    let body = soap::fault_response(action, relates_to, &f, with_detail);
    let status = http.unwrap_or_else(|| status_for(st, &f));
    let verdict = if injected.is_some() {
        Verdict::Injected
    } else if f.code.is_some_and(|c| c.code == codes::INTERNAL.code) {
        Verdict::Failed
    } else {
        Verdict::Rejected
    };
    let mut diagnoses = vec![f.diagnosis.clone()];
    diagnoses.extend(f.more.iter().cloned());
    diagnoses.extend(notes);
    let mut r = Response::new(axum::body::Body::from(body));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&format!(
        "application/soap+xml; charset=utf-8; action=\"{action}\""
    )) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Outcome {
        operation: Some(
            op.map(|o| o.name().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ),
        verdict: Some(verdict),
        diagnoses,
        data: Some(
            serde_json::json!({ "fault_code": f.code_number(), "soap_code": f.soap.qname() }),
        ),
        fault: injected,
    }
    .attach(r)
}

fn header_str(h: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    h.get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

async fn endpoint(st: XtaState, port: Port, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path_injected = parts.extensions.get::<InjectedFault>().cloned();
    let transport = Transport::from_tls(parts.extensions.get::<sim_kit::tls::TlsInfo>());
    let packaging = match mime::packaging(
        header_str(&parts.headers, header::CONTENT_TYPE).as_deref(),
        header_str(&parts.headers, "soapaction").as_deref(),
    ) {
        Ok(p) => p,
        Err(e) => {
            let f = sender_fault(e.rule, e.message).hint("XTA-WS 2.1.1 takes SOAP 1.2: Content-Type application/soap+xml, or MTOM multipart/related; type=\"application/xop+xml\"");
            return fault_response(
                &st,
                None,
                None,
                f,
                Vec::new(),
                Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                None,
            );
        }
    };
    if let Packaging::Soap11 { .. } = packaging {
        let f = XtaFault::plain(
            SoapCode::VersionMismatch,
            "Wrong Version",
            Diagnosis::new("xta.soap.version", "Content-Type text/xml (SOAP 1.1); XTA-WS 2.1.1 binds SOAP 1.2")
                .hint("send a SOAP 1.2 envelope as application/soap+xml (CXF: SOAPBinding.SOAP12HTTP_BINDING)"),
        );
        return fault_response(
            &st,
            None,
            None,
            f,
            Vec::new(),
            Some(StatusCode::INTERNAL_SERVER_ERROR),
            None,
        );
    }
    let limits = &st.config().limits;
    let max_raw = raw_limit(&st);
    if let Some(n) = sim_kit::body::content_length(&parts.headers).filter(|n| *n > max_raw) {
        let f = XtaFault::of(
            codes::TOO_LARGE,
            "xta.size.declared",
            format!(
                "Content-Length {n} exceeds what any message this server accepts can take ({max_raw} bytes)"
            ),
        );
        return fault_response(&st, None, None, f, Vec::new(), None, None);
    }
    let (reader, pump) = body::start(
        body,
        body::PumpLimits {
            max_bytes: max_raw,
            idle: Duration::from_millis(limits.body_idle_timeout_ms),
            drain_bytes: 64 << 20,
        },
    );
    let st2 = st.clone();
    let path_fault = path_injected
        .clone()
        .filter(|f| matches!(f.action, Some(FaultAction::Fault { .. })));
    let processed = tokio::task::spawn_blocking(move || {
        process(&st2, port, packaging, transport, reader, path_fault)
    })
    .await;
    let _ = pump.await;
    let p = match processed {
        Ok(p) => p,
        Err(e) => {
            let f = XtaFault::internal(format!("the request handler failed: {e}"));
            return fault_response(&st, None, None, f, Vec::new(), None, None);
        }
    };
    respond(st, p, path_injected).await
}

/// The largest raw body any accepted message can have: the largest decoded limit, base64-expanded, plus
/// the envelope's markup.
fn raw_limit(st: &XtaState) -> u64 {
    let decoded = st
        .profiles()
        .all()
        .iter()
        .filter_map(|p| {
            p.max_size
                .as_ref()
                .map(super::profile::model::SizeRule::bytes)
        })
        .chain(std::iter::once(st.config().limits.max_message_bytes))
        .max()
        .unwrap_or(40 << 20);
    decoded / 3 * 4 + decoded / 16 + st.config().limits.xml.max_tree_bytes as u64 + (1 << 20)
}

async fn respond(st: XtaState, p: Processed, _path_injected: Option<InjectedFault>) -> Response {
    let injected = p.injected;
    if let Some(f) = injected
        .as_ref()
        .filter(|f| !matches!(f.action, Some(FaultAction::Fault { .. })))
        && let Some(mut r) = sim_kit::layer::apply_injected(f).await
    {
        r.extensions_mut().insert(Outcome {
            operation: p.op.map(|o| o.name().to_string()),
            verdict: Some(Verdict::Injected),
            fault: Some(f.describe()),
            ..Outcome::default()
        });
        return r;
    }
    match p.result {
        Err(f) => fault_response(
            &st,
            p.op,
            p.relates_to.as_deref(),
            f,
            p.notes,
            None,
            injected.map(|i| i.describe()),
        ),
        Ok(answer) => {
            let op = p.op.unwrap_or(Op::CheckAccountActive);
            let mtom = p.mtom || st.config().behaviour.always_mtom;
            let out = response::render(op.action(), p.relates_to.as_deref(), &answer, mtom);
            let len = out.len();
            let ct = out.content_type.clone();
            let mut r = Response::new(response::body(&st, out));
            if let Ok(v) = HeaderValue::from_str(&ct) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            let mut diagnoses = p.notes;
            diagnoses.extend(answer.notes);
            Outcome {
                operation: Some(op.name().to_string()),
                verdict: Some(Verdict::Accepted),
                diagnoses,
                data: answer.data,
                fault: None,
            }
            .attach(r)
        }
    }
}

/// A parse error as the fault it stands for.
fn parse_fault(e: ParseError<XtaFault>) -> XtaFault {
    match e {
        ParseError::Sink(f) => f,
        ParseError::Xml(x) => {
            let mut f = sender_fault(x.rule, x.reason.clone());
            if let Some(l) = x.location {
                f = f.at(l);
            }
            f
        }
        ParseError::Io(io) => match body::as_abort(&io) {
            Some(body::BodyAbort::TooLarge { limit }) => XtaFault::of(
                codes::TOO_LARGE,
                "xta.size.body",
                format!("the request body exceeds {limit} bytes; refused while it was arriving"),
            ),
            Some(a @ body::BodyAbort::Idle { .. }) => {
                sender_fault("http.body-timeout", a.to_string())
            }
            Some(a) => sender_fault("http.body-truncated", a.to_string()),
            None => match crate::mime::multipart::as_mime_error(&io) {
                Some(m) => sender_fault(m.rule, m.message.clone()),
                None => sender_fault(
                    "http.body-truncated",
                    format!("the request body could not be read: {io}"),
                ),
            },
        },
    }
}

fn process(
    st: &XtaState,
    port: Port,
    packaging: Packaging,
    transport: Transport,
    input: body::BodyReader,
    path_fault: Option<InjectedFault>,
) -> Processed {
    let (http_action, mtom) = match &packaging {
        Packaging::Soap12 { action } => (action.clone(), None),
        Packaging::Mtom(m) => (m.action.clone(), Some(m.clone())),
        Packaging::Soap11 { .. } => (None, None),
    };
    let mut out = Processed {
        op: None,
        relates_to: None,
        mtom: mtom.is_some(),
        result: Err(XtaFault::internal("not processed")),
        notes: Vec::new(),
        injected: None,
    };
    let limits = st.config().limits.xml;
    let mut sink = sink::RequestSink::new(st, &transport, port, http_action.clone());
    let parsed = match &mtom {
        None => crate::xml::reader::parse(
            std::io::BufReader::with_capacity(64 * 1024, input),
            limits,
            &mut sink,
        )
        .map(|r| (r, Default::default())),
        Some(m) => mime::mtom::read(input, m, limits, &mut sink).map(|r| (r.root, r.parts)),
    };
    out.op = sink.pre.as_ref().map(|p| p.op);
    let (root, by_cid) = match parsed {
        Ok(x) => x,
        Err(e) => {
            out.result = Err(parse_fault(e));
            return out;
        }
    };
    let incoming = Incoming {
        slots: sink.into_slots(),
        by_cid,
    };
    out.result = run(
        st,
        port,
        &transport,
        root,
        http_action.as_deref(),
        incoming,
        path_fault,
        &mut out,
    );
    out
}

#[allow(clippy::too_many_arguments)]
fn run(
    st: &XtaState,
    port: Port,
    transport: &Transport,
    root: crate::xml::Element,
    http_action: Option<&str>,
    mut incoming: Incoming,
    path_fault: Option<InjectedFault>,
    out: &mut Processed,
) -> Result<Answer, XtaFault> {
    let env = soap::envelope(root)?;
    out.relates_to = env.wsa.message_id.clone();
    let (op, notes) = ops::resolve_op(
        &env.headers,
        http_action,
        port,
        st.config().behaviour.require_wsa_message_id,
    )?;
    out.op = Some(op);
    out.notes = notes;
    if let Some(f) = st
        .kit()
        .faults()
        .take_for_operation(op.name())
        .or(path_fault)
    {
        if let Some(FaultAction::Fault { code, text }) = &f.action {
            let n: u16 = code.trim().parse().unwrap_or(codes::INTERNAL.code);
            let c = codes::lookup(n).unwrap_or(codes::INTERNAL);
            let mut fault = XtaFault::of(
                c,
                "xta.injected",
                format!("injected XTA fault {n} ({})", f.describe()),
            );
            if let Some(t) = text {
                fault.reason = t.clone();
            }
            out.injected = Some(f);
            return Err(fault);
        }
        if let Some(ms) = f.delay_ms {
            std::thread::sleep(Duration::from_millis(ms));
        }
        if let Some(FaultAction::Delay { ms }) = &f.action {
            std::thread::sleep(Duration::from_millis(*ms));
        }
        if matches!(
            f.action,
            Some(FaultAction::Status { .. }) | Some(FaultAction::Drop)
        ) {
            out.injected = Some(InjectedFault {
                delay_ms: None,
                ..f
            });
            return Ok(Answer::empty());
        }
    }
    let cx = Ctx {
        st,
        op,
        transport,
        now: st.now(),
        mtom: out.mtom,
    };
    ops::dispatch(&cx, &env, &mut incoming)
}
