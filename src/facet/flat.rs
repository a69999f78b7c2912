//! The facts worth keeping: flat, for audit records and for the people
//! deciding on a hold.

use std::collections::BTreeMap;

use super::Facts;

/// Query parameters that carry signature material or secrets; never
/// recorded, whatever their case.
const SECRET_QUERY: [&str; 8] = [
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "signature",
    "awsaccesskeyid",
    "password",
    "newpassword",
    "oldpassword",
];

impl Facts {
    /// The facts worth recording and showing to people, flat
    /// (`aws.action` → `PutObject`, lists joined: `aws.iam_actions` →
    /// `s3:PutObject, kms:GenerateDataKey`): no headers, no body parameters;
    /// the query only off AWS (where the `aws` facts say what it does), and
    /// without signature or password parameters.
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
            .filter(|_| self.aws.is_none())
            .filter(|(k, _)| !SECRET_QUERY.contains(&k.to_ascii_lowercase().as_str()))
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
            flat.extend(
                aws.texts()
                    .map(|(name, value)| (format!("aws.{name}"), value.to_string())),
            );
            flat.extend(
                aws.lists()
                    .map(|(name, items)| (format!("aws.{name}"), items.join(", "))),
            );
        }
        flat
    }
}

#[cfg(test)]
mod tests {
    use crate::config::TestRequest;
    use crate::ids::AgentName;

    #[test]
    fn flat_facts_leave_out_headers_and_secret_query_parameters() {
        let request = TestRequest {
            method: "GET".into(),
            url: "https://api.example.com/v1/x?q=1&X-Amz-Signature=abc&password=hunter2&flag".into(),
            headers: vec![("authorization".into(), "Bearer secret".into())],
            body: String::new(),
        };
        let (parts, host) = crate::facet::described_head(&request).unwrap();
        let agent = AgentName::parse("ci-bot").unwrap();
        let seen = crate::facet::Seen {
            agent: &agent,
            parts: &parts,
            host: &host,
            aws_host: None,
            api: None,
            reads_params: false,
        };
        let facts = seen.facts(None).unwrap();
        let flat = facts.flat();
        assert_eq!(flat["http.query"], "flag&q=1");
        assert_eq!(flat["agent.name"], "ci-bot");
        assert!(
            flat.values().all(|v| !v.contains("secret") && !v.contains("hunter2")),
            "{flat:?}"
        );
        assert!(!flat.keys().any(|k| k.starts_with("http.headers")));
    }

    #[test]
    fn list_facets_are_joined() {
        let aws = crate::facet::AwsFacts::from_fields(
            [
                ("iam_actions", "s3:PutObject,kms:GenerateDataKey"),
                ("resources", "arn:aws:s3:::b/k"),
            ],
            None,
        )
        .unwrap();
        let facts = crate::facet::Facts {
            agent: crate::facet::AgentFacts {
                name: AgentName::local(),
            },
            http: crate::facet::HttpFacts::default(),
            aws: Some(aws),
        };
        let flat = facts.flat();
        assert_eq!(flat["aws.iam_actions"], "s3:PutObject, kms:GenerateDataKey");
        assert_eq!(flat["aws.resources"], "arn:aws:s3:::b/k");
    }
}
