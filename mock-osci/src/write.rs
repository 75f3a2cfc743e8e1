//! Writing the intermediary's answers the way the library writes OSCI messages: every Id-bearing part
//! already in canonical form (the five namespace declarations on it, attributes in canonical order,
//! explicit end tags), so its digest is the digest of its canonical form; the SupplierSignature over them
//! (RSA-SHA256); the inner MIME entity; the outer layer encrypted for the client (AES-256-GCM, key wrapped
//! with RSA-OAEP for the client's cipher certificate); SOAP faults (`SOAPFault.java`'s shape).

use crate::certs::Cert;
use crate::crypto::{self, CryptoError};
use crate::dialog::Answer;
use crate::feedback;
use crate::mime;
use crate::request::{Kind, schema_location};
use crate::xml::esc;
use rsa::PrivateKey as RsaPrivateKey;

/// The namespace declarations the library writes on the envelope and on every signed element.
pub const NS5: &str = " xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:osci=\"http://www.osci.de/2002/04/osci\" xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
const ACTOR_NEXT: &str =
    " soap:actor=\"http://schemas.xmlsoap.org/soap/actor/next\" soap:mustUnderstand=\"1\"";
const ACTOR_NONE: &str =
    " soap:actor=\"http://www.w3.org/2001/12/soap-envelope/actor/none\" soap:mustUnderstand=\"1\"";

pub fn control_block(a: &Answer) -> String {
    let mut s = format!("<osci:ControlBlock{NS5}");
    // No dialog (a 9802 answer): no ConversationId, which is how the library's client recognises 9802.
    if !a.conversation_id.is_empty() {
        s.push_str(&format!(" ConversationId=\"{}\"", a.conversation_id));
    }
    s.push_str(" Id=\"controlblock\"");
    if let Some(n) = a.sequence_number {
        s.push_str(&format!(" SequenceNumber=\"{n}\""));
    }
    s.push_str(ACTOR_NEXT);
    s.push('>');
    s.push_str(&format!(
        "<osci:Response>{}</osci:Response>",
        esc(&a.response)
    ));
    if let Some(c) = &a.challenge {
        s.push_str(&format!("<osci:Challenge>{}</osci:Challenge>", esc(c)));
    }
    s.push_str("</osci:ControlBlock>");
    s
}

/// `osci:Feedback` with one entry per code.
pub fn feedback(codes: &[&str], languages: &str) -> String {
    let lang = feedback::lang(languages);
    let mut s = String::from("<osci:Feedback>");
    for c in codes {
        s.push_str(&format!(
            "<osci:Entry xml:lang=\"{}\"><osci:Code>{c}</osci:Code><osci:Text>{}</osci:Text></osci:Entry>",
            esc(lang),
            esc(feedback::text(c, languages))
        ));
    }
    s.push_str("</osci:Feedback>");
    s
}

/// A header element of the `osci:responseTo…` kind (Id = lower-cased name).
pub fn osci_header(name: &str, content: &str) -> String {
    format!(
        "<osci:{name}{NS5} Id=\"{}\"{ACTOR_NEXT}>{content}</osci:{name}>",
        name.to_ascii_lowercase()
    )
}

/// `IntermediaryCertificates` with the intermediary's signature certificate.
pub fn intermediary_certificates(sig_cert: &Cert) -> String {
    format!(
        "<osci:IntermediaryCertificates{NS5} Id=\"intermediarycertificates\"{ACTOR_NONE}><osci:SignatureCertificateIntermediary Id=\"intermediary_signature_{}\"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></osci:SignatureCertificateIntermediary></osci:IntermediaryCertificates>",
        sig_cert.fingerprint,
        crypto::b64_lines(&sig_cert.der)
    )
}

/// An attachment part passed on: its stored MIME headers and body bytes.
#[derive(Clone, Debug)]
pub struct Attachment<'a> {
    pub content_id: String,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

/// The parts of an answer before signing: header elements (written canonically, with their Ids), the
/// body content and attachments.
#[derive(Default)]
pub struct Response<'a> {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub attachments: Vec<Attachment<'a>>,
}

/// The intermediary's signature key and certificate.
pub struct Signer<'k> {
    pub key: &'k RsaPrivateKey,
    pub cert: &'k Cert,
}

fn reference(out: &mut String, uri: &str, digest: &[u8]) {
    out.push_str(&format!(
        "<ds:Reference URI=\"{uri}\">\n<ds:Transforms>\n<ds:Transform Algorithm=\"{}\"></ds:Transform>\n</ds:Transforms>\n<ds:DigestMethod Algorithm=\"{}\"></ds:DigestMethod>\n<ds:DigestValue>{}</ds:DigestValue>\n</ds:Reference>\n",
        crypto::C14N,
        crypto::SHA256,
        crypto::b64(digest)
    ));
}

/// A message signature header (`SupplierSignature` or `ClientSignature`) over every Id-bearing part
/// (digest of its canonical form, read back from the envelope as written), every attachment and the body.
pub fn signature_header(
    element: &str,
    env: &[u8],
    ids: &[String],
    attachments: &[Attachment<'_>],
    key: &RsaPrivateKey,
    cert_ref: &str,
) -> Result<String, CryptoError> {
    let doc = crate::xml::parse(
        env,
        crate::xml::Limits {
            max_depth: 64,
            max_elements: usize::MAX,
        },
    )
    .map_err(|e| CryptoError::Rsa(format!("own message is not well-formed: {e}")))?;
    let mut si = format!(
        "\n<ds:CanonicalizationMethod Algorithm=\"{}\"></ds:CanonicalizationMethod>\n<ds:SignatureMethod Algorithm=\"{}\"></ds:SignatureMethod>\n",
        crypto::C14N,
        crypto::RSA_SHA256
    );
    let digest_of = |id: &str| -> Result<[u8; 32], CryptoError> {
        let path = crate::c14n::path_to_id(&doc.root, id)
            .ok_or_else(|| CryptoError::Rsa(format!("no part `{id}` in the message")))?;
        Ok(crypto::sha256(&crate::c14n::canonicalize(doc.src, &path)))
    };
    for id in ids {
        reference(&mut si, &format!("#{id}"), &digest_of(id)?);
    }
    for a in attachments {
        reference(
            &mut si,
            &format!("cid:{}", a.content_id),
            &crypto::sha256(a.body),
        );
    }
    reference(&mut si, "#body", &digest_of("body")?);
    let canonical = format!("<ds:SignedInfo{NS5}>{si}</ds:SignedInfo>");
    let value = crypto::sign_sha256(key, canonical.as_bytes())?;
    Ok(format!(
        "<osci:{element} Id=\"{}\"{ACTOR_NEXT}><ds:Signature><ds:SignedInfo>{si}</ds:SignedInfo><ds:SignatureValue>{}</ds:SignatureValue><ds:KeyInfo><ds:RetrievalMethod URI=\"#{cert_ref}\"></ds:RetrievalMethod></ds:KeyInfo></ds:Signature></osci:{element}>",
        element.to_ascii_lowercase(),
        crypto::b64_lines(&value),
    ))
}

/// The inner MIME entity of an answer. With a signer the IntermediaryCertificates header is added and
/// everything signed; `corrupt_signature` flips a character of the signature value (fault injection).
pub fn inner_message(
    kind: Kind,
    mut resp: Response<'_>,
    signer: Option<&Signer<'_>>,
    boundary: &str,
    corrupt_signature: bool,
) -> Result<Vec<u8>, CryptoError> {
    if let Some(s) = signer {
        // IntermediaryCertificates goes after the responseTo… header (XSD order).
        let ic = (
            "intermediarycertificates".to_string(),
            intermediary_certificates(s.cert),
        );
        match resp
            .headers
            .iter()
            .position(|(id, _)| id == "nonintermediarycertificates")
        {
            Some(i) => resp.headers.insert(i, ic),
            None => resp.headers.push(ic),
        }
    }
    let mut env = Vec::with_capacity(resp.body.len() + 16 * 1024);
    env.extend_from_slice(
        format!(
            "<soap:Envelope{NS5} xsi:schemaLocation=\"{}\"><soap:Header>",
            schema_location(kind.response_schema())
        )
        .as_bytes(),
    );
    let mut after_cb = env.len();
    for (i, (_, h)) in resp.headers.iter().enumerate() {
        env.extend_from_slice(h.as_bytes());
        if i == 0 {
            after_cb = env.len();
        }
    }
    env.extend_from_slice(b"</soap:Header>");
    env.extend_from_slice(format!("<soap:Body{NS5} Id=\"body\">").as_bytes());
    env.extend_from_slice(&resp.body);
    env.extend_from_slice(b"</soap:Body></soap:Envelope>");
    drop(std::mem::take(&mut resp.body));
    if let Some(s) = signer {
        let ids: Vec<String> = resp.headers.iter().map(|(id, _)| id.clone()).collect();
        let cert_ref = format!("intermediary_signature_{}", s.cert.fingerprint);
        let mut h = signature_header(
            "SupplierSignature",
            &env,
            &ids,
            &resp.attachments,
            s.key,
            &cert_ref,
        )?;
        if corrupt_signature && let Some(i) = h.find("<ds:SignatureValue>") {
            let pos = i + "<ds:SignatureValue>".len();
            let flip = if h.as_bytes()[pos] == b'A' { "B" } else { "A" };
            h.replace_range(pos..pos + 1, flip);
        }
        env.splice(after_cb..after_cb, h.into_bytes());
    }
    let size: usize = resp
        .attachments
        .iter()
        .map(|a| a.body.len() + 200)
        .sum::<usize>()
        + env.len()
        + 1024;
    let mut w = mime::Writer::new(boundary, size);
    w.part(
        "text/xml; charset=UTF-8",
        mime::Encoding::EightBit,
        "osci@message",
    );
    w.out
        .extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\r\n");
    w.out.extend_from_slice(&env);
    drop(env);
    w.end_part();
    for a in &resp.attachments {
        w.raw_part(&a.headers, a.body);
    }
    Ok(w.finish())
}

/// Encrypt an inner entity for the client: the outer MIME entity with the `soapMessageEncrypted`
/// envelope and the `osci_enc` part (IV ‖ AES-256-GCM ciphertext ‖ tag, binary).
pub fn encrypt_for(
    client_cipher: &Cert,
    inner: &[u8],
    boundary: &str,
) -> Result<Vec<u8>, CryptoError> {
    let key: [u8; 32] = crypto::random_bytes()?;
    let pubkey = client_cipher
        .rsa_key()
        .map_err(|e| CryptoError::Rsa(e.to_string()))?;
    let wrapped = crypto::oaep_wrap(&pubkey, &key)?;
    let sealed = crypto::gcm_encrypt(&key, inner)?;
    let env = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\r\n<soap:Envelope xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"{}\"><soap:Body><xenc:EncryptedData MimeType=\"Multipart/Related\"><xenc:EncryptionMethod Algorithm=\"{}\"><osci128:IvLength xmlns:osci128=\"http://xoev.de/transport/osci12/8\" Value=\"12\"></osci128:IvLength></xenc:EncryptionMethod><ds:KeyInfo><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm=\"{}\"><xenc11:MGF xmlns:xenc11=\"http://www.w3.org/2009/xmlenc11#\" Algorithm=\"{}\"></xenc11:MGF><ds:DigestMethod Algorithm=\"{}\"></ds:DigestMethod></xenc:EncryptionMethod><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherReference URI=\"cid:osci_enc\"><xenc:Transforms><ds:Transform Algorithm=\"{}\"></ds:Transform></xenc:Transforms></xenc:CipherReference></xenc:CipherData></xenc:EncryptedData></soap:Body></soap:Envelope>",
        schema_location("soapMessageEncrypted.xsd"),
        crypto::AES256_GCM,
        crypto::RSA_OAEP,
        crypto::MGF1_SHA256,
        crypto::SHA256,
        crypto::b64_lines(&client_cipher.der),
        crypto::b64_lines(&wrapped),
        crypto::BASE64_TRANSFORM,
    );
    let mut w = mime::Writer::new(boundary, sealed.len() + env.len() + 512);
    w.part(
        "text/xml; charset=UTF-8",
        mime::Encoding::EightBit,
        "osci@message",
    );
    w.out.extend_from_slice(env.as_bytes());
    w.end_part();
    w.part(
        "application/octet-stream",
        mime::Encoding::Binary,
        "osci_enc",
    );
    w.out.extend_from_slice(&sealed);
    w.end_part();
    Ok(w.finish())
}

/// A SOAP fault as the library writes one (never encrypted, never signed).
pub fn soap_fault(code: &str, languages: &str, boundary: &str) -> Vec<u8> {
    let env = format!(
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:osci=\"http://www.osci.de/2002/04/osci\"><soap:Body><soap:Fault><faultcode>soap:{}</faultcode><faultstring>{}</faultstring><detail><osci:Code>{code}</osci:Code></detail></soap:Fault></soap:Body></soap:Envelope>",
        feedback::fault_code(code),
        esc(feedback::text(code, languages))
    );
    let mut w = mime::Writer::new(boundary, env.len() + 256);
    w.part(
        "text/xml; charset=UTF-8",
        mime::Encoding::EightBit,
        "osci@message",
    );
    w.out
        .extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\r\n");
    w.out.extend_from_slice(env.as_bytes());
    w.end_part();
    w.finish()
}

/// A fresh MIME boundary in the library's style.
pub fn boundary() -> String {
    let t = crypto::random_token(18).unwrap_or_else(|_| "konform".into());
    let t: String = t.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("MIME_boundary_{t}")
}
