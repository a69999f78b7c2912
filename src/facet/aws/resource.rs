//! Derived facets: bucket and key, and the request's top-level parameters
//! (resource ARNs are `arn`'s).

use std::collections::BTreeMap;

use super::{Resolved, form_params};
use crate::aws::Protocol;
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
