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

/// The facts of a form-encoded query/EC2 call to `host`, signed for `service`.
pub(super) fn form(service: &str, host: &str, body: &str) -> AwsFacts {
    facts(
        "POST",
        host,
        "/",
        &[
            ("authorization", &signed(service, "us-east-1")),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        body,
    )
    .unwrap()
}

/// The facts of a JSON-protocol call to `<service>.us-east-1.amazonaws.com`.
pub(super) fn json(service: &str, target: &str, body: &str) -> AwsFacts {
    facts(
        "POST",
        &format!("{service}.us-east-1.amazonaws.com"),
        "/",
        &[
            ("authorization", &signed(service, "us-east-1")),
            ("x-amz-target", target),
            ("content-type", "application/x-amz-json-1.1"),
        ],
        body,
    )
    .unwrap()
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
}

#[test]
fn an_operation_no_model_has_is_refused_on_every_protocol_naming_what_was_sent() {
    let refused = |result: Result<AwsFacts, AwsFacetError>| match result {
        Err(e @ AwsFacetError::UnknownOperation { .. }) => e.to_string(),
        other => panic!("must be refused as unknown, got {other:?}"),
    };
    let json = refused(facts(
        "POST",
        "dynamodb.us-east-1.amazonaws.com",
        "/",
        &[
            ("authorization", &signed("dynamodb", "us-east-1")),
            ("x-amz-target", "DynamoDB_20120810.Nope"),
        ],
        "{}",
    ));
    assert!(json.contains("X-Amz-Target `DynamoDB_20120810.Nope`"), "{json}");
    let query = refused(facts(
        "POST",
        "iam.amazonaws.com",
        "/",
        &[
            ("authorization", &signed("iam", "us-east-1")),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "Action=MakeMeAdmin&Version=2010-05-08",
    ));
    assert!(query.contains("Action `MakeMeAdmin`"), "{query}");
    let rest = refused(facts(
        "DELETE",
        "lambda.us-east-1.amazonaws.com",
        "/2015-03-31/everything",
        &[("authorization", &signed("lambda", "us-east-1"))],
        "",
    ));
    assert!(rest.contains("`DELETE /2015-03-31/everything`"), "{rest}");
    let cbor = refused(facts(
        "POST",
        "monitoring.us-east-1.amazonaws.com",
        "/service/GraniteServiceVersion20100801/operation/Nope",
        &[("authorization", &signed("monitoring", "us-east-1"))],
        "",
    ));
    assert!(cbor.contains("`Nope`"), "{cbor}");
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

#[test]
fn credentials_in_form_bodies_give_the_account_and_the_operation() {
    let body = "--b0undary\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/report 100%.pdf\r\n\
                --b0undary\r\nContent-Disposition: form-data; name=\"x-amz-credential\"\r\n\r\nAKIA222222222222CLAW/20261201/eu-west-1/s3/aws4_request\r\n\
                --b0undary\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\neyJjb25kaXRpb25zIjpbXX0=\r\n\
                --b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.pdf\"\r\n\r\n%PDF-1.7\r\n--b0undary--\r\n";
    let post = facts(
        "POST",
        "reports.s3.eu-west-1.amazonaws.com",
        "/",
        &[("content-type", "multipart/form-data; boundary=b0undary")],
        body,
    )
    .unwrap();
    for (field, value) in [
        ("action", "PostObject"),
        ("iam_action", "s3:PutObject"),
        ("account", "222222222222"),
        ("region", "eu-west-1"),
        ("bucket", "reports"),
        ("key", "uploads/report 100%.pdf"),
        ("resource", "arn:aws:s3:::reports/uploads/report 100%.pdf"),
    ] {
        assert_eq!(post.text(field), Some(value), "{field}");
    }
    assert!(post.signature.in_form);

    // SimpleDB signs with SigV2 in the form: no region is signed, the host names one.
    let sdb = facts(
        "POST",
        "sdb.eu-west-1.amazonaws.com",
        "/",
        &[("content-type", "application/x-www-form-urlencoded; charset=utf-8")],
        "Action=ListDomains&Version=2009-04-15&AWSAccessKeyId=AKIA333333333333CLAW&SignatureVersion=2\
         &SignatureMethod=HmacSHA256&Timestamp=2026-12-01T00%3A00%3A00Z&Signature=x",
    )
    .unwrap();
    assert_eq!(sdb.text("action"), Some("ListDomains"));
    assert_eq!(sdb.text("account"), Some("333333333333"));
    assert_eq!(sdb.text("region"), Some("eu-west-1"));
    assert_eq!(sdb.text("service"), Some("sdb"));
}

#[test]
fn sigv2_names_no_region_so_the_region_is_the_hosts_or_absent() {
    let v2 = ("authorization", "AWS AKIA111111111111CLAW:c2lnbmF0dXJl");
    let regional = facts("GET", "b.s3.eu-west-1.amazonaws.com", "/k", &[v2], "").unwrap();
    assert_eq!(regional.text("region"), Some("eu-west-1"));
    let global = facts("GET", "b.s3.amazonaws.com", "/k", &[v2], "").unwrap();
    assert_eq!(global.text("region"), None, "nothing signed or named says where");
    assert_eq!(
        global.signing_region.as_ref().map(|r| r.as_str()),
        Some("us-east-1"),
        "re-signed for the global endpoint's region"
    );
    let presigned = facts(
        "GET",
        "b.s3.amazonaws.com",
        "/k?AWSAccessKeyId=AKIA111111111111CLAW&Expires=1700000000&Signature=x",
        &[],
        "",
    )
    .unwrap();
    assert_eq!(presigned.text("region"), None);
    assert_eq!(presigned.text("action"), Some("GetObject"));
}

#[test]
fn a_customers_api_signed_for_execute_api_is_invoked_once_listed() {
    let host = "abc123.execute-api.us-east-1.amazonaws.com";
    let mut headers = HeaderMap::new();
    headers.insert("authorization", signed("execute-api", "us-east-1").parse().unwrap());
    let request = AwsRequest {
        method: "POST",
        host,
        path: "/prod/orders",
        query: None,
        headers: &headers,
        body: Some(b"{}"),
    };
    assert!(matches!(
        extract(&request, &api(&[])),
        Err(AwsFacetError::NotAServiceEndpoint { .. })
    ));
    let listed = AwsApi {
        signed_hosts: vec![crate::net::HostPattern::parse(host).unwrap()],
        ..AwsApi::default()
    };
    let invoke = extract(&request, &listed).unwrap();
    assert_eq!(invoke.text("action"), Some("Invoke"));
    assert_eq!(invoke.text("iam_action"), Some("execute-api:Invoke"));
    assert_eq!(invoke.text("service"), Some("execute-api"));
}

#[test]
fn service_names_are_iams_and_the_host_and_signing_names_stay_readable() {
    let ses = facts(
        "POST",
        "email.eu-west-1.amazonaws.com",
        "/",
        &[
            ("authorization", &signed("ses", "eu-west-1")),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "Action=SendEmail&Version=2010-12-01",
    )
    .unwrap();
    assert_eq!(
        (
            ses.text("service"),
            ses.text("endpoint_prefix"),
            ses.text("signing_name")
        ),
        (Some("ses"), Some("email"), Some("ses"))
    );
    let cloudwatch = facts(
        "POST",
        "monitoring.us-east-1.amazonaws.com",
        "/",
        &[
            ("authorization", &signed("monitoring", "us-east-1")),
            ("x-amz-target", "GraniteServiceVersion20100801.ListMetrics"),
            ("content-type", "application/x-amz-json-1.0"),
        ],
        "{}",
    )
    .unwrap();
    assert_eq!(cloudwatch.text("service"), Some("cloudwatch"));
    assert_eq!(cloudwatch.text("iam_action"), Some("cloudwatch:ListMetrics"));
    let kinesis = facts(
        "POST",
        "111111111111.control-kinesis.us-east-1.amazonaws.com",
        "/",
        &[
            ("authorization", &signed("kinesis", "us-east-1")),
            ("x-amz-target", "Kinesis_20131202.DescribeStreamSummary"),
        ],
        "{}",
    )
    .unwrap();
    assert_eq!(kinesis.text("action"), Some("DescribeStreamSummary"));
    let lambda_response = facts(
        "POST",
        "route-1.s3-object-lambda.us-east-1.amazonaws.com",
        "/WriteGetObjectResponse",
        &[
            ("authorization", &signed("s3-object-lambda", "us-east-1")),
            ("x-amz-request-route", "route-1"),
            ("x-amz-request-token", "t"),
        ],
        "",
    )
    .unwrap();
    assert_eq!(
        lambda_response.text("iam_action"),
        Some("s3-object-lambda:WriteGetObjectResponse")
    );
    assert_eq!(lambda_response.text("signing_name"), Some("s3-object-lambda"));
}

#[test]
fn a_member_the_operation_lacks_names_no_resource() {
    let glue = |body: &str| {
        facts(
            "POST",
            "glue.us-east-1.amazonaws.com",
            "/",
            &[
                ("authorization", &signed("glue", "us-east-1")),
                ("x-amz-target", "AWSGlue.GetJob"),
            ],
            body,
        )
        .unwrap()
    };
    let spoofed = glue(r#"{"JobName":"nightly","TopicArn":"arn:aws:sns:us-east-1:111111111111:allowed"}"#);
    assert_eq!(spoofed.text("resource"), None, "GetJob has no TopicArn");
    let sfn = facts(
        "POST",
        "states.us-east-1.amazonaws.com",
        "/",
        &[
            ("authorization", &signed("states", "us-east-1")),
            ("x-amz-target", "AWSStepFunctions.StartExecution"),
        ],
        r#"{"BogusArn":"arn:aws:states:us-east-1:111111111111:stateMachine:allowed","stateMachineArn":"arn:aws:states:us-east-1:111111111111:stateMachine:real"}"#,
    )
    .unwrap();
    assert_eq!(
        sfn.text("resource"),
        Some("arn:aws:states:us-east-1:111111111111:stateMachine:real")
    );
}

#[test]
fn s3_control_on_the_host_it_shares_with_s3_express_is_named_by_its_path() {
    let express = |method: &str, host: &str, target: &str| {
        facts(
            method,
            host,
            target,
            &[
                ("authorization", &signed("s3express", "us-east-1")),
                ("x-amz-account-id", "111111111111"),
            ],
            "",
        )
    };
    // The account label is not a bucket, and a query key the agent adds does
    // not turn an S3 Control call into an object write.
    for host in [
        "111111111111.s3express-control.us-east-1.amazonaws.com",
        "s3express-control.us-east-1.amazonaws.com",
    ] {
        let policy = express("PUT", host, "/v20180820/accesspoint/ap-1/scope").unwrap();
        assert_eq!(policy.text("action"), Some("PutAccessPointScope"), "{host}");
        assert_eq!(policy.text("bucket"), None, "{host}");
        let steered = express("PUT", host, "/v20180820/accesspoint/ap-1/scope?tagging");
        assert!(
            !matches!(&steered, Ok(f) if f.text("iam_action") == Some("s3:PutObjectTagging")),
            "{host}: {steered:?}"
        );
    }
    let list = express("GET", "s3express-control.us-east-1.amazonaws.com", "/").unwrap();
    assert_eq!(list.text("action"), Some("ListDirectoryBuckets"));
}

#[test]
fn on_an_access_point_host_the_whole_path_is_the_key() {
    let got = facts(
        "GET",
        "reports-111111111111.s3-accesspoint.us-east-1.amazonaws.com",
        "/allowed-bucket/f.csv",
        &[("authorization", &signed("s3", "us-east-1"))],
        "",
    )
    .unwrap();
    assert_eq!(got.text("action"), Some("GetObject"));
    assert_eq!(got.text("bucket"), Some("reports-111111111111"));
    assert_eq!(
        got.text("key"),
        Some("allowed-bucket/f.csv"),
        "not another bucket's object"
    );
}

#[test]
fn an_s3_control_call_names_the_owner_it_acts_on_and_its_two_places_agree() {
    let control = |host: &str, owner: &str| {
        facts(
            "GET",
            host,
            "/v20180820/accesspoint",
            &[
                ("authorization", &signed("s3", "us-east-1")),
                ("x-amz-account-id", owner),
            ],
            "",
        )
    };
    let other = control("222222222222.s3-control.us-east-1.amazonaws.com", "222222222222").unwrap();
    assert_eq!(other.text("account"), Some("111111111111"), "the caller's account");
    assert_eq!(
        other.params.as_ref().and_then(|p| p.get("AccountId")),
        Some(&serde_json::json!("222222222222")),
        "the owner, for rules"
    );
    let split = control("222222222222.s3-control.us-east-1.amazonaws.com", "333333333333");
    assert!(matches!(split, Err(AwsFacetError::Conflict(_))), "{split:?}");
}

#[test]
fn a_host_may_name_another_account_only_as_the_owner_of_the_resource_named() {
    let streams = |body: &str| {
        facts(
            "POST",
            "333333333333.streams-ddb.us-west-2.amazonaws.com",
            "/",
            &[
                ("authorization", &signed("dynamodb", "us-west-2")),
                ("x-amz-target", "DynamoDBStreams_20120810.DescribeStream"),
            ],
            body,
        )
    };
    // A stream another account shares through its resource policy.
    let shared = streams(
        r#"{"StreamArn":"arn:aws:dynamodb:us-west-2:333333333333:table/Forum/stream/2015-05-20T20:51:10.252"}"#,
    )
    .unwrap();
    assert_eq!(shared.text("account"), Some("111111111111"), "the caller's");
    assert!(shared.text("resource").unwrap().contains(":333333333333:"));
    // The host names an account the request's resource is not in.
    let elsewhere = streams(r#"{"StreamArn":"arn:aws:dynamodb:us-west-2:444444444444:table/Forum/stream/x"}"#);
    assert!(
        matches!(elsewhere, Err(AwsFacetError::Disagree { what: "account", .. })),
        "{elsewhere:?}"
    );
    assert!(matches!(streams("{}"), Err(AwsFacetError::Disagree { .. })));
}

#[test]
fn a_call_to_an_owners_host_may_name_only_that_owners_resources() {
    let batch = |tables: &str| {
        facts(
            "POST",
            "333333333333.ddb.us-west-2.amazonaws.com",
            "/",
            &[
                ("authorization", &signed("dynamodb", "us-west-2")),
                ("x-amz-target", "DynamoDB_20120810.BatchGetItem"),
            ],
            &format!(r#"{{"RequestItems":{{{tables}}}}}"#),
        )
    };
    let one = r#""arn:aws:dynamodb:us-west-2:333333333333:table/A":{"Keys":[]}"#;
    let other = r#""arn:aws:dynamodb:us-west-2:444444444444:table/B":{"Keys":[]}"#;
    assert!(batch(one).is_ok(), "{:?}", batch(one));
    let mixed = batch(&format!("{one},{other}"));
    assert!(
        matches!(mixed, Err(AwsFacetError::Disagree { what: "account", .. })),
        "{mixed:?}"
    );
}
