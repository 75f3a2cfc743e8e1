//! The reference client's SOAP 1.1 side: request envelopes as the seed and the real templates write them,
//! and a flat reader for responses (local names and texts) that is enough to pick out results and faults.

use quick_xml::events::Event;
use quick_xml::reader::Reader;

pub const NS_SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const NS_CONN: &str = "http://ws.gematik.de/conn/ConnectorCommon/v5.0";
pub const NS_CCTX: &str = "http://ws.gematik.de/conn/ConnectorContext/v2.0";
pub const NS_EVT: &str = "http://ws.gematik.de/conn/EventService/v7.2";
pub const NS_CARD: &str = "http://ws.gematik.de/conn/CardService/v8.1";
pub const NS_CARDCMN: &str = "http://ws.gematik.de/conn/CardServiceCommon/v2.0";
pub const NS_CERT: &str = "http://ws.gematik.de/conn/CertificateService/v6.0";
pub const NS_SIG: &str = "http://ws.gematik.de/conn/SignatureService/v7.4";
pub const NS_DSS: &str = "urn:oasis:names:tc:dss:1.0:core:schema";

/// XML-escape text content and attribute values: the one escaper ([`sim_kit::xml_escape`]), which also
/// keeps control characters from making the request ill-formed.
pub fn esc(s: &str) -> String {
    sim_kit::xml_escape::escape(s)
}

/// One element of a response: its local name, the local names of its ancestors, its attributes and text.
#[derive(Debug, Clone)]
pub struct Node {
    pub path: Vec<String>,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
}

/// Flatten a response into its elements (document order). Refuses DOCTYPEs.
pub fn flatten(xml: &str) -> Result<Vec<Node>, String> {
    let mut r = Reader::from_str(xml);
    r.config_mut().trim_text(true);
    let mut stack: Vec<usize> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut out: Vec<Node> = Vec::new();
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if false => drop(e),
            Ok(Event::Start(e)) => {
                let name = e.local_name().as_ref().to_string();
                let attrs = attrs_of(&e);
                out.push(Node {
                    path: path.clone(),
                    name: name.clone(),
                    attrs,
                    text: String::new(),
                });
                stack.push(out.len() - 1);
                path.push(name);
                if path.len() > 256 {
                    return Err("response nested too deeply".into());
                }
            }
            Ok(Event::Empty(e)) => {
                let name = e.local_name().as_ref().to_string();
                out.push(Node {
                    path: path.clone(),
                    name,
                    attrs: attrs_of(&e),
                    text: String::new(),
                });
            }
            Ok(Event::End(_)) => {
                stack.pop();
                path.pop();
            }
            Ok(Event::Text(t)) => {
                if let Some(&i) = stack.last() {
                    out[i].text.push_str(&t.xml10_content());
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(&i) = stack.last() {
                    out[i].text.push_str(&t.xml10_content());
                }
            }
            Ok(Event::GeneralRef(g)) => {
                if let Some(&i) = stack.last() {
                    let name = g.xml10_content().to_string();
                    let s = match name.as_str() {
                        "amp" => "&".to_string(),
                        "lt" => "<".to_string(),
                        "gt" => ">".to_string(),
                        "quot" => "\"".to_string(),
                        "apos" => "'".to_string(),
                        n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16)
                            .ok()
                            .and_then(char::from_u32)
                            .map(String::from)
                            .unwrap_or_default(),
                        n if n.starts_with('#') => n[1..]
                            .parse::<u32>()
                            .ok()
                            .and_then(char::from_u32)
                            .map(String::from)
                            .unwrap_or_default(),
                        other => return Err(format!("unknown entity &{other};")),
                    };
                    out[i].text.push_str(&s);
                }
            }
            Ok(Event::DocType(_)) => return Err("response carries a DOCTYPE".into()),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "malformed XML at byte {}: {e}",
                    r.buffer_position()
                ));
            }
        }
    }
    Ok(out)
}

fn attrs_of(e: &quick_xml::events::BytesStart<'_>) -> Vec<(String, String)> {
    e.attributes()
        .flatten()
        .map(|a| {
            (
                a.key.local_name().as_ref().to_string(),
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(std::borrow::Cow::into_owned)
                    .unwrap_or_default(),
            )
        })
        .collect()
}

pub fn first<'a>(nodes: &'a [Node], name: &str) -> Option<&'a Node> {
    nodes.iter().find(|n| n.name == name)
}

pub fn text_of(nodes: &[Node], name: &str) -> Option<String> {
    first(nodes, name).map(|n| n.text.trim().to_string())
}

/// The endpoints a connector.sds (ServiceDirectory 3.1) names: per service and WSDL target namespace, the
/// `Endpoint` and `EndpointTLS` locations, and whether TLS is mandatory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceDirectory {
    pub tls_mandatory: bool,
    /// (service name, WSDL target namespace, Endpoint, EndpointTLS)
    pub versions: Vec<(String, String, Option<String>, Option<String>)>,
}

impl ServiceDirectory {
    /// Read a connector.sds document.
    pub fn parse(xml: &str) -> Result<ServiceDirectory, String> {
        let nodes = flatten(xml)?;
        if first(&nodes, "ConnectorServices").is_none() {
            return Err("not a connector.sds (no ConnectorServices)".into());
        }
        let attr = |n: &Node, k: &str| n.attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
        let mut sds = ServiceDirectory {
            tls_mandatory: text_of(&nodes, "TLSMandatory").as_deref() == Some("true"),
            versions: Vec::new(),
        };
        let mut service = String::new();
        for n in &nodes {
            match n.name.as_str() {
                "Service" => service = attr(n, "Name").unwrap_or_default(),
                "Version" if n.path.last().map(String::as_str) == Some("Versions") => {
                    let tns = attr(n, "TargetNamespace").unwrap_or_default();
                    sds.versions.push((service.clone(), tns, None, None));
                }
                "Endpoint" | "EndpointTLS" => {
                    if let Some(v) = sds.versions.last_mut() {
                        let loc = attr(n, "Location");
                        if n.name == "Endpoint" {
                            v.2 = loc;
                        } else {
                            v.3 = loc;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(sds)
    }

    /// The location of `service` in the WSDL version `target_namespace` (`EndpointTLS` when TLS is
    /// mandatory).
    pub fn endpoint(&self, service: &str, target_namespace: &str) -> Option<&str> {
        let v = self
            .versions
            .iter()
            .find(|(s, tns, _, _)| s == service && tns == target_namespace)?;
        if self.tls_mandatory {
            v.3.as_deref()
        } else {
            v.2.as_deref().or(v.3.as_deref())
        }
    }
}

/// A SOAP fault as the Konnektor sends it (tel/error 2.0 in the detail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapFault {
    pub faultcode: String,
    pub faultstring: String,
    pub code: Option<String>,
    pub error_text: Option<String>,
}

impl std::fmt::Display for SoapFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SOAP fault {} `{}`", self.faultcode, self.faultstring)?;
        if let Some(c) = &self.code {
            write!(f, " (tel/error code {c}")?;
            if let Some(t) = &self.error_text {
                write!(f, ": {t}")?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

pub fn fault_of(nodes: &[Node]) -> Option<SoapFault> {
    first(nodes, "Fault")?;
    Some(SoapFault {
        faultcode: text_of(nodes, "faultcode").unwrap_or_default(),
        faultstring: text_of(nodes, "faultstring").unwrap_or_default(),
        code: text_of(nodes, "Code"),
        error_text: text_of(nodes, "ErrorText"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_recorded_fault() {
        let Some(xml) = test_support::shared::read_to_string(
            "reference/konnektor/recorded/responses/soap-error-response.xml",
        ) else {
            return;
        };
        let nodes = flatten(&xml).unwrap();
        let f = fault_of(&nodes).unwrap();
        assert_eq!(f.code.as_deref(), Some("4004"));
        assert_eq!(f.faultcode, "S:Server");
    }

    #[test]
    fn reads_the_simulators_fault() {
        let f = mock_konnektor::fault::TelFault::new(mock_konnektor::fault::codes::MANDANT);
        let xml =
            mock_konnektor::fault::fault_envelope(&f, "Konnektor-Lokal", "2024-01-01T00:00:00Z");
        let f = fault_of(&flatten(&xml).unwrap()).unwrap();
        assert_eq!(f.code.as_deref(), Some("4004"));
        assert_eq!(f.error_text.as_deref(), Some("Ungültige Mandanten-ID"));
    }

    #[test]
    fn reads_connector_sds() {
        let sds = mock_konnektor::sds::connector_sds(
            "k.example:8443",
            false,
            false,
            "2024-01-01T00:00:00Z",
            &mock_konnektor::EndpointsConfig {
                layout: mock_konnektor::EndpointLayout::Cgm,
                ..Default::default()
            },
        );
        let d = ServiceDirectory::parse(&sds).unwrap();
        assert!(!d.tls_mandatory);
        assert_eq!(
            d.endpoint(
                "EventService",
                "http://ws.gematik.de/conn/EventService/WSDL/v7.2"
            ),
            Some("http://k.example:8443/service/systeminformationservice")
        );
        assert_eq!(d.endpoint("EventService", "urn:other"), None);
        assert!(ServiceDirectory::parse("<x/>").is_err());
    }

    #[test]
    fn reads_a_real_connector_sds() {
        let Some(xml) = test_support::shared::read_to_string(
            "reference/konnektor/sds-examples/bbriccs_rise_connector_sds.xml",
        ) else {
            return;
        };
        let d = ServiceDirectory::parse(&xml).unwrap();
        assert_eq!(
            d.endpoint(
                "SignatureService",
                "http://ws.gematik.de/conn/SignatureService/WSDL/v7.4"
            ),
            Some("http://ksp.ltuzd.telematik-test/kon8/webservices/signatureservice/v7.4")
        );
    }

    #[test]
    fn refuses_doctype() {
        assert!(flatten("<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>").is_err());
        assert_eq!(esc("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
        // Control characters never make a request ill-formed.
        assert_eq!(esc("a\u{1}b"), "a\u{FFFD}b");
    }
}
