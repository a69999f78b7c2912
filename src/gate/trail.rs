//! Exactly one record per request: the agent's body is counted as it is
//! read, and the response body carries the request's context until its last
//! byte is sent (or the agent goes away), then the record is built and
//! handed to the audit log.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use pin_project_lite::pin_project;

use super::context::Context as RequestContext;
use super::record::{self, Ending, Finish, Refusal};
use super::respond::ErrorFormat;
use crate::audit::Audit;
use crate::config::BODY_GRACE;
use crate::net::body::{self, Body, BodyError};
use crate::net::pace::Paced;

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

/// A request's context while it is decided and forwarded, and the promise
/// of its record: if the request is dropped before its response is made
/// (the agent went away mid-hold, say), the record is written as such;
/// otherwise the response body carries the trail and writes it when done.
pub struct Trail {
    /// What the stages found so far.
    pub context: RequestContext,
    status: u16,
    refusal: Option<Refusal>,
    bytes_in: Arc<AtomicU64>,
    audit: Arc<Audit>,
    written: bool,
}

impl Trail {
    /// The trail of a request that has just arrived.
    pub fn begin(context: RequestContext, audit: Arc<Audit>) -> Trail {
        Trail {
            context,
            status: 0,
            refusal: None,
            bytes_in: Arc::default(),
            audit,
            written: false,
        }
    }

    /// `request`, with its body counted for the record and paced at
    /// `min_rate` bytes per second (see [`Paced`]), unless it is an event stream.
    pub fn counted(&self, request: http::Request<hyper::body::Incoming>, min_rate: u64) -> http::Request<Body> {
        let count = Arc::clone(&self.bytes_in);
        let fault = Arc::clone(&self.context.body_fault);
        // An AWS event stream over HTTP/2 (Transcribe, Bedrock's
        // bidirectional streams) may rightly sit idle while its answer
        // streams: it keeps no pace. Anywhere else the content type is only
        // the agent's word, and pace applies.
        let event_stream = request.version() == http::Version::HTTP_2
            && self.context.aws_host.is_some()
            && request
                .headers()
                .get(http::header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/vnd.amazon.eventstream"));
        let min_rate = if event_stream { 0 } else { min_rate };
        request.map(|incoming| body::boxed(Counted::new(Paced::new(incoming, min_rate, BODY_GRACE, fault), count)))
    }

    /// `response`, tagged with the request's id, its body carrying the
    /// record; `refusal` says why the gate refused or failed it, if it did.
    /// A HEAD response has no body to carry it, so its record is written now.
    pub fn respond(mut self, mut response: http::Response<Body>, refusal: Option<Refusal>) -> http::Response<Body> {
        if let Ok(id) = http::HeaderValue::from_str(&self.context.id) {
            response.headers_mut().insert("x-clawgate-request-id", id);
        }
        let (parts, body) = response.into_parts();
        let aws = self.context.format != ErrorFormat::Text && refusal.is_none();
        let error = aws && (parts.status.is_client_error() || parts.status.is_server_error());
        self.status = parts.status.as_u16();
        self.refusal = refusal;
        if self.context.method == http::Method::HEAD {
            let upstream_error = error.then(|| crate::aws::error_code(&parts.headers, b"")).flatten();
            self.write(Ending::Complete, 0, upstream_error);
            return http::Response::from_parts(parts, body);
        }
        let audited = Audited {
            inner: body,
            trail: self,
            headers: if error { parts.headers.clone() } else { HeaderMap::new() },
            error_prefix: error.then(BytesMut::new),
            bytes_out: 0,
        };
        http::Response::from_parts(parts, BodyExt::boxed_unsync(audited))
    }

    /// Drops the record unwritten: an intercepting CONNECT has none of its
    /// own (each request in the tunnel has one).
    pub fn discard(mut self) {
        self.written = true;
    }

    /// Builds the record and hands it to the audit log, once.
    fn write(&mut self, ending: Ending, bytes_out: u64, upstream_error: Option<String>) {
        if std::mem::replace(&mut self.written, true) {
            return;
        }
        let finish = Finish {
            status: self.status,
            refusal: self.refusal.take(),
            ending,
            upstream_error,
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out,
        };
        self.audit.record(record::build(&mut self.context, finish));
    }
}

impl Drop for Trail {
    fn drop(&mut self) {
        self.write(Ending::LeftEarly, 0, None);
    }
}

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
    fn finish(&mut self, ending: Ending) {
        let upstream_error = self
            .error_prefix
            .as_ref()
            .and_then(|prefix| crate::aws::error_code(&self.headers, prefix));
        self.trail.write(ending, self.bytes_out, upstream_error);
    }
}

impl Drop for Audited {
    fn drop(&mut self) {
        let ending = if self.inner.is_end_stream() {
            Ending::Complete
        } else {
            Ending::LeftDuring
        };
        self.finish(ending);
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
            Poll::Ready(None) => this.finish(Ending::Complete),
            Poll::Ready(Some(Err(e))) => this.finish(Ending::BrokeOff(e.to_string())),
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
