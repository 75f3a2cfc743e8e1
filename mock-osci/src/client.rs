//! A small OSCI 1.2 client: builds the requests of the scenario the way the Java library writes them
//! (canonical Id-bearing parts, ClientSignature, transport encryption for the intermediary), keeps the
//! ControlBlock state, and opens and checks answers. No I/O: requests are bytes to POST, answers bytes
//! read back. Used by the reference client, the tests and the benchmark; its `Options` can make the
//! mistakes the conformance defects need.

use crate::certs::Cert;
use crate::crypto::{self, CryptoError};
use crate::pki::Identity;
use crate::request::{Kind, schema_location};
use crate::write::{self, Attachment, NS5};
use crate::xml::{self, DS, OSCI, SOAP, esc};
use crate::{mime, outer};

const ACTOR_NEXT: &str =
    " soap:actor=\"http://schemas.xmlsoap.org/soap/actor/next\" soap:mustUnderstand=\"1\"";
const ACTOR_NONE: &str =
    " soap:actor=\"http://www.w3.org/2001/12/soap-envelope/actor/none\" soap:mustUnderstand=\"1\"";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("SOAP fault {code}: {text}")]
    Fault { code: String, text: String },
    #[error("answer: {0}")]
    Answer(String),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

fn ae(m: impl Into<String>) -> ClientError {
    ClientError::Answer(m.into())
}

/// Deliberate deviations (for conformance defects and bad-input tests).
#[derive(Clone, Debug)]
pub struct Options {
    pub sign: bool,
    pub encrypt: bool,
    /// Transport encryption algorithm URI written (AES-256-GCM unless a defect asks otherwise).
    pub transport_alg: String,
    /// Send this Challenge instead of a fresh one (replay defects).
    pub fixed_challenge: Option<String>,
    /// Skip the control-block bookkeeping of answers (a client that ignores the intermediary's Challenge).
    pub ignore_server_challenge: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sign: true,
            encrypt: true,
            transport_alg: crypto::AES256_GCM.into(),
            fixed_challenge: None,
            ignore_server_challenge: false,
        }
    }
}

/// What an answer said.
#[derive(Debug, Default)]
pub struct Answer {
    pub kind: Option<String>,
    pub codes: Vec<String>,
    pub message_id: Option<String>,
    pub conversation_id: Option<String>,
    /// The ContentPackage's children (FetchDelivery).
    pub content_package: Option<String>,
    /// Attachments (Content-ID, bytes).
    pub attachments: Vec<(String, Vec<u8>)>,
    /// Number of ProcessCardBundles and whether any shows Reception.
    pub process_cards: usize,
    pub reception_seen: bool,
    pub signed: bool,
    /// The SOAP part of the (decrypted) answer.
    pub soap: String,
}

/// An OSCI client with its keys and dialog state.
pub struct Client {
    pub cipher: Identity,
    pub signature: Identity,
    pub intermediary: Cert,
    pub opts: Options,
    conversation: Option<String>,
    seq: Option<u64>,
    server_challenge: Option<String>,
    my_challenge: Option<String>,
    last_kind: Option<Kind>,
}

fn cert_el(element: &str, id: &str, c: &Cert) -> String {
    format!(
        "<osci:{element} Id=\"{id}\"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></osci:{element}>",
        crypto::b64_lines(&c.der)
    )
}

impl Client {
    pub fn new(cipher: Identity, signature: Identity, intermediary: Cert) -> Client {
        Client {
            cipher,
            signature,
            intermediary,
            opts: Options::default(),
            conversation: None,
            seq: None,
            server_challenge: None,
            my_challenge: None,
            last_kind: None,
        }
    }

    pub fn in_dialog(&self) -> bool {
        self.conversation.is_some()
    }

    fn control_block(&mut self, kind: Kind) -> String {
        let challenge = self
            .opts
            .fixed_challenge
            .clone()
            .unwrap_or_else(|| crypto::random_token(10).unwrap_or_default());
        self.my_challenge = Some(challenge.clone());
        let explicit = self.conversation.is_some() && kind != Kind::InitDialog;
        let mut s = format!("<osci:ControlBlock{NS5}");
        if explicit {
            s.push_str(&format!(
                " ConversationId=\"{}\"",
                self.conversation.as_deref().unwrap_or("")
            ));
        }
        s.push_str(" Id=\"controlblock\"");
        if kind != Kind::InitDialog {
            let n = if explicit {
                self.seq.map(|n| n + 1).unwrap_or(0)
            } else {
                0
            };
            self.seq = Some(n);
            s.push_str(&format!(" SequenceNumber=\"{n}\""));
        }
        s.push_str(ACTOR_NEXT);
        s.push('>');
        if let (true, Some(r)) = (explicit, &self.server_challenge) {
            s.push_str(&format!("<osci:Response>{}</osci:Response>", esc(r)));
        }
        s.push_str(&format!(
            "<osci:Challenge>{}</osci:Challenge></osci:ControlBlock>",
            esc(&challenge)
        ));
        s
    }

    fn nic(&self, addressee: Option<&Cert>) -> String {
        let mut s = format!(
            "<osci:NonIntermediaryCertificates{NS5} Id=\"nonintermediarycertificates\"{ACTOR_NONE}>"
        );
        s.push_str(&cert_el(
            "CipherCertificateOriginator",
            &format!("originator_cipher_{}", self.cipher.cert.fingerprint),
            &self.cipher.cert,
        ));
        if let Some(a) = addressee {
            s.push_str(&cert_el(
                "CipherCertificateAddressee",
                &format!("addressee_cipher_{}", a.fingerprint),
                a,
            ));
        }
        if self.opts.sign {
            s.push_str(&cert_el(
                "SignatureCertificateOriginator",
                &format!("originator_signature_{}", self.signature.cert.fingerprint),
                &self.signature.cert,
            ));
        }
        s.push_str("</osci:NonIntermediaryCertificates>");
        s
    }

    /// A request: the inner entity, signed if so configured, then encrypted for the intermediary.
    fn request(
        &mut self,
        kind: Kind,
        mut headers: Vec<(String, String)>,
        body: &str,
        attachments: &[(String, Vec<u8>)],
    ) -> Result<Vec<u8>, ClientError> {
        headers.insert(0, ("controlblock".into(), self.control_block(kind)));
        self.last_kind = Some(kind);
        let mut env = format!(
            "<soap:Envelope{NS5} xsi:schemaLocation=\"{}\"><soap:Header>",
            schema_location(kind.schema())
        )
        .into_bytes();
        let mut after_cb = 0;
        for (i, (_, h)) in headers.iter().enumerate() {
            env.extend_from_slice(h.as_bytes());
            if i == 0 {
                after_cb = env.len();
            }
        }
        env.extend_from_slice(
            format!("</soap:Header><soap:Body{NS5} Id=\"body\">{body}</soap:Body></soap:Envelope>")
                .as_bytes(),
        );
        let atts: Vec<Attachment<'_>> = attachments
            .iter()
            .map(|(cid, b)| Attachment {
                content_id: cid.clone(),
                headers: vec![
                    ("content-type".into(), "application/octet-stream".into()),
                    ("content-transfer-encoding".into(), "binary".into()),
                    ("content-id".into(), format!("<{cid}>")),
                ],
                body: b,
            })
            .collect();
        if self.opts.sign {
            let ids: Vec<String> = headers.iter().map(|(id, _)| id.clone()).collect();
            let cref = format!("originator_signature_{}", self.signature.cert.fingerprint);
            let h = write::signature_header(
                "ClientSignature",
                &env,
                &ids,
                &atts,
                &self.signature.key,
                &cref,
            )?;
            env.splice(after_cb..after_cb, h.into_bytes());
        }
        let mut w = mime::Writer::new(&write::boundary(), env.len() + 1024);
        w.part(
            "text/xml; charset=UTF-8",
            mime::Encoding::EightBit,
            "osci@message",
        );
        w.out
            .extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\r\n");
        w.out.extend_from_slice(&env);
        w.end_part();
        for a in &atts {
            w.raw_part(&a.headers, a.body);
        }
        let inner = w.finish();
        if !self.opts.encrypt {
            return Ok(inner);
        }
        let mut outer = write::encrypt_for(&self.intermediary, &inner, &write::boundary())?;
        if self.opts.transport_alg != crypto::AES256_GCM {
            // The defect: announce (and use) another algorithm; the ciphertext is never read past the check.
            let s = String::from_utf8_lossy(&outer).replacen(
                crypto::AES256_GCM,
                &self.opts.transport_alg,
                1,
            );
            outer = s.into_bytes();
        }
        Ok(outer)
    }

    fn ids_headers(&self) -> Vec<(String, String)> {
        vec![(
            "desiredlanguages".into(),
            format!(
                "<osci:DesiredLanguages{NS5} Id=\"desiredlanguages\" LanguagesList=\"de\"{ACTOR_NEXT}></osci:DesiredLanguages>"
            ),
        )]
    }

    pub fn get_message_id(&mut self) -> Result<Vec<u8>, ClientError> {
        let mut h = self.ids_headers();
        h.push(("nonintermediarycertificates".into(), self.nic(None)));
        self.request(
            Kind::GetMessageId,
            h,
            "<osci:getMessageId></osci:getMessageId>",
            &[],
        )
    }

    pub fn init_dialog(&mut self) -> Result<Vec<u8>, ClientError> {
        self.conversation = None;
        self.seq = None;
        let mut h = self.ids_headers();
        h.push(("nonintermediarycertificates".into(), self.nic(None)));
        self.request(
            Kind::InitDialog,
            h,
            "<osci:initDialog></osci:initDialog>",
            &[],
        )
    }

    pub fn exit_dialog(&mut self) -> Result<Vec<u8>, ClientError> {
        let mut h = self.ids_headers();
        h.push(("nonintermediarycertificates".into(), self.nic(None)));
        self.request(
            Kind::ExitDialog,
            h,
            "<osci:exitDialog></osci:exitDialog>",
            &[],
        )
    }

    /// StoreDelivery with a ready ContentPackage (its children) and attachment parts.
    pub fn store_delivery(
        &mut self,
        message_id: &str,
        addressee: &Cert,
        subject: Option<&str>,
        content_package: &str,
        attachments: &[(String, Vec<u8>)],
    ) -> Result<Vec<u8>, ClientError> {
        let mut h = self.ids_headers();
        for s in ["creation", "reception"] {
            h.push((format!("qualityoftimestamp_{s}"), format!("<osci:QualityOfTimestamp{NS5} Id=\"qualityoftimestamp_{s}\" Quality=\"plain\" Service=\"{s}\"{ACTOR_NEXT}></osci:QualityOfTimestamp>")));
        }
        let sub = subject
            .map(|s| format!("<osci:Subject>{}</osci:Subject>", esc(s)))
            .unwrap_or_default();
        h.push(("storedelivery".into(), format!("<osci:storeDelivery{NS5} Id=\"storedelivery\"{ACTOR_NEXT}><osci:MessageId>{}</osci:MessageId>{sub}</osci:storeDelivery>", crypto::b64(message_id.as_bytes()))));
        h.push((
            "nonintermediarycertificates".into(),
            self.nic(Some(addressee)),
        ));
        self.request(
            Kind::StoreDelivery,
            h,
            &format!("<osci:ContentPackage>{content_package}</osci:ContentPackage>"),
            attachments,
        )
    }

    /// FetchDelivery: by MessageId, or the next one.
    pub fn fetch_delivery(&mut self, message_id: Option<&str>) -> Result<Vec<u8>, ClientError> {
        let mut h = self.ids_headers();
        let rule = message_id
            .map(|m| {
                format!(
                    "<osci:SelectionRule><osci:MessageId>{}</osci:MessageId></osci:SelectionRule>",
                    crypto::b64(m.as_bytes())
                )
            })
            .unwrap_or_default();
        h.push(("fetchdelivery".into(), format!("<osci:fetchDelivery{NS5} Id=\"fetchdelivery\"{ACTOR_NEXT}>{rule}</osci:fetchDelivery>")));
        h.push(("nonintermediarycertificates".into(), self.nic(None)));
        self.request(Kind::FetchDelivery, h, "", &[])
    }

    pub fn fetch_process_card(&mut self, message_id: Option<&str>) -> Result<Vec<u8>, ClientError> {
        let mut h = self.ids_headers();
        h.push(("nonintermediarycertificates".into(), self.nic(None)));
        let rule = message_id
            .map(|m| {
                format!(
                    "<osci:SelectionRule><osci:MessageId>{}</osci:MessageId></osci:SelectionRule>",
                    crypto::b64(m.as_bytes())
                )
            })
            .unwrap_or_default();
        self.request(
            Kind::FetchProcessCard,
            h,
            &format!("<osci:fetchProcessCard>{rule}</osci:fetchProcessCard>"),
            &[],
        )
    }

    /// Open an answer: decrypt, read faults and feedback, check and advance the ControlBlock.
    pub fn open(&mut self, body: &[u8]) -> Result<Answer, ClientError> {
        let keys = [(self.cipher.cert.clone(), self.cipher.key.clone())];
        let opened = outer::open(body.to_vec(), &keys, xml::Limits::default())
            .map_err(|e| ae(format!("transport layer: {e}")))?;
        if self.opts.encrypt
            && !opened.encrypted
            && !String::from_utf8_lossy(&opened.inner).contains("soap:Fault")
        {
            return Err(ae("a plain answer to an encrypted request"));
        }
        let mp =
            mime::parse(&opened.inner, mime::Limits::default()).map_err(|e| ae(e.to_string()))?;
        let first = mp.parts.first().ok_or_else(|| ae("no MIME part"))?;
        let soap = String::from_utf8_lossy(&opened.inner[first.body.clone()]).into_owned();
        let doc =
            xml::parse(soap.as_bytes(), xml::Limits::default()).map_err(|e| ae(e.to_string()))?;
        let body_el = doc
            .root
            .child(SOAP, "Body")
            .ok_or_else(|| ae("no soap:Body"))?;
        if let Some(f) = body_el.child(SOAP, "Fault") {
            let code = f
                .child("", "detail")
                .or_else(|| f.elements().find(|e| e.local == "detail"))
                .and_then(|d| d.child(OSCI, "Code"))
                .map(|c| c.text(doc.src).into_owned())
                .unwrap_or_default();
            let text = f
                .elements()
                .find(|e| e.local == "faultstring")
                .map(|e| e.text(doc.src).into_owned())
                .unwrap_or_default();
            return Err(ClientError::Fault { code, text });
        }
        let mut a = Answer {
            soap: soap.clone(),
            ..Answer::default()
        };
        let header = doc.root.child(SOAP, "Header");
        a.signed = header
            .and_then(|h| h.child(OSCI, "SupplierSignature"))
            .and_then(|s| s.child(DS, "Signature"))
            .is_some();
        collect(&doc.root, doc.src, &mut a);
        if let Some(cb) = header.and_then(|h| h.child(OSCI, "ControlBlock")) {
            let resp = cb
                .child(OSCI, "Response")
                .map(|r| r.text(doc.src).into_owned());
            if !self.opts.ignore_server_challenge {
                if resp.is_some() && resp != self.my_challenge {
                    return Err(ae("the answer's Response does not return our Challenge"));
                }
                self.server_challenge = cb
                    .child(OSCI, "Challenge")
                    .map(|c| c.text(doc.src).into_owned());
            }
            a.conversation_id = cb.attr("ConversationId").map(str::to_string);
        }
        // The dialog goes on after InitDialog and any answer in it but the ExitDialog's.
        let explicit = a.conversation_id.is_some()
            && match self.last_kind {
                Some(Kind::InitDialog) => true,
                Some(Kind::ExitDialog) | None => false,
                Some(_) => self.conversation.is_some(),
            };
        self.conversation = if explicit {
            a.conversation_id.clone()
        } else {
            None
        };
        if !explicit {
            self.seq = None;
        }
        for p in &mp.parts[1..] {
            a.attachments
                .push((p.content_id.clone(), opened.inner[p.body.clone()].to_vec()));
        }
        if let Some(cp) = body_el.child(OSCI, "ContentPackage") {
            let inner = cp
                .elements()
                .next()
                .map(|e| e.span.start)
                .zip(cp.elements().last().map(|e| e.span.end));
            a.content_package = Some(
                inner
                    .map(|(s, e)| doc.src[s..e].to_string())
                    .unwrap_or_default(),
            );
        }
        Ok(a)
    }
}

fn collect(el: &xml::Element, src: &str, a: &mut Answer) {
    if el.ns.as_deref() == Some(OSCI) {
        match el.local.as_str() {
            "Code" => a.codes.push(el.text(src).trim().to_string()),
            "MessageId" if a.message_id.is_none() => {
                a.message_id = crypto::unb64(&el.text(src)).and_then(|b| String::from_utf8(b).ok());
            }
            "ProcessCardBundle" => a.process_cards += 1,
            "Reception" => a.reception_seen = true,
            n if n.starts_with("responseTo") => a.kind = Some(n.to_string()),
            _ => {}
        }
    }
    for c in el.elements() {
        collect(c, src, a);
    }
}
