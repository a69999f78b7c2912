//! How clawgate itself calls out (STS, Telegram's Bot API): through the
//! proxy's pooled upstream client, so `resolve`, `upstream_ca` and the
//! forbidden-address checks apply to its own calls too; fakes in tests.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

/// What a [`Transport`] returns: the status and the body, or why there is none.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Result<(StatusCode, Bytes), String>> + Send + 'a>>;

/// Sends clawgate's own requests.
pub trait Transport: Send + Sync {
    /// Sends a POST to `url` and returns the status and the (bounded) body.
    fn post<'a>(&'a self, url: String, headers: HeaderMap, body: Bytes) -> Answer<'a>;
}
