//! Facet extraction for typical AWS requests.

#![expect(clippy::expect_used, reason = "a benchmark stops at the first set-up failure")]
#![expect(missing_docs, reason = "criterion's macros generate undocumented functions")]

use clawgate::config::AwsApi;
use clawgate::facet::aws::{AwsRequest, extract};
use clawgate::ids::AccountId;
use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderMap;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, value.parse().expect("header value"));
    }
    map
}

fn facet(c: &mut Criterion) {
    let api = AwsApi {
        accounts: vec![
            (AccountId::parse("111111111111").expect("id"), "prod".into()),
            (AccountId::parse("222222222222").expect("id"), "staging".into()),
        ],
        ..AwsApi::default()
    };
    let auth = |service: &str| {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/20261123/us-east-1/{service}/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123456789abcdef"
        )
    };
    let s3_headers = headers(&[
        ("authorization", &auth("s3")),
        ("x-amz-date", "20261123T000000Z"),
        ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ("user-agent", "aws-cli/1.46.3 Python/3.11.7 botocore/1.44.5"),
    ]);
    let get_object = AwsRequest {
        method: "GET",
        host: "reports.s3.us-east-1.amazonaws.com",
        path: "/2026/q3/summary.csv",
        query: None,
        headers: &s3_headers,
        body: None,
    };
    c.bench_function("facet: s3 GetObject", |b| {
        b.iter(|| extract(&get_object, &api).expect("facts"))
    });
    let ddb_headers = headers(&[
        ("authorization", &auth("dynamodb")),
        ("x-amz-target", "DynamoDB_20120810.PutItem"),
        ("content-type", "application/x-amz-json-1.0"),
    ]);
    let body = br#"{"TableName":"orders","Item":{"id":{"S":"42"},"total":{"N":"12.5"}}}"#;
    let put_item = AwsRequest {
        method: "POST",
        host: "dynamodb.us-east-1.amazonaws.com",
        path: "/",
        query: None,
        headers: &ddb_headers,
        body: Some(body),
    };
    c.bench_function("facet: dynamodb PutItem with params", |b| {
        b.iter(|| extract(&put_item, &api).expect("facts"))
    });
}

criterion_group!(benches, facet);
criterion_main!(benches);
