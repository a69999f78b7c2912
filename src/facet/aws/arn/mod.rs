//! Resource ARNs: the resources a call acts on, as IAM names them
//! (`aws.resource`, `aws.resources`), built from IAM's ARN formats and the
//! request's parameters, bucket and key, region and account.
//!
//! Where a request names a resource by a short name IAM's ARN has parts the
//! request does not carry, the ARN is partial: a Secrets Manager secret named
//! without its random `-XXXXXX` suffix, an IAM role or user named without its
//! path. Rules match those with `startsWith`.

mod services;

use http::HeaderMap;

use crate::aws::{MODELS, Protocol, Service};
use crate::ids::{AccountId, Region};
use crate::net::query::{Plus, percent_decode};

/// A request's top-level parameters (`aws.params`).
pub type Params = serde_json::Map<String, serde_json::Value>;

/// The call whose resources are named: what the request says, where it is
/// sent and for whom.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The service's model.
    pub service: &'a Service,
    /// The protocol the request used.
    pub protocol: Protocol,
    /// The operation's name.
    pub operation: Option<&'a str>,
    /// The parameters the operation names resources by ARN in (`TopicArn`).
    pub arn_members: &'a [String],
    /// The parameters, when they could be read.
    pub params: Option<&'a Params>,
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// S3's bucket, decoded.
    pub bucket: Option<&'a str>,
    /// S3's key, decoded.
    pub key: Option<&'a str>,
    /// The region the request is signed for.
    pub region: Option<&'a Region>,
    /// The account the request is signed for.
    pub account: Option<AccountId>,
}

/// Every resource ARN the call names, the one IAM evaluates first; empty
/// when none can be derived. Services without a builder of their own (and
/// calls a builder finds nothing in) get the first of the operation's ARN
/// parameters the request sets (`TopicArn`), never a member the operation
/// does not have: JSON services ignore unknown members, so an agent could
/// add one naming any resource. A query-protocol call that repeats a
/// parameter names none: which of the values AWS takes is not ours to guess
/// (its lists are flattened into distinct keys, `Name.1`).
pub fn resources(call: &Call<'_>) -> Vec<String> {
    if call.repeats_a_parameter() {
        return Vec::new();
    }
    let built = services::build(call);
    // S3's parameters are its query and URI labels, which name no other
    // resource than the bucket and key: no fallback there.
    if !built.is_empty() || call.service.name == "s3" {
        return dedup(built);
    }
    call.arn_members
        .iter()
        .find_map(|member| call.param(member).filter(|v| is_arn(v)))
        .map(str::to_string)
        .into_iter()
        .collect()
}

/// The partition a region is in, by botocore's partitions' region patterns
/// (`partitions.json`, through the operation table); `aws` for anything else.
pub fn partition(region: Option<&Region>) -> &'static str {
    let models: &'static crate::aws::Models = &MODELS;
    region
        .and_then(|r| models.partitions().iter().find(|p| p.has_region(r.as_str())))
        .map_or("aws", |p| p.id.as_str())
}

impl Call<'_> {
    /// Whether a form-encoded (query, EC2) call gives a parameter twice.
    fn repeats_a_parameter(&self) -> bool {
        matches!(self.protocol, Protocol::Query | Protocol::Ec2)
            && self.params.is_some_and(|params| params.values().any(|v| v.is_array()))
    }

    /// The parameter `name` when it is a string.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params?.get(name)?.as_str()
    }

    /// Whether the request has the parameter `name`: a member of that name,
    /// or flattened members under it (`IamInstanceProfile.Arn`, `TagSpecification.1.…`).
    pub fn has_param(&self, name: &str) -> bool {
        self.params.is_some_and(|params| {
            params.iter().any(|(k, v)| {
                !v.is_null()
                    && k.strip_prefix(name)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
        })
    }

    /// The list parameter `name`: a JSON array, one string, or the query
    /// protocols' flattened members (`InstanceId.1`, `Names.member.1`) in
    /// index order.
    pub fn param_list(&self, name: &str) -> Vec<&str> {
        let Some(params) = self.params else {
            return Vec::new();
        };
        match params.get(name) {
            Some(serde_json::Value::String(one)) => return vec![one.as_str()],
            Some(serde_json::Value::Array(items)) => return items.iter().filter_map(|v| v.as_str()).collect(),
            _ => {}
        }
        let mut flat: Vec<(u32, &str)> = params
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(name)?.strip_prefix('.')?;
                let index = rest.strip_prefix("member.").unwrap_or(rest).parse().ok()?;
                Some((index, v.as_str()?))
            })
            .collect();
        flat.sort_unstable_by_key(|(index, _)| *index);
        flat.into_iter().map(|(_, v)| v).collect()
    }

    /// Every value of the header `name`, `None` for one that is not text.
    pub fn header_values(&self, name: &str) -> Vec<Option<&str>> {
        self.headers.get_all(name).iter().map(|v| v.to_str().ok()).collect()
    }

    /// `arn:<partition>:<service>:<region>:<account>:<resource>`, in the
    /// request's region and account.
    fn regional(&self, service: &str, resource: &str) -> Option<String> {
        self.in_account(service, resource, self.account?)
    }

    /// [`Call::regional`] in the account `account`.
    fn in_account(&self, service: &str, resource: &str, account: AccountId) -> Option<String> {
        Some(format!(
            "arn:{}:{service}:{}:{account}:{resource}",
            self.partition(),
            self.region?
        ))
    }

    /// `arn:<partition>:<service>::<account>:<resource>`, for global
    /// services (IAM).
    fn global(&self, service: &str, resource: &str) -> Option<String> {
        Some(format!(
            "arn:{}:{service}::{}:{resource}",
            self.partition(),
            self.account?
        ))
    }

    /// The request's partition.
    fn partition(&self) -> &'static str {
        partition(self.region)
    }

    /// An IAM role named by its name or ARN (`iam:PassRole`'s resource).
    pub fn role_arn(&self, role: &str) -> Option<String> {
        if is_arn(role) {
            return Some(role.to_string());
        }
        self.global("iam", &format!("role/{role}"))
    }

    /// A KMS key named by key id, key ARN, alias name (`alias/x`) or alias ARN.
    pub fn kms_key_arn(&self, key: &str) -> Option<String> {
        if is_arn(key) {
            return Some(key.to_string());
        }
        if key.starts_with("alias/") {
            return self.regional("kms", key);
        }
        self.regional("kms", &format!("key/{key}"))
    }

    /// The object S3's `x-amz-copy-source` names: `bucket/key` (a leading
    /// `/` and a `?versionId=` suffix allowed, percent-encoded), or an
    /// access point's object ARN.
    pub fn copy_source_arn(&self, source: &str) -> Option<String> {
        let source = source.split_once("?versionId=").map_or(source, |(object, _)| object);
        let source = percent_decode(source, Plus::Literal);
        let source = source.strip_prefix('/').unwrap_or(&source);
        if is_arn(source) {
            return Some(source.to_string());
        }
        match source.split_once('/') {
            Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
                Some(format!("arn:{}:s3:::{bucket}/{key}", self.partition()))
            }
            _ => None,
        }
    }
}

/// Whether `text` is an ARN (`arn:` and at least six parts).
pub fn is_arn(text: &str) -> bool {
    text.starts_with("arn:") && text.splitn(6, ':').count() == 6
}

/// `items` with repeats removed, first occurrences kept in order.
pub fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests;
