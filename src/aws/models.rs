//! The operation table generated from botocore's service models
//! (`models.txt`, see README.md), loaded once.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::template::UriTemplate;

/// The wire protocols AWS services speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// JSON body, operation in `X-Amz-Target`.
    Json,
    /// REST with JSON bodies.
    RestJson,
    /// REST with XML bodies (S3, CloudFront, Route 53).
    RestXml,
    /// Form-encoded `Action=…` (IAM, STS, SQS's older form).
    Query,
    /// EC2's variant of query.
    Ec2,
    /// Smithy RPC v2 CBOR: the operation in the path `/service/<S>/operation/<Op>`.
    Cbor,
}

impl Protocol {
    /// The protocol named `text`, as the models (and `aws.protocol`) write it.
    pub fn parse(text: &str) -> Option<Protocol> {
        Some(match text {
            "json" => Protocol::Json,
            "rest-json" => Protocol::RestJson,
            "rest-xml" => Protocol::RestXml,
            "query" => Protocol::Query,
            "ec2" => Protocol::Ec2,
            "smithy-rpc-v2-cbor" => Protocol::Cbor,
            _ => return None,
        })
    }

    /// The protocol's name as the models write it (`aws.protocol`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Json => "json",
            Protocol::RestJson => "rest-json",
            Protocol::RestXml => "rest-xml",
            Protocol::Query => "query",
            Protocol::Ec2 => "ec2",
            Protocol::Cbor => "smithy-rpc-v2-cbor",
        }
    }
}

/// One service model.
#[derive(Debug)]
pub struct Service {
    /// The model's name (botocore's data directory), e.g. `s3`, `sesv2`.
    pub name: String,
    /// The host prefix, e.g. `s3`, `monitoring`, `streams.dynamodb`.
    pub endpoint_prefix: String,
    /// The SigV4 signing name, e.g. `s3`, `ses`.
    pub signing_name: String,
    /// Protocols, in the model's order.
    pub protocols: Vec<Protocol>,
    /// The JSON/CBOR target prefix, e.g. `DynamoDB_20120810`.
    pub target_prefix: Option<String>,
    /// The API version, e.g. `2016-11-15` (query's `Version`).
    pub api_version: String,
    /// The operations.
    pub operations: Vec<Operation>,
}

/// One operation of a service.
#[derive(Debug)]
pub struct Operation {
    /// The operation's name, e.g. `PutObject`.
    pub name: String,
    /// Its HTTP method (REST protocols).
    pub method: String,
    /// Its request URI template (REST protocols).
    pub uri: UriTemplate,
    /// Whether it is sent without a signature.
    pub unsigned: bool,
    /// Whether the model marks it deprecated.
    pub deprecated: bool,
    /// Query keys that must be present.
    pub required_query: Vec<String>,
    /// Headers that must be present (lower-case).
    pub required_headers: Vec<String>,
    /// Every query key it binds.
    pub query_keys: Vec<String>,
}

impl Service {
    /// The operation named `name`.
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.name == name)
    }
}

/// Every service model, indexed by host prefix and signing name.
#[derive(Debug)]
pub struct Models {
    services: Vec<Service>,
    by_prefix: HashMap<String, Vec<usize>>,
}

/// The table compiled into clawgate.
pub static MODELS: LazyLock<Models> = LazyLock::new(|| Models::parse(include_str!("models.txt")));

impl Models {
    /// Parses the table; a malformed line is skipped (a test checks there are none).
    pub fn parse(text: &str) -> Models {
        let mut services: Vec<Service> = Vec::new();
        for line in text.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            let dash = |s: &str| (s != "-").then(|| s.to_string());
            let list = |s: &str| {
                if s == "-" {
                    Vec::new()
                } else {
                    s.split(',').map(str::to_string).collect()
                }
            };
            match fields.as_slice() {
                ["S", name, prefix, signing, protocols, target, version] => services.push(Service {
                    name: name.to_string(),
                    endpoint_prefix: prefix.to_ascii_lowercase(),
                    signing_name: signing.to_string(),
                    protocols: protocols.split(',').filter_map(Protocol::parse).collect(),
                    target_prefix: dash(target),
                    api_version: version.to_string(),
                    operations: Vec::new(),
                }),
                [
                    "O",
                    name,
                    method,
                    uri,
                    flags,
                    required_query,
                    required_headers,
                    query_keys,
                ] => {
                    if let Some(service) = services.last_mut() {
                        service.operations.push(Operation {
                            name: name.to_string(),
                            method: method.to_string(),
                            uri: UriTemplate::parse(uri),
                            unsigned: flags.split(',').any(|f| f == "unsigned"),
                            deprecated: flags.split(',').any(|f| f == "deprecated"),
                            required_query: list(required_query),
                            required_headers: list(required_headers),
                            query_keys: list(query_keys),
                        });
                    }
                }
                _ => {}
            }
        }
        let mut by_prefix: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in services.iter().enumerate() {
            by_prefix.entry(s.endpoint_prefix.clone()).or_default().push(i);
        }
        Models { services, by_prefix }
    }

    /// Every model.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The models whose host prefix is `prefix`.
    pub fn with_prefix(&self, prefix: &str) -> impl Iterator<Item = &Service> {
        self.by_prefix
            .get(prefix)
            .into_iter()
            .flatten()
            .map(|&i| &self.services[i])
    }

    /// Whether some model uses `prefix` as its host prefix.
    pub fn is_prefix(&self, prefix: &str) -> bool {
        self.by_prefix.contains_key(prefix)
    }

    /// The models signed as `signing_name`.
    pub fn with_signing_name<'a>(&'a self, signing_name: &'a str) -> impl Iterator<Item = &'a Service> {
        self.services.iter().filter(move |s| s.signing_name == signing_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_at_least_400_services_and_parses_whole() {
        let text = include_str!("models.txt");
        let lines = text.lines().filter(|l| !l.starts_with('#')).count();
        let models = &*MODELS;
        let operations: usize = models.services().iter().map(|s| s.operations.len()).sum();
        assert!(models.services().len() >= 400, "{} services", models.services().len());
        assert_eq!(models.services().len() + operations, lines, "every line parses");
        assert!(
            models.services().iter().all(|s| !s.protocols.is_empty()),
            "every protocol is known"
        );
        let s3 = models.with_prefix("s3").next().unwrap();
        assert_eq!(
            s3.operation("UploadPartCopy").unwrap().required_headers,
            ["x-amz-copy-source"]
        );
    }
}
