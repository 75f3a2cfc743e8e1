//! Serving the web service over TLS with required client certificates. Like `sim_kit::tls::serve_tls`,
//! plus a journal entry for every refused handshake (no certificate, an untrusted one, plain HTTP), so a
//! developer sees *why* the connection was closed — the faithful answer stays a failed handshake.

use crate::state::MelderegisterState;
use sim_kit::journal::{JournalEntry, Verdict};
use sim_kit::tls::{TlsInfo, TlsServerConfig};
use sim_kit::{Diagnosis, Simulator};
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

fn journal_handshake(st: &MelderegisterState, error: &str, start: Instant) {
    let (rule, hint) = if error.contains("PeerSentNoCertificates")
        || error.contains("NoCertificatesPresented")
    {
        (
            "melderegister.tls.no-client-certificate",
            "present the client certificate from the order (curl --cert cert.pem --key key.pem, or the .p12)",
        )
    } else if error.contains("UnknownIssuer")
        || error.contains("BadSignature")
        || error.contains("InvalidCertificate")
    {
        (
            "melderegister.tls.untrusted-certificate",
            "the certificate must be issued by the mirror's CA (ordered via /minca/)",
        )
    } else if error.contains("InvalidContentType") || error.contains("corrupt message") {
        (
            "melderegister.tls.not-tls",
            "the web service speaks HTTPS only: use https://",
        )
    } else {
        ("melderegister.tls.handshake", "see the TLS error")
    };
    st.kit().journal().record(JournalEntry {
        seq: 0,
        at: String::new(),
        simulator: String::new(),
        method: "TLS".into(),
        path: crate::soap::PATH.into(),
        operation: Some("handshake".into()),
        status: 0,
        verdict: Verdict::Rejected,
        diagnoses: vec![
            Diagnosis::new(rule, format!("TLS handshake refused: {error}"))
                .hint(hint)
                .seed("000 \"Das Webservice-API ist durch ein Client-SSL-Zertifikat geschützt\""),
        ],
        fault: None,
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        data: None,
    });
}

/// Accept TLS connections until `shutdown` resolves.
pub async fn serve_tls(
    listener: TcpListener,
    st: MelderegisterState,
    config: TlsServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config.rustls.clone());
    let required = config.client_auth;
    let app = crate::service_app(st.clone());
    sim_kit::serve::accept_loop(listener, shutdown, move |stream, stop| {
        let acceptor = acceptor.clone();
        let app = app.clone();
        let st = st.clone();
        async move {
            let start = Instant::now();
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                .await
            {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => {
                    journal_handshake(&st, &format!("{e:?}"), start);
                    return;
                }
                Err(_) => return,
            };
            let info = TlsInfo {
                client_cert_der: tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.as_ref().to_vec()),
                client_auth_required: required,
            };
            sim_kit::serve::serve_connection(tls, app.layer(axum::Extension(info)), stop).await;
        }
    })
    .await
}
