//! Bad input: the right OSCI fault or feedback, a journal entry with the rule, nothing stored.

use crate::common::{self, exchange, last_entry, post};
use crate::flows::{encrypted_package, fim};
use mock_osci::client::{Client, ClientError};
use mock_osci::{OsciConfig, OsciState, ProfileMode, crypto};

fn fault_code(c: &mut Client, body: &[u8]) -> String {
    match c.open(body) {
        Err(ClientError::Fault { code, .. }) => code,
        other => panic!("expected a SOAP fault, got {other:?}"),
    }
}

async fn refused(st: &OsciState, body: Vec<u8>, code: &str, rule: &str) {
    let (status, resp) = post(st, body).await;
    assert_eq!(status, 200);
    let mut c = common::sender();
    assert_eq!(fault_code(&mut c, &resp), code);
    let e = last_entry(st);
    assert!(
        e.diagnoses.iter().any(|d| d.rule == rule),
        "{rule} not in {:?}",
        e.diagnoses
    );
    assert_eq!(e.verdict, sim_kit::Verdict::Rejected);
    assert!(
        st.process_cards().unwrap().is_empty(),
        "nothing may be stored"
    );
}

async fn message_id(st: &OsciState, c: &mut Client) -> String {
    exchange(st, c, mock_osci::client::Client::get_message_id)
        .await
        .unwrap()
        .message_id
        .unwrap()
}

#[tokio::test]
async fn broken_transport_layers_are_refused() {
    let st = common::state_pki(OsciConfig::default());
    refused(
        &st,
        b"not a MIME entity at all".to_vec(),
        "9100",
        "osci.mime",
    )
    .await;
    let good = common::sender().get_message_id().unwrap();
    let text = String::from_utf8_lossy(&good).into_owned();
    let wrong_boundary = text.replacen("boundary=MIME_boundary_", "boundary=other_", 1);
    refused(&st, wrong_boundary.into_bytes(), "9100", "osci.mime").await;
    let cut = good[..good.len() / 2].to_vec();
    refused(&st, cut, "9100", "osci.mime").await;
    // A ciphertext with a bad tag.
    let mut bad_tag = good.clone();
    let end = bad_tag.len() - 70;
    bad_tag[end] ^= 0x55;
    refused(&st, bad_tag, "9202", "osci.encrypted.decrypt").await;
    // Encrypted for another certificate.
    let mut other = common::sender();
    other.intermediary = common::pki().recipient_cipher.cert.clone();
    refused(
        &st,
        other.get_message_id().unwrap(),
        "9200",
        "osci.encrypted.wrong-certificate",
    )
    .await;
    // An RSA block that does not unwrap.
    let s = String::from_utf8_lossy(&good).into_owned();
    let i = s.find("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
    let mut broken = s.clone();
    broken.replace_range(
        i..i + 4,
        if &s[i..i + 4] == "AAAA" {
            "BBBB"
        } else {
            "AAAA"
        },
    );
    refused(&st, broken.into_bytes(), "9202", "osci.encrypted.unwrap").await;
    // AES-CBC for the transport layer (profile rule 11).
    let mut cbc = common::sender();
    cbc.opts.transport_alg = crypto::AES256_CBC.into();
    refused(
        &st,
        cbc.get_message_id().unwrap(),
        "9202",
        "osci.profile.aes-256-gcm",
    )
    .await;
}

#[tokio::test]
async fn hostile_xml_and_bad_signatures_are_refused() {
    // Plain requests are reported, not refused, so the inner checks are reached.
    let st = common::state_pki(OsciConfig {
        profile: ProfileMode::Report,
        ..OsciConfig::default()
    });
    let mut c = common::sender();
    c.opts.encrypt = false;
    let plain = String::from_utf8(c.get_message_id().unwrap()).unwrap();
    let dtd = plain.replacen(
        "<soap:Envelope",
        "<!DOCTYPE x [<!ENTITY e \"boom\">]><soap:Envelope",
        1,
    );
    refused(&st, dtd.into_bytes(), "9100", "xml.doctype").await;
    let deep = plain.replacen(
        "<osci:getMessageId></osci:getMessageId>",
        &("<a>".repeat(200) + &"</a>".repeat(200)),
        1,
    );
    refused(&st, deep.into_bytes(), "9100", "xml.depth").await;
    let tampered = plain.replacen("LanguagesList=\"de\"", "LanguagesList=\"en\"", 1);
    refused(
        &st,
        tampered.into_bytes(),
        "9601",
        "osci.signature.digest-mismatch",
    )
    .await;
    let sig_start = plain.find("<osci:ClientSignature").unwrap();
    let sig_end = plain.find("</osci:ClientSignature>").unwrap() + "</osci:ClientSignature>".len();
    let mut unsigned_part = plain.clone();
    let refs = &plain[sig_start..sig_end];
    let cut_ref = refs
        .find("<ds:Reference URI=\"#desiredlanguages\">")
        .unwrap();
    let cut_end =
        refs[cut_ref..].find("</ds:Reference>\n").unwrap() + cut_ref + "</ds:Reference>\n".len();
    unsigned_part.replace_range(sig_start + cut_ref..sig_start + cut_end, "");
    refused(
        &st,
        unsigned_part.into_bytes(),
        "9602",
        "osci.signature.unsigned-part",
    )
    .await;
}

#[tokio::test]
async fn oversize_bodies_and_replays_are_refused() {
    let st = common::state_pki(OsciConfig {
        max_body: 4096,
        ..OsciConfig::default()
    });
    refused(&st, vec![b'x'; 10_000], "9100", "osci.profile.size").await;
    let st = common::state_pki(OsciConfig::default());
    let mut r = common::recipient();
    exchange(&st, &mut r, mock_osci::client::Client::init_dialog)
        .await
        .unwrap();
    let fetch = r.fetch_delivery(None).unwrap();
    let (_, first) = post(&st, fetch.clone()).await;
    assert_eq!(r.open(&first).unwrap().codes, ["9803"]);
    let (_, second) = post(&st, fetch).await;
    assert_eq!(fault_code(&mut r, &second), "9400");
    assert_eq!(
        last_entry(&st).diagnoses[0].rule,
        "osci.controlblock.response"
    );
}

#[tokio::test]
async fn message_ids_must_be_issued_here_and_fresh() {
    let st = common::state_pki(OsciConfig::default());
    let pki = common::pki();
    let mut s = common::sender();
    let a = exchange(&st, &mut s, |c| {
        c.store_delivery(
            "made-up",
            &pki.recipient_cipher.cert,
            None,
            &fim(c, &[]).0,
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(a.codes, ["9801"]);
    assert!(st.process_cards().unwrap().is_empty());
    let mid = message_id(&st, &mut s).await;
    let a = exchange(&st, &mut s, |c| {
        c.store_delivery(&mid, &pki.recipient_cipher.cert, None, &fim(c, &[]).0, &[])
    })
    .await
    .unwrap();
    assert_eq!(a.codes, ["0800"]);
    let a = exchange(&st, &mut s, |c| {
        c.store_delivery(&mid, &pki.recipient_cipher.cert, None, &fim(c, &[]).0, &[])
    })
    .await
    .unwrap();
    assert_eq!(a.codes, ["9801"]);
    assert_eq!(
        last_entry(&st).diagnoses[0].rule,
        "osci.store.message-id-reused"
    );
    assert_eq!(st.process_cards().unwrap().len(), 1);
}

#[tokio::test]
async fn the_fim_profile_is_enforced_where_the_intermediary_sees_it() {
    let st = common::state_pki(OsciConfig::default());
    let pki = common::pki();
    let mut s = common::sender();
    let plain_container = "<osci:ContentContainer Id=\"FIM_DATA\"><osci:Content Id=\"content0\"><osci:Base64Content Id=\"b0\">PHhtbC8+</osci:Base64Content></osci:Content></osci:ContentContainer>";
    let cases: Vec<(String, &str, u8)> = vec![
        (
            plain_container.to_string(),
            "osci.profile.content-encrypted",
            4,
        ),
        (
            format!(
                "{}{}",
                encrypted_package(),
                encrypted_package().replace("encdata_0", "encdata_1")
            ),
            "osci.profile.one-container",
            10,
        ),
        (
            encrypted_package().replace(crypto::AES256_GCM, crypto::AES256_CBC),
            "osci.profile.aes-256-gcm",
            11,
        ),
        (
            encrypted_package().replace(crypto::AES256_GCM, crypto::TDES_CBC),
            "osci.profile.aes-256-gcm",
            11,
        ),
        (String::new(), "osci.profile.one-container", 10),
    ];
    for (package, rule, no) in cases {
        let mid = message_id(&st, &mut s).await;
        let req = s
            .store_delivery(&mid, &pki.recipient_cipher.cert, None, &package, &[])
            .unwrap();
        let (_, body) = post(&st, req).await;
        assert_eq!(fault_code(&mut s, &body), "9300", "{rule}");
        let e = last_entry(&st);
        let d = e
            .diagnoses
            .iter()
            .find(|d| d.rule == rule)
            .unwrap_or_else(|| panic!("{rule}: {:?}", e.diagnoses));
        assert!(
            d.message.starts_with(&format!("profile rule {no}:")),
            "{d:?}"
        );
        assert!(
            d.seed.as_deref().unwrap().contains(&format!("Nr. {no}")),
            "{d:?}"
        );
    }
    // Rule 1: an addressee certificate from another CA (a self-issued one).
    let stranger = mock_osci::testpki::OsciPki::generate(1024).unwrap();
    let mid = message_id(&st, &mut s).await;
    let req = s
        .store_delivery(
            &mid,
            &stranger.recipient_cipher.cert,
            None,
            &encrypted_package(),
            &[],
        )
        .unwrap();
    let (_, body) = post(&st, req).await;
    assert_eq!(fault_code(&mut s, &body), "9706");
    assert_eq!(
        last_entry(&st).diagnoses[0].rule,
        "osci.profile.certificate"
    );
    assert!(st.process_cards().unwrap().is_empty());
    // Rule 6: usage data not encrypted.
    let mut plain = common::sender();
    plain.opts.encrypt = false;
    refused(
        &st,
        plain.get_message_id().unwrap(),
        "9300",
        "osci.profile.usage-data-encrypted",
    )
    .await;
}

#[tokio::test]
async fn the_recipient_role_checks_what_only_the_addressee_sees() {
    use mock_osci::client::{FimContent, fim_package};
    let st = common::state_pki(OsciConfig::default());
    let pki = common::pki();
    let mut s = common::sender();
    let author = common::sender();
    let atts = vec![("Lageplan.pdf".to_string(), b"%PDF".to_vec())];
    let good = crate::flows::fim_message(&["Lageplan.pdf"]);
    let gz = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    let other_atts = vec![("Foto.jpg".to_string(), b"JPEG".to_vec())];
    let twice = crate::flows::fim_message(&["Lageplan.pdf", "Lageplan.pdf"]);
    let person = pki.person_signature.clone();
    let cases: Vec<(FimContent<'_>, &str, u8)> = vec![
        (
            FimContent {
                ref_id: "Versammlungsanzeige",
                ..base(&author, &good, &atts)
            },
            "osci.profile.fim-data-refid",
            10,
        ),
        (
            FimContent {
                signer: None,
                ..base(&author, &good, &atts)
            },
            "osci.profile.content-signed",
            3,
        ),
        (
            FimContent {
                message: &gz,
                ..base(&author, &good, &atts)
            },
            "osci.profile.compressed",
            10,
        ),
        (
            FimContent {
                attachments: &other_atts,
                ..base(&author, &good, &atts)
            },
            "osci.profile.attachment-names",
            10,
        ),
        (
            FimContent {
                message: &twice,
                ..base(&author, &good, &atts)
            },
            "osci.profile.attachment-names",
            10,
        ),
        (
            FimContent {
                signer: Some(&person),
                signer_ref: "nowhere".into(),
                ..base(&author, &good, &atts)
            },
            "osci.profile.content-signer",
            3,
        ),
    ];
    for (content, rule, no) in cases {
        let (package, parts) = fim_package(&content).unwrap();
        let mid = message_id(&st, &mut s).await;
        let req = s
            .store_delivery(&mid, &pki.recipient_cipher.cert, None, &package, &parts)
            .unwrap();
        let (_, body) = post(&st, req).await;
        assert_eq!(fault_code(&mut s, &body), "9300", "{rule}");
        let e = last_entry(&st);
        let d = e
            .diagnoses
            .iter()
            .find(|d| d.rule == rule)
            .unwrap_or_else(|| panic!("{rule}: {:?}", e.diagnoses));
        assert!(
            d.message.starts_with(&format!("profile rule {no}:")),
            "{d:?}"
        );
    }
    assert!(st.process_cards().unwrap().is_empty());
    // The valid one passes.
    let (package, parts) = fim_package(&base(&author, &good, &atts)).unwrap();
    let mid = message_id(&st, &mut s).await;
    let a = exchange(&st, &mut s, |c| {
        c.store_delivery(&mid, &pki.recipient_cipher.cert, None, &package, &parts)
    })
    .await
    .unwrap();
    assert_eq!(a.codes, ["0800"]);
}

fn base<'a>(
    s: &'a Client,
    message: &'a [u8],
    atts: &'a [(String, Vec<u8>)],
) -> mock_osci::client::FimContent<'a> {
    mock_osci::client::FimContent {
        ref_id: "FIM_DATA",
        message,
        attachments: atts,
        signer: Some(&s.signature),
        signer_ref: s.signature_ref(),
        addressee: &common::pki().recipient_cipher.cert,
        alg: crypto::AES256_GCM,
    }
}
