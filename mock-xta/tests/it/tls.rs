//! HTTPS with client certificates (P-256, the test PKI's TLS CA): the certificate names the account; a
//! request naming another account gets 9014; a certificate of no account 9012; no certificate, no
//! connection. The WSDL names the https addresses of this server.

use crate::common::*;
use mock_xta::config::{AUTHORITY_ID, PORTAL_ID};
use mock_xta::ns::{Op, Port};
use mock_xta::wire::{self, Packaging};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client(id: Option<&ti_core::pki::Identity>) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki().tls_ca.cert_der.clone()))
        .unwrap();
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match id {
        Some(id) => b
            .with_client_auth_cert(
                vec![CertificateDer::from(id.cert_der.clone())],
                PrivateKeyDer::from_pem_slice(id.key_pem().as_bytes()).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    })
}

/// One HTTP/1.1 exchange over TLS; (status, headers, body).
async fn https(
    addr: std::net::SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
    ct: &str,
    body: &[u8],
) -> std::io::Result<(u16, axum::http::HeaderMap, Vec<u8>)> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let mut tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost:{}\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        addr.port(),
        body.len()
    );
    tls.write_all(head.as_bytes()).await?;
    tls.write_all(body).await?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await?;
    let split = memchr::memmem::find(&out, b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP answer"))?;
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap_or("")
        .split(' ')
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let mut headers = axum::http::HeaderMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.append(
                axum::http::HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
                v.trim().parse().unwrap(),
            );
        }
    }
    Ok((status, headers, out[split + 4..].to_vec()))
}

async fn soap(
    addr: std::net::SocketAddr,
    who: &ti_core::pki::Identity,
    b: wire::Built,
    port: Port,
) -> Resp {
    let (status, headers, body) = https(
        addr,
        client(Some(who)),
        "POST",
        port.path(),
        &b.content_type,
        &b.body,
    )
    .await
    .unwrap();
    decode(
        axum::http::StatusCode::from_u16(status).unwrap(),
        headers,
        body,
    )
}

#[tokio::test]
async fn client_certificates_identify_accounts() {
    let (_, st) = sim();
    let tls = sim_kit::tls::server_config(&mock_xta::tls_settings(&pki())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mock_xta::serve_tls(listener, st.clone(), tls, async move {
        let _ = rx.await;
    }));
    let now = std::time::SystemTime::now();
    let portal_cert =
        mock_xta::pki::issue_client_cert(&pki(), &st.account(PORTAL_ID).unwrap(), now).unwrap();
    let authority_cert =
        mock_xta::pki::issue_client_cert(&pki(), &st.account(AUTHORITY_ID).unwrap(), now).unwrap();

    // The certificate alone identifies the account (no Author header needed).
    let r = soap(
        addr,
        &portal_cert,
        wire::simple(Op::CheckAccountActive, TO, &[], ""),
        Port::Management,
    )
    .await;
    r.assert_ok();
    assert!(!r.has_diag("xta.auth.unauthenticated"), "{:?}", r.diagnoses);
    // The portal's certificate with the authority's name: 9014.
    let r = soap(
        addr,
        &portal_cert,
        wire::simple(
            Op::CheckAccountActive,
            TO,
            &[wire::author_header(&authority())],
            "",
        ),
        Port::Management,
    )
    .await;
    r.assert_fault(9014);
    // Send as the portal, fetch as the authority, over mTLS.
    let id = soap(
        addr,
        &portal_cert,
        wire::simple(Op::CreateMessageId, TO, &[], ""),
        Port::Management,
    )
    .await
    .body()
    .unwrap()
    .trimmed()
    .to_string();
    let (meta, msg, atts) = fim(&id, &[("Plan.pdf", &pdf(1000))]);
    soap(
        addr,
        &portal_cert,
        wire::send(
            Op::SendMessage,
            TO,
            &wire::meta_xml(&meta),
            &msg,
            &atts,
            Packaging::MtomMetro,
        ),
        Port::Send,
    )
    .await
    .assert_ok();
    // The authority cannot send as the portal.
    let id2 = soap(
        addr,
        &portal_cert,
        wire::simple(Op::CreateMessageId, TO, &[], ""),
        Port::Management,
    )
    .await
    .body()
    .unwrap()
    .trimmed()
    .to_string();
    let (meta, msg, atts) = fim(&id2, &[]);
    soap(
        addr,
        &authority_cert,
        wire::send(
            Op::SendMessage,
            TO,
            &wire::meta_xml(&meta),
            &msg,
            &atts,
            Packaging::Inline,
        ),
        Port::Send,
    )
    .await
    .assert_fault(9014);
    let g = soap(
        addr,
        &authority_cert,
        wire::simple(Op::GetMessage, TO, &[], &wire::fetch_request("")),
        Port::MsgBox,
    )
    .await;
    g.assert_ok();
    assert_eq!(g.contents.len(), 2);
    // A certificate from the TLS CA that names no account: 9012.
    let stranger = pki().tls_client.clone();
    let r = soap(
        addr,
        &stranger,
        wire::simple(Op::CheckAccountActive, TO, &[], ""),
        Port::Management,
    )
    .await;
    r.assert_fault(9012);
    // No certificate: no TLS connection at all.
    let e = https(
        addr,
        client(None),
        "POST",
        Port::Management.path(),
        "application/soap+xml",
        b"",
    )
    .await;
    assert!(
        e.is_err() || e.as_ref().is_ok_and(|(s, _, _)| *s == 0),
        "{e:?}"
    );
    // The WSDL names https addresses of this server.
    let (status, _, body) = https(
        addr,
        client(Some(&portal_cert)),
        "GET",
        "/xta.wsdl",
        "text/plain",
        b"",
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let a = mock_xta::wsdl::addresses(&String::from_utf8(body).unwrap());
    assert!(
        a.iter()
            .all(|(_, url)| url.starts_with(&format!("https://localhost:{}", addr.port()))),
        "{a:?}"
    );
    let _ = tx.send(());
    let _ = server.await;
}
