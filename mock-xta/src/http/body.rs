//! The request body as a blocking `Read` for the streaming parsers: a task pumps the body's frames through
//! a small bounded channel (memory stays a few chunks, whatever the body's size), enforcing the raw size
//! limit and an idle timeout. When the reader goes away early (the request was refused after its headers),
//! the pump keeps reading and discarding up to a bound, so the client can finish sending and read the
//! fault instead of a broken pipe.

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use std::io::{self, Read};
use std::time::Duration;
use tokio::sync::mpsc;

/// Why the body stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyAbort {
    #[error("the request body exceeds {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("no request data for {ms} ms: the body was abandoned")]
    Idle { ms: u64 },
    #[error("the request body could not be read completely: {0}")]
    Broken(String),
}

/// The abort reason inside an I/O error, if that is what it is.
pub fn as_abort(e: &io::Error) -> Option<&BodyAbort> {
    e.get_ref().and_then(|i| i.downcast_ref::<BodyAbort>())
}

type Chunk = Result<Bytes, BodyAbort>;

/// Blocking side.
pub struct BodyReader {
    rx: mpsc::Receiver<Chunk>,
    cur: Bytes,
    done: bool,
}

impl Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => {
                    self.done = true;
                    let kind = match e {
                        BodyAbort::Idle { .. } => io::ErrorKind::TimedOut,
                        _ => io::ErrorKind::InvalidData,
                    };
                    return Err(io::Error::new(kind, e));
                }
                None => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = self.cur.len().min(out.len());
        out[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

/// Limits of the pump.
#[derive(Clone, Copy, Debug)]
pub struct PumpLimits {
    pub max_bytes: u64,
    pub idle: Duration,
    /// How much more is read and discarded after the reader went away.
    pub drain_bytes: u64,
}

/// Start pumping `body`; await the returned handle before answering (it finishes draining).
pub fn start(body: Body, limits: PumpLimits) -> (BodyReader, tokio::task::JoinHandle<u64>) {
    let (tx, rx) = mpsc::channel::<Chunk>(8);
    let task = tokio::spawn(pump(body, tx, limits));
    (
        BodyReader {
            rx,
            cur: Bytes::new(),
            done: false,
        },
        task,
    )
}

async fn pump(mut body: Body, tx: mpsc::Sender<Chunk>, l: PumpLimits) -> u64 {
    let mut total: u64 = 0;
    let mut draining = false;
    let mut drained: u64 = 0;
    loop {
        let frame = match tokio::time::timeout(l.idle, body.frame()).await {
            Err(_) => {
                let _ = tx
                    .send(Err(BodyAbort::Idle {
                        ms: l.idle.as_millis() as u64,
                    }))
                    .await;
                return total;
            }
            Ok(None) => return total,
            Ok(Some(Err(e))) => {
                let _ = tx.send(Err(BodyAbort::Broken(e.to_string()))).await;
                return total;
            }
            Ok(Some(Ok(f))) => f,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len() as u64;
        if draining {
            drained += data.len() as u64;
            if drained > l.drain_bytes {
                return total;
            }
            continue;
        }
        if total > l.max_bytes {
            let _ = tx
                .send(Err(BodyAbort::TooLarge { limit: l.max_bytes }))
                .await;
            draining = true;
            continue;
        }
        if tx.send(Ok(data)).await.is_err() {
            draining = true;
        }
    }
}
