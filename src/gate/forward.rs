//! The forward stage: the request goes upstream over a pooled connection,
//! and the upstream's response streams back.

use std::time::Instant;

use http::uri::Scheme;
use http::{Request, Response};

use super::GateError;
use super::context::Context;
use crate::net::{Body, Target, Upstream, body};

/// Sends `request` to `scheme://target` and returns the upstream's response.
pub(super) async fn forward(
    upstream: &Upstream,
    context: &mut Context,
    (scheme, target): (Scheme, Target),
    request: Request<Body>,
) -> Result<Response<Body>, GateError> {
    let sent = Instant::now();
    let response = upstream.send(scheme, &target, request).await?;
    context.upstream = Some(sent.elapsed());
    Ok(response.map(body::boxed))
}
