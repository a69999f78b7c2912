//! Facet extraction on hand-made requests; the recorded corpus
//! (`tests/aws_corpus.rs`) covers real clients.

use super::*;
use crate::ids::AccountId;

fn api(accounts: &[(&str, &str)]) -> AwsApi {
    AwsApi {
        accounts: accounts
            .iter()
            .map(|(id, name)| (AccountId::parse(id).unwrap(), name.to_string()))
            .collect(),
        ..AwsApi::default()
    }
}

pub(super) fn signed(service: &str, region: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/20261123/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

/// Facts for `method host path?query` with `headers` and `body`.
pub(super) fn facts(
    method: &str,
    host: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<AwsFacts, AwsFacetError> {
    let (path, query) = target.split_once('?').map_or((target, None), |(p, q)| (p, Some(q)));
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(http::HeaderName::try_from(*k).unwrap(), v.parse().unwrap());
    }
    let request = AwsRequest {
        method,
        host,
        path,
        query,
        headers: &map,
        body: Some(body.as_bytes()),
    };
    extract(&request, &api(&[]))
}

fn action(result: Result<AwsFacts, AwsFacetError>) -> Option<String> {
    result.unwrap().action
}

#[test]
fn s3_tie_breaks_and_styles() {
    let s3 = signed("s3", "us-east-1");
    let auth = ("authorization", s3.as_str());
    let copy = ("x-amz-copy-source", "src/key");
    type Case<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case<'_>; 12] = [
        ("GET", "s3.amazonaws.com", "/", &[auth], "ListBuckets"),
        ("GET", "b.s3.amazonaws.com", "/", &[auth], "ListObjects"),
        ("GET", "s3.amazonaws.com", "/b?list-type=2", &[auth], "ListObjectsV2"),
        ("PUT", "s3.amazonaws.com", "/b/k", &[auth, copy], "CopyObject"),
        (
            "PUT",
            "b.s3.amazonaws.com",
            "/k?partNumber=1&uploadId=u",
            &[auth, copy],
            "UploadPartCopy",
        ),
        (
            "PUT",
            "b.s3.amazonaws.com",
            "/k?partNumber=1&uploadId=u",
            &[auth],
            "UploadPart",
        ),
        ("GET", "b.s3.amazonaws.com", "/k?uploadId=u", &[auth], "ListParts"),
        (
            "DELETE",
            "b.s3.amazonaws.com",
            "/k?uploadId=u",
            &[auth],
            "AbortMultipartUpload",
        ),
        (
            "POST",
            "b.s3.amazonaws.com",
            "/k?uploadId=u",
            &[auth],
            "CompleteMultipartUpload",
        ),
        ("POST", "s3.amazonaws.com", "/b?delete", &[auth], "DeleteObjects"),
        (
            "POST",
            "s3.amazonaws.com",
            "/b/k?uploads",
            &[auth],
            "CreateMultipartUpload",
        ),
        ("GET", "s3.amazonaws.com", "/b?versions", &[auth], "ListObjectVersions"),
    ];
    for (method, host, target, headers, expected) in cases {
        assert_eq!(
            action(facts(method, host, target, headers, "")).as_deref(),
            Some(expected),
            "{method} {host}{target}"
        );
    }
    let f = facts(
        "GET",
        "dotted.name.s3.us-west-2.amazonaws.com",
        "/a%20b/c+d",
        &[("authorization", &signed("s3", "us-west-2"))],
        "",
    )
    .unwrap();
    assert_eq!(f.text("bucket").unwrap(), "dotted.name");
    assert_eq!(f.text("key").unwrap(), "a b/c+d");
    assert_eq!(f.text("resource").unwrap(), "arn:aws:s3:::dotted.name/a b/c+d");
}

#[test]
fn json_query_and_cbor_protocols() {
    let ddb = signed("dynamodb", "us-east-1");
    let f = facts(
        "POST",
        "dynamodb.us-east-1.amazonaws.com",
        "/",
        &[("authorization", &ddb), ("x-amz-target", "DynamoDB_20120810.PutItem")],
        r#"{"TableName":"t","Item":{}}"#,
    )
    .unwrap();
    assert_eq!(
        (f.text("action").unwrap(), f.text("iam_action").unwrap()),
        ("PutItem", "dynamodb:PutItem")
    );
    assert_eq!(
        f.text("resource").unwrap(),
        "arn:aws:dynamodb:us-east-1:111111111111:table/t"
    );
    let sqs = signed("sqs", "us-east-1");
    let json = facts(
        "POST",
        "sqs.us-east-1.amazonaws.com",
        "/",
        &[("authorization", &sqs), ("x-amz-target", "AmazonSQS.SendMessage")],
        "{}",
    );
    assert_eq!(action(json).as_deref(), Some("SendMessage"));
    let query = facts(
        "POST",
        "sqs.us-east-1.amazonaws.com",
        "/",
        &[
            ("authorization", &sqs),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "Action=DeleteQueue&Version=2012-11-05&QueueUrl=x",
    );
    assert_eq!(action(query).as_deref(), Some("DeleteQueue"));
    let cw = signed("monitoring", "us-east-1");
    let cbor = facts(
        "POST",
        "monitoring.us-east-1.amazonaws.com",
        "/service/GraniteServiceVersion20100801/operation/GetMetricData",
        &[("authorization", &cw), ("smithy-protocol", "rpc-v2-cbor")],
        "",
    );
    let cbor = cbor.unwrap();
    assert_eq!(
        (cbor.text("action").unwrap(), cbor.text("iam_action").unwrap()),
        ("GetMetricData", "cloudwatch:GetMetricData")
    );
    let iam = facts(
        "POST",
        "iam.amazonaws.com",
        "/",
        &[("authorization", &signed("iam", "us-east-1"))],
        "Action=CreateUser&Version=2010-05-08&UserName=u",
    )
    .unwrap();
    assert_eq!(
        (iam.text("action").unwrap(), iam.text("region").unwrap()),
        ("CreateUser", "us-east-1")
    );
}

#[test]
fn parser_differentials_are_refused() {
    let ec2 = signed("ec2", "us-east-1");
    let attack = facts(
        "POST",
        "ec2.us-east-1.amazonaws.com",
        "/",
        &[("authorization", &ec2), ("x-amz-target", "x.DescribeInstances")],
        "Action=TerminateInstances&Version=2016-11-15",
    );
    assert!(matches!(attack, Err(AwsFacetError::Conflict(_))), "{attack:?}");
    let two = facts(
        "POST",
        "sqs.us-east-1.amazonaws.com",
        "/?Action=ReceiveMessage",
        &[("authorization", &signed("sqs", "us-east-1"))],
        "Action=DeleteQueue&Version=2012-11-05",
    );
    assert!(matches!(two, Err(AwsFacetError::Conflict(_))), "{two:?}");
    let mismatch = facts(
        "POST",
        "dynamodb.us-east-1.amazonaws.com",
        "/",
        &[("authorization", &signed("s3", "us-east-1"))],
        "",
    );
    assert!(
        matches!(mismatch, Err(AwsFacetError::Disagree { what: "service", .. })),
        "{mismatch:?}"
    );
    let region = facts(
        "POST",
        "dynamodb.us-west-2.amazonaws.com",
        "/",
        &[("authorization", &signed("dynamodb", "eu-west-1"))],
        "",
    );
    assert!(
        matches!(region, Err(AwsFacetError::Disagree { what: "region", .. })),
        "{region:?}"
    );
    let unknown = facts(
        "POST",
        "dynamodb.us-east-1.amazonaws.com",
        "/",
        &[
            ("authorization", &signed("dynamodb", "us-east-1")),
            ("x-amz-target", "DynamoDB_20120810.Nope"),
        ],
        "{}",
    );
    assert_eq!(action(unknown), None, "an unknown operation leaves the action absent");
}

#[test]
fn accounts_come_from_the_key_and_must_be_listed() {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", signed("sts", "us-east-1").parse().unwrap());
    let request = AwsRequest {
        method: "POST",
        host: "sts.us-east-1.amazonaws.com",
        path: "/",
        query: None,
        headers: &headers,
        body: Some(b"Action=GetCallerIdentity&Version=2011-06-15"),
    };
    let f = extract(&request, &api(&[("111111111111", "prod")])).unwrap();
    assert_eq!(
        (f.text("account").unwrap(), f.text("account_name").unwrap()),
        ("111111111111", "prod")
    );
    assert!(matches!(
        extract(&request, &api(&[("222222222222", "staging")])),
        Err(AwsFacetError::AccountNotListed { .. })
    ));
    let mut placeholder = HeaderMap::new();
    placeholder.insert(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261123/us-east-1/sts/aws4_request, Signature=0"
            .parse()
            .unwrap(),
    );
    let request = AwsRequest {
        headers: &placeholder,
        ..request
    };
    assert_eq!(extract(&request, &api(&[])), Err(AwsFacetError::NoAccount));
}
