//! The facts stage: `agent`, `http` and, on an `aws_api` endpoint, `aws`,
//! parsed once from the request's head and what was read of its body. A
//! request whose parts contradict each other is refused here, before any
//! rule runs.

use bytes::Bytes;
use http::request::Parts;

use super::GateError;
use super::context::Context;
use super::rules::Route;
use crate::facet::aws::{self, AwsRequest, MAX_PARAMS_BODY};
use crate::facet::{AgentFacts, Facts, HttpFacts};
use crate::ids::AgentName;
use crate::policy::Denial;

/// The facts of the request `parts` (its body `read`, if read whole) from
/// `agent` to `host` (as routed), an endpoint of `route`.
pub(super) fn facts(
    (route, host): (&Route, &str),
    context: &Context,
    agent: &AgentName,
    parts: &Parts,
    read: Option<&Bytes>,
) -> Result<Facts, GateError> {
    let aws = match &route.aws {
        Some(aws_route) => {
            let request = AwsRequest {
                method: parts.method.as_str(),
                host,
                path: parts.uri.path(),
                query: parts.uri.query(),
                headers: &parts.headers,
                body: read.filter(|b| b.len() <= MAX_PARAMS_BODY).map(|b| b.as_ref()),
            };
            let facts = aws::extract_with_host(&request, context.aws_host.as_ref(), &aws_route.api)
                .map_err(|refused| GateError::Denied(Denial::Refused(refused)))?;
            Some(facts)
        }
        None => None,
    };
    Ok(Facts {
        agent: AgentFacts { name: agent.clone() },
        http: HttpFacts::from_parts(parts, host),
        aws,
    })
}
