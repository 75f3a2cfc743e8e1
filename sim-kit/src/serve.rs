//! Serving a simulator router: our own accept loop (instead of `axum::serve`) so that an injected
//! "dropped connection" really closes the socket without a byte, so TLS can be layered in, and so every
//! listener is bounded ([`Limits`]):
//!
//! - at most `max_connections` open connections; one past it is closed at once and a warning is logged
//!   (at most once a second, with the count) — a client sees a closed connection, never a hang;
//! - when the process runs out of file descriptors (`EMFILE`), a spare descriptor kept for the purpose is
//!   released to accept and close the waiting connection, so clients are never left hanging in the
//!   backlog and accepting resumes as soon as descriptors are free;
//! - request headers must arrive within `header_timeout_secs` (also the keep-alive idle time);
//! - on shutdown, open connections get [`SHUTDOWN_GRACE`] to finish their request, then are cut off, so
//!   a server stops within bounded time even while a handler is still busy.
//!
//! Each request carries a [`ConnInfo`] (local and peer address) in its extensions; the admin API's Host
//! check uses it. [`spawn`] runs a simulator in-process on an ephemeral port, as the scenario runner
//! embeds them.

use crate::layer::DropConnection;
use crate::limits::Limits;
use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tower::ServiceExt;

/// Time open connections get to finish after shutdown begins; then they are cut off.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The addresses of the connection a request came in on (request extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    pub local: SocketAddr,
    pub peer: SocketAddr,
}

impl ConnInfo {
    pub fn of(stream: &tokio::net::TcpStream) -> Option<ConnInfo> {
        Some(ConnInfo {
            local: stream.local_addr().ok()?,
            peer: stream.peer_addr().ok()?,
        })
    }
}

/// Error a service returns to make hyper close the connection.
#[derive(Debug)]
struct Dropped;
impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}
impl std::error::Error for Dropped {}

/// Serve one accepted connection (plain TCP or TLS stream) with default limits and no [`ConnInfo`].
pub async fn serve_connection<IO>(io: IO, app: Router, stop: watch::Receiver<bool>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    serve_connection_with(io, app, stop, None, &Limits::default()).await;
}

/// Serve one accepted connection; `conn` is put into every request's extensions.
pub async fn serve_connection_with<IO>(
    io: IO,
    app: Router,
    mut stop: watch::Receiver<bool>,
    conn: Option<ConnInfo>,
    limits: &Limits,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let app = app.clone();
        async move {
            let mut req = req.map(Body::new);
            if let Some(c) = conn {
                req.extensions_mut().insert(c);
            }
            let resp = match app.oneshot(req).await {
                Ok(r) => r,
                Err(e) => match e {},
            };
            if resp.extensions().get::<DropConnection>().is_some() {
                return Err(Dropped);
            }
            Ok::<_, Dropped>(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(Some(limits.header_timeout()))
        .timer(hyper_util::rt::TokioTimer::new())
        .serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
    }
}

/// Accept connections until `shutdown` resolves, then let open connections finish (at most
/// [`SHUTDOWN_GRACE`]). Default [`Limits`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, Limits::default(), shutdown).await
}

/// [`serve`] with the connection limits of `limits`.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let l = limits.clone();
    accept_loop_with(listener, limits, shutdown, move |stream, stop| {
        let conn = ConnInfo::of(&stream);
        let app = app.clone();
        let l = l.clone();
        async move { serve_connection_with(stream, app, stop, conn, &l).await }
    })
    .await
}

/// The accept loop every transport shares (plain TCP here, TLS in `tls`) with default [`Limits`].
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    handle: F,
) -> std::io::Result<()>
where
    F: Fn(tokio::net::TcpStream, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    accept_loop_with(listener, Limits::default(), shutdown, handle).await
}

/// The accept loop: `handle` serves one connection and must watch `stop` for a graceful shutdown. At
/// most `limits.max_connections` connections are open; accept errors never end the server (module docs).
pub async fn accept_loop_with<F, Fut>(
    listener: TcpListener,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    handle: F,
) -> std::io::Result<()>
where
    F: Fn(tokio::net::TcpStream, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut refusals = Refusals::new(listener.local_addr().ok(), limits.max_connections);
    let mut spare = spare_fd();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                while tasks.try_join_next().is_some() {}
                match accepted {
                    Ok((stream, _peer)) if tasks.len() >= limits.max_connections => {
                        drop(stream);
                        refusals.refused("open connections reached limits.max_connections");
                    }
                    Ok((stream, _peer)) => {
                        let _ = stream.set_nodelay(true);
                        tasks.spawn(handle(stream, stop_rx.clone()));
                    }
                    Err(e) if out_of_descriptors(&e) => {
                        // Free the spare descriptor to take the waiting connection off the backlog and
                        // close it: the client learns at once instead of hanging.
                        drop(spare.take());
                        if let Ok(Ok((stream, _))) =
                            tokio::time::timeout(Duration::from_millis(50), listener.accept()).await
                        {
                            drop(stream);
                        }
                        spare = spare_fd();
                        refusals.refused("the process is out of file descriptors (EMFILE)");
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let finished = tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_millis(500), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            "{} connection(s) still busy after the shutdown grace of {} s: cut off",
            tasks.len(),
            SHUTDOWN_GRACE.as_secs()
        );
        tasks.shutdown().await;
    }
    Ok(())
}

/// Counts refused connections and logs them at most once a second.
struct Refusals {
    addr: Option<SocketAddr>,
    max: usize,
    count: u64,
    last: Option<tokio::time::Instant>,
}

impl Refusals {
    fn new(addr: Option<SocketAddr>, max: usize) -> Refusals {
        Refusals {
            addr,
            max,
            count: 0,
            last: None,
        }
    }
    fn refused(&mut self, why: &str) {
        self.count += 1;
        let now = tokio::time::Instant::now();
        if self.last.is_none_or(|l| now - l >= Duration::from_secs(1)) {
            let addr = self.addr.map(|a| a.to_string()).unwrap_or_default();
            tracing::warn!(
                listener = %addr,
                refused = self.count,
                max_connections = self.max,
                "closed {} new connection(s) at once: {why}",
                self.count
            );
            self.count = 0;
            self.last = Some(now);
        }
    }
}

#[cfg(unix)]
fn out_of_descriptors(e: &std::io::Error) -> bool {
    // EMFILE (per process) = 24, ENFILE (system-wide) = 23 on Linux and the BSDs.
    matches!(e.raw_os_error(), Some(23) | Some(24))
}

#[cfg(not(unix))]
fn out_of_descriptors(_: &std::io::Error) -> bool {
    false
}

/// A descriptor held in reserve for [`accept_loop_with`]'s EMFILE handling.
fn spare_fd() -> Option<std::fs::File> {
    #[cfg(unix)]
    {
        std::fs::File::open("/dev/null").ok()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// A simulator running in-process. Dropping it shuts the server down.
pub struct RunningSim {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningSim {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Stop accepting, finish open connections, wait for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Bind `addr` (port 0 = ephemeral) and serve `app` in a background task.
pub async fn spawn(app: Router, addr: SocketAddr) -> std::io::Result<RunningSim> {
    let listener = TcpListener::bind(addr).await?;
    spawn_on(app, listener)
}

pub fn spawn_on(app: Router, listener: TcpListener) -> std::io::Result<RunningSim> {
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, app, async move {
        let _ = rx.await;
    }));
    Ok(RunningSim {
        addr,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// Loopback, ephemeral port.
pub fn loopback_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}
