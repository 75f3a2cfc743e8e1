//! XTA 2.1.1 actions of the reference client: the portal side (`xta.send`, `xta.transport_report`,
//! `xta.cancel`, `xta.lookup`) and the authority side (`xta.fetch`). SOAP 1.2 with WS-Addressing, MTOM as
//! Apache CXF sends it, HTTPS with the account's client certificate; the port addresses come from the
//! server's WSDL. Inputs name the FIM message and its attachments as files (relative to the scenario's
//! folder, `KONFORM_SCENARIO_DIR`).

mod fetch;
mod manage;
mod send;
mod transport;

use super::{Action, ClientEnv, ClientError};
use mock_xta::ns::{Op, Port};
use mock_xta::wire::{self, PartySpec};
use mock_xta::xml::{ContentRef, Element};
use std::path::PathBuf;

pub const ACTIONS: &[Action] = &[
    Action {
        name: "xta.send",
        run: send::send,
    },
    Action {
        name: "xta.fetch",
        run: fetch::fetch,
    },
    Action {
        name: "xta.transport_report",
        run: manage::transport_report,
    },
    Action {
        name: "xta.cancel",
        run: manage::cancel,
    },
    Action {
        name: "xta.lookup",
        run: manage::lookup,
    },
];

/// Which account the client acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Portal,
    Authority,
}

/// What the client knows about the XTA server and its accounts.
pub struct Xta<'e> {
    pub env: &'e ClientEnv,
    pub url: String,
    pub who: Who,
    pub account: String,
    cert: Option<(PathBuf, PathBuf)>,
    ca: PathBuf,
    ports: Vec<(String, String)>,
}

fn setup(m: impl Into<String>) -> ClientError {
    ClientError::Setup(m.into())
}

impl<'e> Xta<'e> {
    pub fn new(env: &'e ClientEnv, who: Who) -> Result<Xta<'e>, ClientError> {
        let url = env
            .var("KONFORM_XTA_URL")
            .unwrap_or("https://127.0.0.1:8083")
            .trim_end_matches('/')
            .to_string();
        let (acc, cert, key, default) = match who {
            Who::Portal => (
                "KONFORM_XTA_PORTAL",
                "KONFORM_XTA_PORTAL_CERT",
                "KONFORM_XTA_PORTAL_KEY",
                mock_xta::config::PORTAL_ID,
            ),
            Who::Authority => (
                "KONFORM_XTA_AUTHORITY",
                "KONFORM_XTA_AUTHORITY_CERT",
                "KONFORM_XTA_AUTHORITY_KEY",
                mock_xta::config::AUTHORITY_ID,
            ),
        };
        let account = env.var(acc).unwrap_or(default).to_string();
        let in_pki = |f: String| env.pki_dir.join(f);
        let mut cert = (
            env.var(cert)
                .map(PathBuf::from)
                .unwrap_or_else(|| in_pki(mock_xta::pki::client_cert_file(&account))),
            env.var(key)
                .map(PathBuf::from)
                .unwrap_or_else(|| in_pki(mock_xta::pki::client_key_file(&account))),
        );
        if env.has(super::Defect::XtaSharedTlsCertificate) {
            cert = (
                in_pki("tls/client.pem".into()),
                in_pki("tls/client.key.pem".into()),
            );
        }
        let ca = env
            .var("KONFORM_XTA_CA")
            .map(PathBuf::from)
            .unwrap_or_else(|| in_pki("tls/ca.pem".into()));
        let mut x = Xta {
            env,
            url,
            who,
            account,
            cert: Some(cert),
            ca,
            ports: Vec::new(),
        };
        x.ports = x.ports_from_wsdl()?;
        Ok(x)
    }

    /// The port addresses, as the server's WSDL names them (`soap12:address`).
    fn ports_from_wsdl(&self) -> Result<Vec<(String, String)>, ClientError> {
        let wsdl_url = self
            .env
            .var("KONFORM_XTA_WSDL")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}/xta.wsdl", self.url));
        let r = transport::request(self, "GET", &wsdl_url, &[], b"")?;
        if r.status != 200 {
            return Err(ClientError::Status {
                service: "XTA",
                status: r.status,
                diagnosis: Some("GET xta.wsdl".into()),
            });
        }
        let ports = mock_xta::wsdl::addresses(&r.text());
        if ports.len() != 3 {
            return Err(setup(format!(
                "the WSDL at {wsdl_url} names {} ports, not 3",
                ports.len()
            )));
        }
        Ok(ports)
    }

    pub fn port_url(&self, port: Port) -> String {
        self.ports
            .iter()
            .find(|(n, _)| n == port.wsdl_name())
            .map(|(_, u)| u.clone())
            .unwrap_or_else(|| format!("{}{}", self.url, port.path()))
    }

    pub fn me(&self) -> PartySpec {
        PartySpec::new(&self.account)
    }

    /// A request without content, with the Author header naming this client's account.
    pub fn call(&self, op: Op, body: &str) -> Result<Answer, ClientError> {
        let b = wire::simple(
            op,
            &self.port_url(op.port()),
            &[wire::author_header(&self.me())],
            body,
        );
        self.post(op, b)
    }

    /// POST a built request to the operation's port; a SOAP fault becomes an error naming its XTA code.
    pub fn post(&self, op: Op, b: wire::Built) -> Result<Answer, ClientError> {
        let b = self.apply_wire_defects(b);
        let url = self.port_url(op.port());
        let r = transport::request(
            self,
            "POST",
            &url,
            &[("Content-Type", b.content_type.as_str())],
            &b.body,
        )?;
        let a = Answer::decode(&r)?;
        if let Some((code, reason)) = &a.fault {
            return Err(ClientError::Status {
                service: "XTA",
                status: r.status,
                diagnosis: Some(format!(
                    "{} fault {}: {reason}",
                    op.name(),
                    code.as_deref().unwrap_or("-")
                )),
            });
        }
        if r.status != 200 {
            return Err(ClientError::Status {
                service: "XTA",
                status: r.status,
                diagnosis: r.header("x-konform-diagnosis").map(str::to_string),
            });
        }
        Ok(a)
    }

    /// The transport-level mistakes some clients make.
    fn apply_wire_defects(&self, mut b: wire::Built) -> wire::Built {
        use super::Defect::*;
        if self.env.has(XtaSoap11) {
            let text = String::from_utf8_lossy(&b.body)
                .replace(mock_xta::ns::SOAP12, mock_xta::ns::SOAP11);
            b.body = text.into_bytes();
            if !b.content_type.starts_with("multipart") {
                b.content_type = "text/xml; charset=UTF-8".into();
            } else {
                b.content_type = b.content_type.replace("application/soap+xml", "text/xml");
                let text = String::from_utf8_lossy(&b.body)
                    .replace("type=\"application/soap+xml\"", "type=\"text/xml\"");
                b.body = text.into_bytes();
            }
        }
        if self.env.has(XtaNoWsAddressing) {
            let text = String::from_utf8_lossy(&b.body).into_owned();
            if let (Some(s), Some(e)) = (text.find("<wsa:Action>"), text.find("</wsa:ReplyTo>")) {
                let mut t = text.clone();
                t.replace_range(s..e + "</wsa:ReplyTo>".len(), "");
                b.body = t.into_bytes();
            }
        }
        b
    }

    /// Remember a sent message (clients keep their sent ids to ask for reports later).
    pub fn remember(&self, id: &str) {
        if let Some(dir) = self.env.var("KONFORM_XTA_STATE_DIR") {
            let p = std::path::Path::new(dir).join("sent.txt");
            let mut s = std::fs::read_to_string(&p).unwrap_or_default();
            s.push_str(id);
            s.push('\n');
            let _ = std::fs::write(p, s);
        }
    }

    /// The last message this client sent in this scenario.
    pub fn last_sent(&self) -> Option<String> {
        let dir = self.env.var("KONFORM_XTA_STATE_DIR")?;
        let s = std::fs::read_to_string(std::path::Path::new(dir).join("sent.txt")).ok()?;
        s.lines().last().map(str::to_string)
    }
}

/// A decoded answer: the envelope, the content of Message/Attachment elements in order, the fault.
pub struct Answer {
    pub env: Element,
    pub contents: Vec<Vec<u8>>,
    /// (XTA error code, reason) of a SOAP fault.
    pub fault: Option<(Option<String>, String)>,
}

fn walk<'a>(e: &'a Element, local: &str, out: &mut Vec<&'a Element>) {
    if e.local == local {
        out.push(e);
    }
    for c in &e.children {
        walk(c, local, out);
    }
}

impl Answer {
    fn decode(r: &crate::http::Response) -> Result<Answer, ClientError> {
        let ct = r.header("content-type").unwrap_or("");
        let bad = |m: String| {
            ClientError::Refused(format!("unreadable XTA answer (HTTP {}): {m}", r.status))
        };
        let (env, contents) = if ct.to_ascii_lowercase().starts_with("multipart/related") {
            transport::xop_decode(ct, &r.body).map_err(bad)?
        } else {
            let mut sink = mock_xta::xml::reader::MemorySink::default();
            let env = mock_xta::xml::reader::parse(&r.body[..], Default::default(), &mut sink)
                .map_err(|e| bad(e.to_string()))?;
            let mut contents = Vec::new();
            collect(&env, &mut |c| {
                if let ContentRef::Inline { slot } = c {
                    contents.push(sink.slots.get(*slot).cloned().unwrap_or_default());
                }
            });
            (env, contents)
        };
        let mut faults = Vec::new();
        walk(&env, "Fault", &mut faults);
        let fault = faults.first().map(|f| {
            let mut codes = Vec::new();
            walk(f, "errorCode", &mut codes);
            let code = codes
                .first()
                .and_then(|c| c.child_unqualified("code"))
                .map(|c| c.trimmed().to_string());
            let mut texts = Vec::new();
            walk(f, "Text", &mut texts);
            (
                code,
                texts
                    .first()
                    .map(|t| t.trimmed().to_string())
                    .unwrap_or_default(),
            )
        });
        Ok(Answer {
            env,
            contents,
            fault,
        })
    }

    /// Elements with this local name outside the answer's own WS-Addressing headers.
    pub fn all(&self, local: &str) -> Vec<&Element> {
        let mut out = Vec::new();
        for part in &self.env.children {
            if part.local == "Header" {
                for h in part
                    .children
                    .iter()
                    .filter(|h| h.ns.as_deref() != Some(mock_xta::ns::WSA))
                {
                    walk(h, local, &mut out);
                }
            } else {
                walk(part, local, &mut out);
            }
        }
        out
    }

    pub fn text(&self, local: &str) -> Option<String> {
        self.all(local).first().map(|e| e.trimmed().to_string())
    }

    /// The one element in the Body.
    pub fn body(&self) -> Option<&Element> {
        self.env
            .children
            .iter()
            .find(|c| c.local == "Body")?
            .children
            .first()
    }
}

pub(crate) fn collect(e: &Element, f: &mut impl FnMut(&ContentRef)) {
    if let Some(c) = &e.content {
        f(c);
    }
    for c in &e.children {
        collect(c, f);
    }
}

/// A path from an input: relative to the scenario's folder.
pub fn input_path(env: &ClientEnv, p: &str) -> PathBuf {
    let path = PathBuf::from(p);
    if path.is_absolute() {
        return path;
    }
    match env.var("KONFORM_SCENARIO_DIR") {
        Some(d) => PathBuf::from(d).join(path),
        None => path,
    }
}

pub fn sha256_hex(d: &[u8]) -> String {
    ti_core::sha256(d)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
