//! One request, from the agent's bytes to the upstream's answer: check the
//! target, build the facts, decide, forward.

use http::uri::Scheme;
use http::{Request, Response};
use hyper::body::Incoming;

use super::activity::Guarded;
use super::body::{self, Body};
use super::listener::Client;
use super::{ProxyError, Target};
use crate::config::{AgentName, UnknownHost};
use crate::facet::{AgentFacts, Facts, HttpFacts};
use crate::policy::Decision;

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
    {
        let current = proxy.current.load();
        let policy = &current.policy;
        match policy.config().route(target.host()) {
            Some(endpoint) => {
                let facts = Facts {
                    agent: AgentFacts { name: agent.clone() },
                    http: HttpFacts::from_request(&request, target.host()),
                    aws: None,
                };
                match policy.decide(endpoint, &facts) {
                    Decision::Allow(allowed) => tracing::debug!(%agent, rule = allowed.rule, "allowed"),
                    Decision::Deny(denial) => return Err(ProxyError::Denied(denial)),
                    Decision::Hold(hold) => return Err(ProxyError::ApprovalUnavailable(hold)),
                }
            }
            // Plain HTTP to an unclaimed host, with unclaimed hosts tunnelled:
            // forwarded unchanged, as a tunnel would.
            None if scheme == Scheme::HTTP && proxy.gateway.unknown_host == UnknownHost::Tunnel => {}
            None => return Err(ProxyError::UnknownHost(target.host().to_string())),
        }
    }
    let response = proxy.upstream.send(scheme, target, request).await?;
    Ok(response.map(|b| body::boxed(Guarded::new(b, guard))))
}
