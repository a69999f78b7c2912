//! One request, from the agent's bytes to the upstream's answer: check the
//! target, build the facts (reading the body first where the facts are in
//! it), decide, forward.

use http::uri::Scheme;
use http::{Request, Response};
use hyper::body::Incoming;

use super::activity::Guarded;
use super::body::{self, Body};
use super::listener::Client;
use super::{ProxyError, Target};
use crate::config::{AgentName, AwsApi, EndpointKind, UnknownHost};
use crate::facet::aws::{self as aws_facet, AwsRequest, MAX_PARAMS_BODY};
use crate::facet::{AgentFacts, AwsFacts, Facts, HttpFacts};
use crate::policy::{Decision, Denial, Policy};

/// Decides on `request` for `target` and, if allowed, forwards it.
pub(super) async fn exchange(
    client: &Client,
    agent: &AgentName,
    scheme: Scheme,
    target: &Target,
    request: Request<Incoming>,
) -> Result<Response<Body>, ProxyError> {
    let default_port = if scheme == Scheme::HTTP { 80 } else { 443 };
    target.check_request(&request, default_port)?;
    let guard = client.activity.begin();
    let proxy = &client.proxy;
    // The rules in force when the request arrived decide it, even if a
    // reload lands while its body is read.
    let current = proxy.current.load_full();
    let policy = &current.policy;
    let (parts, incoming) = request.into_parts();
    let body = match policy.config().route(target.host()) {
        Some(endpoint) => {
            let (aws, body) = match policy.config().endpoint(endpoint).map(|e| &e.kind) {
                Some(EndpointKind::AwsApi(api)) => aws_facts(policy, api, &parts, target, incoming).await?,
                _ => (Ok(None), body::boxed(incoming)),
            };
            let decision = match aws {
                Ok(aws) => {
                    let facts = Facts {
                        agent: AgentFacts { name: agent.clone() },
                        http: HttpFacts::from_parts(&parts, target.host()),
                        aws,
                    };
                    policy.decide(endpoint, &facts)
                }
                Err(refused) => Decision::Deny(Denial::Invalid(refused.to_string())),
            };
            match decision {
                Decision::Allow(allowed) => tracing::debug!(%agent, rule = allowed.rule, "allowed"),
                Decision::Deny(denial) => return Err(ProxyError::Denied(denial)),
                Decision::Hold(hold) => return Err(ProxyError::ApprovalUnavailable(hold)),
            }
            body
        }
        // Plain HTTP to an unclaimed host, with unclaimed hosts tunnelled:
        // forwarded unchanged, as a tunnel would.
        None if scheme == Scheme::HTTP && proxy.gateway.unknown_host == UnknownHost::Tunnel => body::boxed(incoming),
        None => return Err(ProxyError::UnknownHost(target.host().to_string())),
    };
    drop(current);
    let response = proxy
        .upstream
        .send(scheme, target, Request::from_parts(parts, body))
        .await?;
    Ok(response.map(|b| body::boxed(Guarded::new(b, guard))))
}

/// The `aws` facts of a request to an `aws_api` endpoint, reading up to
/// 1 MiB of its body first when the facts are in it; and the body to forward.
async fn aws_facts(
    policy: &Policy,
    api: &AwsApi,
    parts: &http::request::Parts,
    target: &Target,
    incoming: Incoming,
) -> Result<(Result<Option<AwsFacts>, aws_facet::AwsFacetError>, Body), ProxyError> {
    let method = parts.method.as_str();
    let (read, body) = if aws_facet::needs_body(target.host(), &parts.headers, method, policy.reads_params()) {
        let prefix = body::read_prefix(incoming, MAX_PARAMS_BODY)
            .await
            .map_err(|e| ProxyError::BadRequest(format!("the request body could not be read: {e}")))?;
        (prefix.complete.then_some(prefix.bytes), prefix.body)
    } else {
        (None, body::boxed(incoming))
    };
    let request = AwsRequest {
        method,
        host: target.host(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: read.as_deref(),
    };
    Ok((aws_facet::extract(&request, api).map(Some), body))
}
