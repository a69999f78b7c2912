//! Facts for a request described in words (method, URL, headers, agent), as
//! rule tests and `clawgate policy explain` give them.

use std::collections::BTreeMap;

use super::{AgentFacts, AwsFacts, Facts, HttpFacts, lookup};
use crate::config::{AgentName, TestRequest};

impl Facts {
    /// The facts of `request` sent by `agent`.
    pub fn describe(request: &TestRequest, agent: AgentName) -> Result<Facts, String> {
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let built = builder
            .body(())
            .map_err(|e| format!("cannot describe `{} {}`: {e}", request.method, request.url))?;
        let host = built
            .uri()
            .host()
            .ok_or_else(|| format!("`{}` has no host; write a full URL", request.url))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        Ok(Facts {
            agent: AgentFacts { name: agent },
            http: HttpFacts::from_parts(&built.into_parts().0, &host),
            aws: None,
        })
    }
}

/// Query parameters that carry signature material; never recorded.
const SIGNATURE_QUERY: [&str; 4] = [
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "Signature",
];

impl Facts {
    /// The facts worth recording and showing to people, flat
    /// (`aws.action` → `PutObject`): no headers, no body parameters, no
    /// signature query parameters.
    pub fn flat(&self) -> BTreeMap<String, String> {
        let mut flat = BTreeMap::from([
            ("agent.name".to_string(), self.agent.name.to_string()),
            ("http.method".to_string(), self.http.method.clone()),
            ("http.host".to_string(), self.http.host.clone()),
            ("http.path".to_string(), self.http.path.clone()),
        ]);
        let query: Vec<String> = self
            .http
            .query
            .iter()
            .filter(|(k, _)| !SIGNATURE_QUERY.contains(&k.as_str()))
            .flat_map(|(k, values)| {
                values
                    .iter()
                    .map(move |v| if v.is_empty() { k.clone() } else { format!("{k}={v}") })
            })
            .collect();
        if !query.is_empty() {
            flat.insert("http.query".to_string(), query.join("&"));
        }
        if let Some(aws) = &self.aws {
            flat.extend(aws.strings.iter().map(|(k, v)| (format!("aws.{k}"), v.clone())));
        }
        flat
    }
}

impl AwsFacts {
    /// `aws` facts given field by field; a name that is not an `aws` field is an error.
    pub fn from_fields<'a>(
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
        params: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<AwsFacts, String> {
        let mut facts = AwsFacts {
            params,
            ..AwsFacts::default()
        };
        for (name, value) in fields {
            let field = lookup("aws", name).ok_or_else(|| format!("`aws.{name}` is not a facet field"))?;
            facts.strings.insert(field.name, value.to_string());
        }
        Ok(facts)
    }
}
