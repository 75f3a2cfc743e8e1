//! Guarding request bodies, for every simulator at once: [`crate::kit_layer`] wraps each request body in a
//! `GuardedBody` before the handler runs, so however a handler reads its body (`body::read_limited`,
//! an axum extractor, a streaming parser), the body
//!
//! - must arrive within [`Limits::body_deadline`](crate::limits::Limits) of the headers and, after a grace
//!   period, at an average of at least `min_body_rate` bytes per second — else `408 Request Timeout`;
//! - counts against the simulator's budget of body bytes in flight (a semaphore of bytes, taken for the
//!   declared `Content-Length` at the first read and for every byte beyond it, held until the handler has
//!   answered, since the bytes live at least that long) — a request that does not fit is answered `503`
//!   with `Retry-After`, one larger than the whole budget `413`.
//!
//! The handler sees an ordinary body error (its `read_limited` reports the body as truncated); the layer
//! then replaces whatever the handler answered with the status above, `Connection: close` (the rest of
//! the body was never read) and a diagnosis in the journal.

use crate::limits::Limits;
use crate::{Diagnosis, clip};
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Why a request body was cut off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interrupt {
    /// The body was not complete within the deadline.
    Deadline { received: u64, secs: u64 },
    /// The body arrived slower than the minimum rate.
    TooSlow {
        received: u64,
        elapsed_ms: u64,
        rate: u64,
    },
    /// Not enough in-flight budget left for this body now.
    Busy { needed: u64, budget: u64 },
    /// The body is larger than the whole in-flight budget.
    OverBudget { needed: u64, budget: u64 },
}

impl Interrupt {
    pub fn status(&self) -> StatusCode {
        match self {
            Interrupt::Deadline { .. } | Interrupt::TooSlow { .. } => StatusCode::REQUEST_TIMEOUT,
            Interrupt::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Interrupt::OverBudget { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    pub fn diagnosis(&self) -> Diagnosis {
        let n = |v: &u64| clip::thousands(*v);
        match self {
            Interrupt::Deadline { received, secs } => Diagnosis::new(
                "http.body-deadline",
                format!("the request body was not complete {secs} s after the headers ({} bytes received)", n(received)),
            )
            .hint("send the whole request promptly (limits.body_deadline_secs)"),
            Interrupt::TooSlow { received, elapsed_ms, rate } => Diagnosis::new(
                "http.body-rate",
                format!(
                    "the request body arrived slower than {} bytes/s ({} bytes in {} ms)",
                    n(rate), n(received), n(elapsed_ms)
                ),
            )
            .hint("a client that stalls while sending holds a connection (limits.min_body_rate)"),
            Interrupt::Busy { needed, budget } => Diagnosis::new(
                "http.in-flight-limit",
                format!(
                    "{} more request-body bytes would exceed the {} bytes this simulator accepts in flight at once",
                    n(needed), n(budget)
                ),
            )
            .hint("retry after the time in Retry-After, or send fewer large requests in parallel (limits.max_body_bytes_in_flight)"),
            Interrupt::OverBudget { needed, budget } => Diagnosis::new(
                "http.in-flight-limit",
                format!(
                    "a request body of {} bytes is larger than the {} bytes this simulator accepts in flight at once",
                    n(needed), n(budget)
                ),
            ),
        }
    }

    /// The answer that replaces the handler's.
    pub fn response(&self, limits: &Limits) -> Response {
        let mut r = self.status().into_response();
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        if matches!(self, Interrupt::Busy { .. }) {
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(limits.retry_after_secs.max(1)),
            );
        }
        r
    }
}

/// Shared between the layer and the body: the permits held for the request and why it was cut off.
#[derive(Default)]
pub struct Slot {
    interrupt: Mutex<Option<Interrupt>>,
    permits: Mutex<Vec<OwnedSemaphorePermit>>,
}

impl Slot {
    fn set(&self, i: Interrupt) {
        let mut g = self
            .interrupt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.get_or_insert(i);
    }
    fn hold(&self, p: OwnedSemaphorePermit) {
        self.permits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(p);
    }
    /// Why the body was cut off, if it was.
    pub fn interrupt(&self) -> Option<Interrupt> {
        self.interrupt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Replace `body` by a guarded one; the returned slot must live until the handler has answered.
pub fn guard(
    body: Body,
    declared: Option<u64>,
    limits: &Limits,
    budget: Arc<Semaphore>,
) -> (Body, Arc<Slot>) {
    let slot = Arc::new(Slot::default());
    let start = Instant::now();
    let g = GuardedBody {
        inner: body,
        slot: slot.clone(),
        start,
        received: 0,
        reserved: 0,
        started: false,
        failed: false,
        declared,
        deadline: start + limits.body_deadline(),
        grace: limits.body_rate_grace(),
        rate: limits.min_body_rate,
        budget,
        max_in_flight: limits.max_body_bytes_in_flight,
        timer: Box::pin(tokio::time::sleep_until(start + limits.body_deadline())),
    };
    (Body::new(g), slot)
}

struct GuardedBody {
    inner: Body,
    slot: Arc<Slot>,
    start: Instant,
    received: u64,
    reserved: u64,
    started: bool,
    failed: bool,
    declared: Option<u64>,
    deadline: Instant,
    grace: Duration,
    rate: u64,
    budget: Arc<Semaphore>,
    max_in_flight: u64,
    timer: Pin<Box<Sleep>>,
}

impl GuardedBody {
    /// When the rate check next fails if no more bytes arrive.
    fn next_check(&self) -> Instant {
        if self.rate == 0 {
            return self.deadline;
        }
        let allowed = Duration::from_secs_f64(self.received as f64 / self.rate as f64);
        self.start
            .checked_add(self.grace + allowed)
            .map_or(self.deadline, |t| t.min(self.deadline))
    }

    /// Hold budget for `upto` bytes in all.
    fn reserve(&mut self, upto: u64) -> Result<(), Interrupt> {
        if upto <= self.reserved {
            return Ok(());
        }
        if upto > self.max_in_flight {
            return Err(Interrupt::OverBudget {
                needed: upto,
                budget: self.max_in_flight,
            });
        }
        let more = upto - self.reserved;
        let n = u32::try_from(more).unwrap_or(u32::MAX);
        match self.budget.clone().try_acquire_many_owned(n) {
            Ok(p) => {
                self.slot.hold(p);
                self.reserved = upto;
                Ok(())
            }
            Err(_) => Err(Interrupt::Busy {
                needed: more,
                budget: self.max_in_flight,
            }),
        }
    }

    fn expired(&self, now: Instant) -> Option<Interrupt> {
        if now >= self.deadline {
            return Some(Interrupt::Deadline {
                received: self.received,
                secs: (self.deadline - self.start).as_secs(),
            });
        }
        if self.rate > 0 && now >= self.next_check() {
            return Some(Interrupt::TooSlow {
                received: self.received,
                elapsed_ms: (now - self.start).as_millis() as u64,
                rate: self.rate,
            });
        }
        None
    }

    fn fail(&mut self, i: Interrupt) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let msg = i.diagnosis().message;
        self.slot.set(i);
        self.failed = true;
        Poll::Ready(Some(Err(msg.into())))
    }
}

impl HttpBody for GuardedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        if !this.started {
            this.started = true;
            if let Err(i) = this.reserve(this.declared.unwrap_or(0)) {
                return this.fail(i);
            }
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.received += d.len() as u64;
                    if let Err(i) = this.reserve(this.received) {
                        return this.fail(i);
                    }
                }
                if !this.inner.is_end_stream() {
                    if let Some(i) = this.expired(Instant::now()) {
                        return this.fail(i);
                    }
                    let next = this.next_check();
                    this.timer.as_mut().reset(next);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                if this.timer.as_mut().poll(cx).is_ready() {
                    if let Some(i) = this.expired(Instant::now()) {
                        return this.fail(i);
                    }
                    let next = this.next_check();
                    this.timer.as_mut().reset(next);
                    // Register the new deadline with the waker.
                    if this.timer.as_mut().poll(cx).is_ready() {
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn limits() -> Limits {
        Limits {
            max_body_bytes_in_flight: 100,
            ..Limits::default()
        }
    }

    #[tokio::test]
    async fn budget_is_held_until_the_slot_goes() {
        let sem = Arc::new(Semaphore::new(100));
        let (b, slot) = guard(Body::from("x".repeat(60)), Some(60), &limits(), sem.clone());
        assert_eq!(b.collect().await.unwrap().to_bytes().len(), 60);
        assert_eq!(sem.available_permits(), 40, "held after reading");
        let (b2, slot2) = guard(Body::from("y".repeat(50)), Some(50), &limits(), sem.clone());
        assert!(b2.collect().await.is_err());
        assert!(matches!(
            slot2.interrupt(),
            Some(Interrupt::Busy {
                needed: 50,
                budget: 100
            })
        ));
        drop(slot);
        assert_eq!(sem.available_permits(), 100);
        let (b3, slot3) = guard(Body::from("z".repeat(150)), None, &limits(), sem.clone());
        assert!(b3.collect().await.is_err());
        assert!(matches!(
            slot3.interrupt(),
            Some(Interrupt::OverBudget { .. })
        ));
        assert_eq!(
            slot3.interrupt().unwrap().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_times_out() {
        let sem = Arc::new(Semaphore::new(1000));
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(1);
        let inner = Body::new(http_body_util::StreamBody::new(tokio_stream_from(rx)));
        let l = Limits {
            min_body_rate: 100,
            body_rate_grace_secs: 1,
            ..Limits::default()
        };
        let (b, slot) = guard(inner, Some(500), &l, sem);
        tx.send(Ok(Frame::data(Bytes::from_static(b"ab"))))
            .await
            .unwrap();
        let t = Instant::now();
        let r = b.collect().await;
        assert!(r.is_err());
        assert!(
            matches!(
                slot.interrupt(),
                Some(Interrupt::TooSlow { received: 2, .. })
            ),
            "{:?}",
            slot.interrupt()
        );
        // grace 1 s + 2 bytes at 100 bytes/s
        assert_eq!(t.elapsed(), Duration::from_millis(1020));
        drop(tx);
    }

    fn tokio_stream_from<T: Send + 'static>(
        mut rx: tokio::sync::mpsc::Receiver<T>,
    ) -> impl futures_util::Stream<Item = T> + Send {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
