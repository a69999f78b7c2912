//! The re-sign stage: on an `aws_api` endpoint the agent's placeholder
//! signature is replaced by one made with credentials for the target
//! account, and the request goes to AWS over TLS even if the agent spoke
//! plain HTTP. Other endpoints' requests pass unchanged.

use bytes::Bytes;
use http::Response;
use http::request::Parts;
use http::uri::Scheme;

use super::GateError;
use super::rules::Route;
use crate::aws::resign::{Resign, Resigner};
use crate::aws::screen::Screen;
use crate::facet::Facts;
use crate::net::{Body, Target, body};

/// Where the request goes and the body to send: re-signed for AWS, with the
/// screen its response must pass when credentials were used.
pub(super) async fn resign(
    resigner: &Resigner,
    route: &Route,
    facts: &Facts,
    parts: &mut Parts,
    (scheme, target): (Scheme, &Target),
    read: Option<Bytes>,
    body: Body,
) -> Result<((Scheme, Target), Body, Option<Screen>), GateError> {
    let (Some(aws_route), Some(aws)) = (&route.aws, &facts.aws) else {
        return Ok(((scheme, target.clone()), body, None));
    };
    // A body read whole was hashed as these bytes: forward them, not a stream.
    let body = match &read {
        Some(bytes) => body::full(bytes.clone()),
        None => body,
    };
    let job = Resign {
        api: &aws_route.api,
        credential: aws_route.credential.as_ref(),
        agent: &facts.agent.name,
        signature: &aws.signature,
        account: aws.account,
        region: aws.signing_region.as_ref(),
        service: aws.signing_name.as_deref(),
        s3: aws.endpoint_prefix.as_deref() == Some("s3"),
        authority: target.authority(443),
        read: read.as_ref(),
    };
    let (body, screen) = resigner.resign(job, parts, body).await?;
    // Requests signed with real credentials go to AWS over TLS only.
    let upstream = if scheme == Scheme::HTTP {
        (Scheme::HTTPS, target.with_port(443))
    } else {
        (scheme, target.clone())
    };
    Ok((upstream, body, screen))
}

/// `response`, without the headers and trailers that carry the credentials
/// its request was signed with.
pub(super) fn screened(response: Response<Body>, screen: Option<Screen>) -> Response<Body> {
    let Some(screen) = screen else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    screen.headers(&mut parts.headers);
    Response::from_parts(parts, screen.body(body))
}
