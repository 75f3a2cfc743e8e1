//! `connector.sds`: ServiceDirectory 3.1 listing every service and version this simulator serves, with
//! endpoints on the host the client used to reach it (taken from the request's `Host` header).

use crate::schema::ns;
use crate::soap::Service;
use crate::write::{XML_DECL, XmlWriter};

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

/// ProductInformation 1.1 (used in GetCardTerminals and connector.sds); `date` is xs:dateTime.
pub fn product_information(
    w: &mut XmlWriter,
    prefix: &str,
    date: &str,
    product_type: &str,
    product_code: &str,
    name: &str,
) {
    let t = |n: &str| format!("{prefix}:{n}");
    w.open(&t("ProductInformation"), &[])
        .leaf(&t("InformationDate"), date)
        .open(&t("ProductTypeInformation"), &[])
        .leaf(&t("ProductType"), product_type)
        .leaf(&t("ProductTypeVersion"), "5.53.0")
        .close(&t("ProductTypeInformation"))
        .open(&t("ProductIdentification"), &[])
        .leaf(&t("ProductVendorID"), "KONFM")
        .leaf(&t("ProductCode"), product_code)
        .open(&t("ProductVersion"), &[])
        .open(&t("Local"), &[])
        .leaf(&t("HWVersion"), "1.0.0")
        .leaf(&t("FWVersion"), "0.1.0")
        .close(&t("Local"))
        .close(&t("ProductVersion"))
        .close(&t("ProductIdentification"))
        .open(&t("ProductMiscellaneous"), &[])
        .leaf(&t("ProductVendorName"), "konform (simulator, TEST-ONLY)")
        .leaf(&t("ProductName"), &format!("konform {name} simulator"))
        .close(&t("ProductMiscellaneous"))
        .close(&t("ProductInformation"));
}

/// The document for a client that reached us as `host` (`127.0.0.1:8082`), over TLS or not, at time
/// `date` (xs:dateTime, the InformationDate).
///
/// Over plain HTTP: `Endpoint` is `http://host/…`, `EndpointTLS` (required by the schema) names the same
/// host with `https`, `TLSMandatory` false. Over TLS: both name `https://host/…`, `TLSMandatory` true and
/// `ClientAutMandatory` as configured.
pub fn connector_sds(host: &str, tls: bool, client_auth: bool, date: &str) -> String {
    let mut w = XmlWriter::new();
    w.raw(XML_DECL);
    w.open(
        "SDS:ConnectorServices",
        &[
            ("xmlns:SDS", ns::SDS),
            ("xmlns:SI", ns::SI),
            ("xmlns:PI", ns::PI),
        ],
    );
    product_information(&mut w, "PI", date, "Konnektor", "KONFK", "Konnektor");
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
        let s = super::connector_sds("127.0.0.1:9999", false, false, "2024-01-01T00:00:00.000Z");
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
        assert!(s.contains("<PI:InformationDate>2024-01-01T00:00:00.000Z</PI:InformationDate>"));
    }
}
