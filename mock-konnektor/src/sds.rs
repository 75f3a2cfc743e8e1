//! `connector.sds`: ServiceDirectory 3.1 listing every service and version this simulator serves, with
//! endpoints on the host the client used to reach it (taken from the request's `Host` header).

use crate::ops::product_information;
use crate::schema::ns;
use crate::soap::Service;
use crate::write::{W, XML_DECL};

/// Endpoint paths, for `GET /__konform/health`.
pub fn endpoint_paths() -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for s in Service::ALL {
        m.insert(s.name().into(), serde_json::Value::String(s.path().into()));
    }
    m.insert("Konnektorservice".into(), "/Konnektorservice".into());
    m.insert("connector.sds".into(), "/connector.sds".into());
    serde_json::Value::Object(m)
}

/// The document for a client that reached us as `host` (`127.0.0.1:8082`), over TLS or not.
///
/// Over plain HTTP: `Endpoint` is `http://host/…`, `EndpointTLS` (required by the schema) names the same
/// host with `https`, `TLSMandatory` false. Over TLS: both name `https://host/…`, `TLSMandatory` true and
/// `ClientAutMandatory` as configured.
pub fn connector_sds(host: &str, tls: bool, client_auth: bool) -> String {
    let mut w = W::new();
    w.raw(XML_DECL);
    w.open(
        "SDS:ConnectorServices",
        &[
            ("xmlns:SDS", ns::SDS),
            ("xmlns:SI", ns::SI),
            ("xmlns:PI", ns::PI),
        ],
    );
    product_information(
        &mut w,
        "PI",
        &sim_kit::now_rfc3339(),
        "Konnektor",
        "KONFK",
        "Konnektor",
    );
    w.leaf("SDS:TLSMandatory", if tls { "true" } else { "false" })
        .leaf(
            "SDS:ClientAutMandatory",
            if client_auth { "true" } else { "false" },
        )
        .open("SI:ServiceInformation", &[]);
    for s in Service::ALL {
        let (tns, version) = s.sds_version();
        w.open("SI:Service", &[("Name", s.name())])
            .leaf("SI:Abstract", s.abstract_text())
            .open("SI:Versions", &[])
            .open(
                "SI:Version",
                &[("TargetNamespace", tns), ("Version", version)],
            )
            .leaf("SI:Abstract", s.abstract_text())
            .empty(
                "SI:Endpoint",
                &[(
                    "Location",
                    &format!(
                        "{}://{host}{}",
                        if tls { "https" } else { "http" },
                        s.path()
                    ),
                )],
            )
            .empty(
                "SI:EndpointTLS",
                &[("Location", &format!("https://{host}{}", s.path()))],
            )
            .close("SI:Version")
            .close("SI:Versions")
            .close("SI:Service");
    }
    w.close("SI:ServiceInformation")
        .close("SDS:ConnectorServices");
    w.buf
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_every_service_on_the_host() {
        let s = super::connector_sds("127.0.0.1:9999", false, false);
        for name in [
            "EventService",
            "CardService",
            "CertificateService",
            "SignatureService",
            "AuthSignatureService",
        ] {
            assert!(s.contains(&format!("Name=\"{name}\"")), "{name}");
            assert!(
                s.contains(&format!("http://127.0.0.1:9999/ws/{name}")),
                "{name}"
            );
        }
        crate::xml::parse(s.as_bytes(), Default::default()).unwrap();
    }
}
