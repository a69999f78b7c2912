//! The edge of what clawgate signs, through the real binary: which hosts get
//! credentials, what STS's refusals tell the agent, account-based hosts, and
//! S3 bucket-owner pinning. Against moto (signature checking on) wherever a
//! role must really be assumed; refusals that come before any role is
//! assumed need no upstream at all.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

mod support;

use std::path::Path;

use support::gateway::Gateway;
use support::moto::{Moto, agent_for};

/// clawgate in front of `moto` with the base key in files next to the rules:
/// one `aws_api` endpoint assuming `role`, with `endpoint_extra` settings,
/// dialling the hosts of `resolve_first` before `*.amazonaws.com` (moto), and
/// trusting `upstream_ca` (moto's CA, and any other the test needs).
fn gateway_for(moto: &Moto, upstream_ca: &Path, role: &str, resolve_first: &str, endpoint_extra: &str) -> Gateway {
    let rules = format!(
        r#"
gateway {{
  upstream_ca = "{ca}"
  resolve     = {{
    {resolve_first}
    "*.amazonaws.com" = "127.0.0.1:{port}"
  }}
}}
credential "aws_account" "base" {{
  access_key_id     = file("base-key-id")
  secret_access_key = file("base-secret")
}}
endpoint "aws_api" "org" {{
  hosts      = ["*.amazonaws.com"]
  role       = "{role}"
  credential = aws_account.base
  accounts   = ["111111111111=prod", "222222222222=readonly"]
  {endpoint_extra}
}}
rule "everything" {{
  match  = true
  action = "allow"
}}
"#,
        ca = upstream_ca.display(),
        port = moto.port,
    );
    let (id, secret) = (moto.base_key_id.clone(), moto.base_secret.clone());
    Gateway::start_with(&rules, move |dir| {
        std::fs::write(dir.join("base-key-id"), &id).unwrap();
        std::fs::write(dir.join("base-secret"), &secret).unwrap();
    })
}

#[test]
fn sts_refusals_reach_the_agent_as_the_code_and_the_role_only() {
    let moto = Moto::start();
    // The base user may assume only roles named clawgate-agent: STS refuses,
    // and its message names the base principal.
    let gateway = gateway_for(&moto, &moto.ca, "not-assumable", "", "");
    let agent = agent_for(&gateway);
    let refused = agent.aws_err(&["sts", "get-caller-identity", "--profile", "prod"]);
    assert!(
        refused
            .contains("STS refused to let clawgate assume arn:aws:iam::111111111111:role/not-assumable: AccessDenied"),
        "{refused}"
    );
    assert!(
        !refused.contains("clawgate-base") && !refused.contains("not authorized"),
        "STS's own text reached the agent: {refused}"
    );
    let log = gateway.log();
    assert!(
        log.contains("STS refused AssumeRole") && log.contains("clawgate-base"),
        "STS's text is in the log: {log}"
    );
    assert!(
        !log.contains(&moto.base_key_id),
        "the base key id is scrubbed from the log"
    );
}

/// A placeholder SigV4 signature for account 111111111111, scoped to `service`
/// in us-east-1, as an SDK with a `clawgate profiles` key sends it.
fn placeholder_signature(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIA111111111111CLAW/20261202/us-east-1/{service}/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature={}",
        "0".repeat(64)
    )
}

/// `GET https://{host}/mirror` through `gateway`, signed with a placeholder scoped to `service`.
async fn signed_get(gateway: &Gateway, host: &str, service: &str) -> reqwest::Response {
    support::agent::client(&gateway.proxy_url(), &gateway.ca_pem(), true)
        .get(format!("https://{host}/mirror"))
        .header("authorization", placeholder_signature(service))
        .header("x-amz-date", "20261202T000000Z")
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_customers_can_own_get_no_credentials_unless_listed_and_echoed_credentials_are_dropped() {
    // Every host below is dialled at an upstream that hands back every header
    // it receives; only the one listed in signed_hosts may get credentials.
    let listed = "abc123.execute-api.us-east-1.amazonaws.com";
    let owned = [
        ("def456.execute-api.us-east-1.amazonaws.com", "execute-api"),
        ("my-alb-1234.us-east-1.elb.amazonaws.com", "elasticloadbalancing"),
        ("ec2-3-80-1-2.compute-1.amazonaws.com", "compute-1"),
        ("bucket.s3-website.us-east-1.amazonaws.com", "s3-website"),
    ];
    let ca = support::test_ca::TestCa::new();
    let mut names: Vec<&str> = owned.iter().map(|(host, _)| *host).collect();
    names.push(listed);
    let mirror = support::upstream::Upstream::start_tls(&ca, &names).await;
    let resolve: String = names
        .iter()
        .map(|host| format!("\"{host}\" = \"{}\"\n", mirror.addr))
        .collect();
    let (moto, gateway, bundle) = tokio::task::spawn_blocking(move || {
        let moto = Moto::start();
        let bundle = tempfile::NamedTempFile::new().unwrap();
        let pems = format!("{}\n{}", std::fs::read_to_string(&moto.ca).unwrap(), ca.cert_pem());
        std::fs::write(bundle.path(), pems).unwrap();
        let signed_hosts = format!("signed_hosts = [\"{listed}\"]");
        let gateway = gateway_for(&moto, bundle.path(), "clawgate-agent", &resolve, &signed_hosts);
        (moto, gateway, bundle)
    })
    .await
    .unwrap();

    for (host, service) in owned {
        let response = signed_get(&gateway, host, service).await;
        let status = response.status();
        assert!(
            !response.headers().contains_key("x-mirror-x-amz-security-token"),
            "{host} was sent a session token"
        );
        let reason = response.headers()["x-clawgate-reason"].to_str().unwrap().to_string();
        assert_eq!(status, 403, "{host} signed as {service}: {reason}");
        assert!(
            reason.contains(&format!("`{host}` is not one")) && reason.contains("signed_hosts"),
            "{reason}"
        );
    }
    assert_eq!(
        gateway.log().matches("assuming role").count(),
        0,
        "refused before any role is assumed"
    );

    // An account-based DynamoDB host names an account: the key's must agree.
    let response = signed_get(&gateway, "222222222222.ddb.us-east-1.amazonaws.com", "dynamodb").await;
    assert_eq!(response.status(), 403);
    let reason = response.headers()["x-clawgate-reason"].to_str().unwrap();
    assert!(
        reason.contains("the host says account `222222222222` but the request is signed for `111111111111`"),
        "{reason}"
    );

    // The listed host is signed for; what it echoes of the credentials is dropped.
    let response = signed_get(&gateway, listed, "execute-api").await;
    assert_eq!(response.status(), 200, "{:?}", response.headers());
    assert_eq!(response.headers()["x-mirror-host"], listed, "the mirror answered");
    for header in ["x-mirror-x-amz-security-token", "x-mirror-authorization"] {
        assert!(!response.headers().contains_key(header), "{header} reached the agent");
    }
    let log = gateway.log();
    assert!(
        log.contains("x-mirror-x-amz-security-token") && log.contains("x-mirror-authorization"),
        "the dropped headers are named in the log: {log}"
    );
    assert!(!log.contains("FQoGZXIvYXdzE"), "the log never holds the token");
    drop((moto, bundle));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_requests_carry_the_target_account_as_the_expected_bucket_owner() {
    // The bucket's host is dialled at the mirror, which hands back what it received.
    let bucket = "pinned-bucket.s3.amazonaws.com";
    let ca = support::test_ca::TestCa::new();
    let mirror = support::upstream::Upstream::start_tls(&ca, &[bucket]).await;
    let resolve = format!("\"{bucket}\" = \"{}\"", mirror.addr);
    let (moto, gateway, bundle) = tokio::task::spawn_blocking(move || {
        let moto = Moto::start();
        let bundle = tempfile::NamedTempFile::new().unwrap();
        let pems = format!("{}\n{}", std::fs::read_to_string(&moto.ca).unwrap(), ca.cert_pem());
        std::fs::write(bundle.path(), pems).unwrap();
        let gateway = gateway_for(&moto, bundle.path(), "clawgate-agent", &resolve, "");
        (moto, gateway, bundle)
    })
    .await
    .unwrap();
    let client = support::agent::client(&gateway.proxy_url(), &gateway.ca_pem(), true);
    let copy = |owner: Option<&str>| {
        let mut request = client
            .put(format!("https://{bucket}/mirror"))
            .header("authorization", placeholder_signature("s3"))
            .header("x-amz-date", "20261202T000000Z")
            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            .header("x-amz-copy-source", "source-bucket/key");
        if let Some(owner) = owner {
            request = request.header("x-amz-expected-bucket-owner", owner);
        }
        request.send()
    };

    // A copy: both the bucket and the copy's source must be the target account's.
    let response = copy(None).await.unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.headers());
    let seen = response.headers();
    assert_eq!(seen["x-mirror-x-amz-expected-bucket-owner"], "111111111111");
    assert_eq!(seen["x-mirror-x-amz-source-expected-bucket-owner"], "111111111111");

    // The agent may say so itself, but never name another account.
    assert_eq!(copy(Some("111111111111")).await.unwrap().status(), 200);
    let refused = copy(Some("333333333333")).await.unwrap();
    assert_eq!(refused.status(), 403);
    let reason = refused.headers()["x-clawgate-reason"].to_str().unwrap();
    assert!(
        reason.contains("`x-amz-expected-bucket-owner: 333333333333` names an owner")
            && reason.contains("bucket_owners"),
        "{reason}"
    );

    // moto takes the signed header: the CLI's S3 calls still work.
    let agent = tokio::task::spawn_blocking(move || {
        let agent = agent_for(&gateway);
        agent.aws_ok(&["s3", "mb", "s3://clawgate-e2e", "--profile", "prod"]);
        agent.aws_ok(&[
            "s3api",
            "list-objects-v2",
            "--bucket",
            "clawgate-e2e",
            "--profile",
            "prod",
        ]);
        let foreign = agent.aws_err(&[
            "s3api",
            "list-objects-v2",
            "--bucket",
            "clawgate-e2e",
            "--expected-bucket-owner",
            "222222222222",
            "--profile",
            "prod",
        ]);
        (agent, foreign, gateway)
    })
    .await
    .unwrap();
    assert!(
        agent.1.contains("AccessDenied") && agent.1.contains("222222222222"),
        "{}",
        agent.1
    );
    drop((moto, bundle));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_operations_and_credentials_in_forms_are_refused_before_any_role_is_assumed() {
    // Nothing is dialled: every request below is refused first.
    let rules = r#"
credential "aws_account" "base" {
  access_key_id     = "AKIAEXAMPLEBASEKEY00"
  secret_access_key = "not-a-real-secret-not-a-real-secret-0000"
}
endpoint "aws_api" "org" {
  hosts      = ["*.amazonaws.com"]
  role       = "clawgate-agent"
  credential = aws_account.base
}
rule "everything" {
  match  = true
  action = "allow"
}
"#;
    let gateway = tokio::task::spawn_blocking(move || Gateway::start_with(rules, |_| {}))
        .await
        .unwrap();
    let agent = support::agent::client(&gateway.proxy_url(), &gateway.ca_pem(), true);
    let reason = |response: &reqwest::Response| response.headers()["x-clawgate-reason"].to_str().unwrap().to_string();

    // A JSON target no model has: refused, naming what was sent.
    let response = agent
        .post("https://dynamodb.us-east-1.amazonaws.com/")
        .header("authorization", placeholder_signature("dynamodb"))
        .header("x-amz-date", "20261202T000000Z")
        .header("x-amz-target", "DynamoDB_20120810.DropEverything")
        .header("content-type", "application/x-amz-json-1.0")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let why = reason(&response);
    assert!(
        why.contains("X-Amz-Target `DynamoDB_20120810.DropEverything` names no operation"),
        "{why}"
    );
    let body = response.text().await.unwrap();
    assert!(body.contains("AccessDenied"), "an SDK-shaped error: {body}");

    // A query-protocol Action no model has.
    let response = agent
        .post("https://iam.amazonaws.com/")
        .header("authorization", placeholder_signature("iam"))
        .header("x-amz-date", "20261202T000000Z")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Action=AttachEverything&Version=2010-05-08")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        reason(&response).contains("Action `AttachEverything`"),
        "{}",
        reason(&response)
    );

    // An S3 POST-policy upload carries its credential in the form: its facts
    // are read, but it cannot be re-signed, and says so.
    let form = "--xx\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nup/a.txt\r\n\
                --xx\r\nContent-Disposition: form-data; name=\"x-amz-credential\"\r\n\r\n\
                AKIA111111111111CLAW/20261202/us-east-1/s3/aws4_request\r\n\
                --xx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--xx--\r\n";
    let response = agent
        .post("https://uploads.s3.us-east-1.amazonaws.com/")
        .header("content-type", "multipart/form-data; boundary=xx")
        .body(form)
        .send()
        .await
        .unwrap();
    let why = reason(&response);
    assert!(why.contains("cannot be re-signed"), "{}: {why}", response.status());
    assert!(response.status().is_client_error() || response.status().is_server_error());
    // Records are written behind the request: wait for the upload's.
    let mut text = String::new();
    for _ in 0..50 {
        let records = gateway.audit_records();
        if let Some(upload) = records.iter().find(|r| r.to_string().contains("PostObject")) {
            text = upload.to_string();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for fact in ["PostObject", "s3:PutObject", "111111111111", "up/a.txt"] {
        assert!(text.contains(fact), "{fact} missing from {text}");
    }
    assert_eq!(
        gateway.log().matches("assuming role").count(),
        0,
        "refused before any role is assumed"
    );
}
