//! Shared test helpers: a test PKI, the simulator in-process, SOAP calls whose every response is validated
//! against the official gematik XSDs with `xmllint` (when `../shared` holds them; see `test_support`),
//! request builders in the seed's style, and the recorded request templates of real clients.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mock_konnektor::{KonnektorConfig, KonnektorState};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use ti_core::pki::{PkiOptions, TestPki};
use tower::ServiceExt;

pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";

pub fn pki() -> Arc<TestPki> {
    static PKI: OnceLock<Arc<TestPki>> = OnceLock::new();
    PKI.get_or_init(|| Arc::new(TestPki::generate(&PkiOptions::default()).expect("test PKI")))
        .clone()
}

pub fn sim(config: KonnektorConfig) -> (Router, KonnektorState) {
    let st = KonnektorState::new(config, pki()).expect("valid config");
    (mock_konnektor::app(st.clone()), st)
}

pub fn default_sim() -> (Router, KonnektorState) {
    sim(KonnektorConfig::default())
}

/// The official WSDL/XSD folder, if the shared reference material is there (said once when it is not;
/// under `CI=true` its absence fails the test).
pub fn wsdl_dir() -> Option<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| test_support::shared::require("reference/konnektor/wsdl"))
        .clone()
}

/// A template from `reference/konnektor/recorded/` (`dir`, from `require_shared!`) with its
/// `{PLACEHOLDERS}` filled.
pub fn recorded(dir: &Path, rel: &str, fill: &[(&str, &str)]) -> String {
    let p = dir.join(rel);
    let mut s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    for (k, v) in fill {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    if let Some(i) = s.find('{') {
        let rest = &s[i + 1..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .collect();
        assert!(
            name.is_empty() || !rest[name.len()..].starts_with('}'),
            "unfilled placeholder {{{name}}} in {rel}"
        );
    }
    s
}

/// The default context placeholders.
pub fn ctx_fill() -> Vec<(&'static str, &'static str)> {
    vec![
        ("MANDANT", "Mandant1"),
        ("CLIENT", "ClientID1"),
        ("WORKPLACE", "Workplace1"),
        ("USER", "User1"),
    ]
}

pub struct Resp {
    pub status: StatusCode,
    pub body: String,
    pub diagnoses: Vec<String>,
    pub content_type: String,
}

impl Resp {
    /// The tel/error code of a fault.
    pub fn code(&self) -> Option<u32> {
        let s = self.body.find("<GERROR:Code>")? + "<GERROR:Code>".len();
        let e = self.body[s..].find('<')? + s;
        self.body[s..e].parse().ok()
    }
    pub fn faultcode(&self) -> Option<&str> {
        let s = self.body.find("<faultcode>")? + "<faultcode>".len();
        let e = self.body[s..].find('<')? + s;
        Some(&self.body[s..e])
    }
    /// Text of the first element with this qualified name.
    pub fn text(&self, qname: &str) -> Option<String> {
        let open = format!("<{qname}");
        let s = self.body.find(&open)?;
        let gt = self.body[s..].find('>')? + s + 1;
        let e = self.body[gt..].find(&format!("</{qname}>"))? + gt;
        Some(self.body[gt..e].to_string())
    }
    pub fn texts(&self, qname: &str) -> Vec<String> {
        let mut out = Vec::new();
        let open = format!("<{qname}");
        let close = format!("</{qname}>");
        let mut rest = self.body.as_str();
        while let Some(s) = rest.find(&open) {
            let Some(gt) = rest[s..].find('>') else { break };
            let gt = s + gt + 1;
            let Some(e) = rest[gt..].find(&close) else {
                break;
            };
            out.push(rest[gt..gt + e].to_string());
            rest = &rest[gt + e..];
        }
        out
    }
    pub fn has_diag(&self, rule: &str) -> bool {
        self.diagnoses.iter().any(|d| d.starts_with(rule))
    }
    #[track_caller]
    pub fn assert_fault(&self, code: u32) {
        assert_eq!(
            self.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "fault expected: {}",
            self.body
        );
        assert_eq!(
            self.code(),
            Some(code),
            "{} / {:?}",
            self.body,
            self.diagnoses
        );
    }
    #[track_caller]
    pub fn assert_ok(&self) {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{} / {:?}",
            self.body,
            self.diagnoses
        );
    }
}

/// POST a SOAP request; the response is validated against the official XSDs before it is returned.
pub async fn soap(app: &Router, path: &str, action: Option<&str>, body: &str) -> Resp {
    let mut b = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "text/xml; charset=UTF-8")
        .header("host", "127.0.0.1:8082");
    if let Some(a) = action {
        b = b.header("soapaction", format!("\"{a}\""));
    }
    let r = send(app, b.body(Body::from(body.to_string())).unwrap()).await;
    validate_soap_response(&r);
    r
}

pub async fn send(app: &Router, req: Request<Body>) -> Resp {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let diagnoses = resp
        .headers()
        .get_all("x-konform-diagnosis")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        body: String::from_utf8(body.to_vec()).expect("UTF-8 response"),
        diagnoses,
        content_type,
    }
}

pub async fn admin(app: &Router, method: &str, path: &str, json: &str) -> Resp {
    send(
        app,
        Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(json.to_string()))
            .unwrap(),
    )
    .await
}

/// The schema file that declares the elements of a namespace.
fn xsd_for(ns: &str) -> Option<&'static str> {
    Some(match ns {
        "http://ws.gematik.de/conn/EventService/v7.2" => "conn/EventService.xsd",
        "http://ws.gematik.de/conn/CardService/v8.1" => "conn/CardService_v8_1_3.xsd",
        "http://ws.gematik.de/conn/CertificateService/v6.0" => "conn/CertificateService_v6_0_2.xsd",
        "http://ws.gematik.de/conn/SignatureService/v7.4" => "conn/SignatureService_V7_4_4.xsd",
        "http://ws.gematik.de/tel/error/v2.0" => "tel/error/TelematikError.xsd",
        "http://ws.gematik.de/conn/ServiceDirectory/v3.1" => "conn/ServiceDirectory.xsd",
        _ => return None,
    })
}

/// `xmllint --noout --nonet --schema XSD` on a standalone document; panics with xmllint's output on failure.
/// Without the shared XSDs (outside CI) the check is skipped.
#[track_caller]
pub fn xmllint(doc: &str, ns: &str) {
    let xsd = xsd_for(ns).unwrap_or_else(|| panic!("no XSD known for namespace {ns}"));
    let Some(dir) = wsdl_dir() else { return };
    let xsd = dir.join(xsd);
    assert!(xsd.exists(), "official XSD missing: {}", xsd.display());
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("doc.xml");
    std::fs::write(&f, doc).unwrap();
    let out = match Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(&xsd)
        .arg(&f)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!(
            "xmllint is required for the schema conformance tests and could not be run ({e}): \
             install it with `apt-get install -y libxml2-utils`"
        ),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("validates"),
        "response does not validate against {}:\n{stderr}\n--- document:\n{doc}",
        xsd.display()
    );
}

fn namespace_of_root(fragment: &str) -> String {
    let doc = mock_konnektor::xml::parse(fragment.as_bytes(), Default::default())
        .unwrap_or_else(|e| panic!("fragment is not standalone XML ({e}): {fragment}"));
    doc.root().ns().unwrap_or_default().to_string()
}

/// Check a SOAP response: an envelope with one body element, which validates against its XSD; for faults,
/// the tel/error `Error` validates against TelematikError.xsd.
#[track_caller]
pub fn validate_soap_response(r: &Resp) {
    if r.body.is_empty() {
        return;
    }
    assert!(
        r.content_type.starts_with("text/xml"),
        "SOAP responses are text/xml: {}",
        r.content_type
    );
    let doc = mock_konnektor::xml::parse(r.body.as_bytes(), Default::default())
        .unwrap_or_else(|e| panic!("response is not well-formed ({e}): {}", r.body));
    let root = doc.root();
    assert!(root.is(SOAP11, "Envelope"), "{}", r.body);
    assert_eq!(root.children().count(), 1);
    let body = root.first_child().unwrap();
    assert!(body.is(SOAP11, "Body"));
    assert_eq!(body.children().count(), 1, "{}", r.body);
    let payload = body.first_child().unwrap();
    let start = r.body.find("<S:Body>").expect("S:Body") + "<S:Body>".len();
    let end = r.body.rfind("</S:Body>").expect("/S:Body");
    let fragment = &r.body[start..end];
    if payload.is(SOAP11, "Fault") {
        assert!(
            [
                StatusCode::INTERNAL_SERVER_ERROR,
                StatusCode::PAYLOAD_TOO_LARGE,
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            ]
            .contains(&r.status),
            "SOAP 1.1 faults travel with HTTP 500 unless the HTTP layer refused the request (413, 415): {} {}",
            r.status,
            r.body
        );
        let names: Vec<&str> = payload.children().map(|c| c.local()).collect();
        assert!(
            names.starts_with(&["faultcode", "faultstring"]),
            "{names:?}"
        );
        if let Some(s) = fragment.find("<GERROR:Error") {
            let e =
                fragment.find("</GERROR:Error>").expect("closed Error") + "</GERROR:Error>".len();
            xmllint(&fragment[s..e], "http://ws.gematik.de/tel/error/v2.0");
        }
    } else {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        xmllint(fragment, &namespace_of_root(fragment));
    }
}

pub const A_GET_CARDS: &str = "http://ws.gematik.de/conn/EventService/v7.2#GetCards";
pub const A_GET_TERMINALS: &str = "http://ws.gematik.de/conn/EventService/v7.2#GetCardTerminals";
pub const A_VERIFY_PIN: &str = "http://ws.gematik.de/conn/CardService/v8.1#VerifyPin";
pub const A_PIN_STATUS: &str = "http://ws.gematik.de/conn/CardService/v8.1#GetPinStatus";
pub const A_READ_CERT: &str =
    "http://ws.gematik.de/conn/CertificateService/v6.0#ReadCardCertificate";
pub const A_VERIFY_CERT: &str =
    "http://ws.gematik.de/conn/CertificateService/v6.0#VerifyCertificate";
pub const A_SIGN: &str = "http://ws.gematik.de/conn/SignatureService/v7.4#SignDocument";
pub const A_JOB: &str = "http://ws.gematik.de/conn/SignatureService/v7.4#GetJobNumber";
pub const A_EXT_AUTH: &str = "http://ws.gematik.de/conn/SignatureService/v7.4#ExternalAuthenticate";

/// A SignDocument request in the shape of the IRD seed's example (written for the tests).
pub fn sign_request(handle: &str, docs: &[(&str, &[u8])], include_econtent: bool) -> String {
    let mut reqs = String::new();
    for (id, content) in docs {
        reqs.push_str(&format!(
            "<ns4:SignRequest RequestID=\"{id}\"><ns4:OptionalInputs><dss:SignatureType>urn:ietf:rfc:5652</dss:SignatureType><ns4:IncludeEContent>{include_econtent}</ns4:IncludeEContent></ns4:OptionalInputs><ns4:Document ShortText=\"Testnachricht\" ID=\"D{id}\"><dss:Base64Data>{}</dss:Base64Data></ns4:Document><ns4:IncludeRevocationInfo>true</ns4:IncludeRevocationInfo></ns4:SignRequest>",
            ti_core::b64_encode(content)
        ));
    }
    format!(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns2="http://ws.gematik.de/conn/ConnectorCommon/v5.0" xmlns:ns3="http://ws.gematik.de/conn/ConnectorContext/v2.0" xmlns:ns4="http://ws.gematik.de/conn/SignatureService/v7.4" xmlns:dss="urn:oasis:names:tc:dss:1.0:core:schema"><soap:Body><ns4:SignDocument><ns2:CardHandle>{handle}</ns2:CardHandle><ns3:Context><ns2:MandantId>Mandant1</ns2:MandantId><ns2:ClientSystemId>ClientID1</ns2:ClientSystemId><ns2:WorkplaceId>Workplace1</ns2:WorkplaceId><ns2:UserId>User1</ns2:UserId></ns3:Context><ns4:TvMode>NONE</ns4:TvMode><ns4:JobNumber>SIG-001</ns4:JobNumber>{reqs}</ns4:SignDocument></soap:Body></soap:Envelope>"#
    )
}

/// The default context in the seed's style (`ns3` = ConnectorContext, `ns2` = ConnectorCommon).
pub const CONTEXT: &str = "<ns3:Context><ns2:MandantId>Mandant1</ns2:MandantId><ns2:ClientSystemId>ClientID1</ns2:ClientSystemId><ns2:WorkplaceId>Workplace1</ns2:WorkplaceId><ns2:UserId>User1</ns2:UserId></ns3:Context>";

/// An envelope in the seed's style: `ns4` is the operation's namespace, `ns2` ConnectorCommon, `ns3`
/// ConnectorContext, `ns5` CardServiceCommon, `ns6` CertificateServiceCommon, `dss` the OASIS DSS core.
pub fn request(op_ns: &str, body: &str) -> String {
    format!(
        concat!(
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" "#,
            r#"xmlns:ns2="http://ws.gematik.de/conn/ConnectorCommon/v5.0" "#,
            r#"xmlns:ns3="http://ws.gematik.de/conn/ConnectorContext/v2.0" xmlns:ns4="{}" "#,
            r#"xmlns:ns5="http://ws.gematik.de/conn/CardServiceCommon/v2.0" "#,
            r#"xmlns:ns6="http://ws.gematik.de/conn/CertificateServiceCommon/v2.0" "#,
            r#"xmlns:dss="urn:oasis:names:tc:dss:1.0:core:schema">"#,
            "<soap:Header/><soap:Body>{}</soap:Body></soap:Envelope>"
        ),
        op_ns, body
    )
}

pub const NS_EVT: &str = "http://ws.gematik.de/conn/EventService/v7.2";
pub const NS_CARD: &str = "http://ws.gematik.de/conn/CardService/v8.1";
pub const NS_CERT: &str = "http://ws.gematik.de/conn/CertificateService/v6.0";
pub const NS_SIG: &str = "http://ws.gematik.de/conn/SignatureService/v7.4";

pub fn verify_pin_request(handle: &str) -> String {
    request(
        NS_CARD,
        &format!(
            "<ns4:VerifyPin>{CONTEXT}<ns2:CardHandle>{handle}</ns2:CardHandle><ns5:PinTyp>PIN.SMC</ns5:PinTyp></ns4:VerifyPin>"
        ),
    )
}

pub fn pin_status_request(handle: &str) -> String {
    request(
        NS_CARD,
        &format!(
            "<ns4:GetPinStatus>{CONTEXT}<ns2:CardHandle>{handle}</ns2:CardHandle><ns5:PinTyp>PIN.SMC</ns5:PinTyp></ns4:GetPinStatus>"
        ),
    )
}

/// GetCards with optional filter elements (e.g. `<ns5:CardType>SMC-B</ns5:CardType>`).
pub fn get_cards_request(filters: &str) -> String {
    request(
        NS_EVT,
        &format!("<ns4:GetCards mandant-wide=\"false\">{CONTEXT}{filters}</ns4:GetCards>"),
    )
}

pub fn get_terminals_request() -> String {
    request(
        NS_EVT,
        &format!("<ns4:GetCardTerminals>{CONTEXT}</ns4:GetCardTerminals>"),
    )
}

pub fn ext_auth_request(handle: &str, data: &[u8], sig_type: &str) -> String {
    request(
        NS_SIG,
        &format!(
            concat!(
                "<ns4:ExternalAuthenticate><ns2:CardHandle>{}</ns2:CardHandle>{}",
                "<ns4:OptionalInputs><dss:SignatureType>{}</dss:SignatureType></ns4:OptionalInputs>",
                "<ns4:BinaryString><dss:Base64Data MimeType=\"application/octet-stream\">{}</dss:Base64Data></ns4:BinaryString>",
                "</ns4:ExternalAuthenticate>"
            ),
            handle,
            CONTEXT,
            sig_type,
            ti_core::b64_encode(data)
        ),
    )
}

pub fn read_cert_request(handle: &str, cert_ref: &str, crypt: &str) -> String {
    request(
        NS_CERT,
        &format!(
            "<ns4:ReadCardCertificate><ns2:CardHandle>{handle}</ns2:CardHandle>{CONTEXT}<ns4:CertRefList><ns4:CertRef>{cert_ref}</ns4:CertRef></ns4:CertRefList><ns4:Crypt>{crypt}</ns4:Crypt></ns4:ReadCardCertificate>"
        ),
    )
}

/// VerifyCertificate of a base64 DER certificate, with an optional `<ns4:VerificationTime>…`.
pub fn verify_cert_request(cert_b64: &str, verification_time: &str) -> String {
    request(
        NS_CERT,
        &format!(
            "<ns4:VerifyCertificate>{CONTEXT}<ns6:X509Certificate>{cert_b64}</ns6:X509Certificate>{verification_time}</ns4:VerifyCertificate>"
        ),
    )
}

/// Decode the `dss:Base64Signature` values.
pub fn signatures(r: &Resp) -> Vec<Vec<u8>> {
    r.texts("dss:Base64Signature")
        .iter()
        .map(|s| ti_core::b64_decode(s.trim()).unwrap())
        .collect()
}
