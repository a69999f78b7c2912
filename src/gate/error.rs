//! Why the gate refused or failed a request, each error with its source and
//! the side that caused it.

use http::StatusCode;

use super::admit::Crowd;
use super::auth::AuthError;
use crate::audit::{Side, Unwritable};
use crate::aws::resign::{MAX_SIGNED_BODY, ResignError};
use crate::aws::sts::StsError;
use crate::facet::HopError;
use crate::ids::RuleName;
use crate::net::{BodyError, DialError, OverBudget, ReadError, TargetError, UpstreamError};
use crate::policy::Denial;

/// Everything that stops a request between the agent and the upstream.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The agent is not let in.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The target, or the request's `Host`, is wrong.
    #[error("{}", target_message(.0))]
    Target(#[from] TargetError),
    /// Not a request a forward proxy serves.
    #[error("bad request: {0}")]
    NotProxied(&'static str),
    /// The agent's body broke off or came too slowly.
    #[error("bad request: the request body could not be read: {0}")]
    Body(BodyError),
    /// The `Connection` header names a header the request depends on.
    #[error("bad request: {0}")]
    Hop(#[from] HopError),
    /// A body clawgate would have to hash whole to re-sign, but may not.
    #[error(
        "bad request: the body is larger than {} MiB and carries no x-amz-content-sha256, so clawgate cannot re-sign it",
        MAX_SIGNED_BODY >> 20
    )]
    TooLargeToSign,
    /// No endpoint claims the host and unclaimed hosts are denied.
    #[error(
        "host `{0}` is not claimed by any endpoint, and gateway.unknown_host = \"deny\"; \
         add it to an endpoint's `hosts` to use it"
    )]
    UnknownHost(String),
    /// The rules, a person or the request's own contradictions deny it.
    #[error("{0}")]
    Denied(Denial),
    /// It could not be re-signed.
    #[error(transparent)]
    Resign(#[from] ResignError),
    /// The upstream could not be reached or failed.
    #[error("{}", upstream_message(.0))]
    Upstream(#[from] UpstreamError),
    /// Too many connections are open.
    #[error("too many connections ({0}); try again shortly")]
    Busy(usize),
    /// Too many requests are in flight, the agent's or everyone's.
    #[error("{}", crowded_message(.crowd, *.limit))]
    Crowded {
        /// Whose limit.
        crowd: Crowd,
        /// The limit.
        limit: usize,
    },
    /// Request bodies held in memory are at their limit.
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
    /// Audit records cannot be kept, and `audit_failure = "deny"`.
    #[error("{0}, so clawgate serves no request it cannot record; try again shortly")]
    Unaudited(#[from] Unwritable),
}

impl From<ReadError> for GateError {
    fn from(error: ReadError) -> GateError {
        match error {
            ReadError::Body(e) => GateError::Body(e),
            ReadError::OverBudget(e) => GateError::OverBudget(e),
        }
    }
}

fn crowded_message(crowd: &Crowd, limit: usize) -> String {
    match crowd {
        Crowd::Agent(agent) => format!(
            "agent `{agent}` has {limit} requests in flight, its limit (gateway.max_requests_per_agent); \
             try again shortly"
        ),
        Crowd::Gateway => format!(
            "clawgate has {limit} requests in flight, its limit (gateway.max_upstream_requests); try again shortly"
        ),
    }
}

fn upstream_message(error: &UpstreamError) -> String {
    match error {
        UpstreamError::Uri { .. } | UpstreamError::AgentBody(_) => format!("bad request: {error}"),
        UpstreamError::Dial(_) | UpstreamError::NoResponse { .. } | UpstreamError::Failed { .. } => error.to_string(),
    }
}

fn target_message(error: &TargetError) -> String {
    match error {
        TargetError::HostMismatch { .. } => error.to_string(),
        TargetError::Malformed(_) | TargetError::NoHost => format!("bad request: {error}"),
    }
}

impl GateError {
    /// The side that caused it.
    pub fn side(&self) -> Side {
        match self {
            GateError::Auth(_)
            | GateError::Target(_)
            | GateError::NotProxied(_)
            | GateError::Body(_)
            | GateError::Hop(_)
            | GateError::TooLargeToSign
            | GateError::UnknownHost(_)
            | GateError::Denied(_)
            | GateError::Crowded {
                crowd: Crowd::Agent(_), ..
            } => Side::Agent,
            GateError::Resign(error) => match error {
                ResignError::NoAccount
                | ResignError::NoService
                | ResignError::Unsupported(_)
                | ResignError::BucketOwner(_) => Side::Agent,
                ResignError::Sts(_) => Side::Upstream,
                ResignError::NoCredential | ResignError::BaseKey(_) | ResignError::Sign(_) => Side::Clawgate,
            },
            GateError::Upstream(UpstreamError::Dial(DialError::Forbidden { .. })) => Side::Agent,
            GateError::Upstream(UpstreamError::Uri { .. } | UpstreamError::AgentBody(_)) => Side::Agent,
            GateError::Upstream(_) => Side::Upstream,
            GateError::Busy(_) | GateError::Crowded { .. } | GateError::OverBudget(_) | GateError::Unaudited(_) => {
                Side::Clawgate
            }
        }
    }

    /// The HTTP status the agent receives: 4xx for the agent's side, 502/504
    /// for the upstream's, 500/503 for clawgate's.
    pub fn status(&self) -> StatusCode {
        match self {
            GateError::Auth(AuthError::LoopbackOnly) => StatusCode::FORBIDDEN,
            GateError::Auth(_) => StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            GateError::Target(_)
            | GateError::NotProxied(_)
            | GateError::Body(_)
            | GateError::Hop(_)
            | GateError::TooLargeToSign
            | GateError::Upstream(UpstreamError::Uri { .. } | UpstreamError::AgentBody(_)) => StatusCode::BAD_REQUEST,
            GateError::UnknownHost(_) | GateError::Denied(_) => StatusCode::FORBIDDEN,
            GateError::Upstream(UpstreamError::Dial(DialError::Forbidden { .. })) => StatusCode::FORBIDDEN,
            GateError::Upstream(UpstreamError::Dial(DialError::Timeout { .. }) | UpstreamError::NoResponse { .. }) => {
                StatusCode::GATEWAY_TIMEOUT
            }
            GateError::Upstream(_) => StatusCode::BAD_GATEWAY,
            GateError::Resign(error) => match error {
                ResignError::NoAccount
                | ResignError::NoService
                | ResignError::Unsupported(_)
                | ResignError::BucketOwner(_) => StatusCode::FORBIDDEN,
                ResignError::Sts(StsError::Refused { .. }) => StatusCode::FORBIDDEN,
                ResignError::Sts(_) => StatusCode::BAD_GATEWAY,
                ResignError::NoCredential | ResignError::BaseKey(_) => StatusCode::SERVICE_UNAVAILABLE,
                ResignError::Sign(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            GateError::Busy(_) | GateError::Crowded { .. } | GateError::OverBudget(_) | GateError::Unaudited(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// Whether the same request, sent again in a moment, may well pass: it
    /// was refused only because clawgate is at a limit of load.
    pub fn passes_soon(&self) -> bool {
        matches!(
            self,
            GateError::Busy(_) | GateError::Crowded { .. } | GateError::OverBudget(_) | GateError::Unaudited(_)
        )
    }

    /// Whether the request was denied rather than failed: `Some` with the
    /// denying rule, if a rule (or its hold) denied it. A request that names
    /// no account or service is denied by no rule, as it was never decided.
    pub fn denied(&self) -> Option<Option<RuleName>> {
        match self {
            GateError::Denied(denial) => Some(denial.rule().cloned()),
            GateError::Resign(ResignError::NoAccount | ResignError::NoService | ResignError::BucketOwner(_)) => {
                Some(None)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_names_its_side_in_its_status() {
        let cases = [
            (GateError::Auth(AuthError::Missing), Side::Agent, 407),
            (GateError::UnknownHost("x".into()), Side::Agent, 403),
            (GateError::TooLargeToSign, Side::Agent, 400),
            (GateError::Resign(ResignError::NoCredential), Side::Clawgate, 503),
            (
                GateError::Upstream(UpstreamError::Failed {
                    target: "a:443".into(),
                    reason: "reset".into(),
                }),
                Side::Upstream,
                502,
            ),
            (GateError::Busy(10), Side::Clawgate, 503),
            (
                GateError::Unaudited(Unwritable::Failing("No space left on device".into())),
                Side::Clawgate,
                503,
            ),
        ];
        for (error, side, status) in cases {
            assert_eq!((error.side(), error.status().as_u16()), (side, status), "{error}");
        }
    }
}
