//! What an AWS host name says: the service models whose endpoints have that
//! name (read from botocore's endpoint rule sets, in every partition), the
//! region, (for virtual-host S3) the bucket, the account some hosts name, and
//! whether the name is a service endpoint AWS answers itself or one a
//! customer may own.

use crate::aws::{HostPattern, Label, MODELS, Partition, Service};
use crate::ids::{AccountId, Region};

/// What a host name says about an AWS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    /// The endpoints the name is one of: their models, and the services a
    /// request to them may be signed for. Empty for [`HostForm::Other`].
    pub endpoints: Vec<Endpoint>,
    /// The region the host names, if it names one.
    pub region: Option<Region>,
    /// The partition the host is in.
    pub partition: &'static Partition,
    /// The bucket, for virtual-host S3.
    pub bucket: Option<String>,
    /// The account the host names (`<account>.ddb.<region>`, `<account>.s3-control.<region>`).
    pub account: Option<AccountId>,
    /// Whether AWS answers the name itself.
    pub form: HostForm,
}

/// One service endpoint a host name is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The service model.
    pub service: &'static Service,
    /// The services a request to it may be signed for (`s3-object-lambda`).
    pub signing_names: &'static [String],
    /// Regions it may be signed for besides the one it names (see
    /// [`crate::aws::HostPattern::signing_regions`]).
    pub signing_regions: &'static [String],
}

/// Who answers a name under an AWS domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostForm {
    /// A service endpoint: a host botocore's endpoint rule sets produce for
    /// some model (FIPS, dual-stack, account and bucket hosts included), or
    /// one of S3's and SQS's legacy names. AWS answers it.
    Service,
    /// Any other name: labels a customer chose in front of a service's name
    /// (an API Gateway id, a load balancer, an EC2 instance, an S3 website)
    /// or a name no endpoint has. Anyone may own it.
    Other,
}

impl HostFacts {
    /// The distinct service models the host is an endpoint of.
    pub fn services(&self) -> impl Iterator<Item = &'static Service> + '_ {
        self.endpoints
            .iter()
            .enumerate()
            .filter(|(i, e)| !self.endpoints[..*i].iter().any(|before| before.service == e.service))
            .map(|(_, e)| e.service)
    }

    /// Whether a request to the host may be signed for `region`: the one it
    /// names, or one of its partition's that its endpoints sign for whatever
    /// the host names (a global service's `us-east-1`).
    pub fn may_sign_for(&self, region: &Region) -> bool {
        let fixed = || {
            self.endpoints
                .iter()
                .flat_map(|e| e.signing_regions)
                .any(|r| match r.as_str() {
                    "global" => self.partition.global_region == *region,
                    fixed => fixed == region.as_str(),
                })
        };
        self.region.as_ref().is_none_or(|named| named == region)
            || (self.partition.has_region(region.as_str()) && fixed())
    }

    /// The region to sign for when the signature names none: the host's,
    /// else its partition's global region (`s3.amazonaws.com` is us-east-1).
    pub fn signing_region(&self) -> &Region {
        self.region.as_ref().unwrap_or(&self.partition.global_region)
    }
}

/// Reads an AWS host name (lower-case, no port); `None` if it is not one.
pub fn parse(host: &str) -> Option<HostFacts> {
    let (rest, partitions) = strip_suffix(host)?;
    let labels: Vec<&str> = rest.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return None;
    }
    let facts = endpoints(&labels)
        .or_else(|| legacy_s3(&labels))
        .or_else(|| legacy_sqs(&labels))
        .unwrap_or_else(|| Found {
            endpoints: Vec::new(),
            region: labels.iter().rev().find(|l| is_region(l)).copied(),
            bucket: None,
            account: None,
        });
    let region = facts.region.map(Region::parse).transpose().ok()?;
    // Partitions that share a suffix (aws, aws-us-gov) are told apart by region.
    let partition = partitions
        .iter()
        .copied()
        .find(|p| region.as_ref().is_some_and(|r| p.has_region(r.as_str())))
        .or_else(|| partitions.first().copied())?;
    let form = if facts.endpoints.is_empty() {
        HostForm::Other
    } else {
        HostForm::Service
    };
    Some(HostFacts {
        endpoints: facts.endpoints,
        region,
        partition,
        bucket: facts.bucket,
        account: facts.account.and_then(|a| AccountId::parse(a).ok()),
        form,
    })
}

/// What the labels matched.
#[derive(Default)]
struct Found<'h> {
    endpoints: Vec<Endpoint>,
    region: Option<&'h str>,
    bucket: Option<String>,
    account: Option<&'h str>,
}

/// `host` without the longest partition suffix it ends with, and the
/// partitions that have that suffix.
fn strip_suffix(host: &str) -> Option<(&str, Vec<&'static Partition>)> {
    let models = &*MODELS;
    let mut best: Option<(&str, Vec<&'static Partition>)> = None;
    for partition in models.partitions() {
        let suffixes = [&partition.dns_suffix, &partition.dual_stack_suffix]
            .into_iter()
            .chain(&partition.extra_suffixes);
        for suffix in suffixes {
            let Some(rest) = host.strip_suffix(suffix.as_str()).and_then(|r| r.strip_suffix('.')) else {
                continue;
            };
            match &mut best {
                Some((kept, ps)) if kept.len() == rest.len() => ps.push(partition),
                Some((kept, _)) if kept.len() < rest.len() => {}
                _ => best = Some((rest, vec![partition])),
            }
        }
    }
    best.filter(|(rest, _)| !rest.is_empty())
}

/// The endpoints whose patterns match `labels`.
/// Only the most literal patterns that match count: a glob never takes a
/// label another pattern names exactly (S3 Express's zonal
/// `{bucket}.s3express-*.{region}` does not read
/// `111111111111.s3express-control.us-east-1` as a bucket).
fn endpoints<'h>(labels: &[&'h str]) -> Option<Found<'h>> {
    let models = &*MODELS;
    let mut found = Found::default();
    let mut most = 0;
    for pattern in models.host_patterns(labels) {
        let Some(bound) = matches(&pattern.labels, labels) else {
            continue;
        };
        let literal = pattern.labels.iter().filter(|l| matches!(l, Label::Literal(_))).count();
        if literal < most {
            continue;
        }
        if literal > most {
            most = literal;
            found = Found::default();
        }
        found.region = found.region.or(bound.region);
        found.bucket = found.bucket.or(bound.bucket).or_else(|| access_point(pattern, labels));
        found.account = found.account.or(bound.account);
        let endpoint = Endpoint {
            service: models.service_of(pattern),
            signing_names: &pattern.signing_names,
            signing_regions: &pattern.signing_regions,
        };
        if !found.endpoints.contains(&endpoint) {
            found.endpoints.push(endpoint);
        }
    }
    (!found.endpoints.is_empty()).then_some(found)
}

/// On an S3 access-point host (`<name>-<account>.s3-accesspoint.<region>`,
/// a multi-region `<alias>.accesspoint.s3-global`), the path is the key and
/// the access point stands where the bucket would: its label is the bucket
/// the request names, never the path's first segment.
fn access_point(pattern: &HostPattern, labels: &[&str]) -> Option<String> {
    match pattern.labels.as_slice() {
        [Label::Any { prefix, suffix }, Label::Literal(next), ..]
            if prefix.is_empty()
                && suffix.is_empty()
                && (next.starts_with("s3-accesspoint") || next == "accesspoint") =>
        {
            labels.first().map(|l| l.to_string())
        }
        _ => None,
    }
}

/// What one pattern bound.
struct Bound<'h> {
    region: Option<&'h str>,
    bucket: Option<String>,
    account: Option<&'h str>,
}

/// Matches `pattern` against the whole of `labels`.
fn matches<'h>(pattern: &[Label], labels: &[&'h str]) -> Option<Bound<'h>> {
    let (pattern, labels, bucket) = match pattern.split_first() {
        // A bucket takes every label the rest of the pattern leaves.
        Some((Label::Bucket, rest)) => {
            let taken = labels.len().checked_sub(rest.len()).filter(|&n| n > 0)?;
            (rest, &labels[taken..], Some(labels[..taken].join(".")))
        }
        _ => (pattern, labels, None),
    };
    if pattern.len() != labels.len() {
        return None;
    }
    let mut bound = Bound {
        region: None,
        bucket,
        account: None,
    };
    for (label, text) in pattern.iter().zip(labels) {
        match label {
            Label::Literal(literal) if literal == text => {}
            Label::Region if is_region(text) => bound.region = Some(text),
            Label::Account if AccountId::parse(text).is_ok() => bound.account = Some(text),
            Label::Any { prefix, suffix }
                if text.len() > prefix.len() + suffix.len()
                    && text.starts_with(prefix.as_str())
                    && text.ends_with(suffix.as_str()) => {}
            _ => return None,
        }
    }
    Some(bound)
}

/// S3's legacy names, which botocore no longer makes but S3 still answers:
/// `s3-<region>`, `s3-fips-<region>`, `s3-external-1`, each possibly after a bucket.
fn legacy_s3<'h>(labels: &[&'h str]) -> Option<Found<'h>> {
    let (last, before) = labels.split_last()?;
    let region = match *last {
        "s3-external-1" => "us-east-1",
        other => other
            .strip_prefix("s3-fips-")
            .or_else(|| other.strip_prefix("s3-"))
            .filter(|r| is_region(r))?,
    };
    Some(Found {
        endpoints: vec![plain_endpoint("s3")?],
        region: Some(region),
        bucket: (!before.is_empty()).then(|| before.join(".")),
        account: None,
    })
}

/// SQS's legacy names, `queue.amazonaws.com` and `<region>.queue.amazonaws.com`,
/// which the AWS CLI still uses.
fn legacy_sqs<'h>(labels: &[&'h str]) -> Option<Found<'h>> {
    let region = match labels {
        ["queue"] => None,
        [region, "queue"] if is_region(region) => Some(*region),
        _ => return None,
    };
    Some(Found {
        endpoints: vec![plain_endpoint("sqs")?],
        region,
        bucket: None,
        account: None,
    })
}

/// The plain endpoint of the model `name`, signed as its model says.
fn plain_endpoint(name: &str) -> Option<Endpoint> {
    let service = MODELS.service(name)?;
    Some(Endpoint {
        service,
        signing_names: std::slice::from_ref(&service.signing_name),
        signing_regions: &[],
    })
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`, …
pub fn is_region(label: &str) -> bool {
    let parts: Vec<&str> = label.split('-').collect();
    parts.len() >= 3
        && (2..=4).contains(&parts[0].len())
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Read = Option<(Option<String>, Option<String>, Option<String>)>;

    /// The model (the one named like the expected, when the host is
    /// several models' endpoint), the region and the bucket `host` names.
    fn h(host: &str, expected: &Read) -> Read {
        let want = expected.as_ref().and_then(|(s, _, _)| s.clone());
        parse(&host.to_ascii_lowercase()).map(|f| {
            let names: Vec<String> = f.services().map(|s| s.name.clone()).collect();
            let service = match &want {
                Some(w) if names.contains(w) => Some(w.clone()),
                _ => names.first().cloned(),
            };
            (service, f.region.map(|r| r.to_string()), f.bucket)
        })
    }

    fn some(service: &str, region: Option<&str>, bucket: Option<&str>) -> Read {
        Some((
            (!service.is_empty()).then(|| service.to_string()),
            region.map(str::to_string),
            bucket.map(str::to_string),
        ))
    }

    #[test]
    fn hosts_from_the_endpoint_rule_sets_and_the_legacy_names() {
        let e1 = Some("us-east-1");
        for (host, expected) in [
            ("s3.amazonaws.com", some("s3", None, None)),
            ("my-bucket.s3.amazonaws.com", some("s3", None, Some("my-bucket"))),
            ("s3.us-west-2.amazonaws.com", some("s3", Some("us-west-2"), None)),
            ("dynamodb.us-east-1.amazonaws.com", some("dynamodb", e1, None)),
            ("DynamoDB.US-East-1.amazonaws.com", some("dynamodb", e1, None)),
            ("iam.amazonaws.com", some("iam", None, None)),
            ("iam.global.api.aws", some("iam", None, None)),
            (
                "dotted.bucket.name.s3.us-west-2.amazonaws.com",
                some("s3", Some("us-west-2"), Some("dotted.bucket.name")),
            ),
            ("s3.dualstack.us-east-1.amazonaws.com", some("s3", e1, None)),
            (
                "bucket.s3.dualstack.us-east-1.amazonaws.com",
                some("s3", e1, Some("bucket")),
            ),
            ("s3-fips.us-east-1.amazonaws.com", some("s3", e1, None)),
            (
                "x-111111111111.s3-accesspoint.us-east-1.amazonaws.com",
                some("s3", e1, Some("x-111111111111")),
            ),
            ("s3-us-west-2.amazonaws.com", some("s3", Some("us-west-2"), None)),
            (
                "bucket.s3-eu-west-1.amazonaws.com",
                some("s3", Some("eu-west-1"), Some("bucket")),
            ),
            ("s3-external-1.amazonaws.com", some("s3", e1, None)),
            ("s3express-control.us-east-1.amazonaws.com", some("s3", e1, None)),
            (
                "111111111111.s3-control.us-east-1.amazonaws.com",
                some("s3control", e1, None),
            ),
            (
                "sts.us-gov-west-1.amazonaws.com",
                some("sts", Some("us-gov-west-1"), None),
            ),
            (
                "streams.dynamodb.us-east-1.amazonaws.com",
                some("dynamodbstreams", e1, None),
            ),
            ("s3.cn-north-1.amazonaws.com.cn", some("s3", Some("cn-north-1"), None)),
            ("b.s3-accelerate.amazonaws.com", some("s3", None, Some("b"))),
            ("111111111111.ddb.us-east-1.amazonaws.com", some("dynamodb", e1, None)),
            (
                "111111111111.control-kinesis.us-east-1.amazonaws.com",
                some("kinesis", e1, None),
            ),
            ("acm-acme.us-east-1.api.aws", some("acm", e1, None)),
            (
                "data-servicediscovery.us-east-1.amazonaws.com",
                some("servicediscovery", e1, None),
            ),
            ("stream-logs.us-east-1.amazonaws.com", some("logs", e1, None)),
            ("data-ats.iot.us-east-1.amazonaws.com", some("iot-data", e1, None)),
            ("email.eu-west-1.amazonaws.com", some("ses", Some("eu-west-1"), None)),
            ("queue.amazonaws.com", some("sqs", None, None)),
            ("eu-west-1.queue.amazonaws.com", some("sqs", Some("eu-west-1"), None)),
            (
                "abc123.execute-api.eu-west-1.amazonaws.com",
                some("", Some("eu-west-1"), None),
            ),
            ("iam.us-gov.amazonaws.com", some("iam", None, None)),
            (
                "ingest-cell1.timestream.us-east-1.amazonaws.com",
                some("timestream-write", e1, None),
            ),
            (
                "g-1234.us-east-1.neptune-graph.amazonaws.com",
                some("neptune-graph", e1, None),
            ),
            ("space-1.osm.us-east-1.on.aws", some("opensearchmemory", e1, None)),
            (
                "health.us-west-2.amazonaws.com",
                some("health", Some("us-west-2"), None),
            ),
        ] {
            assert_eq!(h(host, &expected), expected, "{host}");
        }
        for host in [
            "example.com",
            "amazonaws.com.evil.net",
            "amazonaws.com",
            "a..s3.amazonaws.com",
        ] {
            assert_eq!(h(host, &None), None, "{host}");
        }
    }

    #[test]
    fn partitions_come_from_the_suffix_and_the_region() {
        let partition = |host: &str| parse(host).map(|f| f.partition.id.clone());
        assert_eq!(partition("s3.cn-north-1.amazonaws.com.cn").as_deref(), Some("aws-cn"));
        assert_eq!(
            partition("sts.us-gov-west-1.amazonaws.com").as_deref(),
            Some("aws-us-gov")
        );
        assert_eq!(partition("sts.us-east-1.amazonaws.com").as_deref(), Some("aws"));
        let global = parse("s3.amazonaws.com").unwrap();
        assert_eq!(
            global.signing_region().as_str(),
            "us-east-1",
            "global endpoints sign for us-east-1"
        );
        let region = |r: &str| Region::parse(r).unwrap();
        let health = parse("health.us-west-2.amazonaws.com").unwrap();
        assert!(
            health.may_sign_for(&region("us-east-1")),
            "a global service signs us-east-1 anywhere"
        );
        assert!(health.may_sign_for(&region("us-west-2")));
        assert!(!health.may_sign_for(&region("eu-west-1")));
        assert!(
            !health.may_sign_for(&region("cn-northwest-1")),
            "another partition's region never"
        );
        let bucket = parse("b.s3.eu-west-1.amazonaws.com").unwrap();
        assert!(!bucket.may_sign_for(&region("us-east-1")), "S3 is regional");
        let iam = parse("iam.us-gov.amazonaws.com").unwrap();
        assert!(iam.may_sign_for(&region("us-gov-west-1")));
    }

    #[test]
    fn account_hosts_name_their_account_and_customer_labels_make_another_form() {
        let account = |host: &str| parse(host).and_then(|f| f.account).map(|a| a.to_string());
        assert_eq!(
            account("111111111111.ddb.us-east-1.amazonaws.com").as_deref(),
            Some("111111111111")
        );
        assert_eq!(
            account("222222222222.s3-control.us-east-1.amazonaws.com").as_deref(),
            Some("222222222222")
        );
        assert_eq!(account("dynamodb.us-east-1.amazonaws.com"), None);
        let form = |host: &str| parse(host).map(|f| f.form);
        assert_eq!(
            form("111111111111.ddb.us-east-1.amazonaws.com"),
            Some(HostForm::Service)
        );
        assert_eq!(form("bucket.s3.amazonaws.com"), Some(HostForm::Service));
        assert_eq!(
            form("abc123.execute-api.us-east-1.amazonaws.com"),
            Some(HostForm::Other)
        );
        assert_eq!(form("ec2-3-80-1-2.compute-1.amazonaws.com"), Some(HostForm::Other));
        assert_eq!(form("bucket.s3-website-us-east-1.amazonaws.com"), Some(HostForm::Other));
        assert_eq!(form("my-alb-1.us-east-1.elb.amazonaws.com"), Some(HostForm::Other));
        assert_eq!(form("abc.lambda-url.us-east-1.on.aws"), Some(HostForm::Other));
    }
}
