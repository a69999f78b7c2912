//! The route stage: which endpoint claims the host. A CONNECT to a claimed
//! host is intercepted; one to an unclaimed host is tunnelled or refused,
//! as `unknown_host` says; so is a plain-HTTP request to an unclaimed host.

use http::uri::Scheme;
use http::{Request, Response, StatusCode};

use super::context::{Context, Ruling};
use super::{Gate, GateError, Opened, Rules, Tunnel};
use crate::config::UnknownHost;
use crate::ids::AgentName;
use crate::net::{Body, Target, UpstreamError, body};

/// A CONNECT: intercept the hosts an endpoint claims; tunnel or deny the rest.
pub(super) async fn connect(
    gate: &Gate,
    rules: &Rules,
    context: &mut Context,
    agent: AgentName,
    authority: &str,
) -> Result<(Response<Body>, Option<Opened>), GateError> {
    let target = Target::parse(authority, 443)?;
    let opened = match (rules.route(target.host()), gate.shared.unknown_host) {
        (Some(_), _) => {
            tracing::debug!(%agent, %target, "intercepting");
            Opened::Intercept(Tunnel::new(target, agent))
        }
        (None, UnknownHost::Tunnel) => {
            gate.shared.audit.admit()?;
            context.ruling = Ruling::Tunnel;
            let upstream = gate
                .shared
                .dialer
                .dial(target.host(), target.port())
                .await
                .map_err(UpstreamError::Dial)?;
            tracing::debug!(%agent, %target, "tunnelling without interception");
            Opened::Relay(upstream)
        }
        (None, UnknownHost::Deny) => return Err(GateError::UnknownHost(target.host().to_string())),
    };
    let mut response = Response::new(body::empty());
    *response.status_mut() = StatusCode::OK;
    Ok((response, Some(opened)))
}

/// The target of an absolute-form `http://host/path` request on the listener.
pub(super) fn plain_target<B>(request: &Request<B>) -> Result<Target, GateError> {
    let uri = request.uri();
    match (uri.scheme(), uri.authority()) {
        (Some(scheme), Some(authority)) if *scheme == Scheme::HTTP => Ok(Target::parse(authority.as_str(), 80)?),
        (Some(_), Some(_)) => Err(GateError::NotProxied("send https:// requests through a CONNECT tunnel")),
        _ => Err(GateError::NotProxied(
            "clawgate is a forward proxy: send `CONNECT host:port` or an absolute `http://` URL",
        )),
    }
}

/// A request to a host no endpoint claims: plain HTTP with unclaimed hosts
/// tunnelled is forwarded unchanged, as a tunnel would be; the rest is refused.
pub(super) async fn unclaimed(
    gate: &Gate,
    context: &mut Context,
    scheme: Scheme,
    target: &Target,
    request: Request<Body>,
) -> Result<Response<Body>, GateError> {
    if scheme == Scheme::HTTP && gate.shared.unknown_host == UnknownHost::Tunnel {
        context.ruling = Ruling::Tunnel;
        let response = gate.shared.upstream.send(scheme, target, request).await?;
        return Ok(response.map(body::boxed));
    }
    Err(GateError::UnknownHost(target.host().to_string()))
}
