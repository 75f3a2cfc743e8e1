//! The web service edge: `POST /okkommbis/services/XoevService` over mTLS. Client certificate → Mandant,
//! Kundennummer, SOAP envelope, XMeld request, answer. Every refusal is a SOAP 1.1 fault with a diagnosis;
//! every business rejection is an XMeld answer (HTTP 200) with the diagnosis added.

use crate::config::KundennummerOrt;
use crate::soap::{self, FaultCode};
use crate::state::{MelderegisterState, MerkmalEintrag, NS_MERKMAL};
use crate::xmeld::{self, Ergebnis, Kontext, Merkmale};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use sim_kit::store::kv;
use sim_kit::tls::TlsInfo;
use sim_kit::{Diagnosis, Outcome, Verdict};

const SEED: &str = "000 \"Wozu dient die Applikationskopplung?\" / \"Weiterer Ablauf\"";

pub fn routes() -> Router<MelderegisterState> {
    Router::new().route(soap::PATH, post(xoev_service))
}

fn xml(status: StatusCode, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    r
}

/// A SOAP fault (HTTP 500, SOAP 1.1 §6.2) with its journal entry.
fn fault(code: FaultCode, text: &str, d: Diagnosis, mandant: Option<&str>) -> Response {
    let verdict = if code == FaultCode::Server {
        Verdict::Failed
    } else {
        Verdict::Rejected
    };
    let rule = d.rule.clone();
    Outcome {
        operation: Some("callApplicationByte".into()),
        verdict: Some(verdict),
        diagnoses: vec![d],
        data: Some(serde_json::json!({ "fault": text, "mandant": mandant })),
        fault: None,
    }
    .attach(xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        soap::fault(code, text, &rule),
    ))
}

pub fn fingerprint(der: &[u8]) -> String {
    hex_lower(&ti_core::sha256(der))
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Identifikationsmerkmale: resolved from the store, new ones collected and stored after the answer.
struct StoreMerkmale<'a> {
    st: &'a MelderegisterState,
    mandant: String,
    now: i64,
    neu: Vec<(String, MerkmalEintrag)>,
}

impl Merkmale for StoreMerkmale<'_> {
    fn ausgeben(&mut self, om: &str) -> String {
        // Opaque: random, never derived from the Ordnungsmerkmal (Anlage Nr. 5), 48 characters.
        let mut b = [0u8; 24];
        let _ = getrandom::fill(&mut b);
        let m = format!("IDM{}", hex_lower(&b))
            .chars()
            .take(48)
            .collect::<String>();
        let gueltig_bis = self.now + (self.st.config().merkmal_stunden as i64) * 3600;
        self.neu.push((
            m.clone(),
            MerkmalEintrag {
                mandant: self.mandant.clone(),
                ordnungsmerkmal: om.to_string(),
                gueltig_bis,
            },
        ));
        m
    }
    fn aufloesen(&self, merkmal: &str) -> Option<String> {
        if merkmal.len() > 500 {
            return None;
        }
        let e: Option<MerkmalEintrag> = self
            .st
            .store()
            .read(|c| kv::get(c, NS_MERKMAL, merkmal))
            .ok()
            .flatten();
        e.filter(|e| e.mandant == self.mandant && self.now <= e.gueltig_bis)
            .map(|e| e.ordnungsmerkmal)
    }
}

async fn xoev_service(State(st): State<MelderegisterState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let limits = st.config().limits;
    // 1. Client certificate → Mandant.
    let cert = parts
        .extensions
        .get::<TlsInfo>()
        .and_then(|t| t.client_cert_der.clone());
    let Some(cert) = cert else {
        return fault(FaultCode::Client, "Client-Zertifikat erforderlich",
            Diagnosis::new("melderegister.tls.client-certificate", "the request came without a TLS client certificate")
                .hint("the Applikationskopplung is protected by the client certificate from the order (ZIP: .p12 or .pem + key)").seed(SEED), None);
    };
    let fp = fingerprint(&cert);
    let z = match st.zertifikat(&fp) {
        Ok(z) => z,
        Err(e) => {
            return fault(
                FaultCode::Server,
                "Interner Fehler",
                Diagnosis::new("melderegister.store", e.to_string()),
                None,
            );
        }
    };
    let Some(z) = z else {
        return fault(FaultCode::Client, "Client-Zertifikat ist keinem Mandanten zugeordnet",
            Diagnosis::new("melderegister.tls.unknown-certificate", format!("certificate SHA-256 {fp} is not stored for any Mandant"))
                .hint("only certificates ordered via /minca/ (or issued through the admin API) are accepted; the test PKI's tls/client.pem is not one").seed(SEED), None);
    };
    if z.revoked {
        return fault(
            FaultCode::Client,
            "Client-Zertifikat ist gesperrt",
            Diagnosis::new(
                "melderegister.tls.revoked-certificate",
                format!("certificate {fp} of Mandant {} is revoked", z.mandant),
            )
            .hint("order a new certificate"),
            Some(&z.mandant),
        );
    }
    let Some(mandant) = st.mandant(&z.mandant).cloned() else {
        return fault(
            FaultCode::Client,
            "Mandant unbekannt",
            Diagnosis::new(
                "melderegister.mandant.unknown",
                format!("Mandant `{}` is no longer configured", z.mandant),
            ),
            None,
        );
    };
    // 2. Envelope.
    let bytes = match sim_kit::body::read_limited(&parts.headers, body, limits.max_body_bytes).await
    {
        Ok(b) => b,
        Err(e) => {
            return fault(
                FaultCode::Client,
                &e.to_string(),
                Diagnosis::new(e.rule(), e.to_string()),
                Some(&mandant.id),
            );
        }
    };
    let xl = sim_kit::xmltree::Limits {
        max_depth: limits.max_depth,
        max_elements: limits.max_elements,
    };
    let aufruf = match soap::parse_call(&bytes, xl, limits.max_message_bytes) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.version_mismatch {
                FaultCode::VersionMismatch
            } else {
                FaultCode::Client
            };
            let mut d = Diagnosis::new(e.rule, e.message.clone());
            if let Some(l) = &e.location {
                d = d.at(l.clone());
            }
            if let Some(h) = &e.hint {
                d = d.hint(h.clone());
            }
            return fault(code, &e.message, d, Some(&mandant.id));
        }
    };
    // 3. XMeld request.
    let root = match sim_kit::xmltree::parse(&aufruf.nachricht, xl) {
        Ok(r) => r,
        Err(e) => {
            let mut d = Diagnosis::new(
                e.rule,
                format!("XMeld message in xmlParameter: {}", e.reason),
            );
            if let Some(l) = &e.location {
                d = d.at(l.clone());
            }
            return fault(
                FaultCode::Client,
                &format!("Ungültige XMeld-Nachricht: {}", e.reason),
                d,
                Some(&mandant.id),
            );
        }
    };
    let anfrage = match xmeld::anfrage(&root) {
        Ok(a) => a,
        Err(e) => {
            return fault(
                FaultCode::Client,
                &format!("Ungültige XMeld-Nachricht: {}", e.message),
                Diagnosis::new(e.rule, e.message.clone())
                    .at(e.location.clone())
                    .seed("XMeld 25.11a, xmeld-nachrichten-datenabrufe.xsd"),
                Some(&mandant.id),
            );
        }
    };
    // 4. Kundennummer and Autor.
    let expected = st
        .kundennummer(&mandant.id)
        .ok()
        .flatten()
        .unwrap_or_else(|| mandant.kundennummer.clone().unwrap_or(mandant.ags.clone()));
    let given = match st.config().kundennummer_ort {
        KundennummerOrt::SoapHeader => aufruf.kundennummer_header.clone(),
        KundennummerOrt::HttpHeader => parts
            .headers
            .get("x-kundennummer")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_string()),
        KundennummerOrt::Autor => Some(anfrage.autor.kennung.clone()),
    };
    match given {
        None => return fault(FaultCode::Client, "Kundennummer fehlt",
            Diagnosis::new("melderegister.kundennummer.missing", format!("no Kundennummer ({:?})", st.config().kundennummer_ort))
                .hint(format!("send <Kundennummer xmlns=\"{}\"> in the SOAP header (konform default; see docs/melderegister.md)", soap::KONFORM_NS)).seed(SEED), Some(&mandant.id)),
        Some(k) if k != expected => {
            let other = st.config().mandanten.iter().find(|m| m.id != mandant.id && (m.ags == k || m.kundennummer.as_deref() == Some(k.as_str())));
            let (rule, msg) = match other {
                Some(o) => ("melderegister.kundennummer.other-mandant", format!("Kundennummer `{k}` belongs to Mandant `{}`, the certificate to `{}`", o.id, mandant.id)),
                None => ("melderegister.kundennummer.wrong", format!("Kundennummer `{k}` is not the one issued to Mandant `{}`", mandant.id)),
            };
            return fault(FaultCode::Client, "Kundennummer passt nicht zum Client-Zertifikat", Diagnosis::new(rule, msg).hint("use the Kundennummer from the AG MiN e-mail (outbox) of this Mandant's order").seed(SEED), Some(&mandant.id));
        }
        Some(_) => {}
    }
    if st.config().kundennummer_ort != KundennummerOrt::Autor
        && anfrage.autor.kennung != mandant.dvdv
    {
        return fault(
            FaultCode::Client,
            "Autor passt nicht zum Mandanten",
            Diagnosis::new(
                "melderegister.autor",
                format!(
                    "autor/kennung `{}` is not the DVDV key `{}` of Mandant `{}`",
                    anfrage.autor.kennung, mandant.dvdv, mandant.id
                ),
            )
            .at("/nachrichtenkopf.g2g/autor/kennung"),
            Some(&mandant.id),
        );
    }
    // 5. Answer.
    let now = st.now();
    let k = Kontext {
        sicherheitsbehoerde: mandant.security,
        eigene_kennung: st.config().eigene_kennung.clone(),
        landesspezifisch_ablehnen: st.config().landesspezifisch_ablehnen,
    };
    let mut merkmale = StoreMerkmale {
        st: &st,
        mandant: mandant.id.clone(),
        now: now.unix_timestamp(),
        neu: Vec::new(),
    };
    let (ergebnis, antwort) = {
        let reg = st.register();
        let e = xmeld::bearbeiten(&anfrage, &k, &reg, &mut merkmale);
        let uuid = new_uuid();
        let zeit = now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let a = xmeld::write::antwort(
            &anfrage,
            &e,
            &reg,
            &crate::absender(st.config()),
            &uuid,
            &zeit,
        );
        (e, a)
    };
    if !merkmale.neu.is_empty() {
        let neu = std::mem::take(&mut merkmale.neu);
        if let Err(e) = st.store().write(|tx| {
            for (m, e) in &neu {
                kv::put(tx, NS_MERKMAL, m, e)?;
            }
            Ok(())
        }) {
            return fault(
                FaultCode::Server,
                "Interner Fehler",
                Diagnosis::new("melderegister.store", e.to_string()),
                Some(&mandant.id),
            );
        }
    }
    let (data, diagnoses) = match &ergebnis {
        Ergebnis::Rueckweisung(rs) => (
            serde_json::json!({ "mandant": mandant.id, "nachrichtentyp": anfrage.identifikation.typ, "rueckweisung": rs.iter().map(|r| r.grund.code()).collect::<Vec<_>>() }),
            rs.iter()
                .map(|r| {
                    let mut d = Diagnosis::new(
                        r.rule,
                        format!("grundDerRueckweisung {}: {}", r.grund.code(), r.message),
                    )
                    .seed("BMeldDAV / XMeld 25.11a datenabruf.nichterstellung.grund");
                    if let Some(l) = &r.location {
                        d = d.at(l.clone());
                    }
                    d
                })
                .collect(),
        ),
        Ergebnis::Auskunft { status, personen } => (
            serde_json::json!({ "mandant": mandant.id, "nachrichtentyp": anfrage.identifikation.typ, "ergebnisstatus": status.code(), "personen": personen.len() }),
            vec![],
        ),
    };
    Outcome {
        operation: Some(format!(
            "callApplicationByte/{}",
            anfrage.identifikation.typ
        )),
        verdict: Some(Verdict::Accepted),
        diagnoses,
        data: Some(data),
        fault: None,
    }
    .attach(xml(StatusCode::OK, soap::response(&antwort)))
}

/// A random version-4 UUID.
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex_lower(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
