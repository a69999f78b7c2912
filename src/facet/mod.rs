//! Facts about a request that rules read: `agent`, `http`, and (on AWS
//! endpoints) `aws`. Parsed once per request, immutable afterwards.

pub mod aws;
mod describe;
mod flat;
mod http;
mod schema;

pub use http::{HttpFacts, Plus, parse_query, percent_decode};
pub use schema::{FACETS, FacetField, FieldKind, SCHEMA, lookup};

use std::collections::BTreeMap;

use crate::config::AgentName;

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

/// The `aws` facet. Every field is optional: a field that cannot be derived
/// is absent, and a rule that reads it fails closed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AwsFacts {
    /// The string fields by name (`action` → `GetObject`); see [`SCHEMA`].
    pub strings: BTreeMap<&'static str, String>,
    /// `aws.params`: the request's top-level parameters.
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
}
