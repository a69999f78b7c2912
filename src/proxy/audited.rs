//! Byte counting for the audit record: the agent's body is counted as it is
//! read, and the response body carries the record until its last byte is
//! sent (or the agent goes away), then hands it to the audit log.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body as HttpBody, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::body::{Body, BodyError};
use crate::audit::{Audit, Record};

/// How much of an error response is kept to find its AWS error code.
const ERROR_PREFIX: usize = 4096;

pin_project! {
    /// A body that adds the length of each data frame to a shared count.
    pub struct Counted<B> {
        #[pin]
        inner: B,
        count: Arc<AtomicU64>,
    }
}

impl<B> Counted<B> {
    /// `inner`, counted into `count`.
    pub fn new(inner: B, count: Arc<AtomicU64>) -> Counted<B> {
        Counted { inner, count }
    }
}

impl<B: HttpBody<Data = Bytes>> HttpBody for Counted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            this.count.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request's record on its way to the audit log, finished when the
/// response has been sent.
pub struct Pending {
    /// The record so far.
    pub record: Record,
    /// When the request arrived.
    pub started: Instant,
    /// Body bytes read from the agent so far.
    pub bytes_in: Arc<AtomicU64>,
    /// Whether an error response is in an AWS shape (so has an error code).
    pub aws: bool,
    /// Where it goes.
    pub audit: Arc<Audit>,
}

/// The response body the agent receives; counts what it sends, and writes
/// the record when done (or when the agent goes away first).
pub struct Audited {
    inner: Body,
    pending: Option<Pending>,
    headers: HeaderMap,
    error_prefix: Option<BytesMut>,
    bytes_out: u64,
}

impl Audited {
    /// Wraps a response's body: `status` and `headers` are the response's.
    pub fn new(inner: Body, status: http::StatusCode, headers: &HeaderMap, mut pending: Pending) -> Audited {
        pending.record.status = status.as_u16();
        let error = pending.aws && (status.is_client_error() || status.is_server_error());
        Audited {
            inner,
            pending: Some(pending),
            headers: if error { headers.clone() } else { HeaderMap::new() },
            error_prefix: error.then(BytesMut::new),
            bytes_out: 0,
        }
    }

    /// Hands the record to the audit log, once.
    fn finish(&mut self) {
        let Some(mut pending) = self.pending.take() else {
            return;
        };
        let record = &mut pending.record;
        record.bytes_in = pending.bytes_in.load(Ordering::Relaxed);
        record.bytes_out = self.bytes_out;
        record.duration_ms = u64::try_from(pending.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Some(prefix) = &self.error_prefix {
            record.aws_error = crate::aws::error_code(&self.headers, prefix);
        }
        pending.audit.record(pending.record);
    }
}

impl Drop for Audited {
    fn drop(&mut self) {
        self.finish();
    }
}

impl HttpBody for Audited {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes_out += data.len() as u64;
                    if let Some(prefix) = this.error_prefix.as_mut() {
                        let room = ERROR_PREFIX.saturating_sub(prefix.len());
                        prefix.extend_from_slice(&data[..data.len().min(room)]);
                    }
                }
            }
            Poll::Ready(None) => this.finish(),
            Poll::Ready(Some(Err(e))) => {
                if let Some(pending) = this.pending.as_mut() {
                    pending.record.error = Some(format!("the response broke off: {e}"));
                }
                this.finish();
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
