//! The `aws` facet: service, region, account, operation, resource and
//! parameters of a request to an AWS API, right for every protocol.

pub mod host;
mod operation;
mod resource;
pub mod signature;

use std::collections::BTreeMap;

use http::HeaderMap;

use super::AwsFacts;
use super::http::parse_query;
use crate::aws::{AccountId, MODELS, Protocol, Service};
use crate::config::AwsApi;

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
    /// The account is not one the endpoint lists.
    #[error("account {account} is not one of this endpoint's accounts ({listed})")]
    AccountNotListed {
        /// The account asked for.
        account: AccountId,
        /// The accounts listed, as `id=name`.
        listed: String,
    },
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

/// Whether facts for a request to `host` need its body: the query protocols
/// carry the operation in it, and JSON protocols carry the parameters
/// (needed only when `params_read`, i.e. some rule reads `aws.params`).
pub fn needs_body(host: &str, headers: &HeaderMap, method: &str, params_read: bool) -> bool {
    if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD") {
        return false;
    }
    let Some(facts) = host::parse(host) else { return false };
    let form = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    MODELS.with_prefix(&facts.service).any(|s| {
        s.protocols.iter().any(|p| match p {
            Protocol::Query | Protocol::Ec2 => true,
            Protocol::Json | Protocol::RestJson => params_read || form,
            Protocol::RestXml | Protocol::Cbor => false,
        })
    })
}

/// The `aws` facts of `request` to the endpoint `api`.
pub fn extract(request: &AwsRequest<'_>, api: &AwsApi) -> Result<AwsFacts, AwsFacetError> {
    let host = host::parse(request.host);
    let signed = signature::parse(request.headers, request.query)?;
    let query = parse_query(request.query.unwrap_or(""));
    let form = request
        .body
        .filter(|b| is_form(request.headers, b))
        .map(|b| parse_query(&String::from_utf8_lossy(b)));

    // Service: the host's prefix and the signature's signing name must agree.
    let mut candidates: Vec<&Service> = match (&host, &signed.service) {
        (Some(h), _) => MODELS.with_prefix(&h.service).collect(),
        (None, Some(signing)) => MODELS.with_signing_name(signing).collect(),
        (None, None) => Vec::new(),
    };
    if let (Some(h), Some(signing)) = (&host, &signed.service) {
        let agreeing: Vec<&Service> = candidates
            .iter()
            .copied()
            .filter(|s| &s.signing_name == signing)
            .collect();
        if agreeing.is_empty() && &h.service != signing {
            return Err(AwsFacetError::Disagree {
                what: "service",
                host: h.service.clone(),
                signed: signing.clone(),
            });
        }
        candidates = agreeing;
    }
    if let (Some(host_region), Some(signed_region)) = (host.as_ref().and_then(|h| h.region.as_ref()), &signed.region)
        && host_region != signed_region
        && !(host
            .as_ref()
            .is_some_and(|h| h.service == "s3" && is_global_s3(request.host)))
    {
        return Err(AwsFacetError::Disagree {
            what: "region",
            host: host_region.clone(),
            signed: signed_region.clone(),
        });
    }

    // The operation, by the model's protocol.
    let bucket_from_host = host.as_ref().and_then(|h| h.bucket.clone());
    let mut segments: Vec<&str> = request
        .path
        .strip_prefix('/')
        .unwrap_or(request.path)
        .split('/')
        .collect();
    if segments == [""] {
        segments.clear();
    }
    if let Some(bucket) = &bucket_from_host {
        segments.insert(0, bucket.as_str());
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

    // The account: from the access key only.
    let unsigned_op = resolved.as_ref().and_then(|r| r.operation).is_some_and(|o| o.unsigned);
    let account = match &signed.access_key_id {
        Some(key) => Some(signature::account_of(key).ok_or(AwsFacetError::NoAccount)?),
        None if unsigned_op => None,
        None => return Err(AwsFacetError::NoAccount),
    };
    let account_name = match account {
        Some(id) if !api.accounts.is_empty() => match api.accounts.iter().find(|(a, _)| *a == id) {
            Some((_, name)) => Some(name.clone()),
            None => {
                let listed: Vec<String> = api.accounts.iter().map(|(a, n)| format!("{a}={n}")).collect();
                return Err(AwsFacetError::AccountNotListed {
                    account: id,
                    listed: listed.join(", "),
                });
            }
        },
        _ => None,
    };

    let mut facts = AwsFacts::default();
    let mut set = |field: &'static str, value: Option<String>| {
        if let Some(v) = value {
            facts.strings.insert(field, v);
        }
    };
    let service_name = host
        .as_ref()
        .map(|h| h.service.clone())
        .or_else(|| resolved.as_ref().map(|r| r.service.endpoint_prefix.clone()));
    let region = signed
        .region
        .clone()
        .or_else(|| host.as_ref().and_then(|h| h.region.clone()));
    set("service", service_name);
    set("region", region.clone());
    set("account", account.map(|a| a.to_string()));
    set("account_name", account_name);
    set("method", Some(request.method.to_ascii_uppercase()));
    if let Some(r) = &resolved {
        set("protocol", Some(r.protocol.name().to_string()));
        if let Some(op) = r.operation {
            set("action", Some(op.name.clone()));
            set(
                "iam_action",
                Some(resource::iam_action(r.service, &op.name, request.method)),
            );
        }
    }
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
    let arn = resource::arn(
        resolved.as_ref(),
        bucket.as_deref(),
        key.as_deref(),
        params.as_ref(),
        region.as_deref(),
        account,
    );
    set("bucket", bucket);
    set("key", key);
    set("resource", arn);
    facts.params = params;
    Ok(facts)
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
