//! `GET /xta.wsdl`: a WSDL 1.1 description of this server, written from the operation table — the
//! service `XTAService` with its three ports (SOAP 1.2 bindings, document/literal, the WSDL's actions and
//! header parts, the fault elements) and their `soap12:address` filled with this server's URLs. Its types
//! import the official XTA 2.1.1 schemas by file name (`XTA-Webservice-Globale-Elemente.xsd`, …), which
//! konform does not ship: keep the WSDL next to them, or use the official `XTA.wsdl` with these addresses.

use crate::ns::{self, Op, Port};
use crate::xml::escape;

const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";
const SOAP12_BINDING: &str = "http://schemas.xmlsoap.org/wsdl/soap12/";
const WSAM: &str = "http://www.w3.org/2007/05/addressing/metadata";

/// Input, output messages, input header parts, output header parts, faults of an operation.
fn shape(
    op: Op,
) -> (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
) {
    use Op::*;
    const PD: &str = "PermissionDeniedException";
    const TP: &str = "XTAWSTechnicalProblemException";
    const PN: &str = "ParameterIsNotValidException";
    const IM: &str = "InvalidMessageIDException";
    const SEND_FAULTS: &[&str] = &[
        PD,
        PN,
        TP,
        "MessageSchemaViolationException",
        "MessageVirusDetectionException",
        "SyncAsyncException",
    ];
    const AUTHOR: &[&str] = &["XTAHeader:AuthorIdentifier"];
    match op {
        CheckAccountActive => ("EmptyBody", "EmptyBody", AUTHOR, &[], &[PD, TP]),
        LookupService => (
            "LookupServiceRequest",
            "LookupServiceResponse",
            AUTHOR,
            &[],
            &[PD, PN, TP],
        ),
        GetTransportReport => (
            "MessageID",
            "GetTransportReportResponse",
            AUTHOR,
            &[],
            &[PD, TP, IM],
        ),
        CancelMessage => (
            "MessageID",
            "EmptyBody",
            AUTHOR,
            &[],
            &[PD, PN, TP, "CancelDeniedException"],
        ),
        CreateMessageId => ("EmptyBody", "MessageID", AUTHOR, &[], &[PD, TP]),
        SendMessage => (
            "GenericContainerBody",
            "EmptyBody",
            &["XTAHeader:MessageMetaData", "OptHeaders:X509TokenContainer"],
            &[],
            SEND_FAULTS,
        ),
        SendMessageSync => (
            "GenericContainerBody",
            "GenericContainerBody",
            &["XTAHeader:MessageMetaData", "OptHeaders:X509TokenContainer"],
            &["XTAHeader:MessageMetaData", "OptHeaders:X509TokenContainer"],
            SEND_FAULTS,
        ),
        GetMessage => (
            "FetchMsgRequest",
            "GenericContainerBody",
            AUTHOR,
            &[
                "XTAHeader:MessageMetaData",
                "OptHeaders:FetchResponseHeader",
            ],
            &[PD, TP, IM],
        ),
        GetStatusList => (
            "FetchListRequest",
            "FetchListResponse",
            AUTHOR,
            &["OptHeaders:FetchResponseHeader"],
            &[PD, TP],
        ),
        GetNextMessage => (
            "GetNextRequest",
            "GenericContainerBody",
            AUTHOR,
            &[
                "XTAHeader:MessageMetaData",
                "OptHeaders:FetchResponseHeader",
            ],
            &[PD, TP, IM],
        ),
        GetNextStatusList => (
            "GetNextRequest",
            "FetchListResponse",
            AUTHOR,
            &["OptHeaders:FetchResponseHeader"],
            &[PD, TP],
        ),
        Close => ("CloseRequest", "EmptyBody", AUTHOR, &[], &[PD, TP, IM]),
    }
}

/// (message name, parts as (part name, element QName)).
const MESSAGES: &[(&str, &[(&str, &str)])] = &[
    ("EmptyBody", &[]),
    (
        "XTAHeader",
        &[
            ("AuthorIdentifier", "oscimeta:Author"),
            ("MessageMetaData", "oscimeta:MessageMetaData"),
        ],
    ),
    (
        "LookupServiceRequest",
        &[("LookupServiceRequest", "xta:LookupServiceRequest")],
    ),
    (
        "LookupServiceResponse",
        &[("LookupServiceResponse", "xta:LookupServiceResponse")],
    ),
    (
        "GetTransportReportResponse",
        &[("GetTransportReportResponse", "xta:TransportReport")],
    ),
    (
        "GenericContainerBody",
        &[("GenericContainer", "xta:GenericContentContainer")],
    ),
    ("MessageID", &[("MessageID", "wsa:MessageID")]),
    (
        "OptHeaders",
        &[
            ("FetchResponseHeader", "osci:MsgBoxResponse"),
            ("X509TokenContainer", "osci:X509TokenContainer"),
        ],
    ),
    (
        "FetchMsgRequest",
        &[("FetchRequest", "osci:MsgBoxFetchRequest")],
    ),
    (
        "GetNextRequest",
        &[("FetchRequest", "osci:MsgBoxGetNextRequest")],
    ),
    (
        "CloseRequest",
        &[("FetchRequest", "osci:MsgBoxCloseRequest")],
    ),
    (
        "FetchListRequest",
        &[("FetchRequest", "osci:MsgBoxStatusListRequest")],
    ),
    (
        "FetchListResponse",
        &[("FetchResponse", "osci:MsgStatusList")],
    ),
];

const EXCEPTIONS: &[&str] = &[
    "PermissionDeniedException",
    "XTAWSTechnicalProblemException",
    "ParameterIsNotValidException",
    "MessageSchemaViolationException",
    "MessageVirusDetectionException",
    "SyncAsyncException",
    "InvalidMessageIDException",
    "CancelDeniedException",
];

fn headers(out: &mut String, parts: &[&str]) {
    for p in parts {
        if let Some((msg, part)) = p.split_once(':') {
            out.push_str(&format!(
                "<soap12:header message=\"xta:{msg}\" part=\"{part}\" use=\"literal\"/>"
            ));
        }
    }
}

/// The WSDL with the ports at `base` (e.g. `https://127.0.0.1:8083`).
pub fn wsdl(base: &str) -> String {
    let mut s = String::with_capacity(32 * 1024);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<wsdl:definitions name=\"XTA-Webservice\" targetNamespace=\"{xta}\" xmlns:wsdl=\"{WSDL}\" xmlns:soap12=\"{SOAP12_BINDING}\" xmlns:wsam=\"{WSAM}\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xta=\"{xta}\" xmlns:oscimeta=\"{meta}\" xmlns:osci=\"{osci}\" xmlns:wsa=\"{wsa}\">\n",
        xta = ns::XTA,
        meta = ns::OSCIMETA,
        osci = ns::OSCI,
        wsa = ns::WSA
    ));
    s.push_str("<wsdl:documentation>XTA-WS 2.1.1 as served by konform mock-xta (a test server; TEST-ONLY certificates). Written from the operation table of the XTA 2.1.1 WSDL; the types are the official XTA schemas, imported by file name.</wsdl:documentation>\n");
    s.push_str(&format!(
        "<wsdl:types><xsd:schema><xsd:import namespace=\"{}\" schemaLocation=\"XTA-Webservice-Globale-Elemente.xsd\"/><xsd:import namespace=\"{}\" schemaLocation=\"XTA-Webservice-Exceptions.xsd\"/></xsd:schema><xsd:schema><xsd:import namespace=\"{}\" schemaLocation=\"OSCI_MessageMetaData_V2.02.xsd\"/><xsd:import namespace=\"{}\" schemaLocation=\"OSCI2_02.xsd\"/></xsd:schema></wsdl:types>\n",
        ns::XTA, ns::XTA, ns::OSCIMETA, ns::OSCI
    ));
    for (name, parts) in MESSAGES {
        s.push_str(&format!("<wsdl:message name=\"{name}\">"));
        for (p, el) in *parts {
            s.push_str(&format!("<wsdl:part name=\"{p}\" element=\"{el}\"/>"));
        }
        s.push_str("</wsdl:message>\n");
    }
    for e in EXCEPTIONS {
        let mut part = e.to_string();
        if let Some(first) = part.get_mut(0..1) {
            first.make_ascii_lowercase();
        }
        s.push_str(&format!("<wsdl:message name=\"{e}\"><wsdl:part name=\"{part}\" element=\"xta:{e}\"/></wsdl:message>\n"));
    }
    for port in Port::ALL {
        s.push_str(&format!("<wsdl:portType name=\"{}\">", port.port_type()));
        for op in Op::ALL.into_iter().filter(|o| o.port() == port) {
            let (i, o, _, _, faults) = shape(op);
            let a = op.action();
            s.push_str(&format!(
                "<wsdl:operation name=\"{}\"><wsdl:input message=\"xta:{i}\" wsam:Action=\"{a}\"/><wsdl:output message=\"xta:{o}\" wsam:Action=\"{a}\"/>",
                op.name()
            ));
            for f in faults {
                s.push_str(&format!(
                    "<wsdl:fault name=\"{f}\" message=\"xta:{f}\" wsam:Action=\"{a}\"/>"
                ));
            }
            s.push_str("</wsdl:operation>");
        }
        s.push_str("</wsdl:portType>\n");
    }
    for port in Port::ALL {
        s.push_str(&format!(
            "<wsdl:binding name=\"{}\" type=\"xta:{}\"><soap12:binding style=\"document\" transport=\"http://schemas.xmlsoap.org/soap/http\"/>",
            port.binding(),
            port.port_type()
        ));
        for op in Op::ALL.into_iter().filter(|o| o.port() == port) {
            let (_, _, hin, hout, faults) = shape(op);
            s.push_str(&format!(
                "<wsdl:operation name=\"{}\"><soap12:operation soapAction=\"{}\" soapActionRequired=\"true\" style=\"document\"/><wsdl:input><soap12:body use=\"literal\"/>",
                op.name(),
                op.action()
            ));
            headers(&mut s, hin);
            s.push_str("</wsdl:input><wsdl:output>");
            headers(&mut s, hout);
            s.push_str("<soap12:body use=\"literal\"/></wsdl:output>");
            for f in faults {
                s.push_str(&format!("<wsdl:fault name=\"{f}\"><soap12:fault name=\"{f}\" use=\"literal\"/></wsdl:fault>"));
            }
            s.push_str("</wsdl:operation>");
        }
        s.push_str("</wsdl:binding>\n");
    }
    s.push_str("<wsdl:service name=\"XTAService\">");
    for port in Port::ALL {
        s.push_str(&format!(
            "<wsdl:port name=\"{}\" binding=\"xta:{}\"><soap12:address location=\"{}{}\"/></wsdl:port>",
            port.wsdl_name(),
            port.binding(),
            escape(base),
            port.path()
        ));
    }
    s.push_str("</wsdl:service>\n</wsdl:definitions>\n");
    s
}

/// The port addresses of a WSDL (what `soap12:address` says), by port name.
pub fn addresses(wsdl: &str) -> Vec<(String, String)> {
    let Ok(root) = crate::xml::reader::parse_document(wsdl.as_bytes(), Default::default()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for svc in root.children.iter().filter(|c| c.local == "service") {
        for p in svc.children.iter().filter(|c| c.local == "port") {
            if let Some(a) = p.children.iter().find(|c| c.local == "address") {
                out.push((
                    p.attr("name").unwrap_or("").to_string(),
                    a.attr("location").unwrap_or("").to_string(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wsdl_names_every_operation_and_address() {
        let w = wsdl("https://127.0.0.1:8083");
        for op in Op::ALL {
            assert!(
                w.contains(&format!("name=\"{}\"", op.name())),
                "{}",
                op.name()
            );
            assert!(w.contains(op.action()));
        }
        let a = addresses(&w);
        assert_eq!(a.len(), 3);
        assert!(a.contains(&(
            "MsgBoxPort".into(),
            "https://127.0.0.1:8083/MB_XTA-WS/XTA210msgBoxPort.svc".into()
        )));
    }
}
