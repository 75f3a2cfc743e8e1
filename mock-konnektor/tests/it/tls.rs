//! TLS with client authentication (certificates from the test PKI's P-256 TLS CA): connector.sds over TLS
//! names https endpoints and says TLSMandatory / ClientAutMandatory; SOAP works over TLS; a client without
//! a certificate, or with one from another CA, gets no answer.

use crate::support::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client_config(
    with_cert: Option<&ti_core::pki::Identity>,
    ca_pem: &str,
) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match with_cert {
        Some(id) => b
            .with_client_auth_cert(
                vec![CertificateDer::from(id.cert_der.clone())],
                PrivateKeyDer::from_pem_slice(id.key_pem().as_bytes()).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    })
}

async fn https(
    addr: std::net::SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
    req: String,
) -> std::io::Result<String> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let mut tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    tls.write_all(req.as_bytes()).await?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn tls_with_client_authentication() {
    let (_, st) = default_sim();
    let pki = st.pki().clone();
    let tls = sim_kit::tls::server_config(&sim_kit::tls::TlsSettings {
        cert_chain_pem: pki.tls_server.cert_pem(),
        key_pem: pki.tls_server.key_pem(),
        client_ca_pem: Some(pki.tls_ca.cert_pem()),
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mock_konnektor::serve_tls(
        listener,
        st.clone(),
        tls,
        async move {
            let _ = rx.await;
        },
    ));
    let ca = pki.tls_ca.cert_pem();
    let good = client_config(Some(&pki.tls_client), &ca);

    let sds = https(
        addr,
        good.clone(),
        format!(
            "GET /connector.sds HTTP/1.1\r\nhost: localhost:{}\r\nconnection: close\r\n\r\n",
            addr.port()
        ),
    )
    .await
    .unwrap();
    assert!(sds.starts_with("HTTP/1.1 200"), "{sds}");
    let body = &sds[sds.find("\r\n\r\n").unwrap() + 4..];
    xmllint(body, "http://ws.gematik.de/conn/ServiceDirectory/v3.1");
    assert!(body.contains("<SDS:TLSMandatory>true</SDS:TLSMandatory>"));
    assert!(body.contains("<SDS:ClientAutMandatory>true</SDS:ClientAutMandatory>"));
    assert!(body.contains(&format!(
        "Location=\"https://localhost:{}/ws/CardService\"",
        addr.port()
    )));
    assert!(!body.contains("http://localhost"));

    let soap_body = verify_pin_request(mock_konnektor::DEFAULT_CARD_HANDLE);
    let resp = https(
        addr,
        good,
        format!(
            "POST /ws/CardService HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/xml\r\nsoapaction: \"{A_VERIFY_PIN}\"\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{soap_body}",
            soap_body.len()
        ),
    )
    .await
    .unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("<CARDCMN:PinResult>OK</CARDCMN:PinResult>"));

    // No client certificate, or one from another CA: the handshake fails, nothing is served.
    let other = ti_core::pki::TestPki::generate(&Default::default()).unwrap();
    for cfg in [
        client_config(None, &ca),
        client_config(Some(&other.tls_client), &ca),
    ] {
        let r = https(
            addr,
            cfg,
            "GET /connector.sds HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n".into(),
        )
        .await;
        assert!(
            r.as_ref().map(|s| !s.contains("200 OK")).unwrap_or(true),
            "served without a valid client certificate: {r:?}"
        );
    }
    // A plain-HTTP client gets nothing either.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /connector.sds HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        plain.read_to_end(&mut buf),
    )
    .await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    let _ = tx.send(());
    server.await.unwrap().unwrap();
}
