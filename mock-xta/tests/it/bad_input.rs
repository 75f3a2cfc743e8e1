//! Bad input: every kind gets the right fault, a journal entry with the rule, and leaves nothing stored.

use crate::common::*;
use mock_xta::ns::{Op, Port};
use mock_xta::wire::{self, Packaging};

fn stored(st: &mock_xta::XtaState) -> (i64, usize) {
    let n = st.store().read(mock_xta::db::counts).unwrap().0;
    let blobs = st
        .store()
        .read(|c| {
            Ok(c.query_row("SELECT COUNT(*) FROM konform_blobs", [], |r| {
                r.get::<_, i64>(0)
            })?)
        })
        .unwrap() as usize;
    (n, blobs)
}

async fn expect(
    app: &axum::Router,
    st: &mock_xta::XtaState,
    path: &str,
    ct: &str,
    body: Vec<u8>,
    code: Option<u16>,
    rule: &str,
) -> Resp {
    let before = stored(st);
    let r = post_raw(app, path, ct, body).await;
    assert!(
        r.is_fault(),
        "{rule}: fault expected, got {} {}",
        r.status,
        r.xml
    );
    assert_eq!(r.code(), code, "{rule}: {}\n{:?}", r.xml, r.diagnoses);
    assert!(r.has_diag(rule), "{rule} expected: {:?}", r.diagnoses);
    assert_eq!(stored(st), before, "{rule}: nothing may be stored");
    let last = st.kit().journal().all().pop().unwrap();
    assert!(
        last.diagnoses.iter().any(|d| d.rule == rule),
        "{rule} not journaled: {last:?}"
    );
    r
}

const SOAP: &str = "application/soap+xml; charset=UTF-8";

#[tokio::test]
async fn malformed_envelopes() {
    let (app, st) = sim();
    let send_path = Port::Send.path();
    let good = wire::simple(
        Op::CheckAccountActive,
        TO,
        &[wire::author_header(&portal())],
        "",
    );
    let mgmt = Port::Management.path();
    let g = String::from_utf8(good.body.clone()).unwrap();

    expect(
        &app,
        &st,
        mgmt,
        SOAP,
        b"<soap:Envelope".to_vec(),
        Some(9000),
        "xml.well-formed",
    )
    .await;
    let dtd = format!(
        "<!DOCTYPE e [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
        g.split_once("?>").unwrap().1
    );
    expect(
        &app,
        &st,
        mgmt,
        SOAP,
        dtd.into_bytes(),
        Some(9000),
        "xml.doctype",
    )
    .await;
    let ent = g.replace("</wsa:To>", "&x;</wsa:To>");
    expect(
        &app,
        &st,
        mgmt,
        SOAP,
        ent.into_bytes(),
        Some(9000),
        "xml.entity",
    )
    .await;
    let deep = g.replace(
        "<soap:Body>",
        &format!("<soap:Body>{}{}", "<a>".repeat(100), "</a>".repeat(100)),
    );
    expect(
        &app,
        &st,
        mgmt,
        SOAP,
        deep.into_bytes(),
        Some(9000),
        "xml.depth",
    )
    .await;
    expect(
        &app,
        &st,
        mgmt,
        SOAP,
        vec![0xff, 0xfe, 0x00],
        Some(9000),
        "xml.well-formed",
    )
    .await;
    let pi = g.replace("<soap:Body>", "<soap:Body><?php x?>");
    expect(
        &app,
        &st,
        mgmt,
        SOAP,
        pi.into_bytes(),
        Some(9000),
        "xml.processing-instruction",
    )
    .await;

    // SOAP 1.1 — by Content-Type or by envelope namespace: VersionMismatch without detail.
    let r = expect(
        &app,
        &st,
        mgmt,
        "text/xml; charset=UTF-8",
        g.clone().into_bytes(),
        None,
        "xta.soap.version",
    )
    .await;
    assert_eq!(r.soap_code().as_deref(), Some("env:VersionMismatch"));
    let v11 = g.replace(mock_xta::ns::SOAP12, mock_xta::ns::SOAP11);
    let r = expect(
        &app,
        &st,
        mgmt,
        SOAP,
        v11.into_bytes(),
        None,
        "xta.soap.version",
    )
    .await;
    assert!(r.xml.contains("env:Upgrade"));
    // Not SOAP at all.
    let r = expect(
        &app,
        &st,
        mgmt,
        "application/json",
        b"{}".to_vec(),
        Some(9000),
        "xta.http.content-type",
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // WS-Addressing.
    let no_action = g.replace(
        "<wsa:Action>http://www.xta.de/XTA/CheckAccountActive</wsa:Action>",
        "",
    );
    expect(
        &app,
        &st,
        mgmt,
        SOAP,
        no_action.into_bytes(),
        Some(9000),
        "xta.wsa.action-missing",
    )
    .await;
    let unknown = g.replace(
        "http://www.xta.de/XTA/CheckAccountActive",
        "http://www.xta.de/XTA/checkAccountActive",
    );
    let r = expect(
        &app,
        &st,
        mgmt,
        SOAP,
        unknown.into_bytes(),
        Some(9000),
        "xta.wsa.action-unknown",
    )
    .await;
    assert!(
        r.diagnoses.iter().any(|d| d.contains("did you mean")),
        "{:?}",
        r.diagnoses
    );
    let mismatch = "application/soap+xml; action=\"http://www.xta.de/XTA/CreateMessageID\"";
    expect(
        &app,
        &st,
        mgmt,
        mismatch,
        g.clone().into_bytes(),
        Some(9000),
        "xta.wsa.action-mismatch",
    )
    .await;
    expect(
        &app,
        &st,
        send_path,
        SOAP,
        g.clone().into_bytes(),
        Some(9000),
        "xta.port",
    )
    .await;
    let no_id = g.split("<wsa:MessageID>").next().unwrap().to_string()
        + g.split("</wsa:MessageID>").nth(1).unwrap();
    expect(
        &app,
        &st,
        mgmt,
        SOAP,
        no_id.into_bytes(),
        Some(9000),
        "xta.wsa.message-id-missing",
    )
    .await;
    let must = g.replace(
        "</soap:Header>",
        "<x:Sec xmlns:x=\"urn:sec\" soap:mustUnderstand=\"true\"/></soap:Header>",
    );
    let r = expect(
        &app,
        &st,
        mgmt,
        SOAP,
        must.into_bytes(),
        None,
        "xta.soap.must-understand",
    )
    .await;
    assert_eq!(r.soap_code().as_deref(), Some("env:MustUnderstand"));
    let body = g.replace(
        "<soap:Body></soap:Body>",
        "<soap:Body><x:Nope xmlns:x=\"urn:x\"/></soap:Body>",
    );
    expect(
        &app,
        &st,
        mgmt,
        SOAP,
        body.into_bytes(),
        Some(9000),
        "xta.body.unexpected",
    )
    .await;
    // Unknown and locked accounts.
    let stranger = g.replace(mock_xta::config::PORTAL_ID, "ehp:010100199901");
    expect(
        &app,
        &st,
        mgmt,
        SOAP,
        stranger.into_bytes(),
        Some(9012),
        "xta.auth.unknown-account",
    )
    .await;
    let mut a = st.account(mock_xta::config::PORTAL_ID).unwrap();
    a.locked = true;
    st.put_account(a).unwrap();
    expect(
        &app,
        &st,
        mgmt,
        SOAP,
        g.clone().into_bytes(),
        Some(9011),
        "xta.auth.locked",
    )
    .await;
}

fn mtom_send() -> wire::Built {
    let id = "urn:de:xta:messageid:konform:x";
    let (meta, msg, atts) = fim(id, &[("Plan.pdf", b"")]);
    let atts = vec![wire::ContentSpec {
        data: pdf(5000),
        ..atts[0].clone()
    }];
    wire::send(
        Op::SendMessage,
        TO,
        &wire::meta_xml(&meta),
        &msg,
        &atts,
        Packaging::MtomCxf,
    )
}

#[tokio::test]
async fn broken_mtom() {
    let (app, st) = sim();
    let path = Port::Send.path();
    let b = mtom_send();
    let body = String::from_utf8_lossy(&b.body).into_owned();
    let boundary = mock_xta::mime::ContentType::parse(&b.content_type)
        .unwrap()
        .param("boundary")
        .unwrap()
        .to_string();

    // No closing delimiter.
    let mut cut = b.body.clone();
    cut.truncate(cut.len() - boundary.len() - 10);
    expect(
        &app,
        &st,
        path,
        &b.content_type,
        cut,
        Some(9000),
        "mime.boundary",
    )
    .await;
    // A boundary that does not occur.
    let wrong = b.content_type.replace(&boundary, "uuid:not-there");
    expect(
        &app,
        &st,
        path,
        &wrong,
        b.body.clone(),
        Some(9000),
        "mime.boundary",
    )
    .await;
    // A part longer or shorter than its Content-Length says.
    let lied = body.replacen(
        "Content-Transfer-Encoding: binary\r\nContent-ID: <",
        "Content-Length: 12\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <",
        2,
    );
    expect(
        &app,
        &st,
        path,
        &b.content_type,
        lied.into_bytes(),
        Some(9000),
        "mime.length",
    )
    .await;
    // An xop:Include that points nowhere.
    let cid_start = body.find("href=\"cid:").unwrap() + 10;
    let mut dangling = body.clone();
    dangling.insert_str(cid_start, "gone-");
    expect(
        &app,
        &st,
        path,
        &b.content_type,
        dangling.into_bytes(),
        Some(9000),
        "xop.dangling-include",
    )
    .await;
    // The root part is not where `start` says.
    let nostart = b
        .content_type
        .replace("root.message@cxf.apache.org", "elsewhere@x");
    expect(
        &app,
        &st,
        path,
        &nostart,
        b.body.clone(),
        Some(9000),
        "mtom.start",
    )
    .await;
    // Not xop+xml.
    let t = b
        .content_type
        .replace("type=\"application/xop+xml\"", "type=\"text/xml\"");
    expect(
        &app,
        &st,
        path,
        &t,
        b.body.clone(),
        Some(9000),
        "xta.mtom.type",
    )
    .await;
    // The accepted journal never saw a message.
    assert_eq!(stored(&st).0, 0);
}

#[tokio::test]
async fn unknown_sender_is_refused_before_the_content() {
    let (app, st) = sim();
    let (mut meta, msg, _) = fim("urn:de:xta:messageid:konform:x", &[("Plan.pdf", b"")]);
    meta.author.id = "ehp:010100199901".into();
    let att = wire::ContentSpec::new("application/pdf", Some("Plan.pdf"), pdf(2_000_000));
    let b = wire::send(
        Op::SendMessage,
        TO,
        &wire::meta_xml(&meta),
        &msg,
        &[att],
        Packaging::Inline,
    );
    let r = expect(
        &app,
        &st,
        Port::Send.path(),
        &b.content_type,
        b.body,
        Some(9012),
        "xta.auth.unknown-account",
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn inline_base64_errors() {
    let (app, st) = sim();
    let id = create_id(&app, &portal()).await;
    let (meta, msg, _) = fim(&id, &[]);
    let b = wire::send(
        Op::SendMessage,
        TO,
        &wire::meta_xml(&meta),
        &msg,
        &[],
        Packaging::Inline,
    );
    let body = String::from_utf8(b.body).unwrap();
    let s = body.find("<xta:Message").unwrap();
    let gt = s + body[s..].find('>').unwrap() + 1;
    let mut bad = body.clone();
    bad.insert_str(gt, "!!");
    expect(
        &app,
        &st,
        Port::Send.path(),
        &b.content_type,
        bad.into_bytes(),
        Some(9000),
        "xml.base64",
    )
    .await;
    let mut unpadded = body.clone();
    unpadded.insert(gt, 'Q');
    expect(
        &app,
        &st,
        Port::Send.path(),
        &b.content_type,
        unpadded.into_bytes(),
        Some(9000),
        "xml.base64",
    )
    .await;
    // Whitespace and &#13; line breaks, as Java serialisers write them, are fine.
    let content = &body[gt..gt + body[gt..].find('<').unwrap()];
    let wrapped: String = content
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}&#13;\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let ok = body.replacen(content, &wrapped, 1);
    let r = post_raw(&app, Port::Send.path(), &b.content_type, ok.into_bytes()).await;
    r.assert_ok();
}

#[tokio::test]
async fn slow_client_is_cut_off() {
    let mut c = mock_xta::XtaConfig::default();
    c.limits.body_idle_timeout_ms = 300;
    let (app, st) = sim_with(c);
    let running = sim_kit::serve::spawn(app, sim_kit::serve::loopback_any())
        .await
        .unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-type: {SOAP}\r\ncontent-length: 100000\r\n\r\n<soap:Envelope xmlns:soap=\"{}\">",
        Port::Management.path(),
        mock_xta::ns::SOAP12
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("9000") && text.starts_with("HTTP/1.1 500"),
        "{text}"
    );
    let last = st.kit().journal().all().pop().unwrap();
    assert!(
        last.diagnoses.iter().any(|d| d.rule == "http.body-timeout"),
        "{last:?}"
    );
}

#[tokio::test]
async fn declared_oversize_is_refused_at_once() {
    let (app, st) = sim();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(Port::Send.path())
        .header("content-type", SOAP)
        .header("content-length", "900000000")
        .body(axum::body::Body::empty())
        .unwrap();
    use tower::ServiceExt;
    let resp = app.clone().oneshot(req).await.unwrap();
    let r = decode(
        resp.status(),
        resp.headers().clone(),
        http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    );
    r.assert_fault(9023);
    assert_eq!(stored(&st).0, 0);
}
