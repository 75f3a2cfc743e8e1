//! Namespaces, the three ports and the twelve operations of XTA-WS 2.1.1 with their WS-Addressing actions,
//! exactly as the WSDL (`XTA.wsdl`, `wsam:Action` and `soapAction`) names them. Input, output and fault
//! actions of one operation are the same URI there.

pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const WSA: &str = "http://www.w3.org/2005/08/addressing";
pub const XTA: &str = "http://xoev.de/transport/xta/211";
pub const OSCI: &str = "http://www.osci.eu/ws/2008/05/transport";
pub const OSCIMETA: &str = "http://www.osci.eu/ws/2014/10/transport";
pub const XOP: &str = "http://www.w3.org/2004/08/xop/include";
pub const XMIME: &str = "http://www.w3.org/2005/05/xmlmime";
pub const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";

/// WS-Addressing: the anonymous address (responses on the same connection) and the generic fault action.
pub const WSA_ANONYMOUS: &str = "http://www.w3.org/2005/08/addressing/anonymous";
pub const WSA_FAULT_ACTION: &str = "http://www.w3.org/2005/08/addressing/soap/fault";

/// The code list of `xta:errorCode`.
pub const FEHLERNUMMER_LIST: &str = "urn:de:xta:webservice:codeliste:fehlernummer";

/// MsgBox `NoMessageAvailable` reasons (OSCI2_02.xsd `MsgBoxReasonEnum`).
pub const REASON_NO_MATCH: &str = "http://www.osci.eu/ws/2008/05/transport/MsgBox/reasons/NoMatch";
pub const REASON_SEARCH_ARGS_INVALID: &str =
    "http://www.osci.eu/ws/2008/05/transport/MsgBox/reasons/SearchArgsInvalid";
pub const REASON_REQUEST_ID_INVALID: &str =
    "http://www.osci.eu/ws/2008/05/transport/MsgBox/reasons/RequestIdInvalid";

/// The three ports of `XTAService`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Port {
    Management,
    Send,
    MsgBox,
}

impl Port {
    pub const ALL: [Port; 3] = [Port::Management, Port::Send, Port::MsgBox];

    /// The WSDL port name.
    pub fn wsdl_name(self) -> &'static str {
        match self {
            Port::Management => "ManagementPort",
            Port::Send => "SendXtaPort",
            Port::MsgBox => "MsgBoxPort",
        }
    }
    /// The WSDL binding name.
    pub fn binding(self) -> &'static str {
        match self {
            Port::Management => "managementHttpsBinding",
            Port::Send => "sendXTAHttpsBinding",
            Port::MsgBox => "msgBoxHttpsBinding",
        }
    }
    pub fn port_type(self) -> &'static str {
        match self {
            Port::Management => "managementPortType",
            Port::Send => "sendPortType",
            Port::MsgBox => "msgBoxPortType",
        }
    }
    /// Endpoint path, in the style of deployed servers (`…/MB_XTA-WS/XTA210msgBoxPort.svc`).
    pub fn path(self) -> &'static str {
        match self {
            Port::Management => "/MB_XTA-WS/XTA210managementPort.svc",
            Port::Send => "/MB_XTA-WS/XTA210sendPort.svc",
            Port::MsgBox => "/MB_XTA-WS/XTA210msgBoxPort.svc",
        }
    }
}

/// The twelve operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Op {
    CheckAccountActive,
    LookupService,
    GetTransportReport,
    CancelMessage,
    CreateMessageId,
    SendMessage,
    SendMessageSync,
    GetMessage,
    GetStatusList,
    GetNextMessage,
    GetNextStatusList,
    Close,
}

impl Op {
    pub const ALL: [Op; 12] = [
        Op::CheckAccountActive,
        Op::LookupService,
        Op::GetTransportReport,
        Op::CancelMessage,
        Op::CreateMessageId,
        Op::SendMessage,
        Op::SendMessageSync,
        Op::GetMessage,
        Op::GetStatusList,
        Op::GetNextMessage,
        Op::GetNextStatusList,
        Op::Close,
    ];

    /// The WSDL operation name.
    pub fn name(self) -> &'static str {
        match self {
            Op::CheckAccountActive => "checkAccountActive",
            Op::LookupService => "lookupService",
            Op::GetTransportReport => "getTransportReport",
            Op::CancelMessage => "cancelMessage",
            Op::CreateMessageId => "createMessageId",
            Op::SendMessage => "sendMessage",
            Op::SendMessageSync => "sendMessageSync",
            Op::GetMessage => "getMessage",
            Op::GetStatusList => "getStatusList",
            Op::GetNextMessage => "getNextMessage",
            Op::GetNextStatusList => "getNextStatusList",
            Op::Close => "close",
        }
    }

    pub fn port(self) -> Port {
        match self {
            Op::CheckAccountActive
            | Op::LookupService
            | Op::GetTransportReport
            | Op::CancelMessage
            | Op::CreateMessageId => Port::Management,
            Op::SendMessage | Op::SendMessageSync => Port::Send,
            _ => Port::MsgBox,
        }
    }

    /// `wsa:Action` (= `soapAction`) of input, output and faults.
    pub fn action(self) -> &'static str {
        match self {
            Op::CheckAccountActive => "http://www.xta.de/XTA/CheckAccountActive",
            Op::LookupService => "http://www.xta.de/XTA/IsServiceAvailable",
            Op::GetTransportReport => "http://www.xta.de/XTA/GetTransportReport",
            Op::CancelMessage => "http://www.xta.de/XTA/CancelMessage",
            Op::CreateMessageId => "http://www.xta.de/XTA/CreateMessageID",
            Op::SendMessage => "http://www.xta.de/XTA/SendMessage",
            Op::SendMessageSync => "http://www.xta.de/XTA/SendMessageSync",
            Op::GetMessage => {
                "http://www.osci.eu/ws/2008/05/transport/urn/messageTypes/MsgBoxFetchRequest"
            }
            Op::GetStatusList => {
                "http://www.osci.eu/ws/2008/05/transport/urn/messageTypes/MsgBoxStatusListRequest"
            }
            Op::GetNextMessage => {
                "http://www.osci.eu/ws/2008/05/transport/urn/messageTypes/MsgBoxGetNextMsgRequest"
            }
            Op::GetNextStatusList => {
                "http://www.osci.eu/ws/2008/05/transport/urn/messageTypes/MsgBoxGetNextListRequest"
            }
            Op::Close => {
                "http://www.osci.eu/ws/2008/05/transport/urn/messageTypes/MsgBoxCloseRequest"
            }
        }
    }

    pub fn by_action(action: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.action() == action)
    }

    pub fn by_name(name: &str) -> Option<Op> {
        Op::ALL
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(name))
    }

    /// The body element the operation takes (namespace, local name); `None` for an empty body.
    pub fn body_element(self) -> Option<(&'static str, &'static str)> {
        match self {
            Op::CheckAccountActive | Op::CreateMessageId => None,
            Op::LookupService => Some((XTA, "LookupServiceRequest")),
            Op::GetTransportReport | Op::CancelMessage => Some((WSA, "MessageID")),
            Op::SendMessage | Op::SendMessageSync => Some((XTA, "GenericContentContainer")),
            Op::GetMessage => Some((OSCI, "MsgBoxFetchRequest")),
            Op::GetStatusList => Some((OSCI, "MsgBoxStatusListRequest")),
            Op::GetNextMessage | Op::GetNextStatusList => Some((OSCI, "MsgBoxGetNextRequest")),
            Op::Close => Some((OSCI, "MsgBoxCloseRequest")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for op in Op::ALL {
            assert!(seen.insert(op.action()), "{op:?}");
            assert_eq!(Op::by_action(op.action()), Some(op));
            assert_eq!(Op::by_name(op.name()), Some(op));
        }
        assert_eq!(
            Op::ALL.iter().filter(|o| o.port() == Port::MsgBox).count(),
            5
        );
        assert_eq!(Op::ALL.iter().filter(|o| o.port() == Port::Send).count(), 2);
    }
}
