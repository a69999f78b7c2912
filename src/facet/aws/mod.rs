//! The `aws` facet: service, region, account, operation, resource and
//! parameters of a request to an AWS API, right for every protocol.

mod arn;
mod dependent;
pub mod host;
mod operation;
mod resource;
mod signable;

use std::collections::BTreeMap;

use http::HeaderMap;

use super::AwsFacts;
use crate::aws::signature::{self, SignatureError, Signed};
use crate::aws::{MODELS, Protocol, Service};
use crate::config::AwsApi;
use crate::ids::{AccountId, ServiceName};
use crate::net::query::parse_query;

pub use host::HostFacts;
pub use operation::Resolved;

/// Bodies larger than this are not read for parameters (`aws.params` is then
/// absent, and rules reading it deny).
pub const MAX_PARAMS_BODY: usize = 1 << 20;

/// Why a request to an AWS endpoint is refused before any rule runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsFacetError {
    /// The host and the signature name different services or regions.
    #[error("the host says {what} `{host}` but the request is signed for `{signed}`; they disagree")]
    Disagree {
        /// `service` or `region`.
        what: &'static str,
        /// What the host says.
        host: String,
        /// What the signature says.
        signed: String,
    },
    /// Two parts of the request name different operations.
    #[error("the request is contradictory, a conflict clawgate refuses: {0}")]
    Conflict(String),
    /// The request fits more than one operation.
    #[error("the request is ambiguous: {0}")]
    Ambiguous(String),
    /// A signed request whose key names no account.
    #[error(
        "cannot tell which AWS account this request is for: its access key id holds no 12-digit account number; \
         use a profile from `clawgate profiles`"
    )]
    NoAccount,
    /// The signature contradicts itself or is malformed.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// A signed request to a name that is not a service endpoint AWS answers itself.
    #[error(
        "clawgate signs only for AWS service endpoints, and `{host}` is not one for the service this request is \
         signed for: names like it (API Gateway ids, load balancers, EC2 instances, S3 websites, function URLs) can \
         be owned by anyone, so they get no credentials; if this host is yours, list it in the endpoint's `signed_hosts`"
    )]
    NotAServiceEndpoint {
        /// The host.
        host: String,
    },
    /// The account is not one the endpoint lists.
    #[error("account {account} is not one of this endpoint's accounts ({listed})")]
    AccountNotListed {
        /// The account asked for.
        account: AccountId,
        /// The accounts listed, as `id=name`.
        listed: String,
    },
}

impl AwsFacetError {
    /// Whether the request's body could change this verdict: the operation
    /// it names (and so whether it is signed at all) may be in the body.
    pub fn may_depend_on_body(&self) -> bool {
        matches!(
            self,
            AwsFacetError::Conflict(_) | AwsFacetError::Ambiguous(_) | AwsFacetError::NoAccount
        )
    }
}

/// The parts of a request the `aws` facet reads.
pub struct AwsRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The host, lower-case, no port.
    pub host: &'a str,
    /// The path, raw.
    pub path: &'a str,
    /// The raw query string.
    pub query: Option<&'a str>,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// The body, when it was read (at most [`MAX_PARAMS_BODY`] bytes).
    pub body: Option<&'a [u8]>,
}

/// Whether facts for a request to the AWS host `host` need its body: the
/// query protocols carry the operation in it, and JSON protocols carry the
/// parameters (needed only when `params_read`, i.e. some rule reads `aws.params`
/// or a field derived from it, such as `aws.resource`).
pub fn needs_body(host: Option<&HostFacts>, headers: &HeaderMap, method: &str, params_read: bool) -> bool {
    if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD") {
        return false;
    }
    let Some(host) = host else { return false };
    let form = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    MODELS.with_prefix(host.service.as_str()).any(|s| {
        s.protocols.iter().any(|p| match p {
            Protocol::Query | Protocol::Ec2 => true,
            Protocol::Json | Protocol::RestJson => params_read || form,
            Protocol::RestXml | Protocol::Cbor => false,
        })
    })
}

/// The `aws` facts of `request` to the endpoint `api`.
pub fn extract(request: &AwsRequest<'_>, api: &AwsApi) -> Result<AwsFacts, AwsFacetError> {
    extract_with_host(request, host::parse(request.host).as_ref(), api)
}

/// [`extract`], with the request's host already read by [`host::parse`].
pub fn extract_with_host(
    request: &AwsRequest<'_>,
    host: Option<&HostFacts>,
    api: &AwsApi,
) -> Result<AwsFacts, AwsFacetError> {
    let query = parse_query(request.query.unwrap_or(""));
    let signed = signature::parse(request.headers, &query)?;
    let form = request
        .body
        .filter(|b| is_form(request.headers, b))
        .map(|b| parse_query(&String::from_utf8_lossy(b)));
    let candidates = candidates(host, &signed)?;
    check_region(host, &signed, request.host)?;
    signable::check(request.host, host, &signed, api)?;

    // The operation, by the model's protocol.
    let mut segments: Vec<&str> = request
        .path
        .strip_prefix('/')
        .unwrap_or(request.path)
        .split('/')
        .collect();
    if segments == [""] {
        segments.clear();
    }
    if let Some(bucket) = host.and_then(|h| h.bucket.as_deref()) {
        segments.insert(0, bucket);
    }
    let resolved = operation::resolve(
        &candidates,
        &operation::Request {
            method: request.method,
            segments,
            query: &query,
            headers: request.headers,
            form: form.as_ref(),
        },
    )?;
    let operation = resolved.as_ref().and_then(|r| r.operation);
    let (account, account_name) = account(&signed, operation.is_some_and(|o| o.unsigned), api)?;
    check_account(host, account)?;

    let service = match host {
        Some(h) => Some(h.service.clone()),
        None => resolved
            .as_ref()
            .and_then(|r| ServiceName::parse(&r.service.endpoint_prefix).ok()),
    };
    let region = signed.region.clone().or_else(|| host.and_then(|h| h.region.clone()));
    let params = resolved
        .as_ref()
        .and_then(|r| resource::params(r, &query, form.as_ref(), request.body));
    let s3 = resolved.as_ref().is_some_and(|r| r.service.name == "s3");
    let labels = resolved.as_ref().map(|r| r.labels.as_slice()).unwrap_or(&[]);
    let (bucket, key) = if s3 {
        resource::bucket_and_key(labels)
    } else {
        (None, None)
    };
    let iam_action = resolved
        .as_ref()
        .zip(operation)
        .map(|(r, op)| resource::iam_action(r.service, &op.name, request.method));
    let needs = resolved
        .as_ref()
        .map(|r| {
            let call = arn::Call {
                service: r.service,
                protocol: r.protocol,
                operation: operation.map(|op| op.name.as_str()),
                params: params.as_ref(),
                headers: request.headers,
                bucket: bucket.as_deref(),
                key: key.as_deref(),
                region: region.as_ref(),
                account,
            };
            let members = dependent::members(r.protocol, request.method, request.body, form.is_some());
            dependent::of(&call, iam_action.as_deref(), members)
        })
        .unwrap_or_default();
    let endpoint_prefix = resolved.as_ref().map(|r| r.service.endpoint_prefix.clone());
    let signing_name = signed
        .service
        .as_ref()
        .map(ToString::to_string)
        .or_else(|| resolved.as_ref().map(|r| r.service.signing_name.clone()));
    Ok(AwsFacts {
        service,
        endpoint_prefix,
        signing_name,
        action: operation.map(|op| op.name.clone()),
        iam_action,
        iam_actions: needs.iam_actions,
        account,
        account_name,
        region,
        resource: needs.resource,
        resources: needs.resources,
        bucket,
        key,
        params,
        method: Some(request.method.to_ascii_uppercase()),
        protocol: resolved.as_ref().map(|r| r.protocol),
        signature: signed,
    })
}

/// The service models the request may be for: the host's prefix and the
/// signature's signing name must agree.
fn candidates<'s>(host: Option<&HostFacts>, signed: &'s Signed) -> Result<Vec<&'s Service>, AwsFacetError> {
    let candidates: Vec<&Service> = match (host, &signed.service) {
        (Some(h), _) => MODELS.with_prefix(h.service.as_str()).collect(),
        (None, Some(signing)) => MODELS.with_signing_name(signing.as_str()).collect(),
        (None, None) => Vec::new(),
    };
    let (Some(h), Some(signing)) = (host, &signed.service) else {
        return Ok(candidates);
    };
    let agreeing: Vec<&Service> = candidates
        .into_iter()
        .filter(|s| s.signing_name == signing.as_str())
        .collect();
    if agreeing.is_empty() && h.service != *signing {
        return Err(AwsFacetError::Disagree {
            what: "service",
            host: h.service.to_string(),
            signed: signing.to_string(),
        });
    }
    Ok(agreeing)
}

/// The host's region and the signature's must agree (global S3 hosts take any).
fn check_region(host: Option<&HostFacts>, signed: &Signed, host_name: &str) -> Result<(), AwsFacetError> {
    let (Some(h), Some(signed_region)) = (host, &signed.region) else {
        return Ok(());
    };
    match &h.region {
        Some(host_region) if host_region != signed_region && !(h.service == *"s3" && is_global_s3(host_name)) => {
            Err(AwsFacetError::Disagree {
                what: "region",
                host: host_region.to_string(),
                signed: signed_region.to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// The account a host names (`<account>.ddb.<region>`) and the key's must agree.
fn check_account(host: Option<&HostFacts>, account: Option<AccountId>) -> Result<(), AwsFacetError> {
    match (host.and_then(|h| h.account), account) {
        (Some(named), Some(signed)) if named != signed => Err(AwsFacetError::Disagree {
            what: "account",
            host: named.to_string(),
            signed: signed.to_string(),
        }),
        _ => Ok(()),
    }
}

/// The account (from the access key only) and its name; an account the
/// endpoint does not list is refused.
fn account(
    signed: &Signed,
    unsigned_op: bool,
    api: &AwsApi,
) -> Result<(Option<AccountId>, Option<String>), AwsFacetError> {
    let account = match &signed.access_key_id {
        Some(key) => signature::account_of(key).ok_or(AwsFacetError::NoAccount)?,
        None if unsigned_op => return Ok((None, None)),
        None => return Err(AwsFacetError::NoAccount),
    };
    if api.accounts.is_empty() {
        return Ok((Some(account), None));
    }
    match api.accounts.iter().find(|(a, _)| *a == account) {
        Some((_, name)) => Ok((Some(account), Some(name.clone()))),
        None => {
            let listed: Vec<String> = api.accounts.iter().map(|(a, n)| format!("{a}={n}")).collect();
            Err(AwsFacetError::AccountNotListed {
                account,
                listed: listed.join(", "),
            })
        }
    }
}

fn is_form(headers: &HeaderMap, body: &[u8]) -> bool {
    let declared = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    // Whatever the Content-Type: a body that starts `Action=` is read as a form too.
    declared || body.starts_with(b"Action=") || body.windows(8).any(|w| w == b"&Action=")
}

/// `s3.amazonaws.com` and `<bucket>.s3.amazonaws.com`: any region may be signed.
fn is_global_s3(host: &str) -> bool {
    host == "s3.amazonaws.com" || host.ends_with(".s3.amazonaws.com")
}

/// Decoded `map` as JSON strings, for `aws.params` of query protocols.
fn form_params(map: &BTreeMap<String, Vec<String>>) -> serde_json::Map<String, serde_json::Value> {
    map.iter()
        .map(|(k, vs)| {
            let value = match vs.as_slice() {
                [one] => serde_json::Value::String(one.clone()),
                many => serde_json::Value::Array(many.iter().cloned().map(serde_json::Value::String).collect()),
            };
            (k.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests;
