//! Operations AWS serves that no service model describes, named as AWS
//! documents them: S3's browser upload (`PostObject`, a POST-policy form to
//! a bucket) and API Gateway's invocations of a customer's API (`Invoke`,
//! IAM's `execute-api:Invoke`).

use std::sync::LazyLock;

use super::host::{HostFacts, HostForm};
use super::operation::{Request, Resolved};
use crate::aws::signature::Signed;
use crate::aws::template::UriTemplate;
use crate::aws::{MODELS, Operation, Protocol, Service};

/// S3's `POST /{Bucket}` with a `multipart/form-data` body.
static POST_OBJECT: LazyLock<Operation> = LazyLock::new(|| unmodelled("PostObject", "POST", "s3:PutObject"));

/// Any request to an API Gateway API, signed for `execute-api`.
static INVOKE: LazyLock<Operation> = LazyLock::new(|| unmodelled("Invoke", "*", "execute-api:Invoke"));

fn unmodelled(name: &str, method: &str, iam_action: &str) -> Operation {
    Operation {
        name: name.to_string(),
        method: method.to_string(),
        uri: UriTemplate::parse("/"),
        unsigned: false,
        deprecated: false,
        required_query: Vec::new(),
        required_headers: Vec::new(),
        query_keys: Vec::new(),
        iam_action: Some(iam_action.to_string()),
        arn_members: Vec::new(),
    }
}

/// The unmodelled operation `request` is, if it is one.
pub(super) fn resolve(
    candidates: &[&'static Service],
    host: Option<&HostFacts>,
    signed: &Signed,
    request: &Request<'_>,
) -> Option<Resolved<'static>> {
    post_object(candidates, request).or_else(|| invoke(host, signed))
}

/// A POST-policy upload: a form to a bucket (its key is a form field).
fn post_object(candidates: &[&'static Service], request: &Request<'_>) -> Option<Resolved<'static>> {
    let s3 = candidates.iter().find(|s| s.name == "s3")?;
    let form = request.form?;
    let bucket = match request.segments.as_slice() {
        [bucket] | [bucket, ""] if !bucket.is_empty() => *bucket,
        _ => return None,
    };
    if !request.method.eq_ignore_ascii_case("POST") || !request.query.is_empty() {
        return None;
    }
    // S3 takes one `key` field; two (in any case) are not ours to choose from,
    // and an upload without one is no upload.
    let mut keys = form
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("key"))
        .flat_map(|(_, v)| v);
    let (Some(key), None) = (keys.next(), keys.next()) else {
        return None;
    };
    // Labels are kept as sent, percent-encoded; a form field is not.
    let labels = vec![
        ("Bucket".to_string(), bucket.to_string()),
        ("Key".to_string(), key.replace('%', "%25")),
    ];
    Some(Resolved {
        service: s3,
        protocol: Protocol::RestXml,
        operation: &POST_OBJECT,
        labels,
    })
}

/// A request to a customer's API (`<api-id>.execute-api.<region>.amazonaws.com`,
/// or a host listed in `signed_hosts`) signed for `execute-api`.
fn invoke(host: Option<&HostFacts>, signed: &Signed) -> Option<Resolved<'static>> {
    if signed.service.as_ref()?.as_str() != "execute-api" || host.is_some_and(|h| h.form == HostForm::Service) {
        return None;
    }
    Some(Resolved {
        service: MODELS.service("apigatewaymanagementapi")?,
        protocol: Protocol::RestJson,
        operation: &INVOKE,
        labels: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unmodelled_operations_name_actions_iam_has() {
        let iam = include_str!("../../../tests/data/iam-actions.txt");
        for op in [&*POST_OBJECT, &*INVOKE] {
            let action = op.iam_action.as_deref().unwrap();
            assert!(iam.lines().any(|l| l == action), "{action} is not an IAM action");
        }
    }
}
