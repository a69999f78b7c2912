//! Facts for a request described in words (method, URL, headers, agent), as
//! rule tests and `clawgate policy explain` give them.

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
