//! Requests described in words (method, URL, headers; `aws` fields given
//! one by one), as rule tests and `clawgate policy explain` give them. A
//! list field is given as a list, or as one string of comma-separated items
//! (`iam_actions=s3:PutObject,kms:GenerateDataKey` on the command line).

use http::request::Parts;

use super::AwsFacts;
use crate::aws::Protocol;
use crate::config::TestRequest;
use crate::ids::{AccountId, IdError, Region, ServiceName};

/// Why a described request has no facts.
#[derive(Debug, thiserror::Error)]
pub enum DescribeError {
    /// The method, URL or a header does not make a request.
    #[error("cannot describe `{method} {url}`: {source}")]
    Request {
        /// The method given.
        method: String,
        /// The URL given.
        url: String,
        /// Why.
        source: http::Error,
    },
    /// The URL names no host.
    #[error("`{0}` has no host; write a full URL")]
    NoHost(String),
    /// A field name that is not an `aws` field.
    #[error("`aws.{0}` is not a facet field")]
    NotAField(String),
    /// A list given to a field that is not a list.
    #[error("`aws.{0}` is not a list; give it as a string")]
    NotAList(String),
    /// A value that is not of its field's type.
    #[error("aws.{field}: {source}")]
    Id {
        /// The field.
        field: &'static str,
        /// Why.
        source: IdError,
    },
    /// A protocol name the models do not use.
    #[error("aws.protocol: `{0}` is not a protocol; write json, rest-json, rest-xml, query, ec2 or smithy-rpc-v2-cbor")]
    Protocol(String),
}

/// The head of `request` as clawgate would receive it, and its host as
/// routed (lower-case, no brackets, no trailing dot).
pub fn head(request: &TestRequest) -> Result<(Parts, String), DescribeError> {
    let mut builder = http::Request::builder()
        .method(request.method.as_str())
        .uri(request.url.as_str());
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let built = builder.body(()).map_err(|source| DescribeError::Request {
        method: request.method.clone(),
        url: request.url.clone(),
        source,
    })?;
    let host = built
        .uri()
        .host()
        .ok_or_else(|| DescribeError::NoHost(request.url.clone()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    Ok((built.into_parts().0, host))
}

impl AwsFacts {
    /// `aws` facts given field by field; a name that is not an `aws` field,
    /// or a value not of its field's type, is an error.
    pub fn from_fields<'a>(
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
        params: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<AwsFacts, DescribeError> {
        let mut facts = AwsFacts {
            params,
            ..AwsFacts::default()
        };
        for (name, value) in fields {
            facts.set(name, value)?;
        }
        Ok(facts)
    }

    /// Sets the list field `name` to `items`.
    pub fn set_list(&mut self, name: &str, items: Vec<String>) -> Result<(), DescribeError> {
        match name {
            "iam_actions" => self.iam_actions = Some(items),
            "resources" => self.resources = Some(items),
            _ if super::lookup("aws", name).is_some() => return Err(DescribeError::NotAList(name.to_string())),
            _ => return Err(DescribeError::NotAField(name.to_string())),
        }
        Ok(())
    }

    /// Sets the field `name` to `value`, parsed into its type (a list field
    /// to its comma-separated items).
    fn set(&mut self, name: &str, value: &str) -> Result<(), DescribeError> {
        let id = |field: &'static str| move |source| DescribeError::Id { field, source };
        let text = Some(value.to_string());
        match name {
            "service" => self.service = Some(ServiceName::parse(value).map_err(id("service"))?),
            "endpoint_prefix" => self.endpoint_prefix = text,
            "signing_name" => self.signing_name = text,
            "action" => self.action = text,
            "iam_action" => self.iam_action = text,
            "account" => self.account = Some(AccountId::parse(value).map_err(id("account"))?),
            "account_name" => self.account_name = text,
            "region" => self.region = Some(Region::parse(value).map_err(id("region"))?),
            "resource" => self.resource = text,
            "bucket" => self.bucket = text,
            "key" => self.key = text,
            "method" => self.method = text,
            "protocol" => {
                self.protocol = Some(Protocol::parse(value).ok_or_else(|| DescribeError::Protocol(value.to_string()))?);
            }
            "iam_actions" | "resources" => {
                let items = value.split(',').map(str::trim).filter(|item| !item.is_empty());
                self.set_list(name, items.map(str::to_string).collect())?;
            }
            _ => return Err(DescribeError::NotAField(name.to_string())),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facet::{AgentFacts, Facts, HttpFacts};
    use crate::ids::AgentName;

    #[test]
    fn fields_are_read_into_their_types_and_back() {
        let facts = AwsFacts::from_fields([("account", "111111111111"), ("protocol", "rest-xml")], None).unwrap();
        let facts = Facts {
            agent: AgentFacts {
                name: AgentName::local(),
            },
            http: HttpFacts::default(),
            aws: Some(facts),
        };
        assert_eq!(facts.text("aws", "account"), Some("111111111111"));
        assert_eq!(facts.text("aws", "protocol"), Some("rest-xml"));
        assert_eq!(facts.text("aws", "bucket"), None);
        for (field, bad) in [("account", "12"), ("protocol", "soap"), ("colour", "red")] {
            assert!(AwsFacts::from_fields([(field, bad)], None).is_err(), "{field} = {bad}");
        }
    }

    #[test]
    fn list_fields_are_given_as_lists_or_comma_separated() {
        let mut facts = AwsFacts::from_fields([("iam_actions", "s3:PutObject, kms:GenerateDataKey,")], None).unwrap();
        assert_eq!(
            facts.list("iam_actions").unwrap(),
            ["s3:PutObject", "kms:GenerateDataKey"]
        );
        facts
            .set_list("resources", vec!["arn:aws:s3:::b/a,b".to_string()])
            .unwrap();
        assert_eq!(facts.list("resources").unwrap(), ["arn:aws:s3:::b/a,b"]);
        assert!(matches!(
            facts.set_list("action", vec![]),
            Err(DescribeError::NotAList(_))
        ));
        assert!(matches!(
            facts.set_list("colour", vec![]),
            Err(DescribeError::NotAField(_))
        ));
    }
}
