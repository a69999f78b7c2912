//! The `aws` facet: an HTTP/1 request (host, signature in the header or
//! the query, path against the models' URI templates, query, form body)
//! read as the gate reads it on an `aws_api` endpoint.
//!
//! Properties: the host's facts are consistent with the name (an AWS
//! suffix, a region that is one, a bucket that prefixes the name); an
//! `aws.account` is twelve digits taken from the access key id, absent
//! only when unsigned; listing accounts only refuses more and names the
//! account; the facts agree with
//! the host and signature (service, region), an action is one of the
//! service's operations, bucket and key only on S3, `iam_action` is
//! `prefix:Name` and first of `iam_actions`, `resource` an ARN and first of
//! `resources` (all ARNs, present exactly when it is).

use clawgate::aws::MODELS;
use clawgate::config::AwsApi;
use clawgate::facet::AwsFacts;
use clawgate::facet::aws::host::{self, HostFacts};
use clawgate::facet::aws::{AwsRequest, MAX_PARAMS_BODY, extract, needs_body};
use clawgate::ids::AccountId;
use clawgate::net::Target;

use crate::request;

/// The accounts of the endpoint that lists some.
const LISTED: [&str; 2] = ["111111111111", "222222222222"];

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let Some((parts, body)) = request::parse(data) else {
        return;
    };
    let Some(target) = request::host(&parts).and_then(|h| Target::parse(h, 443).ok()) else {
        return;
    };
    let host_facts = host::parse(target.host());
    if let Some(facts) = &host_facts {
        check_host(target.host(), facts);
    }
    let request = AwsRequest {
        method: parts.method.as_str(),
        host: target.host(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: (body.len() <= MAX_PARAMS_BODY).then_some(body),
    };
    needs_body(host_facts.as_ref(), &parts.headers, request.method, true);
    let open = extract(&request, &AwsApi::default());
    let listed = extract(&request, &listing());
    if let Ok(facts) = &open {
        check_facts(&request, host_facts.as_ref(), facts);
    }
    if let Ok(facts) = listed {
        // Only an operation AWS takes unsigned names no account.
        if let Some(account) = &facts.account {
            assert!(LISTED.contains(&account.as_str()), "{account} is not listed");
            assert!(facts.account_name.is_some(), "a listed account has no name");
        }
        let open = open.expect("an endpoint listing accounts allowed what an open one refused");
        assert_eq!(
            AwsFacts {
                account_name: None,
                ..facts
            },
            open,
            "listing accounts changed the facts"
        );
    }
}

/// An endpoint listing [`LISTED`].
fn listing() -> AwsApi {
    let accounts = LISTED
        .iter()
        .enumerate()
        .map(|(i, a)| (AccountId::parse(a).unwrap(), format!("account{i}")));
    AwsApi {
        accounts: accounts.collect(),
        ..AwsApi::default()
    }
}

/// What a host's facts say holds of the name.
fn check_host(name: &str, facts: &HostFacts) {
    assert!(
        [".amazonaws.com", ".amazonaws.com.cn", ".api.aws"]
            .iter()
            .any(|s| name.ends_with(s)),
        "{name:?} is read as an AWS host"
    );
    if let Some(region) = &facts.region {
        assert!(host::is_region(region.as_str()), "{name:?}: region {region} is not one");
    }
    if let Some(bucket) = &facts.bucket {
        assert!(!bucket.is_empty(), "{name:?}: empty bucket");
        assert!(name.starts_with(&format!("{bucket}.")), "{name:?}: bucket {bucket:?}");
    }
}

/// What the facts of an accepted request hold.
fn check_facts(request: &AwsRequest<'_>, host: Option<&HostFacts>, facts: &AwsFacts) {
    let signed = &facts.signature;
    match (&facts.account, &signed.access_key_id) {
        (Some(account), Some(key)) => {
            let digits = account.as_str();
            assert!(
                digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit()),
                "{digits:?}"
            );
            assert!(key.contains(digits), "account {digits} is not in the key {key:?}");
        }
        (Some(account), None) => panic!("account {account} without an access key"),
        (None, Some(key)) => panic!("the key {key:?} names no account, yet the request was accepted"),
        (None, None) => {}
    }
    let prefix = facts.endpoint_prefix.as_deref().unwrap_or("");
    if let Some(host) = host.filter(|h| !h.endpoints.is_empty()) {
        assert!(
            host.services().any(|s| s.endpoint_prefix == prefix),
            "the model ({prefix}) is none of the host's"
        );
        if let Some(signed_region) = &signed.region {
            assert!(
                host.may_sign_for(signed_region),
                "the host may not be signed for {signed_region}"
            );
        }
    }
    if let Some(action) = &facts.action {
        let known = MODELS
            .services()
            .iter()
            .filter(|s| s.endpoint_prefix == prefix)
            .any(|s| s.operation(action).is_some())
            || matches!(action.as_str(), "PostObject" | "Invoke");
        assert!(known, "{action} is not an operation of {prefix}");
    }
    if facts.bucket.is_some() || facts.key.is_some() {
        assert_eq!(prefix, "s3", "a bucket outside S3");
    }
    if let Some(iam) = &facts.iam_action {
        let (prefix, name) = iam.split_once(':').unwrap_or(("", ""));
        assert!(!prefix.is_empty() && !name.is_empty() && !name.contains(':'), "{iam:?}");
    }
    if let Some(resource) = &facts.resource {
        assert!(resource.starts_with("arn:"), "{resource:?} is not an ARN");
    }
    assert_eq!(
        facts.resources.as_ref().and_then(|r| r.first()),
        facts.resource.as_ref(),
        "aws.resources must start with aws.resource"
    );
    for arn in facts.resources.iter().flatten() {
        assert!(arn.starts_with("arn:"), "{arn:?} in aws.resources is not an ARN");
    }
    if let Some(actions) = &facts.iam_actions {
        assert_eq!(
            actions.first(),
            facts.iam_action.as_ref(),
            "aws.iam_actions must start with aws.iam_action"
        );
    }
    assert_eq!(
        facts.method.as_deref(),
        Some(request.method.to_ascii_uppercase().as_str())
    );
}
