//! The portal and authority flows: send → status list → fetch → close → report green; MTOM and inline in
//! both directions; iterators; cancel; lookupService; sendMessageSync.

use crate::common::*;
use mock_xta::config::{AUTHORITY_ID, SYNC_SERVICE};
use mock_xta::ns::{self, Op};
use mock_xta::wire::{self, ContentSpec, Packaging};

#[tokio::test]
async fn portal_sends_authority_fetches_and_closes() {
    let (app, st) = sim();
    call(&app, Op::CheckAccountActive, &portal(), "")
        .await
        .assert_ok();
    let look = call(
        &app,
        Op::LookupService,
        &portal(),
        &wire::lookup_request(&authority(), mock_xta::config::FIM_SERVICE),
    )
    .await;
    look.assert_ok();
    assert_eq!(look.find("ServiceIsAvailable").as_deref(), Some("true"));
    let cert = ti_core::b64_decode(&look.find("Resource").unwrap()).unwrap();
    assert_eq!(Some(cert), st.enc_cert(AUTHORITY_ID));

    let a1 = pdf(3000);
    let a2 = b"\x89PNG\r\n\x1a\n photo".to_vec();
    let id = send_fim(
        &app,
        &[("Lageplan.pdf", &a1), ("Foto_Bühne-1.png", &a2)],
        Packaging::Inline,
    )
    .await;

    // The report is open until the reader confirms.
    let rep = call(
        &app,
        Op::GetTransportReport,
        &portal(),
        &wire::message_id_body(&id),
    )
    .await;
    rep.assert_ok();
    assert_eq!(rep.find("Status").as_deref(), Some("0"));

    let list = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(Some(10), Some("MessageMetaData"), ""),
    )
    .await;
    list.assert_ok();
    assert_eq!(list.find_all("MessageID"), vec![id.clone()]);
    assert_eq!(list.find("ItemsPending").as_deref(), Some("0"));

    let got = call(
        &app,
        Op::GetMessage,
        &authority(),
        &wire::fetch_request(&wire::msgbox_selector(&[&id], None)),
    )
    .await;
    got.assert_ok();
    assert!(got.header(ns::OSCIMETA, "MessageMetaData").is_some());
    assert_eq!(got.contents.len(), 3);
    assert!(String::from_utf8_lossy(&got.contents[0]).contains("G05001479"));
    assert_eq!(got.contents[1], a1);
    assert_eq!(got.contents[2], a2);
    let rid = got.attr_of("MsgBoxResponse", "MsgBoxRequestID").unwrap();

    // Not yet received: still listed.
    let list = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(None, None, ""),
    )
    .await;
    assert_eq!(list.find_all("MessageID"), vec![id.clone()]);

    let close = call(
        &app,
        Op::Close,
        &authority(),
        &wire::iterator_request("MsgBoxCloseRequest", &rid, &[]),
    )
    .await;
    close.assert_ok();
    assert!(
        !close.has_diag("xta.close.lenient"),
        "{:?}",
        close.diagnoses
    );

    let list = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(None, None, &wire::msgbox_selector(&[], Some(true))),
    )
    .await;
    assert!(list.find_all("MessageID").is_empty());
    assert_eq!(
        list.attr_of("NoMessageAvailable", "reason").as_deref(),
        Some(ns::REASON_NO_MATCH)
    );

    let rep = call(
        &app,
        Op::GetTransportReport,
        &portal(),
        &wire::message_id_body(&id),
    )
    .await;
    rep.assert_ok();
    assert_eq!(rep.find("Status").as_deref(), Some("1"), "{}", rep.xml);
}

#[tokio::test]
async fn mtom_in_and_out_cxf_and_metro() {
    for p in [Packaging::MtomCxf, Packaging::MtomMetro] {
        let (app, _) = sim();
        let a1 = pdf(70_000);
        let id = send_fim(&app, &[("Plan.pdf", &a1)], p).await;
        // An MTOM fetch is answered with MTOM.
        let req = wire::simple(
            Op::GetMessage,
            TO,
            &[wire::author_header(&authority())],
            &wire::fetch_request(""),
        );
        let got = post(&app, Op::GetMessage.port(), mtom_wrap(req)).await;
        got.assert_ok();
        assert!(
            got.content_type.starts_with("multipart/related"),
            "{}",
            got.content_type
        );
        assert_eq!(got.contents[1], a1);
        assert_eq!(got.find("MessageID").as_deref(), Some(id.as_str()));
        // Lenient close as real clients send it.
        let close = call(
            &app,
            Op::Close,
            &authority(),
            &wire::iterator_request("MsgBoxCloseRequest", "1", &[&id]),
        )
        .await;
        close.assert_ok();
        assert!(close.has_diag("xta.close.lenient"));
    }
}

/// Package a plain request as MTOM with the root part only (CXF with MTOM on does that).
pub fn mtom_wrap(b: wire::Built) -> wire::Built {
    let action = mock_xta::mime::ContentType::parse(&b.content_type)
        .unwrap()
        .param("action")
        .unwrap()
        .to_string();
    let mut body = b"--MIMEBoundary_1\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\nContent-ID: <root@x>\r\n\r\n".to_vec();
    body.extend_from_slice(&b.body);
    body.extend_from_slice(b"\r\n--MIMEBoundary_1--\r\n");
    wire::Built {
        content_type: format!(
            "multipart/related; type=\"application/xop+xml\"; boundary=\"MIMEBoundary_1\"; start=\"<root@x>\"; start-info=\"application/soap+xml\"; action=\"{action}\""
        ),
        body,
    }
}

#[tokio::test]
async fn iterators_pages_and_misuse() {
    let (app, _) = sim();
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(send_fim(&app, &[], Packaging::Inline).await);
    }
    let l = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(Some(2), Some("MsgAtrributes"), ""),
    )
    .await;
    l.assert_ok();
    assert_eq!(l.find_all("MessageID"), ids[..2].to_vec());
    assert_eq!(l.find("ItemsPending").as_deref(), Some("3"));
    let rid = l.attr_of("MsgBoxResponse", "MsgBoxRequestID").unwrap();
    let n = call(
        &app,
        Op::GetNextStatusList,
        &authority(),
        &wire::iterator_request("MsgBoxGetNextRequest", &rid, &[]),
    )
    .await;
    n.assert_ok();
    assert_eq!(n.find_all("MessageID"), ids[2..4].to_vec());
    assert_eq!(n.find("ItemsPending").as_deref(), Some("1"));
    let n = call(
        &app,
        Op::GetNextStatusList,
        &authority(),
        &wire::iterator_request("MsgBoxGetNextRequest", &rid, &[]),
    )
    .await;
    assert_eq!(n.find_all("MessageID"), ids[4..].to_vec());
    // An unknown iterator, or one of another account, is RequestIdInvalid.
    let bad = call(
        &app,
        Op::GetNextStatusList,
        &authority(),
        &wire::iterator_request("MsgBoxGetNextRequest", "urn:nope", &[]),
    )
    .await;
    bad.assert_ok();
    assert_eq!(
        bad.attr_of("NoMessageAvailable", "reason").as_deref(),
        Some(ns::REASON_REQUEST_ID_INVALID)
    );
    let foreign = call(
        &app,
        Op::GetNextStatusList,
        &portal(),
        &wire::iterator_request("MsgBoxGetNextRequest", &rid, &[]),
    )
    .await;
    assert_eq!(
        foreign.attr_of("NoMessageAvailable", "reason").as_deref(),
        Some(ns::REASON_REQUEST_ID_INVALID)
    );
    // The misspelt ListForm gets a clear fault.
    let lf = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(None, Some("MsgAttributes"), ""),
    )
    .await;
    lf.assert_fault(9022);
    // Fetch all five via getMessage + getNextMessage, then close by iterator.
    let g = call(&app, Op::GetMessage, &authority(), &wire::fetch_request("")).await;
    assert_eq!(g.find("ItemsPending").as_deref(), Some("4"));
    let rid = g.attr_of("MsgBoxResponse", "MsgBoxRequestID").unwrap();
    let mut seen = vec![g.find("MessageID").unwrap()];
    loop {
        let n = call(
            &app,
            Op::GetNextMessage,
            &authority(),
            &wire::iterator_request("MsgBoxGetNextRequest", &rid, &[]),
        )
        .await;
        n.assert_ok();
        if n.attr_of("NoMessageAvailable", "reason").is_some() {
            break;
        }
        seen.push(n.find("MessageID").unwrap());
    }
    assert_eq!(seen, ids);
    call(
        &app,
        Op::Close,
        &authority(),
        &wire::iterator_request("MsgBoxCloseRequest", &rid, &[]),
    )
    .await
    .assert_ok();
    let l = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(None, None, ""),
    )
    .await;
    assert!(l.find_all("MessageID").is_empty());
    // Search arguments that cannot match anything.
    let sel = "<osci:MsgSelector><osci:MsgBoxEntryTimeFrom>2030-01-01T00:00:00Z</osci:MsgBoxEntryTimeFrom><osci:MsgBoxEntryTimeTo>2020-01-01T00:00:00Z</osci:MsgBoxEntryTimeTo></osci:MsgSelector>".to_string();
    let s = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(None, None, &sel),
    )
    .await;
    s.assert_ok();
    assert_eq!(
        s.attr_of("NoMessageAvailable", "reason").as_deref(),
        Some(ns::REASON_SEARCH_ARGS_INVALID)
    );
}

#[tokio::test]
async fn cancel_only_scheduled_sends_before_not_before() {
    let (app, st) = sim();
    let id = send_fim(&app, &[], Packaging::Inline).await;
    call(
        &app,
        Op::CancelMessage,
        &portal(),
        &wire::message_id_body(&id),
    )
    .await
    .assert_fault(9101);
    let id2 = create_id(&app, &portal()).await;
    let (mut meta, msg, atts) = fim(&id2, &[]);
    meta.not_before = Some("2099-01-01T00:00:00Z".into());
    send(&app, &meta, &msg, &atts, Packaging::Inline)
        .await
        .assert_ok();
    // Scheduled: not yet in the mailbox.
    let l = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(None, None, ""),
    )
    .await;
    assert_eq!(l.find_all("MessageID"), vec![id.clone()]);
    call(
        &app,
        Op::CancelMessage,
        &portal(),
        &wire::message_id_body(&id2),
    )
    .await
    .assert_ok();
    let rep = call(
        &app,
        Op::GetTransportReport,
        &portal(),
        &wire::message_id_body(&id2),
    )
    .await;
    assert_eq!(rep.find("Status").as_deref(), Some("3"));
    // Another scheduled send whose time has come (clock moved forward) can no longer be cancelled.
    let id3 = create_id(&app, &portal()).await;
    let (mut meta, msg, atts) = fim(&id3, &[]);
    meta.not_before = Some("2030-01-01T00:00:00Z".into());
    send(&app, &meta, &msg, &atts, Packaging::Inline)
        .await
        .assert_ok();
    st.set_clock_offset(20 * 365 * 24 * 3600);
    call(
        &app,
        Op::CancelMessage,
        &portal(),
        &wire::message_id_body(&id3),
    )
    .await
    .assert_fault(9100);
    let l = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(None, None, ""),
    )
    .await;
    assert_eq!(l.find_all("MessageID"), vec![id, id3]);
    // The reader cannot cancel, and unknown ids are a bad parameter.
    call(
        &app,
        Op::CancelMessage,
        &authority(),
        &wire::message_id_body(&id2),
    )
    .await
    .assert_fault(9022);
}

#[tokio::test]
async fn reports_only_for_sender_and_reader() {
    let (app, _) = sim();
    let id = send_fim(&app, &[], Packaging::Inline).await;
    call(
        &app,
        Op::GetTransportReport,
        &authority(),
        &wire::message_id_body(&id),
    )
    .await
    .assert_ok();
    call(
        &app,
        Op::GetTransportReport,
        &portal(),
        &wire::message_id_body("urn:de:xta:messageid:konform:nope"),
    )
    .await
    .assert_fault(9070);
    call(
        &app,
        Op::GetMessage,
        &authority(),
        &wire::fetch_request(&wire::msgbox_selector(&["urn:x:unknown"], None)),
    )
    .await
    .assert_fault(9070);
}

#[tokio::test]
async fn sync_service_answers_from_the_responder() {
    let (app, _) = sim();
    let id = create_id(&app, &portal()).await;
    let (mut meta, msg, _) = fim(&id, &[]);
    meta.service = SYNC_SERVICE.into();
    let b = wire::send(
        Op::SendMessageSync,
        TO,
        &wire::meta_xml(&meta),
        &msg,
        &[],
        Packaging::Inline,
    );
    let r = post(&app, Op::SendMessageSync.port(), b).await;
    r.assert_ok();
    assert!(String::from_utf8_lossy(&r.contents[0]).contains("Empfangsbestaetigung"));
    assert_eq!(r.find("In-Reply-To").as_deref(), Some(id.as_str()));
    // The wrong mode either way.
    let id = create_id(&app, &portal()).await;
    let (mut meta, msg, _) = fim(&id, &[]);
    meta.service = SYNC_SERVICE.into();
    send(&app, &meta, &msg, &[], Packaging::Inline)
        .await
        .assert_fault(9081);
    let id = create_id(&app, &portal()).await;
    let (meta, msg, _) = fim(&id, &[]);
    let b = wire::send(
        Op::SendMessageSync,
        TO,
        &wire::meta_xml(&meta),
        &msg,
        &[],
        Packaging::Inline,
    );
    post(&app, Op::SendMessageSync.port(), b)
        .await
        .assert_fault(9080);
}

#[tokio::test]
async fn message_ids_must_be_issued_and_unused() {
    let (app, _) = sim();
    let (meta, msg, atts) = fim("urn:de:xta:messageid:made-up:1", &[]);
    send(&app, &meta, &msg, &atts, Packaging::Inline)
        .await
        .assert_fault(9022);
    let id = send_fim(&app, &[], Packaging::Inline).await;
    let (meta, msg, atts) = fim(&id, &[]);
    send(&app, &meta, &msg, &atts, Packaging::Inline)
        .await
        .assert_fault(9024);
    let other = create_id(&app, &authority()).await;
    let (meta, msg, atts) = fim(&other, &[]);
    let r = send(&app, &meta, &msg, &atts, Packaging::Inline).await;
    r.assert_fault(9022);
    assert!(r.has_diag("xta.send.message-id-not-issued"));
}

#[tokio::test]
async fn attachment_content_is_kept_byte_exact() {
    let (app, _) = sim();
    let data: Vec<u8> = (0..=255u8).cycle().take(300_001).collect();
    let id = send_fim(&app, &[("Daten.pdf", &data)], Packaging::MtomCxf).await;
    let got = call(
        &app,
        Op::GetMessage,
        &authority(),
        &wire::fetch_request(&wire::msgbox_selector(&[&id], None)),
    )
    .await;
    assert_eq!(got.contents[1], data);
    assert_eq!(got.attr_of("Attachment", "size").as_deref(), Some("300001"));
    let _ = ContentSpec::new("a", None, vec![]);
}
