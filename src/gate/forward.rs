//! The forward stage: the request goes upstream over a pooled connection,
//! and the upstream's response streams back.

use std::time::Instant;

use http::uri::Scheme;
use http::{Request, Response};

use super::GateError;
use super::context::Context;
use crate::net::{Body, Target, Upstream, UpstreamError, body};

/// Sends `request` to `scheme://target` and returns the upstream's response.
pub(super) async fn forward(
    upstream: &Upstream,
    context: &mut Context,
    (scheme, target): (Scheme, Target),
    request: Request<Body>,
) -> Result<Response<Body>, GateError> {
    let sent = Instant::now();
    let response = match upstream.send(scheme, &target, request).await {
        Ok(response) => response,
        // The agent's body failed, whatever the upstream made of that.
        Err(_) if let Some(fault) = context.body_fault.get() => {
            return Err(GateError::Upstream(UpstreamError::AgentBody(fault.clone())));
        }
        Err(e) => return Err(e.into()),
    };
    context.upstream = Some(sent.elapsed());
    Ok(response.map(body::boxed))
}
