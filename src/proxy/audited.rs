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
use crate::audit::{Audit, Record, Verdict};

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

/// A request's record while it is decided and forwarded. If the request is
/// dropped before its response is made (the agent went away mid-hold, say),
/// the record is written as such; otherwise the response body carries it.
pub struct Trail {
    /// The record so far.
    pub record: Record,
    started: Instant,
    bytes_in: Arc<AtomicU64>,
    aws: bool,
    audit: Arc<Audit>,
    written: bool,
}

impl Trail {
    /// The record of a request that has just arrived; `aws` says whether
    /// its error responses carry AWS error codes.
    pub fn begin(record: Record, aws: bool, audit: Arc<Audit>) -> Trail {
        Trail {
            record,
            started: Instant::now(),
            bytes_in: Arc::default(),
            aws,
            audit,
            written: false,
        }
    }

    /// When the request arrived.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// `request`, with its body counted for the record.
    pub fn counted(&self, request: http::Request<hyper::body::Incoming>) -> http::Request<Body> {
        let count = Arc::clone(&self.bytes_in);
        request.map(|incoming| super::body::boxed(Counted::new(incoming, count)))
    }

    /// `response`, tagged with the request's id, its body carrying the record.
    pub fn respond(self, mut response: http::Response<Body>) -> http::Response<Body> {
        if let Ok(id) = http::HeaderValue::from_str(&self.record.id) {
            response.headers_mut().insert("x-clawgate-request-id", id);
        }
        let (parts, body) = response.into_parts();
        let error = self.aws && (parts.status.is_client_error() || parts.status.is_server_error());
        let mut trail = self;
        trail.record.status = parts.status.as_u16();
        let audited = Audited {
            inner: body,
            trail,
            headers: if error { parts.headers.clone() } else { HeaderMap::new() },
            error_prefix: error.then(BytesMut::new),
            bytes_out: 0,
        };
        http::Response::from_parts(parts, http_body_util::BodyExt::boxed_unsync(audited))
    }

    /// Drops the record unwritten: an intercepting CONNECT has none of its
    /// own (each request in the tunnel has one).
    pub fn discard(mut self) {
        self.written = true;
    }

    /// Writes the record, once.
    fn write(&mut self, bytes_out: u64, aws_error: Option<String>) {
        if std::mem::replace(&mut self.written, true) {
            return;
        }
        let mut record = std::mem::take(&mut self.record);
        record.bytes_in = self.bytes_in.load(Ordering::Relaxed);
        record.bytes_out = bytes_out;
        record.duration_ms = crate::audit::millis(self.started.elapsed());
        record.aws_error = record.aws_error.or(aws_error);
        self.audit.record(record);
    }
}

impl Drop for Trail {
    fn drop(&mut self) {
        if !self.written {
            let record = &mut self.record;
            record.error = Some(AGENT_LEFT.to_string());
            record.status = CLIENT_CLOSED;
            if record.decision.is_none() {
                record.decision = Some(Verdict::Deny);
                record.reason = Some("the agent went away before it was decided".to_string());
            }
            self.write(0, None);
        }
    }
}

/// What a record says of a request whose agent left before the end.
const AGENT_LEFT: &str = "the agent went away before the response was complete";
/// The status recorded for it (nginx's "client closed request").
const CLIENT_CLOSED: u16 = 499;

/// The response body the agent receives; counts what it sends, and writes
/// the record when done (or when the agent goes away first).
pub struct Audited {
    inner: Body,
    trail: Trail,
    headers: HeaderMap,
    error_prefix: Option<BytesMut>,
    bytes_out: u64,
}

impl Audited {
    /// Hands the record to the audit log, once.
    fn finish(&mut self) {
        let aws_error = self
            .error_prefix
            .as_ref()
            .and_then(|prefix| crate::aws::error_code(&self.headers, prefix));
        self.trail.write(self.bytes_out, aws_error);
    }
}

impl Drop for Audited {
    fn drop(&mut self) {
        if !self.trail.written && !self.inner.is_end_stream() {
            self.trail.record.error = Some(AGENT_LEFT.to_string());
        }
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
                if !this.trail.written {
                    this.trail.record.error = Some(format!("the response broke off: {e}"));
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
