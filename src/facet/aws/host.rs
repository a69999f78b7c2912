//! What an AWS host name says: the service's host prefix, the region, (for
//! virtual-host S3) the bucket, the account some hosts name, and whether the
//! name is a service endpoint AWS answers itself or one a customer may own.

use crate::aws::MODELS;
use crate::ids::{AccountId, Region, ServiceName};

/// The suffixes of AWS API hosts.
const SUFFIXES: [&str; 3] = [".amazonaws.com.cn", ".amazonaws.com", ".api.aws"];

/// Host prefixes that are other names for a model's prefix: DynamoDB's
/// account-based endpoints (`<account>.ddb.<region>`) and SQS's legacy host.
const ALIASES: [(&str, &str); 3] = [
    ("ddb", "dynamodb"),
    ("streams-ddb", "streams.dynamodb"),
    ("queue", "sqs"),
];

/// What a host name says about an AWS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    /// The host prefix (`s3`, `dynamodb`, `streams.dynamodb`, `s3-control`).
    pub service: ServiceName,
    /// The region the host names, if it names one.
    pub region: Option<Region>,
    /// The bucket, for virtual-host S3.
    pub bucket: Option<String>,
    /// The account the host names: `<account>.ddb.<region>`, `<account>.streams-ddb.<region>`.
    pub account: Option<AccountId>,
    /// Whether AWS answers the name itself.
    pub form: HostForm,
}

/// Who answers a name under an AWS domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostForm {
    /// A service endpoint, in a shape botocore's endpoint data gives a model's
    /// host prefix: `<prefix>[-fips].<region>.<suffix>`, `<prefix>.<suffix>`,
    /// dual-stack and FIPS variants, S3's bucket, access-point and control
    /// hosts, DynamoDB's account hosts. AWS answers it.
    Service,
    /// Any other name: labels a customer chose in front of a service's name
    /// (an API Gateway id, a load balancer, an EC2 instance, an S3 website)
    /// or a prefix no model has. Anyone may own it.
    Other,
}

/// Reads an AWS host name (lower-case, no port); `None` if it is not one.
pub fn parse(host: &str) -> Option<HostFacts> {
    let rest = SUFFIXES.iter().find_map(|s| host.strip_suffix(s))?;
    let labels: Vec<&str> = rest.split('.').collect();
    s3(&labels).or_else(|| legacy_sqs(&labels)).or_else(|| generic(&labels))
}

/// SQS's legacy regional host, `<region>.queue.amazonaws.com`, which the AWS CLI still uses.
fn legacy_sqs(labels: &[&str]) -> Option<HostFacts> {
    let [region, "queue"] = labels else { return None };
    if !is_region(region) {
        return None;
    }
    Some(HostFacts {
        service: ServiceName::parse("sqs").ok()?,
        region: Some(Region::parse(region).ok()?),
        bucket: None,
        account: None,
        form: HostForm::Service,
    })
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`, …
pub fn is_region(label: &str) -> bool {
    let parts: Vec<&str> = label.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// S3's many host forms: `s3`, `s3.<region>`, `s3.dualstack.<region>`,
/// `s3-fips.<region>`, `s3-<region>`, `s3-external-1`, `s3-accesspoint`,
/// `s3-control`, each possibly after a bucket (virtual-host style).
fn s3(labels: &[&str]) -> Option<HostFacts> {
    // The rightmost S3 label whose followers are only `dualstack`, `fips` and a region.
    let (index, service, mut region) = labels.iter().enumerate().rev().find_map(|(i, label)| {
        let tail = &labels[i + 1..];
        let tail_ok = tail.iter().all(|l| matches!(*l, "dualstack" | "fips") || is_region(l))
            && tail.iter().filter(|l| is_region(l)).count() <= 1;
        if !tail_ok {
            return None;
        }
        let (service, region) = match *label {
            "s3" | "s3-fips" | "s3-accesspoint" | "s3-accesspoint-fips" | "s3-object-lambda" | "s3-accelerate" => {
                ("s3", None)
            }
            "s3-external-1" => ("s3", Some("us-east-1".to_string())),
            "s3-control" | "s3-control-fips" => ("s3-control", None),
            other => {
                let region = other.strip_prefix("s3-fips-").or_else(|| other.strip_prefix("s3-"))?;
                is_region(region).then_some(("s3", Some(region.to_string())))?
            }
        };
        Some((i, service, region))
    })?;
    if let Some(r) = labels[index + 1..].iter().find(|l| is_region(l)) {
        region = Some((*r).to_string());
    }
    let before = &labels[..index];
    let label = labels[index];
    let named = label.starts_with("s3-accesspoint") || label == "s3-object-lambda";
    let bucket = (service == "s3" && !before.is_empty() && !named).then(|| before.join("."));
    // A control host may name an account (the key's decides, as `x-amz-account-id`
    // may name another); an access point host names one access point.
    let form = match (service, before) {
        ("s3-control", []) => HostForm::Service,
        ("s3-control", [account]) if AccountId::parse(account).is_ok() => HostForm::Service,
        ("s3", [_]) if named => HostForm::Service,
        ("s3", _) if !named => HostForm::Service,
        _ => HostForm::Other,
    };
    // Transfer acceleration names no region: the signature does.
    if service == "s3" && region.is_none() && label != "s3-accelerate" {
        // The global endpoint, s3.amazonaws.com, is us-east-1.
        region = Some("us-east-1".to_string());
    }
    Some(HostFacts {
        service: ServiceName::parse(service).ok()?,
        region: region.map(|r| Region::parse(&r)).transpose().ok()?,
        bucket,
        account: None,
        form,
    })
}

/// `<prefix>[.<region>]`, where the prefix may have several labels
/// (`streams.dynamodb`, `<api-id>.execute-api`) and `fips`/`dualstack` may appear.
fn generic(labels: &[&str]) -> Option<HostFacts> {
    let (prefix_labels, region) = match labels.iter().rposition(|l| is_region(l)) {
        Some(r) if r + 1 == labels.len() => (&labels[..r], Some(labels[r].to_string())),
        Some(_) => return None,
        None => (labels, None),
    };
    let prefix: Vec<&str> = prefix_labels
        .iter()
        .filter(|l| !matches!(**l, "dualstack" | "fips"))
        .map(|l| l.strip_suffix("-fips").unwrap_or(l))
        .collect();
    if prefix.is_empty() || prefix.iter().any(|l| l.is_empty()) {
        return None;
    }
    let canonical = |p: String| {
        ALIASES
            .iter()
            .find(|(alias, _)| *alias == p)
            .map_or(p, |(_, name)| name.to_string())
    };
    let found = (0..prefix.len())
        .map(|start| (start, canonical(prefix[start..].join("."))))
        .find(|(_, p)| MODELS.is_prefix(p));
    // Only DynamoDB's account hosts put a label in front of the prefix: the account.
    let account = match prefix.as_slice() {
        [first, "ddb" | "streams-ddb"] => AccountId::parse(first).ok(),
        _ => None,
    };
    let form = match found {
        Some((0, _)) => HostForm::Service,
        Some(_) if account.is_some() => HostForm::Service,
        _ => HostForm::Other,
    };
    let service = found.map_or_else(|| canonical(prefix[prefix.len() - 1].to_string()), |(_, p)| p);
    Some(HostFacts {
        service: ServiceName::parse(&service).ok()?,
        region: region.map(|r| Region::parse(&r)).transpose().ok()?,
        bucket: None,
        account,
        form,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(host: &str) -> Option<(String, Option<String>, Option<String>)> {
        parse(&host.to_ascii_lowercase()).map(|f| (f.service.to_string(), f.region.map(|r| r.to_string()), f.bucket))
    }

    fn some(
        service: &str,
        region: Option<&str>,
        bucket: Option<&str>,
    ) -> Option<(String, Option<String>, Option<String>)> {
        Some((
            service.to_string(),
            region.map(str::to_string),
            bucket.map(str::to_string),
        ))
    }

    #[test]
    fn the_host_cases_of_the_design() {
        let e1 = Some("us-east-1");
        assert_eq!(h("s3.amazonaws.com"), some("s3", e1, None));
        assert_eq!(h("my-bucket.s3.amazonaws.com"), some("s3", e1, Some("my-bucket")));
        assert_eq!(h("s3.us-west-2.amazonaws.com"), some("s3", Some("us-west-2"), None));
        assert_eq!(h("dynamodb.us-east-1.amazonaws.com"), some("dynamodb", e1, None));
        assert_eq!(
            h("execute-api.eu-west-1.amazonaws.com"),
            some("execute-api", Some("eu-west-1"), None)
        );
        assert_eq!(
            h("abc123.execute-api.eu-west-1.amazonaws.com"),
            some("execute-api", Some("eu-west-1"), None)
        );
        assert_eq!(h("iam.amazonaws.com"), some("iam", None, None));
        assert_eq!(h("DynamoDB.US-East-1.amazonaws.com"), some("dynamodb", e1, None));
        assert_eq!(
            h("dotted.bucket.name.s3.us-west-2.amazonaws.com"),
            some("s3", Some("us-west-2"), Some("dotted.bucket.name"))
        );
        assert_eq!(h("s3.dualstack.us-east-1.amazonaws.com"), some("s3", e1, None));
        assert_eq!(
            h("bucket.s3.dualstack.us-east-1.amazonaws.com"),
            some("s3", e1, Some("bucket"))
        );
        assert_eq!(h("s3-fips.us-east-1.amazonaws.com"), some("s3", e1, None));
        assert_eq!(h("x.s3-accesspoint.us-east-1.amazonaws.com"), some("s3", e1, None));
        assert_eq!(h("s3-us-west-2.amazonaws.com"), some("s3", Some("us-west-2"), None));
        assert_eq!(
            h("bucket.s3-eu-west-1.amazonaws.com"),
            some("s3", Some("eu-west-1"), Some("bucket"))
        );
        assert_eq!(h("s3-external-1.amazonaws.com"), some("s3", e1, None));
        assert_eq!(h("s3-control.us-east-1.amazonaws.com"), some("s3-control", e1, None));
        assert_eq!(
            h("sts.us-gov-west-1.amazonaws.com"),
            some("sts", Some("us-gov-west-1"), None)
        );
        assert_eq!(
            h("streams.dynamodb.us-east-1.amazonaws.com"),
            some("streams.dynamodb", e1, None)
        );
        assert_eq!(
            h("s3.cn-north-1.amazonaws.com.cn"),
            some("s3", Some("cn-north-1"), None)
        );
        assert_eq!(h("b.s3-accelerate.amazonaws.com"), some("s3", None, Some("b")));
        assert_eq!(
            h("111111111111.ddb.us-east-1.amazonaws.com"),
            some("dynamodb", e1, None)
        );
        assert_eq!(h("queue.amazonaws.com"), some("sqs", None, None));
        assert_eq!(h("eu-west-1.queue.amazonaws.com"), some("sqs", Some("eu-west-1"), None));
        assert_eq!(h("example.com"), None);
        assert_eq!(h("amazonaws.com.evil.net"), None);
    }

    #[test]
    fn account_hosts_name_their_account_and_customer_labels_make_another_form() {
        let account = |host: &str| parse(host).and_then(|f| f.account).map(|a| a.to_string());
        assert_eq!(
            account("111111111111.ddb.us-east-1.amazonaws.com").as_deref(),
            Some("111111111111")
        );
        assert_eq!(
            account("222222222222.streams-ddb.us-east-1.amazonaws.com").as_deref(),
            Some("222222222222")
        );
        assert_eq!(account("222222222222.s3-control.us-east-1.amazonaws.com"), None);
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
    }
}
