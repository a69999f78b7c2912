//! How clawgate itself calls out (STS, Telegram's Bot API): through the
//! pooled upstream client, so `resolve`, `upstream_ca` and the
//! forbidden-address checks apply to its own calls too; fakes in tests.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::UpstreamError;

/// Why one of clawgate's own calls got no answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The URL or headers do not make a request (the URL is not repeated:
    /// it may hold a secret, as Telegram's Bot API URLs do).
    #[error("cannot make the request: {0}")]
    Request(http::Error),
    /// The call failed on the way.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The answer broke off or was too large.
    #[error("the answer could not be read: {0}")]
    Answer(String),
}

/// What a [`Transport`] returns: the status and the body, or why there is none.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Result<(StatusCode, Bytes), TransportError>> + Send + 'a>>;

/// Sends clawgate's own requests.
pub trait Transport: Send + Sync {
    /// Sends a POST to `url` and returns the status and the (bounded) body.
    fn post<'a>(&'a self, url: String, headers: HeaderMap, body: Bytes) -> Answer<'a>;
}
