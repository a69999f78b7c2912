//! Why clawgate refused or failed a request, and the ONE place such errors
//! become responses to the agent.

use http::header::{CONTENT_TYPE, HeaderValue, PROXY_AUTHENTICATE};
use http::{Response, StatusCode};
use hyper::ext::ReasonPhrase;

use super::body::{self, Body};
use super::dial::DialError;
use crate::policy::{Denial, Hold};

/// Everything that stops a request between the agent and the upstream. Each
/// variant says which side is at fault in its status: 4xx the agent, 502/504
/// the upstream, 500/503 clawgate itself.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The agent sent no or wrong credentials.
    #[error("proxy authentication required: {0}")]
    ProxyAuth(&'static str),
    /// No agent is configured and the client is not on this machine.
    #[error("no agents are configured, so only clients on this machine may connect")]
    LoopbackOnly,
    /// The request is malformed for a proxy.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request's `Host` disagrees with the host the tunnel was opened to.
    #[error("the request is for `{host}` but the tunnel was opened to `{target}`; they must be the same")]
    HostMismatch {
        /// What the request named.
        host: String,
        /// What the CONNECT named.
        target: String,
    },
    /// No endpoint claims the host and unclaimed hosts are denied.
    #[error(
        "host `{0}` is not claimed by any endpoint, and gateway.unknown_host = \"deny\"; \
         add it to an endpoint's `hosts` to use it"
    )]
    UnknownHost(String),
    /// The upstream could not be dialled, or dialling was refused.
    #[error("cannot reach the upstream: {0}")]
    Dial(#[from] DialError),
    /// The upstream failed after the connection was made.
    #[error("the upstream `{target}` failed: {reason}")]
    Upstream {
        /// The upstream host and port.
        target: String,
        /// What went wrong.
        reason: String,
    },
    /// The rules deny the request.
    #[error("{0}")]
    Denied(Denial),
    /// A rule holds the request for approval, which this build cannot collect.
    #[error(
        "rule '{}' holds this request for approval by {}, but approvals cannot be collected yet, so it is denied",
        .0.rule, .0.approvers.join(", ")
    )]
    ApprovalUnavailable(Hold),
    /// Too many connections are open.
    #[error("too many connections ({0}); try again shortly")]
    Busy(usize),
}

impl ProxyError {
    /// The HTTP status the agent receives.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::ProxyAuth(_) => StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            ProxyError::LoopbackOnly
            | ProxyError::UnknownHost(_)
            | ProxyError::Denied(_)
            | ProxyError::ApprovalUnavailable(_) => StatusCode::FORBIDDEN,
            ProxyError::BadRequest(_) | ProxyError::HostMismatch { .. } => StatusCode::BAD_REQUEST,
            ProxyError::Dial(DialError::Forbidden { .. }) => StatusCode::FORBIDDEN,
            ProxyError::Dial(DialError::Timeout { .. }) => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::Dial(_) | ProxyError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The response the agent receives: the status, a reason phrase that
    /// carries the message (clients print it for a failed CONNECT), and the
    /// message as a plain-text body.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        let message = format!("clawgate: {self}");
        let mut response = Response::new(body::full(format!("{message}\n")));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            headers.insert(PROXY_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"clawgate\""));
        }
        let phrase = format!("{} ({message})", status.canonical_reason().unwrap_or("Error"));
        let printable: String = phrase
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
            .collect();
        if let Ok(reason) = ReasonPhrase::try_from(printable.into_bytes()) {
            response.extensions_mut().insert(reason);
        }
        response
    }
}
