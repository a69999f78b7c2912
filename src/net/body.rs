//! The body type every response and forwarded request uses.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use pin_project_lite::pin_project;

use super::budget::{Budget, OverBudget, Reservation};

/// Errors a body may fail with while streaming.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// A streaming body of any origin: the agent's, the upstream's, or clawgate's own.
pub type Body = UnsyncBoxBody<Bytes, BodyError>;

/// A body holding `text`.
pub fn full(text: impl Into<Bytes>) -> Body {
    Full::new(text.into()).map_err(|never| match never {}).boxed_unsync()
}

/// A body with nothing in it.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// Boxes any body whose errors can be boxed.
pub fn boxed<B>(body: B) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BodyError>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// The first bytes of a body, read before deciding, and the body to forward,
/// which replays them and streams the rest.
pub struct Prefix {
    /// What was read: all of the body when `complete`.
    pub bytes: Bytes,
    /// Whether `bytes` is the whole body.
    pub complete: bool,
    /// The whole body again, for forwarding.
    pub body: Body,
    /// What `bytes` draw from the memory budget, until dropped.
    pub reserved: Reservation,
}

/// Why a body could not be read before deciding.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The body broke off.
    #[error("the request body could not be read: {0}")]
    Body(BodyError),
    /// Holding it would take clawgate over its memory budget.
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
}

/// Reads up to `limit` bytes of `body` (more only within the frame that
/// crosses the limit), drawing what it holds from `budget` for `who`; the
/// rest stays unread until forwarded.
pub async fn read_prefix<B>(mut body: B, limit: usize, (budget, who): (&Budget, &str)) -> Result<Prefix, ReadError>
where
    B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BodyError>,
{
    let mut reserved = Reservation::default();
    // A body of known length is held in one allocation of that length.
    let expected = body.size_hint().exact().and_then(|n| usize::try_from(n).ok());
    let capacity = expected.filter(|n| *n <= limit).unwrap_or(0);
    budget.reserve(&mut reserved, who, capacity)?;
    let mut buffered = BytesMut::with_capacity(capacity);
    let mut trailers = None;
    let mut ended = false;
    while buffered.len() <= limit {
        match body.frame().await {
            None => {
                ended = true;
                break;
            }
            Some(frame) => match frame.map_err(|e| ReadError::Body(e.into()))?.into_data() {
                Ok(data) => {
                    budget.reserve(&mut reserved, who, buffered.len() + data.len())?;
                    buffered.extend_from_slice(&data);
                }
                Err(frame) => {
                    trailers = frame.into_trailers().ok();
                    ended = true;
                    break;
                }
            },
        }
    }
    let bytes = buffered.freeze();
    let complete = ended && bytes.len() <= limit;
    let rest = if ended { None } else { Some(body) };
    Ok(Prefix {
        body: Replay {
            head: Some(bytes.clone()).filter(|b| !b.is_empty()),
            trailers,
            rest,
        }
        .boxed_unsync(),
        bytes,
        complete,
        reserved,
    })
}

pin_project! {
    /// Bytes already read, then the trailers read or the unread rest.
    struct Replay<B> {
        head: Option<Bytes>,
        trailers: Option<HeaderMap>,
        #[pin]
        rest: Option<B>,
    }
}

impl<B> HttpBody for Replay<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BodyError>,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.project();
        if let Some(head) = this.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if let Some(trailers) = this.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        match this.rest.as_pin_mut() {
            Some(rest) => rest.poll_frame(cx).map_err(Into::into),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.trailers.is_none() && self.rest.as_ref().is_none_or(|r| r.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let head = self.head.as_ref().map_or(0, |h| h.len() as u64);
        let rest = self
            .rest
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |r| r.size_hint());
        let mut hint = SizeHint::new();
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + head);
        }
        hint.set_lower(rest.lower() + head);
        hint
    }
}
