//! Test client: builds deliveries the way a correct insurer client does (and lets tests break them).
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mock_vst::{VstConfig, VstState};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;
use ti_core::ecies::{self, EciesParams};
use ti_core::pki::{PkiOptions, TestPki};
use ti_core::sig_input::{self, Variant};
use ti_core::{EcPublicKey, b64_encode};
use tower::ServiceExt;

pub const VS: &str = "/notify/api/v1/vitalstatusnotification";
pub const IU: &str = "/notify/api/v1/insuranceupdatenotification";
pub const VS_REQ: &str = "/notify/api/v1/vitalstatusnotification/requests";
pub const VS_ANON: &str = "/notify/api/v1/vitalstatusnotification/anonymizationnotifications";
pub const VS_ERR: &str = "/notify/api/v1/vitalstatusnotification/processingerrors";
pub const IU_ERR: &str = "/notify/api/v1/insuranceupdatenotification/processingerrors";

/// One PKI per test binary (generation is not free).
pub fn pki() -> Arc<TestPki> {
    static PKI: OnceLock<Arc<TestPki>> = OnceLock::new();
    PKI.get_or_init(|| Arc::new(TestPki::generate(&PkiOptions::default()).unwrap()))
        .clone()
}

pub struct Sim {
    pub state: VstState,
    pub app: Router,
    pub pki: Arc<TestPki>,
}

pub fn sim() -> Sim {
    sim_with(VstConfig::default())
}

pub fn sim_with(cfg: VstConfig) -> Sim {
    let pki = pki();
    let state = VstState::new(cfg, pki.clone()).unwrap();
    Sim {
        app: mock_vst::app(state.clone()),
        state,
        pki,
    }
}

/// The default insurer's auth header (ExternalAuthenticate with C.AUT over SHA-256(tid|ik)).
pub fn auth(pki: &TestPki) -> String {
    let input = sig_input::registration_input(&pki.insurer.telematik_id, &pki.insurer.ik);
    let sig = pki
        .insurer_aut
        .key
        .sign_prehash_der(&ti_core::sha256(&input))
        .unwrap();
    mock_vst::auth_header(&pki.insurer.telematik_id, &pki.insurer.ik, &sig)
}

pub fn enc(to: &EcPublicKey, v: &str) -> String {
    b64_encode(&ecies::encrypt(to, v.as_bytes(), &EciesParams::default()))
}

#[derive(Clone, Debug)]
pub struct VsRec {
    pub id: String,
    pub kvnr: String,
    pub vs: String,
    pub sd: String,
    /// Already encrypted values (base64), when a test wants to control them.
    pub raw: Option<[String; 3]>,
}

pub fn vs_rec(id: &str, kvnr: &str, vs: &str, sd: &str) -> VsRec {
    VsRec {
        id: id.into(),
        kvnr: kvnr.into(),
        vs: vs.into(),
        sd: sd.into(),
        raw: None,
    }
}

/// Encrypted values of a record: IdVersicherter for the VST, the rest for the Registerstelle.
pub fn encrypt_vs(pki: &TestPki, r: &VsRec) -> [String; 3] {
    r.raw.clone().unwrap_or_else(|| {
        [
            enc(&pki.vst_enc.public_key(), &r.kvnr),
            enc(&pki.registerstelle_enc.public_key(), &r.vs),
            enc(&pki.registerstelle_enc.public_key(), &r.sd),
        ]
    })
}

/// CMS signature (detached, insurer C.SIG) over the signature input of `variant`.
pub fn cms_sign(pki: &TestPki, input: &[u8]) -> String {
    let cms = ti_core::cms::sign(
        input,
        &pki.insurer_sig.key,
        &pki.insurer_sig.cert_der,
        false,
        SystemTime::now(),
    )
    .unwrap();
    b64_encode(&cms)
}

/// A vital status delivery body (JSON), values encrypted, signed over `variant`.
pub fn vs_body_variant(pki: &TestPki, id: &str, recs: &[VsRec], variant: Variant) -> String {
    let encs: Vec<[String; 3]> = recs.iter().map(|r| encrypt_vs(pki, r)).collect();
    vs_body_from(pki, id, recs, &encs, variant)
}

pub fn vs_body_from(
    pki: &TestPki,
    id: &str,
    recs: &[VsRec],
    encs: &[[String; 3]],
    variant: Variant,
) -> String {
    let srecs: Vec<sig_input::VitalStatusRecord<'_>> = recs
        .iter()
        .zip(encs)
        .map(|(r, e)| sig_input::VitalStatusRecord {
            id_datensatz: &r.id,
            id_versicherter: &e[0],
            vitalstatus: &e[1],
            sterbedatum: &e[2],
        })
        .collect();
    let input =
        sig_input::build_variant(&sig_input::vitalstatus_segments(id, &srecs), variant).unwrap();
    let sig = cms_sign(pki, &input);
    let meldungen: Vec<serde_json::Value> = recs
        .iter()
        .zip(encs)
        .map(|(r, e)| {
            serde_json::json!({
                "IdDatensatz": r.id,
                "IdVersicherter": e[0],
                "Vitalstatus": e[1],
                "Sterbedatum": e[2],
            })
        })
        .collect();
    serde_json::to_string(&serde_json::json!({
        "IdDatenlieferung": id,
        "Meldungen": meldungen,
        "Signatur": sig,
    }))
    .unwrap()
}

pub fn vs_body(pki: &TestPki, id: &str, recs: &[VsRec]) -> String {
    vs_body_variant(pki, id, recs, Variant::Canonical)
}

/// One good record.
pub fn good(i: usize) -> VsRec {
    let kvnr = ti_core::ids::KvnrRules::default()
        .test_kvnr(i as u64)
        .unwrap();
    vs_rec(&format!("2024-01-{i:03}"), &kvnr, "01", "---N/A----")
}

#[derive(Clone, Debug)]
pub struct IuRec {
    pub id: String,
    pub kvnr: String,
    pub alt: Option<String>,
    pub ik: String,
}

pub fn iu_body_variant(pki: &TestPki, id: &str, recs: &[IuRec], variant: Variant) -> String {
    let to = pki.vst_enc.public_key();
    let encs: Vec<(String, Option<String>, String)> = recs
        .iter()
        .map(|r| {
            (
                enc(&to, &r.kvnr),
                r.alt.as_ref().map(|a| enc(&to, a)),
                enc(&to, &r.ik),
            )
        })
        .collect();
    let srecs: Vec<sig_input::InsuranceUpdateRecord<'_>> = recs
        .iter()
        .zip(&encs)
        .map(|(r, e)| sig_input::InsuranceUpdateRecord {
            id_datensatz: &r.id,
            id_versicherter: &e.0,
            id_versicherter_alt: e.1.as_deref(),
            ik_alt: &e.2,
        })
        .collect();
    let input =
        sig_input::build_variant(&sig_input::insurance_update_segments(id, &srecs), variant)
            .unwrap();
    let sig = cms_sign(pki, &input);
    let meldungen: Vec<serde_json::Value> = recs
        .iter()
        .zip(&encs)
        .map(|(r, e)| {
            let mut m = serde_json::json!({
                "IdDatensatz": r.id,
                "IdVersicherter": e.0,
                "IkAlt": e.2,
            });
            if let Some(a) = &e.1 {
                m["IdVersicherterAlt"] = a.clone().into();
            }
            m
        })
        .collect();
    serde_json::to_string(&serde_json::json!({
        "IdDatenlieferung": id,
        "Meldungen": meldungen,
        "Signatur": sig,
    }))
    .unwrap()
}

pub fn iu_body(pki: &TestPki, id: &str, recs: &[IuRec]) -> String {
    iu_body_variant(pki, id, recs, Variant::Canonical)
}

pub fn iu_rec(id: &str, kvnr: &str, alt: Option<&str>, ik: &str) -> IuRec {
    IuRec {
        id: id.into(),
        kvnr: kvnr.into(),
        alt: alt.map(str::to_string),
        ik: ik.into(),
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub diags: Vec<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// Whether some diagnosis starts with `rule` (and names `at`, when given).
    pub fn has(&self, rule: &str, at: Option<&str>) -> bool {
        self.diags
            .iter()
            .any(|d| d.starts_with(rule) && at.is_none_or(|a| d.contains(&format!(" at {a}:"))))
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Resp {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let diags = resp
        .headers()
        .get_all("x-konform-diagnosis")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Resp {
        status,
        diags,
        content_type,
        body,
    }
}

/// POST JSON with the default insurer's auth header.
pub async fn post(s: &Sim, path: &str, body: impl Into<Body>) -> Resp {
    send(
        &s.app,
        Request::post(path)
            .header("content-type", "application/json")
            .header("authorization", auth(&s.pki))
            .body(body.into())
            .unwrap(),
    )
    .await
}

pub async fn get(s: &Sim, path: &str) -> Resp {
    send(
        &s.app,
        Request::get(path)
            .header("authorization", auth(&s.pki))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// Verify a VST response signature (base64 DER ECDSA-SHA256) over `input` with the VST signing key.
pub fn verify_vst_sig(pki: &TestPki, input: &[u8], sig_b64: &str) -> bool {
    let sig = ti_core::b64_decode(sig_b64).unwrap();
    sig.len() != 64 && pki.vst_sig.public_key().verify_sha256(input, &sig).is_ok()
}

/// An HTTP/1.1 keep-alive connection over real TCP, on hyper's client (for tests that exercise `serve`).
pub mod tcp {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::client::conn::http1::SendRequest;
    use hyper_util::rt::TokioIo;
    use std::net::SocketAddr;

    pub struct Conn {
        sender: SendRequest<Full<Bytes>>,
    }

    #[derive(Debug)]
    pub struct Response {
        pub status: u16,
        pub headers: hyper::HeaderMap,
        pub body: Vec<u8>,
    }

    impl Response {
        pub fn headers_named(&self, name: &str) -> Vec<&str> {
            self.headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect()
        }
    }

    impl Conn {
        pub async fn connect(addr: SocketAddr) -> std::io::Result<Conn> {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(std::io::Error::other)?;
            tokio::spawn(conn);
            Ok(Conn { sender })
        }

        pub async fn request(
            &mut self,
            method: &str,
            path: &str,
            headers: &[(&str, &str)],
            body: &[u8],
        ) -> std::io::Result<Response> {
            let mut req = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header("host", "127.0.0.1");
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let req = req
                .body(Full::new(Bytes::copy_from_slice(body)))
                .map_err(std::io::Error::other)?;
            self.sender.ready().await.map_err(std::io::Error::other)?;
            let resp = self
                .sender
                .send_request(req)
                .await
                .map_err(std::io::Error::other)?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(std::io::Error::other)?
                .to_bytes()
                .to_vec();
            Ok(Response {
                status,
                headers,
                body,
            })
        }
    }
}
