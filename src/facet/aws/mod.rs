//! The `aws` facet: service, region, account, operation, resource and
//! parameters of a request to an AWS API, right for every protocol.

mod arn;
mod dependent;
mod form;
pub mod host;
mod operation;
mod resource;
mod signable;
mod unmodelled;

use std::collections::BTreeMap;

use http::HeaderMap;

use super::AwsFacts;
use crate::aws::signature::{self, SignatureError, Signed};
use crate::aws::{MODELS, Protocol, Service};
use crate::config::AwsApi;
use crate::ids::{AccountId, ServiceName};
use crate::net::query::parse_query;

pub use host::{HostFacts, HostForm};
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
    /// The request names no operation the service's model has.
    #[error(
        "{sent} names no operation of the AWS service `{service}` that clawgate knows, so no rule can judge it; \
         clawgate's operation table is botocore's models (src/aws/models.txt): if the operation is new, a newer table \
         knows it"
    )]
    UnknownOperation {
        /// The service model tried first.
        service: String,
        /// What the request sent: `X-Amz-Target \`…\``, `Action \`…\``, or its method and path.
        sent: String,
    },
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
            AwsFacetError::Conflict(_)
                | AwsFacetError::Ambiguous(_)
                | AwsFacetError::NoAccount
                | AwsFacetError::UnknownOperation { .. }
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
/// query protocols carry the operation in it, JSON protocols carry the
/// parameters (needed only when `params_read`, i.e. some rule reads
/// `aws.params` or a field derived from it, such as `aws.resource`), and
/// forms may carry the credential (S3's POST uploads).
pub fn needs_body(host: Option<&HostFacts>, headers: &HeaderMap, method: &str, params_read: bool) -> bool {
    if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD") {
        return false;
    }
    let Some(host) = host else { return false };
    let url_encoded = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let multipart = form::is_multipart(headers);
    host.services().any(|s| {
        s.protocols.iter().any(|p| match p {
            Protocol::Query | Protocol::Ec2 => true,
            // An account host's account is checked against the resource the body names.
            Protocol::Json | Protocol::RestJson => params_read || url_encoded || host.account.is_some(),
            Protocol::RestXml => multipart,
            Protocol::Cbor => false,
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
    let form = request.body.and_then(|b| form::fields(request.headers, b));
    let signed = signature::parse(request.headers, &query, form.as_ref())?;
    let candidates = candidates(host, &signed)?;
    check_region(host, &signed)?;
    let owner = foreign_owner(host, &signed);
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
    let op_request = operation::Request {
        method: request.method,
        segments,
        query: &query,
        headers: request.headers,
        form: form.as_ref(),
        scope: signed.service.as_ref().map(ServiceName::as_str),
        host: request.host,
        custom_host: host.is_none_or(|h| h.form == HostForm::Other),
    };
    let resolved = match operation::resolve(&candidates, &op_request) {
        Err(unknown @ AwsFacetError::UnknownOperation { .. }) => {
            unmodelled::resolve(&candidates, host, &signed, &op_request).ok_or(unknown)
        }
        resolved => resolved,
    };
    // A host naming another account than the key's fails first, whatever else does.
    let resolved = match (resolved, &owner) {
        (Err(_), Some(disagree)) => return Err(disagree.clone()),
        (resolved, _) => resolved?,
    };
    let operation = resolved.operation;
    let (account, account_name) = account(&signed, operation.unsigned, api)?;

    let service = resolved.service.iam_prefix.clone().or_else(|| {
        // A service IAM has no prefix for is named as it is signed.
        ServiceName::parse(&resolved.service.signing_name).ok()
    });
    // The region the request is signed for; SigV2 signs none, and then the
    // host's, if it names one.
    let region = signed.region.clone().or_else(|| host.and_then(|h| h.region.clone()));
    let signing_region = region.clone().or_else(|| host.map(|h| h.signing_region().clone()));
    let mut params = resource::params(&resolved, &query, form.as_ref(), request.body);
    if resolved.service.name == "s3control" {
        let owner = control_account(host, request.headers)?;
        if let (Some(params), Some(owner)) = (params.as_mut(), owner) {
            params.insert("AccountId".to_string(), serde_json::Value::String(owner.to_string()));
        }
    }
    let (bucket, key) = if resolved.service.name == "s3" {
        resource::bucket_and_key(&resolved.labels)
    } else {
        (None, None)
    };
    let iam_action = operation.iam_action.clone();
    let call = arn::Call {
        service: resolved.service,
        protocol: resolved.protocol,
        operation: Some(operation.name.as_str()),
        arn_members: &operation.arn_members,
        params: params.as_ref(),
        headers: request.headers,
        bucket: bucket.as_deref(),
        key: key.as_deref(),
        region: region.as_ref(),
        account,
    };
    let members = dependent::members(resolved.protocol, request.method, request.body, form.is_some());
    let needs = dependent::of(&call, iam_action.as_deref(), members);
    // Every resource the call names must be the named owner's.
    if let Some(disagree) = owner {
        let named = host.and_then(|h| h.account);
        let owned = needs
            .resources
            .as_deref()
            .is_some_and(|all| !all.is_empty() && all.iter().all(|r| arn_account(r) == named));
        if !owned {
            return Err(disagree);
        }
    }
    // Spelt as botocore signs it (`IoTSecuredTunneling`): re-signing must too.
    let signing_name = match &signed.service {
        None => resolved.service.signing_name.clone(),
        Some(scope) => std::iter::once(&resolved.service.signing_name)
            .chain(
                host.into_iter()
                    .flat_map(|h| &h.endpoints)
                    .flat_map(|e| e.signing_names),
            )
            .find(|name| name.eq_ignore_ascii_case(scope.as_str()))
            .map_or_else(|| scope.to_string(), Clone::clone),
    };
    Ok(AwsFacts {
        service,
        endpoint_prefix: Some(resolved.service.endpoint_prefix.clone()),
        signing_name: Some(signing_name),
        action: Some(operation.name.clone()),
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
        protocol: Some(resolved.protocol),
        signing_region,
        signature: signed,
    })
}

/// The service models the request may be for: those the host is an
/// endpoint of, signed as one of them may be; with no AWS host, those
/// signed as the signature's scope says.
fn candidates(host: Option<&HostFacts>, signed: &Signed) -> Result<Vec<&'static Service>, AwsFacetError> {
    let Some(h) = host.filter(|h| !h.endpoints.is_empty()) else {
        return Ok(signed
            .service
            .as_ref()
            .map(|scope| MODELS.with_signing_name(scope.as_str()).collect())
            .unwrap_or_default());
    };
    let Some(scope) = &signed.service else {
        return Ok(h.services().collect());
    };
    let mut agreeing: Vec<&'static Service> = Vec::new();
    for endpoint in &h.endpoints {
        if endpoint
            .signing_names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(scope.as_str()))
            && !agreeing.contains(&endpoint.service)
        {
            agreeing.push(endpoint.service);
        }
    }
    if agreeing.is_empty() {
        let mut names: Vec<&str> = h
            .endpoints
            .iter()
            .flat_map(|e| e.signing_names)
            .map(String::as_str)
            .collect();
        names.dedup();
        return Err(AwsFacetError::Disagree {
            what: "service",
            host: names.join("` or `"),
            signed: scope.to_string(),
        });
    }
    Ok(agreeing)
}

/// The host's region and the signature's must agree, unless the host's
/// service signs it for another (a global service's `us-east-1`).
fn check_region(host: Option<&HostFacts>, signed: &Signed) -> Result<(), AwsFacetError> {
    match (host, &signed.region) {
        (Some(h), Some(scope)) if !h.may_sign_for(scope) => Err(AwsFacetError::Disagree {
            what: "region",
            host: h.region.as_ref().map_or_else(String::new, ToString::to_string),
            signed: scope.to_string(),
        }),
        _ => Ok(()),
    }
}

/// A host that names another account than the key's (`<account>.ddb.<region>`,
/// `<account>.control-kinesis.<region>`): botocore puts there the owner of
/// the resource an ARN names, which a resource policy may open to other
/// accounts. Such a request is refused (the error returned here) unless
/// every resource it names (`aws.resources`) is that account's. S3 Control's host
/// names its `AccountId` parameter instead (see [`control_account`]).
fn foreign_owner(host: Option<&HostFacts>, signed: &Signed) -> Option<AwsFacetError> {
    let h = host.filter(|h| !h.services().any(|s| s.name == "s3control"))?;
    let key = signed.access_key_id.as_deref().and_then(signature::account_of)?;
    let named = h.account.filter(|named| *named != key)?;
    Some(AwsFacetError::Disagree {
        what: "account",
        host: named.to_string(),
        signed: key.to_string(),
    })
}

/// The account field of an ARN (`arn:aws:dynamodb:us-west-2:111122223333:table/T`).
fn arn_account(arn: &str) -> Option<AccountId> {
    AccountId::parse(arn.split(':').nth(4)?).ok()
}

/// The account an S3 Control call names as the owner of what it acts on
/// (its `AccountId`: the `x-amz-account-id` header, and the host's label
/// where the host has one), which may be another account than the caller's;
/// it is `aws.params.AccountId`, for rules. The two places must agree.
fn control_account(host: Option<&HostFacts>, headers: &HeaderMap) -> Result<Option<AccountId>, AwsFacetError> {
    let mut values = headers.get_all("x-amz-account-id").iter();
    let header = values.next();
    if values.next().is_some() {
        return Err(AwsFacetError::Conflict(
            "the request carries two `x-amz-account-id` headers".to_string(),
        ));
    }
    let header = header
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| AccountId::parse(v.trim()).ok())
                .ok_or_else(|| AwsFacetError::Conflict("`x-amz-account-id` is not an account id".to_string()))
        })
        .transpose()?;
    match (host.and_then(|h| h.account), header) {
        (Some(named), Some(sent)) if named != sent => Err(AwsFacetError::Conflict(format!(
            "the host names account {named} but `x-amz-account-id` names {sent}"
        ))),
        (named, sent) => Ok(sent.or(named)),
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
