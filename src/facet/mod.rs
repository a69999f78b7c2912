//! Facts about a request that rules read: `agent`, `http`, and (on AWS
//! endpoints) `aws`. Parsed once per request, immutable afterwards.

pub mod aws;
pub mod derive;
mod describe;
mod flat;
mod http;
mod schema;

pub use derive::{HopError, Seen};
pub use describe::{DescribeError, head as described_head};
pub use http::HttpFacts;
pub use schema::{FACETS, FacetField, FieldKind, HEAD_AWS_FIELDS, PARAMS_AWS_FIELDS, SCHEMA, lookup};

use crate::aws::Protocol;
use crate::aws::signature::Signed;
use crate::ids::{AccountId, AgentName, Region, ServiceName};

/// Everything rules may read about one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// Who sent it.
    pub agent: AgentFacts,
    /// The HTTP request as the upstream will see it.
    pub http: HttpFacts,
    /// AWS facts, on `aws_api` endpoints.
    pub aws: Option<AwsFacts>,
}

/// The `agent` facet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentFacts {
    /// `agent.name`.
    pub name: AgentName,
}

/// The `aws` facet, parsed once. Every field is optional: a field that
/// cannot be derived is absent, and a rule that reads it fails closed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AwsFacts {
    /// `aws.service`: the service's IAM prefix, as IAM policies name it
    /// (`ses`, `cloudwatch`, `s3`).
    pub service: Option<ServiceName>,
    /// `aws.endpoint_prefix`: the service's host prefix (`email`, `monitoring`, `s3-control`).
    pub endpoint_prefix: Option<String>,
    /// `aws.signing_name`: the service the request is signed for (the
    /// credential scope's, else the model's signing name).
    pub signing_name: Option<String>,
    /// `aws.action`: the operation's name, e.g. `GetObject`.
    pub action: Option<String>,
    /// `aws.iam_action`: the action in IAM's spelling, e.g. `s3:GetObject`.
    pub iam_action: Option<String>,
    /// `aws.iam_actions`: every IAM action the call needs, `iam_action`
    /// first, then the dependent actions IAM documents for what the request
    /// holds (`iam:PassRole` for a role handed to a service, `s3:GetObject`
    /// for a copy's source, `kms:GenerateDataKey` for SSE-KMS).
    pub iam_actions: Option<Vec<String>>,
    /// `aws.account`: the account the access key id names.
    pub account: Option<AccountId>,
    /// `aws.account_name`: the account's name in the endpoint's `accounts`.
    pub account_name: Option<String>,
    /// `aws.region`: the credential scope's region, else the host's.
    pub region: Option<Region>,
    /// `aws.resource`: the ARN IAM evaluates the call's action on, e.g.
    /// `arn:aws:s3:::bucket/key` (partial where the request names a resource
    /// by a short name: a secret without its suffix, a role without its path).
    pub resource: Option<String>,
    /// `aws.resources`: every ARN the call names, `resource` first, then the
    /// others (GetParameters' names, BatchGetItem's tables, a copy's source,
    /// a role passed); absent when `resource` is.
    pub resources: Option<Vec<String>>,
    /// `aws.bucket`: the S3 bucket.
    pub bucket: Option<String>,
    /// `aws.key`: the S3 object key.
    pub key: Option<String>,
    /// `aws.params`: the request's top-level parameters.
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
    /// `aws.method`: the HTTP method, upper-case.
    pub method: Option<String>,
    /// `aws.protocol`: the protocol the request used.
    pub protocol: Option<Protocol>,
    /// The region to sign for: `aws.region`, else the partition's global
    /// region for a host that names none; not a facet.
    pub signing_region: Option<Region>,
    /// The agent's signature as parsed; not a facet (rules never read it),
    /// kept so that re-signing does not parse it again.
    pub signature: Signed,
}
