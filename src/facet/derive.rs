//! Facts from a request, the one way: the proxy and `policy explain` both
//! come here, so what a rule author is shown is what the proxy decides on.
//! A request's hop-by-hop headers go first ([`clean`]): rules never see a
//! header that will not reach the upstream.

use http::HeaderMap;
use http::header::{self, HeaderName};
use http::request::Parts;

use super::aws::{self, AwsFacetError, AwsRequest, HostFacts, MAX_PARAMS_BODY};
use super::{AgentFacts, Facts, HttpFacts};
use crate::config::AwsApi;
use crate::ids::AgentName;
use crate::net::hop;
use crate::net::query::parse_query;

/// A `Connection` header that names a header the request's meaning or
/// signature depends on: dropping it on the way would let a rule decide on
/// a request the upstream never sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the Connection header names `{0}`, which clawgate would then have to drop although the request depends on it; \
     remove it from Connection"
)]
pub struct HopError(pub String);

/// Removes the hop-by-hop headers of a request before anything reads it;
/// refuses it if `Connection` names `host`, `authorization`, a `content-*`
/// or `x-amz-*` header, or one the agent's signature covers.
pub fn clean(headers: &mut HeaderMap, query: Option<&str>) -> Result<(), HopError> {
    let named = hop::connection_names(headers);
    if !named.is_empty() {
        let signed = signed_headers(headers, query);
        if let Some(name) = named
            .iter()
            .find(|n| matters(n) || signed.iter().any(|s| s == n.as_str()))
        {
            return Err(HopError(name.to_string()));
        }
    }
    hop::strip(headers);
    Ok(())
}

/// Whether a header is end to end and part of what a request means.
fn matters(name: &HeaderName) -> bool {
    *name == header::HOST
        || *name == header::AUTHORIZATION
        || name.as_str().starts_with("content-")
        || name.as_str().starts_with("x-amz-")
}

/// The headers a SigV4 signature covers, from `Authorization` or a presigned query.
fn signed_headers(headers: &HeaderMap, query: Option<&str>) -> Vec<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|part| part.trim().strip_prefix("SignedHeaders=")))
        .map(str::to_string);
    let listed = from_header.or_else(|| {
        parse_query(query.unwrap_or(""))
            .get("X-Amz-SignedHeaders")
            .and_then(|values| values.first().cloned())
    });
    listed
        .map(|list| list.split(';').map(|h| h.trim().to_ascii_lowercase()).collect())
        .unwrap_or_default()
}

/// One request as facts are derived from it: who sent it, its head (cleaned),
/// where it goes, and the endpoint's AWS settings if it is an `aws_api` one.
pub struct Seen<'a> {
    /// The agent.
    pub agent: &'a AgentName,
    /// The request's head, hop-by-hop headers removed.
    pub parts: &'a Parts,
    /// The host as routed: lower-case, no port, no trailing dot.
    pub host: &'a str,
    /// What the host says as an AWS host.
    pub aws_host: Option<&'a HostFacts>,
    /// The endpoint's AWS settings, on an `aws_api` endpoint.
    pub api: Option<&'a AwsApi>,
    /// Whether some rule reads `aws.params` or a field derived from it.
    pub reads_params: bool,
}

impl Seen<'_> {
    /// Whether the facts depend on the body: the query protocols carry the
    /// operation in it, JSON ones the parameters a rule may read.
    pub fn needs_body(&self) -> bool {
        self.api.is_some()
            && aws::needs_body(
                self.aws_host,
                &self.parts.headers,
                self.parts.method.as_str(),
                self.reads_params,
            )
    }

    /// The facts, with `body` if it was read whole; a body the facts do not
    /// depend on, or one too large for parameters, is not looked at.
    pub fn facts(&self, body: Option<&[u8]>) -> Result<Facts, AwsFacetError> {
        let body = body.filter(|b| self.needs_body() && b.len() <= MAX_PARAMS_BODY);
        let aws = match self.api {
            Some(api) => {
                let request = AwsRequest {
                    method: self.parts.method.as_str(),
                    host: self.host,
                    path: self.parts.uri.path(),
                    query: self.parts.uri.query(),
                    headers: &self.parts.headers,
                    body,
                };
                Some(aws::extract_with_host(&request, self.aws_host, api)?)
            }
            None => None,
        };
        Ok(Facts {
            agent: AgentFacts {
                name: self.agent.clone(),
            },
            http: HttpFacts::from_parts(self.parts, self.host),
            aws,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::try_from(*k).unwrap(), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn connection_may_name_hop_headers_but_not_what_the_request_depends_on() {
        let mut fine = headers(&[
            ("connection", "keep-alive, x-dry-run"),
            ("x-dry-run", "true"),
            ("te", "trailers"),
        ]);
        clean(&mut fine, None).unwrap();
        assert!(!fine.contains_key("x-dry-run") && !fine.contains_key("connection"));
        let signed = "AWS4-HMAC-SHA256 Credential=A/20261201/us-east-1/s3/aws4_request, \
                      SignedHeaders=host;if-none-match;x-amz-date, Signature=ab";
        for named in [
            "if-none-match",
            "If-None-Match",
            "host",
            "content-type",
            "x-amz-content-sha256",
            "authorization",
        ] {
            let mut h = headers(&[("connection", named), ("authorization", signed), ("if-none-match", "*")]);
            let refused = clean(&mut h, None).unwrap_err();
            assert_eq!(refused.0, named.to_ascii_lowercase());
        }
        let mut presigned = headers(&[("connection", "x-custom"), ("x-custom", "1")]);
        assert!(clean(&mut presigned, Some("X-Amz-SignedHeaders=host%3Bx-custom")).is_err());
    }
}
