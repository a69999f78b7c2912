//! `endpoint` blocks: which hosts clawgate intercepts, and how it treats them.

use std::fmt;

use super::reader::{Blocks, Settings};
use super::{ConfigError, HostPattern, Location};

/// An upstream service whose hosts clawgate intercepts.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The endpoint's name, the second label: `endpoint "https" "github"`.
    pub name: String,
    /// What kind of service it is.
    pub kind: EndpointKind,
    /// The hosts it claims.
    pub hosts: Vec<HostPattern>,
}

/// The kinds of endpoint, the first label of the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// Any HTTPS API: intercepted, decided on the `http` facet, forwarded unchanged.
    Https,
}

impl fmt::Display for EndpointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointKind::Https => "https",
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

/// Reads every `endpoint` block, rejecting duplicates.
pub(super) fn read_all(blocks: &Blocks<'_>, errors: &mut Vec<ConfigError>) -> Vec<Endpoint> {
    let mut endpoints: Vec<(Endpoint, Location)> = Vec::new();
    for item in &blocks.endpoint {
        let at = item.location();
        let labels = item.labels();
        let [kind, name] = labels.as_slice() else {
            errors.push(ConfigError::Labels {
                at,
                block: "endpoint".to_string(),
                expected: "two labels, its kind and its name",
                example: r#"endpoint "https" "github" {"#,
            });
            continue;
        };
        let kind = match *kind {
            "https" => EndpointKind::Https,
            other => {
                errors.push(ConfigError::InvalidValue {
                    at,
                    name: "endpoint".to_string(),
                    problem: format!("`{other}` is not an endpoint kind; write \"https\""),
                });
                continue;
            }
        };
        let s = Settings::new(
            item,
            format!("endpoint \"{kind}\" \"{name}\""),
            "hosts",
            errors,
        );
        let mut hosts = Vec::new();
        for (text, where_) in s.strings("hosts", errors).unwrap_or_default() {
            match HostPattern::parse(&text) {
                Ok(p) => hosts.push(p),
                Err(problem) => errors.push(ConfigError::InvalidValue {
                    at: where_,
                    name: "hosts".to_string(),
                    problem,
                }),
            }
        }
        if s.get("hosts").is_none() {
            errors.push(s.missing(
                at.clone(),
                "hosts",
                r#"hosts = ["api.example.com", "*.example.com"]"#,
            ));
        }
        let endpoint = Endpoint {
            name: name.to_string(),
            kind,
            hosts,
        };
        match endpoints
            .iter()
            .find(|(e, _)| e.kind == kind && e.name == endpoint.name)
        {
            Some((_, first)) => errors.push(ConfigError::Duplicate {
                at,
                what: format!("endpoint \"{kind}\" \"{name}\""),
                first: first.clone(),
            }),
            None => endpoints.push((endpoint, at)),
        }
    }
    endpoints.into_iter().map(|(e, _)| e).collect()
}
