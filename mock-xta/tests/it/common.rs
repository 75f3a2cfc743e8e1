//! Shared test helpers: the simulator in-process, requests built with `mock_xta::wire`, and responses that
//! are checked against the official XTA schemas with `xmllint` before a test sees them (MTOM answers are
//! XOP-decoded first, as a receiving toolkit would).
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mock_xta::config::{AUTHORITY_ID, PORTAL_ID};
use mock_xta::mime::multipart::Multipart;
use mock_xta::ns::{self, Op, Port};
use mock_xta::wire::{self, Built, ContentSpec, MetaSpec, Packaging, PartySpec};
use mock_xta::xml::{ContentRef, Element};
use mock_xta::{XtaConfig, XtaState};
use std::io::Read;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};
use ti_core::pki::{PkiOptions, TestPki};
use tower::ServiceExt;

pub fn pki() -> Arc<TestPki> {
    static PKI: OnceLock<Arc<TestPki>> = OnceLock::new();
    PKI.get_or_init(|| Arc::new(TestPki::generate(&PkiOptions::default()).expect("test PKI")))
        .clone()
}

pub fn sim_with(config: XtaConfig) -> (Router, XtaState) {
    let st = XtaState::ephemeral(config, pki()).expect("valid config");
    (mock_xta::app(st.clone()), st)
}

pub fn sim() -> (Router, XtaState) {
    sim_with(XtaConfig::default())
}

pub fn portal() -> PartySpec {
    PartySpec {
        id: PORTAL_ID.into(),
        id_type: "xoev".into(),
        name: Some("EFA-Onlinedienst Versammlungsanzeige Schleswig-Holstein".into()),
        category: Some("Engagement- und Hobbyportal".into()),
    }
}

pub fn authority() -> PartySpec {
    PartySpec {
        id: AUTHORITY_ID.into(),
        id_type: "xoev".into(),
        name: Some("Kreisordnungsbehörde Dithmarschen".into()),
        category: Some("Versammlungsbehörde".into()),
    }
}

pub const TO: &str = "http://127.0.0.1:8083";

/// A decoded answer.
pub struct Resp {
    pub status: StatusCode,
    pub content_type: String,
    pub raw: Vec<u8>,
    pub diagnoses: Vec<String>,
    /// The envelope (XOP-decoded for MTOM answers).
    pub env: Option<Element>,
    /// Content of Message/Attachment elements in document order.
    pub contents: Vec<Vec<u8>>,
    /// The envelope as inline XML (what xmllint saw).
    pub xml: String,
}

impl Resp {
    pub fn header(&self, ns: &str, local: &str) -> Option<&Element> {
        self.env
            .as_ref()?
            .children
            .iter()
            .find(|c| c.local == "Header")?
            .children
            .iter()
            .find(|h| h.is(ns, local))
    }
    pub fn body(&self) -> Option<&Element> {
        self.env
            .as_ref()?
            .children
            .iter()
            .find(|c| c.local == "Body")?
            .children
            .first()
    }
    /// The XTA error code of a fault.
    pub fn code(&self) -> Option<u16> {
        let f = self.body().filter(|b| b.local == "Fault")?;
        let detail = f.children.iter().find(|c| c.local == "Detail")?;
        let ec = detail.children.first()?.children.first()?;
        ec.child_unqualified("code")?.trimmed().parse().ok()
    }
    pub fn soap_code(&self) -> Option<String> {
        let f = self.body().filter(|b| b.local == "Fault")?;
        Some(f.children.first()?.children.first()?.trimmed().to_string())
    }
    pub fn is_fault(&self) -> bool {
        self.body().is_some_and(|b| b.local == "Fault")
    }
    pub fn has_diag(&self, rule: &str) -> bool {
        self.diagnoses.iter().any(|d| d.starts_with(rule))
    }
    /// Everything but the response's own WS-Addressing headers.
    fn roots(&self) -> Vec<&Element> {
        let Some(env) = &self.env else {
            return Vec::new();
        };
        let mut v = Vec::new();
        for part in &env.children {
            if part.local == "Header" {
                v.extend(
                    part.children
                        .iter()
                        .filter(|h| h.ns.as_deref() != Some(ns::WSA)),
                );
            } else {
                v.push(part);
            }
        }
        v
    }
    fn walk<'a>(e: &'a Element, local: &str, out: &mut Vec<&'a Element>) {
        if e.local == local {
            out.push(e);
        }
        for c in &e.children {
            Self::walk(c, local, out);
        }
    }
    fn all(&self, local: &str) -> Vec<&Element> {
        let mut out = Vec::new();
        for r in self.roots() {
            Self::walk(r, local, &mut out);
        }
        out
    }
    /// Text of the first element with this local name (outside the answer's own addressing headers).
    pub fn find(&self, local: &str) -> Option<String> {
        self.all(local).first().map(|e| e.trimmed().to_string())
    }
    pub fn find_all(&self, local: &str) -> Vec<String> {
        self.all(local)
            .iter()
            .map(|e| e.trimmed().to_string())
            .collect()
    }
    pub fn attr_of(&self, local: &str, attr: &str) -> Option<String> {
        self.all(local).first()?.attr(attr).map(str::to_string)
    }
    #[track_caller]
    pub fn assert_fault(&self, code: u16) {
        assert!(
            self.is_fault(),
            "fault {code} expected, got {} {}\n{:?}",
            self.status,
            self.xml,
            self.diagnoses
        );
        assert_eq!(
            self.code(),
            Some(code),
            "{}\n{:?}",
            self.xml,
            self.diagnoses
        );
        assert_eq!(
            self.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}",
            self.xml
        );
    }
    #[track_caller]
    pub fn assert_ok(&self) {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{}\n{:?}",
            self.xml,
            self.diagnoses
        );
        assert!(!self.is_fault(), "{}", self.xml);
    }
}

pub async fn post(app: &Router, port: Port, built: Built) -> Resp {
    post_raw(app, port.path(), &built.content_type, built.body).await
}

pub async fn post_raw(app: &Router, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", content_type)
        .header("host", "127.0.0.1:8083")
        .body(Body::from(body))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    decode(
        resp.status(),
        resp.headers().clone(),
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

pub fn decode(status: StatusCode, headers: axum::http::HeaderMap, raw: Vec<u8>) -> Resp {
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let diagnoses = headers
        .get_all("x-konform-diagnosis")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let (xml, contents, env) = if content_type.starts_with("multipart/related") {
        let (x, c) = xop_decode(&content_type, &raw);
        let env = mock_xta::xml::reader::parse_document(x.as_bytes(), Default::default()).ok();
        (x, c, env)
    } else if raw.is_empty() {
        (String::new(), Vec::new(), None)
    } else {
        let x = String::from_utf8(raw.clone()).expect("UTF-8 answer");
        let mut sink = mock_xta::xml::reader::MemorySink::default();
        let env = mock_xta::xml::reader::parse(x.as_bytes(), Default::default(), &mut sink).ok();
        (x, sink.slots, env)
    };
    let r = Resp {
        status,
        content_type,
        raw,
        diagnoses,
        env,
        contents,
        xml,
    };
    if !r.xml.is_empty() {
        validate(&r);
    }
    r
}

/// Split an MTOM answer, replace each xop:Include by the base64 of its part.
pub fn xop_decode(content_type: &str, raw: &[u8]) -> (String, Vec<Vec<u8>>) {
    let ct = mock_xta::mime::ContentType::parse(content_type).unwrap();
    assert_eq!(
        ct.param("type"),
        Some("application/xop+xml"),
        "{content_type}"
    );
    assert_eq!(
        ct.param("start-info"),
        Some("application/soap+xml"),
        "{content_type}"
    );
    let start = mock_xta::mime::strip_angle(ct.param("start").expect("start"));
    let mut mp = Multipart::new(raw, ct.param("boundary").unwrap());
    let mut root = None;
    let mut parts = std::collections::HashMap::new();
    while let Some(h) = mp.next_part().unwrap() {
        let mut data = Vec::new();
        mp.part().read_to_end(&mut data).unwrap();
        if h.content_id.as_deref() == Some(start.as_str()) {
            assert!(h.content_type.unwrap().starts_with("application/xop+xml"));
            root = Some(String::from_utf8(data).unwrap());
        } else {
            parts.insert(h.content_id.unwrap(), data);
        }
    }
    let root = root.expect("root part");
    let mut sink = mock_xta::xml::reader::MemorySink::default();
    let env = mock_xta::xml::reader::parse(root.as_bytes(), Default::default(), &mut sink)
        .expect("root part is XML");
    let mut contents = Vec::new();
    let mut xml = root.clone();
    collect_content(&env, &mut |c| match c {
        ContentRef::Xop { cid } => {
            let data = parts
                .get(cid)
                .unwrap_or_else(|| panic!("dangling xop:Include {cid}"))
                .clone();
            contents.push(data);
        }
        ContentRef::Inline { slot } => contents.push(sink.slots[*slot].clone()),
    });
    // Inline the parts for schema validation.
    let mut i = 0;
    while let Some(s) = xml.find("<xop:Include") {
        let e = s + xml[s..].find("/>").unwrap() + 2;
        let b64 = ti_core::b64_encode(&contents[i]);
        xml.replace_range(s..e, &b64);
        i += 1;
    }
    (xml, contents)
}

fn collect_content(e: &Element, f: &mut impl FnMut(&ContentRef)) {
    if let Some(c) = &e.content {
        f(c);
    }
    for c in &e.children {
        collect_content(c, f);
    }
}

pub fn wsdl_dir() -> Option<PathBuf> {
    test_support::shared::require("reference/xta/wsdl")
}

/// A schema that pulls in every namespace of XTA answers, so `xmllint` validates header blocks and body
/// (the SOAP envelope schema processes them laxly: declared elements are validated).
fn all_schema() -> Option<PathBuf> {
    static P: OnceLock<Option<PathBuf>> = OnceLock::new();
    P.get_or_init(|| {
        let w = wsdl_dir()?;
        let dir = std::env::temp_dir().join(format!("konform-xta-xsd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let loc = |f: &str| w.join(f).display().to_string();
        std::fs::write(
            dir.join("xta-all.xsd"),
            format!(
                "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" targetNamespace=\"{}\"><xs:include schemaLocation=\"{}\"/><xs:include schemaLocation=\"{}\"/></xs:schema>",
                ns::XTA,
                loc("XTA-Webservice-Globale-Elemente.xsd"),
                loc("XTA-Webservice-Exceptions.xsd")
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("all.xsd"),
            format!(
                "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" targetNamespace=\"urn:konform:test:xta\"><xs:import namespace=\"{}\" schemaLocation=\"{}\"/><xs:import namespace=\"{}\" schemaLocation=\"xta-all.xsd\"/><xs:import namespace=\"{}\" schemaLocation=\"{}\"/><xs:import namespace=\"{}\" schemaLocation=\"{}\"/><xs:import namespace=\"{}\" schemaLocation=\"{}\"/></xs:schema>",
                ns::SOAP12,
                loc(".xsd"),
                ns::XTA,
                ns::OSCI,
                loc("OSCI2_02.xsd"),
                ns::OSCIMETA,
                loc("OSCI_MessageMetaData_V2.02.xsd"),
                ns::WSA,
                loc("ws-addr.xsd")
            ),
        )
        .unwrap();
        Some(dir.join("all.xsd"))
    })
    .clone()
}

/// `xmllint --schema` on a whole envelope; panics with xmllint's output when it does not validate.
#[track_caller]
pub fn xmllint(xml: &str) -> Result<(), String> {
    let Some(xsd) = all_schema() else {
        return Ok(());
    };
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("doc.xml");
    std::fs::write(&f, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(&xsd)
        .arg(&f)
        .output()
        .unwrap_or_else(|e| panic!("xmllint is required for the schema tests and could not be run ({e}): apt-get install -y libxml2-utils"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() && stderr.contains("validates") {
        Ok(())
    } else {
        Err(stderr)
    }
}

#[track_caller]
pub fn validate(r: &Resp) {
    if let Err(e) = xmllint(&r.xml) {
        panic!(
            "answer does not validate against the XTA schemas:\n{e}\n--- answer:\n{}",
            r.xml
        );
    }
    let env = r.env.as_ref().expect("answer parses");
    assert!(env.is(ns::SOAP12, "Envelope"));
}

// ---- request shortcuts ----

pub async fn call(app: &Router, op: Op, who: &PartySpec, body: &str) -> Resp {
    post(
        app,
        op.port(),
        wire::simple(op, TO, &[wire::author_header(who)], body),
    )
    .await
}

pub async fn create_id(app: &Router, who: &PartySpec) -> String {
    let r = call(app, Op::CreateMessageId, who, "").await;
    r.assert_ok();
    r.body()
        .expect("wsa:MessageID in the Body")
        .trimmed()
        .to_string()
}

/// A FIM message for the default accounts with the given proofs/attachments.
pub fn fim(id: &str, attachments: &[(&str, &[u8])]) -> (MetaSpec, ContentSpec, Vec<ContentSpec>) {
    let names: Vec<&str> = attachments.iter().map(|(n, _)| *n).collect();
    let meta = wire::fim_meta(id, portal(), authority());
    let msg = ContentSpec::new(
        "application/xml",
        Some("Versammlungsanzeige.xml"),
        wire::fim_message(&wire::default_header(), &names).into_bytes(),
    );
    let atts = attachments
        .iter()
        .map(|(n, d)| ContentSpec::new("application/pdf", Some(n), d.to_vec()))
        .collect();
    (meta, msg, atts)
}

pub async fn send(
    app: &Router,
    meta: &MetaSpec,
    msg: &ContentSpec,
    atts: &[ContentSpec],
    p: Packaging,
) -> Resp {
    post(
        app,
        Port::Send,
        wire::send(Op::SendMessage, TO, &wire::meta_xml(meta), msg, atts, p),
    )
    .await
}

/// createMessageId + sendMessage of a valid FIM message; returns the MessageID.
pub async fn send_fim(app: &Router, attachments: &[(&str, &[u8])], p: Packaging) -> String {
    let id = create_id(app, &portal()).await;
    let (meta, msg, atts) = fim(&id, attachments);
    let r = send(app, &meta, &msg, &atts, p).await;
    r.assert_ok();
    id
}

pub fn pdf(n: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.4\n".to_vec();
    v.extend((0..n).map(|i| (i % 251) as u8));
    v
}
