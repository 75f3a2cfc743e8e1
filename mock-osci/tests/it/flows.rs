//! The scenario with our own Rust client (the Java library's run is in `java.rs`): every answer is
//! checked, and every SOAP part the intermediary writes validates against the official OSCI XSDs.

use crate::common::{self, exchange};
use mock_osci::OsciConfig;
use mock_osci::client::ClientError;

/// A ContentPackage as the profile wants it (opaque, for addressees whose key the simulator lacks).
pub fn encrypted_package() -> String {
    format!(
        "<xenc:EncryptedData Id=\"encdata_0\" MimeType=\"text/xml\"><xenc:EncryptionMethod Algorithm=\"{}\"></xenc:EncryptionMethod><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>",
        mock_osci::crypto::AES256_GCM
    )
}

/// A FIM message naming these proofs (`F60000296`).
pub fn fim_message(proofs: &[&str]) -> Vec<u8> {
    let mut m =
        String::from("<xfd:G17000652 xmlns:xfd=\"urn:xoev-de:xfall:standard:fim-s17000652_1.4\">");
    for p in proofs {
        m.push_str(&format!("<F60000296>{p}</F60000296>"));
    }
    m.push_str("</xfd:G17000652>");
    m.into_bytes()
}

/// A real FIM delivery for the test PKI's recipient: signed by `c`'s organisation key, encrypted.
pub fn fim(
    c: &mock_osci::client::Client,
    atts: &[(String, Vec<u8>)],
) -> (String, Vec<(String, Vec<u8>)>) {
    let names: Vec<&str> = atts.iter().map(|(n, _)| n.as_str()).collect();
    let message = fim_message(&names);
    mock_osci::client::fim_package(&mock_osci::client::FimContent {
        ref_id: "FIM_DATA",
        message: &message,
        attachments: atts,
        signer: Some(&c.signature),
        signer_ref: c.signature_ref(),
        addressee: &common::pki().recipient_cipher.cert,
        alg: mock_osci::crypto::AES256_GCM,
    })
    .unwrap()
}

/// An XML catalog mapping every remote schemaLocation of the OSCI XSDs to the copies in `schema/extern`.
fn catalog(dir: &std::path::Path) -> tempfile::NamedTempFile {
    let ext = |f: &str| format!("file://{}", dir.join("extern").join(f).display());
    let map = [
        ("http://www.w3.org/2001/xml.xsd", ext("xml.xsd")),
        (
            "http://schemas.xmlsoap.org/soap/envelope/",
            ext("soap-envelope.xsd"),
        ),
        (
            "http://www.w3.org/TR/2001/CR-xmldsig-core-20010419/xmldsig-core-schema.xsd",
            ext("xmldsig-core-schema.xsd"),
        ),
        (
            "http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd",
            ext("xmldsig-core-schema.xsd"),
        ),
        (
            "http://www.w3.org/TR/xmlenc-core/xenc-schema.xsd",
            ext("xenc-schema.xsd"),
        ),
        (
            "https://www.w3.org/2008/xmlsec/Drafts/xmlenc-core-11/xenc-schema-11.xsd",
            ext("xenc-schema-11.xsd"),
        ),
        ("http://www.w3.org/2001/XMLSchema.dtd", ext("XMLSchema.dtd")),
    ];
    let mut c = String::from("<catalog xmlns=\"urn:oasis:names:tc:entity:xmlns:xml:catalog\">\n");
    for (from, to) in map {
        c.push_str(&format!(
            "<system systemId=\"{from}\" uri=\"{to}\"/><uri name=\"{from}\" uri=\"{to}\"/>\n"
        ));
    }
    c.push_str("<public publicId=\"-//W3C//DTD XMLSchema 200102//EN\" uri=\"");
    c.push_str(&ext("XMLSchema.dtd"));
    c.push_str("\"/>\n</catalog>\n");
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), c).unwrap();
    f
}

/// Validate a SOAP part with xmllint against `schema/<xsd>` (false when skipped outside CI).
pub fn validate(soap: &str, xsd: &str) -> bool {
    let Some(dir) = test_support::shared::require("reference/osci/schema") else {
        return false;
    };
    let cat = catalog(&dir);
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), soap).unwrap();
    let out = match std::process::Command::new("xmllint")
        .env("XML_CATALOG_FILES", cat.path())
        .args(["--noout", "--nonet", "--schema"])
        .arg(dir.join(xsd))
        .arg(tmp.path())
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            assert!(!test_support::shared::in_ci(), "xmllint is needed: {e}");
            eprintln!("SKIPPED: xmllint not found");
            return false;
        }
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success()
            && err.contains(" validates")
            && !err.contains("Failed to locate")
            && !err.contains("failed to load"),
        "{xsd}: {err}\n{soap}"
    );
    true
}

#[tokio::test]
async fn one_way_message_active_recipient_with_the_rust_client() {
    let st = common::state_pki(OsciConfig::default());
    let pki = common::pki();
    let mut s = common::sender();
    let a = exchange(&st, &mut s, mock_osci::client::Client::get_message_id)
        .await
        .unwrap();
    assert_eq!(a.codes, ["0800"]);
    validate(&a.soap, "soapResponseToGetMessageId.xsd");
    assert!(a.signed);
    let mid = a.message_id.clone().unwrap();
    let plain = vec![("Nachweis_1.pdf".to_string(), b"%PDF-1.4 proof".to_vec())];
    let (package, atts) = fim(&s, &plain);
    let a = exchange(&st, &mut s, |c| {
        c.store_delivery(
            &mid,
            &pki.recipient_cipher.cert,
            Some("Versammlungsanzeige"),
            &package,
            &atts,
        )
    })
    .await
    .unwrap();
    assert_eq!(a.codes, ["0800"]);
    assert_eq!(a.process_cards, 1);
    validate(&a.soap, "soapResponseToStoreDelivery.xsd");

    let mut r = common::recipient();
    let a = exchange(&st, &mut r, mock_osci::client::Client::init_dialog)
        .await
        .unwrap();
    assert_eq!(a.codes, ["0801"]);
    validate(&a.soap, "soapResponseToInitDialog.xsd");
    let a = exchange(&st, &mut r, |c| c.fetch_delivery(Some(&mid)))
        .await
        .unwrap();
    assert_eq!(a.codes, ["0801"]);
    assert_eq!(
        a.content_package.as_deref(),
        Some(package.as_str()),
        "the ContentPackage comes back byte for byte"
    );
    assert_eq!(a.attachments, atts);
    assert!(!a.reception_seen);
    validate(&a.soap, "soapResponseToFetchDelivery.xsd");
    let a = exchange(&st, &mut r, mock_osci::client::Client::exit_dialog)
        .await
        .unwrap();
    assert_eq!(a.codes, ["0800"]);
    validate(&a.soap, "soapResponseToExitDialog.xsd");

    let a = exchange(&st, &mut s, mock_osci::client::Client::init_dialog)
        .await
        .unwrap();
    assert_eq!(a.codes, ["0801"]);
    let a = exchange(&st, &mut s, |c| c.fetch_process_card(Some(&mid)))
        .await
        .unwrap();
    assert_eq!(a.codes, ["0801"]);
    assert_eq!(a.process_cards, 1);
    assert!(
        a.reception_seen,
        "the ExitDialog after the fetch marks reception"
    );
    validate(&a.soap, "soapResponseToFetchProcessCard.xsd");
    exchange(&st, &mut s, mock_osci::client::Client::exit_dialog)
        .await
        .unwrap();
    let cards = st.process_cards().unwrap();
    assert!(cards[0].forwarding.is_some() && cards[0].reception.is_some());
    assert!(
        cards[0]
            .inspections
            .iter()
            .all(|i| i.math_result == "ok" && i.offline_result == "valid"),
        "{:?}",
        cards[0].inspections
    );
}

#[tokio::test]
async fn nothing_to_fetch_is_9803_and_soap_faults_validate() {
    let st = common::state_pki(OsciConfig::default());
    let mut r = common::recipient();
    exchange(&st, &mut r, mock_osci::client::Client::init_dialog)
        .await
        .unwrap();
    let a = exchange(&st, &mut r, |c| c.fetch_delivery(None))
        .await
        .unwrap();
    assert_eq!(a.codes, ["9803"]);
    validate(&a.soap, "soapResponseToFetchDelivery.xsd");
    // A fault (replayed Challenge) is a SOAP fault in the library's shape.
    r.opts.fixed_challenge = Some("c2FtZQ==".into());
    exchange(&st, &mut r, |c| c.fetch_delivery(None))
        .await
        .unwrap();
    let req = r.fetch_delivery(None).unwrap();
    let (_, body) = common::post(&st, req).await;
    let err = r.open(&body).unwrap_err();
    assert!(
        matches!(&err, ClientError::Fault { code, .. } if code == "9400"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&body);
    let start = text.find("<soap:Envelope").unwrap();
    let end = text.find("</soap:Envelope>").unwrap() + "</soap:Envelope>".len();
    validate(&text[start..end], "soapMessageFault.xsd");
    assert_eq!(
        common::last_entry(&st).diagnoses[0].rule,
        "osci.controlblock.challenge-reused"
    );
}

#[tokio::test]
async fn deliveries_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let pki = common::pki();
    let open = || {
        let store = sim_kit::store::Store::open(dir.path()).unwrap();
        mock_osci::OsciState::new(OsciConfig::default(), pki.intermediary_keys(), store).unwrap()
    };
    let mid = {
        let st = open();
        let mut s = common::sender();
        let mid = exchange(&st, &mut s, mock_osci::client::Client::get_message_id)
            .await
            .unwrap()
            .message_id
            .unwrap();
        let a = exchange(&st, &mut s, |c| {
            c.store_delivery(&mid, &pki.recipient_cipher.cert, None, &fim(c, &[]).0, &[])
        })
        .await;
        let a = a.unwrap_or_else(|e| panic!("{e}: {:?}", common::last_entry(&st).diagnoses));
        assert_eq!(a.codes, ["0800"]);
        mid
    };
    let st = open();
    let mut r = common::recipient();
    exchange(&st, &mut r, mock_osci::client::Client::init_dialog)
        .await
        .unwrap();
    let a = exchange(&st, &mut r, |c| c.fetch_delivery(None))
        .await
        .unwrap();
    assert_eq!(a.codes, ["0801"]);
    assert_eq!(a.message_id.as_deref(), Some(mid.as_str()));
}
