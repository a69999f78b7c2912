//! Derived facets: the resource ARN, bucket and key, and the
//! request's top-level parameters.

use std::collections::BTreeMap;

use super::{Resolved, form_params};
use crate::aws::Protocol;
use crate::ids::{AccountId, Region};
use crate::net::query::{Plus, percent_decode};

/// S3's bucket and key from the URI labels, percent-decoded.
pub fn bucket_and_key(labels: &[(String, String)]) -> (Option<String>, Option<String>) {
    let get = |name: &str| {
        labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| percent_decode(v, Plus::Literal))
    };
    (get("Bucket"), get("Key"))
}

/// The resource ARN the request names, where one can be derived: S3 buckets
/// and objects, DynamoDB tables, or the first parameter that is an ARN.
pub fn arn(
    resolved: &Resolved<'_>,
    bucket: Option<&str>,
    key: Option<&str>,
    params: Option<&serde_json::Map<String, serde_json::Value>>,
    region: Option<&Region>,
    account: Option<AccountId>,
) -> Option<String> {
    let partition = match region.map(Region::as_str) {
        Some(r) if r.starts_with("cn-") => "aws-cn",
        Some(r) if r.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    };
    let service = resolved.service;
    if service.name == "s3" {
        return match (bucket, key) {
            (Some(b), Some(k)) => Some(format!("arn:{partition}:s3:::{b}/{k}")),
            (Some(b), None) => Some(format!("arn:{partition}:s3:::{b}")),
            _ => None,
        };
    }
    let params = params?;
    if service.endpoint_prefix == "dynamodb"
        && let Some(table) = params.get("TableName").and_then(|t| t.as_str())
    {
        if table.starts_with("arn:") {
            return Some(table.to_string());
        }
        return Some(format!(
            "arn:{partition}:dynamodb:{}:{}:table/{table}",
            region?, account?
        ));
    }
    // A member named as an ARN (`TopicArn`) before any other that holds one
    // (SNS's `Endpoint` may be a queue's ARN).
    let arns = || {
        params
            .iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?)))
            .filter(|(_, v)| v.starts_with("arn:"))
    };
    arns()
        .find(|(k, _)| k.ends_with("Arn") || k.ends_with("ARN"))
        .or_else(|| arns().next())
        .map(|(_, v)| v.to_string())
}

/// The top-level parameters: JSON body members, query/form fields, or
/// (REST) the query fields and URI labels.
pub fn params(
    resolved: &Resolved<'_>,
    query: &BTreeMap<String, Vec<String>>,
    form: Option<&BTreeMap<String, Vec<String>>>,
    body: Option<&[u8]>,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    match resolved.protocol {
        Protocol::Json => json_object(body?),
        Protocol::Query | Protocol::Ec2 => {
            let mut all = query.clone();
            for (k, vs) in form.into_iter().flatten() {
                all.entry(k.clone()).or_default().extend(vs.iter().cloned());
            }
            Some(form_params(&all))
        }
        Protocol::RestJson | Protocol::RestXml => {
            let mut map = form_params(query);
            let body_members = if resolved.protocol == Protocol::RestJson {
                body.and_then(json_object)
            } else {
                None
            };
            map.extend(body_members.into_iter().flatten());
            for (name, value) in &resolved.labels {
                map.insert(
                    name.clone(),
                    serde_json::Value::String(percent_decode(value, Plus::Literal)),
                );
            }
            Some(map)
        }
        Protocol::Cbor => None,
    }
}

fn json_object(body: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(serde_json::Map::new());
    }
    match serde_json::from_slice(body).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}
