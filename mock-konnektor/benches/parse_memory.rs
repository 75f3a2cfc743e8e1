//! Peak heap memory of reading a request, relative to its body: the XML tree (`xml::parse`), the SOAP
//! envelope and the typed request an operation parses from it (base64 decoded). Measured with a counting
//! global allocator (`peak_alloc`: bytes live at the peak minus bytes live before), for the worst cases a hostile client
//! can send within the default limits, next to a realistic large request.
//!
//! `cargo bench -p mock-konnektor --bench parse_memory`. Target (issue 8): peak ≤ 3× the body for large
//! bodies; the element-count limit caps the tree whatever the body.

use mock_konnektor::ops::sign_document::SignDocumentRequest;
use mock_konnektor::schema::Child;
use mock_konnektor::{soap, xml};
use peak_alloc::PeakAlloc;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const ENV_OPEN: &str = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns2="http://ws.gematik.de/conn/ConnectorCommon/v5.0" xmlns:ns3="http://ws.gematik.de/conn/ConnectorContext/v2.0" xmlns:ns4="http://ws.gematik.de/conn/SignatureService/v7.4" xmlns:dss="urn:oasis:names:tc:dss:1.0:core:schema"><soap:Body>"#;
const ENV_CLOSE: &str = "</soap:Body></soap:Envelope>";
const CONTEXT: &str = "<ns3:Context><ns2:MandantId>Mandant1</ns2:MandantId><ns2:ClientSystemId>ClientID1</ns2:ClientSystemId><ns2:WorkplaceId>Workplace1</ns2:WorkplaceId></ns3:Context>";

fn sign_document(requests: &[Vec<u8>]) -> String {
    let mut s = format!(
        "{ENV_OPEN}<ns4:SignDocument><ns2:CardHandle>SMC-B-1</ns2:CardHandle>{CONTEXT}<ns4:TvMode>NONE</ns4:TvMode>"
    );
    for (i, doc) in requests.iter().enumerate() {
        s.push_str(&format!(
            "<ns4:SignRequest RequestID=\"R{i}\"><ns4:OptionalInputs><dss:SignatureType>urn:ietf:rfc:5652</dss:SignatureType><ns4:IncludeEContent>false</ns4:IncludeEContent></ns4:OptionalInputs><ns4:Document ID=\"D{i}\" ShortText=\"x\"><dss:Base64Data>{}</dss:Base64Data></ns4:Document><ns4:IncludeRevocationInfo>false</ns4:IncludeRevocationInfo></ns4:SignRequest>",
            ti_core::b64_encode(doc)
        ));
    }
    s.push_str("</ns4:SignDocument>");
    s.push_str(ENV_CLOSE);
    s
}

fn wrap(inner: &str) -> String {
    format!("{ENV_OPEN}{inner}{ENV_CLOSE}")
}

/// Parse (tree, envelope, and for SignDocument the typed request); peak bytes above the baseline.
fn measure(body: &[u8]) -> (usize, &'static str) {
    let limits = mock_konnektor::LimitsConfig::default().xml();
    let base = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let outcome = match xml::parse(body, limits) {
        Err(_) => "refused (xml)",
        Ok(doc) => match soap::payload(&doc) {
            Err(_) => "refused (envelope)",
            Ok(el) if el.local() == "SignDocument" => {
                match SignDocumentRequest::parse(&Child::payload(el)) {
                    Ok(r) => {
                        std::hint::black_box(&r);
                        "parsed"
                    }
                    Err(_) => "refused (schema)",
                }
            }
            Ok(_) => "parsed (tree)",
        },
    };
    (HEAP.peak_usage().saturating_sub(base), outcome)
}

fn main() {
    if std::env::args().any(|a| a == "--test") {
        // `cargo test --benches` runs benches once in test mode: nothing to assert here.
        return;
    }
    let mib = 1024 * 1024;
    let name = "n".repeat(4_000_000);
    let mut attrs = String::new();
    for i in 0..10_000 {
        attrs.push_str(&format!(" a{i}=\"v\""));
    }
    let cases: Vec<(&str, String)> = vec![
        (
            "SignDocument, one 6 MiB document",
            sign_document(&[vec![0x5a; 6 * mib]]),
        ),
        (
            "SignDocument, 8,000 documents of 600 bytes",
            sign_document(&vec![vec![0x5a; 600]; 8_000]),
        ),
        ("a 4 MB element name", wrap(&format!("<{name}/>"))),
        ("100,000 empty elements", wrap(&"<a/>".repeat(99_990))),
        (
            "1,000,000 entity references",
            wrap(&format!("<a>{}</a>", "&amp;".repeat(1_000_000))),
        ),
        ("10,000 attributes", wrap(&format!("<a{attrs}/>"))),
        (
            "text with CR LF line ends, 4 MiB",
            wrap(&format!("<a>{}</a>", "x\r\n".repeat(4 * mib / 3))),
        ),
    ];
    println!(
        "{:<46} {:>12} {:>12} {:>7}  outcome",
        "request", "body", "peak", "ratio"
    );
    for (what, body) in cases {
        let (peak, outcome) = measure(body.as_bytes());
        println!(
            "{:<46} {:>12} {:>12} {:>6.2}×  {outcome}",
            what,
            body.len(),
            peak,
            peak as f64 / body.len() as f64
        );
    }
}
