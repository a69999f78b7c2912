//! Connection lifetimes: when bytes last moved, which requests are in flight,
//! and closing connections gracefully when idle or at shutdown.

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::CancellationToken;

/// The activity of one client connection, shared by everything serving it.
#[derive(Debug)]
pub struct Activity {
    start: Instant,
    last_millis: AtomicU64,
    in_flight: AtomicUsize,
    /// Whether bytes moving count as use, or only requests beginning and ending.
    bytes_count: AtomicBool,
}

impl Activity {
    /// A connection that has just been accepted.
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            start: Instant::now(),
            last_millis: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            bytes_count: AtomicBool::new(true),
        })
    }

    /// From now on only requests count as use, not bytes moving: for a
    /// connection whose requests clawgate sees (an intercepted tunnel).
    pub fn count_requests_only(&self) {
        self.bytes_count.store(false, Ordering::Relaxed);
    }

    /// Bytes moved on the connection.
    fn moved(&self) {
        if self.bytes_count.load(Ordering::Relaxed) {
            self.touch();
        }
    }

    /// Marks a request in flight until the returned guard is dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis.store(now, Ordering::Relaxed);
    }

    /// Completes once no request has been in flight and no byte has moved for `after`.
    pub async fn idle(&self, after: Duration) {
        loop {
            let last = Duration::from_millis(self.last_millis.load(Ordering::Relaxed));
            let quiet = self.start.elapsed().saturating_sub(last);
            if self.in_flight.load(Ordering::Relaxed) == 0 && quiet >= after {
                return;
            }
            tokio::time::sleep(after.saturating_sub(quiet).max(Duration::from_millis(100))).await;
        }
    }
}

/// A request in flight on a connection; dropping it ends the request.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs `conn` to completion, asking it (through `close`) to finish its
/// in-flight requests and close once the connection is idle or the gateway
/// shuts down.
pub async fn drive<C, E>(
    conn: C,
    close: impl FnOnce(Pin<&mut C>),
    activity: &Activity,
    idle_timeout: Duration,
    shutdown: &CancellationToken,
) -> Result<(), E>
where
    C: Future<Output = Result<(), E>>,
{
    let mut conn = pin!(conn);
    tokio::select! {
        done = conn.as_mut() => return done,
        () = activity.idle(idle_timeout) => tracing::debug!("closing an idle connection"),
        () = shutdown.cancelled() => {}
    }
    close(conn.as_mut());
    // An HTTP/2 client may keep a connection open after GOAWAY while it has
    // nothing in flight; once nothing moves for a moment, drop it.
    tokio::select! {
        done = conn.as_mut() => done,
        () = activity.idle(SETTLE) => {
            tracing::debug!("closed a connection with nothing in flight");
            Ok(())
        }
    }
}

/// How long a closing connection with nothing in flight may take to close itself.
const SETTLE: Duration = Duration::from_millis(500);

pin_project! {
    /// A client's byte stream that records when bytes move.
    pub struct Tracked<IO> {
        #[pin]
        inner: IO,
        activity: Arc<Activity>,
    }
}

impl<IO> Tracked<IO> {
    /// Wraps `inner`, recording into `activity`.
    pub fn new(inner: IO, activity: Arc<Activity>) -> Tracked<IO> {
        Tracked { inner, activity }
    }
}

impl<IO: AsyncRead> AsyncRead for Tracked<IO> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let result = this.inner.poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.moved();
        }
        result
    }
}

impl<IO: AsyncWrite> AsyncWrite for Tracked<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.project();
        let result = this.inner.poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.moved();
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let result = this.inner.poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.moved();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

pin_project! {
    /// A response body that keeps its request in flight until it is sent.
    pub struct Guarded<B> {
        #[pin]
        body: B,
        guard: InFlight,
    }
}

impl<B> Guarded<B> {
    /// Ties `guard` to `body`.
    pub fn new(body: B, guard: InFlight) -> Guarded<B> {
        Guarded { body, guard }
    }
}

impl<B: HttpBody<Data = Bytes>> HttpBody for Guarded<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
