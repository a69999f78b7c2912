//! The body type every response and forwarded request uses.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};

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
