//! Nothing accepted is lost: a message survives closing and reopening the store on the same directory;
//! a refused or half-received message leaves no file behind.

use crate::common::*;
use mock_xta::ns::{Op, Port};
use mock_xta::wire::{self, Packaging};
use mock_xta::{XtaConfig, XtaState};
use sim_kit::store::Store;

fn blob_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("blobs"))
        .map(std::iter::Iterator::count)
        .unwrap_or(0)
}

#[tokio::test]
async fn accepted_message_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let a1 = pdf(250_000);
    let id = {
        let st = XtaState::new(
            XtaConfig::default(),
            pki(),
            Store::open(dir.path()).unwrap(),
        )
        .unwrap();
        let app = mock_xta::app(st.clone());
        let id = send_fim(&app, &[("Lageplan.pdf", &a1)], Packaging::MtomCxf).await;
        // Fetched but not confirmed before the restart.
        let g = call(&app, Op::GetMessage, &authority(), &wire::fetch_request("")).await;
        g.assert_ok();
        id
    };
    assert_eq!(blob_files(dir.path()), 2);
    let st = XtaState::new(
        XtaConfig::default(),
        pki(),
        Store::open(dir.path()).unwrap(),
    )
    .unwrap();
    let app = mock_xta::app(st.clone());
    let l = call(
        &app,
        Op::GetStatusList,
        &authority(),
        &wire::status_list_request(None, Some("MsgAtrributes"), ""),
    )
    .await;
    assert_eq!(l.find_all("MessageID"), vec![id.clone()]);
    assert!(
        l.find("InitialFetchedTime").is_some(),
        "the first fetch is remembered: {}",
        l.xml
    );
    let g = call(
        &app,
        Op::GetMessage,
        &authority(),
        &wire::fetch_request(&wire::msgbox_selector(&[&id], None)),
    )
    .await;
    g.assert_ok();
    assert_eq!(g.contents[1], a1);
    call(
        &app,
        Op::Close,
        &authority(),
        &wire::iterator_request(
            "MsgBoxCloseRequest",
            &g.attr_of("MsgBoxResponse", "MsgBoxRequestID").unwrap(),
            &[],
        ),
    )
    .await
    .assert_ok();
    let rep = call(
        &app,
        Op::GetTransportReport,
        &portal(),
        &wire::message_id_body(&id),
    )
    .await;
    assert_eq!(rep.find("Status").as_deref(), Some("1"));
    // The id stays used across the restart.
    let (meta, msg, atts) = fim(&id, &[]);
    send(&app, &meta, &msg, &atts, Packaging::Inline)
        .await
        .assert_fault(9024);
}

#[tokio::test]
async fn refused_and_half_received_messages_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let st = XtaState::new(
        XtaConfig::default(),
        pki(),
        Store::open(dir.path()).unwrap(),
    )
    .unwrap();
    let app = mock_xta::app(st.clone());
    // Refused by the profile after the content arrived (a proof without its file).
    let id = create_id(&app, &portal()).await;
    let (meta, msg, _) = fim(&id, &[("Plan.pdf", b"")]);
    let att = wire::ContentSpec::new("application/pdf", Some("Anderes.pdf"), pdf(100_000));
    send(
        &app,
        &meta,
        &msg,
        std::slice::from_ref(&att),
        Packaging::MtomCxf,
    )
    .await
    .assert_fault(9052);
    assert_eq!(blob_files(dir.path()), 0);
    // Cut off in the middle of an attachment.
    let (meta, msg, _) = fim(&id, &[("Anderes.pdf", b"")]);
    let b = wire::send(
        Op::SendMessage,
        TO,
        &wire::meta_xml(&meta),
        &msg,
        &[att],
        Packaging::MtomCxf,
    );
    let mut body = b.body.clone();
    body.truncate(body.len() / 2);
    post_raw(&app, Port::Send.path(), &b.content_type, body)
        .await
        .assert_fault(9000);
    assert_eq!(blob_files(dir.path()), 0);
    assert_eq!(st.store().read(mock_xta::db::counts).unwrap().0, 0);
}
