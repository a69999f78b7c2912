//! End to end, as an agent meets clawgate: the real AWS CLI and boto3 with
//! placeholder keys, through the real clawgate binary, against moto over
//! HTTPS with signature checking on. clawgate assumes a role in each member
//! account with the base key and re-signs every request.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

mod support;

use std::path::Path;
use std::time::Duration;

use support::gateway::{Gateway, cli};
use support::moto::{Moto, agent_for};

/// How the base key reaches clawgate.
#[derive(Clone, Copy)]
enum BaseKey {
    /// `file("…")` for each part, inline in the rule file.
    Inline,
    /// An AWS credentials file, re-read whenever a role is assumed.
    CredentialsFile,
    /// None in the rule file: set later through the admin API.
    AdminApi,
}

/// clawgate in front of `moto`, with the base key in files next to the rules.
fn gateway_for(moto: &Moto, base: BaseKey) -> Gateway {
    let rules = format!(
        r#"
gateway {{
  upstream_ca = "{ca}"
  resolve     = {{ "*.amazonaws.com" = "127.0.0.1:{port}" }}
}}
credential "aws_account" "base" {{
  {credential}
}}
endpoint "aws_api" "org" {{
  hosts      = ["*.amazonaws.com"]
  role       = "clawgate-agent"
  region     = "us-east-1"
  credential = aws_account.base
  accounts   = ["111111111111=prod", "222222222222=readonly"]
}}
human "oncall" {{
  timeout = "40s"
}}
rule "table deletes need a person" {{
  priority  = 10
  match     = aws.action == "DeleteTable"
  action    = "approve"
  approvers = [human.oncall]
}}
rule "no bucket deletes" {{
  priority = 10
  match    = aws.action == "DeleteBucket"
  action   = "deny"
  reason   = "buckets are kept"
}}
rule "everything else" {{
  match  = true
  action = "allow"
}}
"#,
        ca = moto.ca.display(),
        port = moto.port,
        credential = match base {
            BaseKey::Inline => "access_key_id = file(\"base-key-id\")\n  secret_access_key = file(\"base-secret\")",
            BaseKey::CredentialsFile => "credentials_file = \"aws-credentials\"\n  profile = \"clawgate\"",
            BaseKey::AdminApi => "",
        },
    );
    let (id, secret) = (moto.base_key_id.clone(), moto.base_secret.clone());
    Gateway::start_with(&rules, move |dir| {
        std::fs::write(dir.join("base-key-id"), &id).unwrap();
        std::fs::write(dir.join("base-secret"), &secret).unwrap();
        let ini = format!(
            "[default]\naws_access_key_id = wrong\n\n[clawgate]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
        );
        std::fs::write(dir.join("aws-credentials"), ini).unwrap();
    })
}

#[test]
fn the_aws_cli_and_boto3_work_through_clawgate_with_placeholder_keys() {
    let moto = Moto::start();
    let mut gateway = gateway_for(&moto, BaseKey::Inline);
    let agent = agent_for(&gateway);
    let served_before = moto.requests_served();

    // Each profile reaches its own account, through an assumed role.
    for (profile, account) in [("prod", "111111111111"), ("readonly", "222222222222")] {
        let out = agent.aws_ok(&["sts", "get-caller-identity", "--profile", profile, "--output", "json"]);
        let identity: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(identity["Account"], account, "{out}");
        assert!(
            identity["Arn"]
                .as_str()
                .unwrap()
                .contains(":assumed-role/clawgate-agent/"),
            "{out}"
        );
    }

    // S3: a bucket, 100 MiB up and down byte for byte, awkward keys.
    let work = tempfile::tempdir().unwrap();
    agent.aws_ok(&["s3", "mb", "s3://clawgate-e2e", "--profile", "prod"]);
    let big = work.path().join("big.bin");
    let content: Vec<u8> = (0..100u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&big, &content).unwrap();
    agent.aws_ok(&[
        "s3",
        "cp",
        big.to_str().unwrap(),
        "s3://clawgate-e2e/big.bin",
        "--profile",
        "prod",
    ]);
    let back = work.path().join("back.bin");
    agent.aws_ok(&[
        "s3",
        "cp",
        "s3://clawgate-e2e/big.bin",
        back.to_str().unwrap(),
        "--profile",
        "prod",
    ]);
    assert!(std::fs::read(&back).unwrap() == content, "100 MiB came back different");
    drop(content);
    let peak = gateway.peak_memory();
    assert!(peak < 100 << 20, "clawgate's peak memory was {} MiB", peak >> 20);
    let awkward = "dir with space/ünï+cödé=~.txt";
    let small = work.path().join("small.txt");
    std::fs::write(&small, "awkward key\n").unwrap();
    agent.aws_ok(&[
        "s3",
        "cp",
        small.to_str().unwrap(),
        &format!("s3://clawgate-e2e/{awkward}"),
        "--profile",
        "prod",
    ]);
    let listing = agent.aws_ok(&["s3", "ls", "s3://clawgate-e2e/", "--recursive", "--profile", "prod"]);
    assert!(listing.contains(awkward) && listing.contains("big.bin"), "{listing}");
    let fetched = work.path().join("fetched.txt");
    agent.aws_ok(&[
        "s3",
        "cp",
        &format!("s3://clawgate-e2e/{awkward}"),
        fetched.to_str().unwrap(),
        "--profile",
        "prod",
    ]);
    assert_eq!(std::fs::read_to_string(&fetched).unwrap(), "awkward key\n");

    // DynamoDB.
    agent.aws_ok(&[
        "dynamodb",
        "create-table",
        "--table-name",
        "orders",
        "--profile",
        "prod",
        "--attribute-definitions",
        "AttributeName=id,AttributeType=S",
        "--key-schema",
        "AttributeName=id,KeyType=HASH",
        "--billing-mode",
        "PAY_PER_REQUEST",
    ]);
    agent.aws_ok(&[
        "dynamodb",
        "put-item",
        "--table-name",
        "orders",
        "--item",
        r#"{"id": {"S": "cli"}}"#,
        "--profile",
        "prod",
    ]);
    let scan = agent.aws_ok(&["dynamodb", "scan", "--table-name", "orders", "--profile", "prod"]);
    assert!(scan.contains("\"cli\""), "{scan}");

    // boto3, the same kinds of calls.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/agent.py");
    let boto3 = agent.run(
        "python",
        &[script.to_str().unwrap(), "roundtrip", "clawgate-boto3", "orders"],
    );
    assert!(
        boto3.status.success(),
        "boto3: {}",
        String::from_utf8_lossy(&boto3.stderr)
    );

    // boto3 over plain HTTP with payload signing on: botocore 1.44 signs the
    // body's hash (not signed chunks; the chunk re-signer is checked against
    // AWS's worked example in src/aws/chunks.rs). clawgate re-signs and
    // forwards over TLS only.
    let chunks = agent.run("python", &[script.to_str().unwrap(), "signed-chunks", "clawgate-e2e"]);
    let said = String::from_utf8_lossy(&chunks.stdout);
    assert!(
        chunks.status.success(),
        "signed chunks: {said}{}",
        String::from_utf8_lossy(&chunks.stderr)
    );
    let mode = said.lines().next().unwrap_or("");
    assert!(
        mode.len() == 64 || mode.starts_with("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        "unsigned payload: {said}"
    );

    // The role's own limits hold: the read-only account cannot make buckets (moto says so).
    let denied = agent.aws_err(&["s3", "mb", "s3://clawgate-e2e-denied", "--profile", "readonly"]);
    assert!(denied.contains("AccessDenied"), "{denied}");
    // A rule's denial names the rule, in the shape the CLI prints.
    let rule = agent.aws_err(&["s3", "rb", "s3://clawgate-e2e", "--profile", "prod"]);
    assert!(
        rule.contains("AccessDenied") && rule.contains("denied by rule 'no bucket deletes': buckets are kept"),
        "{rule}"
    );
    // An account the endpoint does not list is refused by clawgate.
    let unlisted = agent.aws_err(&["sts", "get-caller-identity", "--profile", "unlisted"]);
    assert!(
        unlisted.contains("account 333333333333 is not one of this endpoint's accounts"),
        "{unlisted}"
    );

    // Exactly one audit record per request: every request moto answered was
    // either an agent's (recorded, with the upstream's time) or clawgate's
    // own AssumeRole; the rest were refused by clawgate itself.
    gateway.terminate();
    assert!(gateway.wait_exit(Duration::from_secs(20)).success());
    let records = gateway.audit_records();
    let forwarded = records.iter().filter(|r| r["upstream_ms"].is_u64()).count();
    let assumed = gateway.log().matches("assuming role").count();
    assert_eq!(
        moto.requests_served() - served_before,
        forwarded + assumed,
        "moto's requests = forwarded records + AssumeRole calls"
    );
    let refused: Vec<&str> = records
        .iter()
        .filter(|r| !r["upstream_ms"].is_u64())
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(refused.len(), 2, "{refused:#?}");
    assert!(refused.iter().any(|r| r.contains("no bucket deletes")), "{refused:#?}");
    assert!(refused.iter().any(|r| r.contains("333333333333")), "{refused:#?}");
    let ids: std::collections::HashSet<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), records.len(), "request ids are unique");
    assert!(
        records.iter().any(|r| r["status"] == 403
            && r["aws_error"] == "AccessDenied"
            && r["facets"]["aws.account"] == "222222222222"
            && r["upstream_ms"].is_u64()),
        "moto's own AccessDenied is recorded with its code"
    );
    let puts = records
        .iter()
        .filter(|r| r["facets"]["aws.action"] == "UploadPart" && r["decision"] == "allow")
        .map(|r| r["bytes_in"].as_u64().unwrap())
        .sum::<u64>();
    assert!(puts >= 100 << 20, "the multipart upload's bytes are counted: {puts}");

    // No secret reached the agent, the log or the audit log.
    let transcript = agent.transcript.lock().unwrap().clone();
    let log = gateway.log();
    let audit = std::fs::read_to_string(&gateway.audit_log).unwrap();
    for (what, text) in [
        ("agent output", &transcript),
        ("clawgate log", &log),
        ("audit log", &audit),
    ] {
        assert!(
            !text.contains(&moto.base_secret),
            "the base secret leaked into the {what}"
        );
        assert!(
            !text.contains(&moto.base_key_id),
            "the base key id leaked into the {what}"
        );
        assert!(!has_temporary_key(text), "an assumed-role key leaked into the {what}");
        assert!(
            !text.contains("FQoGZXIvYXdzE"),
            "a session token leaked into the {what}"
        );
    }
}

#[test]
fn a_held_aws_call_waits_for_a_person_on_the_command_line() {
    let moto = Moto::start();
    let gateway = gateway_for(&moto, BaseKey::Inline);
    let agent = agent_for(&gateway);
    let admin = format!("http://{}", gateway.admin);
    let approvals = |args: &[&str]| {
        let mut all = vec!["approvals", "--admin", &admin, "--token", &gateway.admin_token];
        all.extend_from_slice(args);
        let (ok, out, err) = cli(&all);
        assert!(ok, "clawgate approvals {args:?}: {err}");
        out
    };
    // The one hold's id, once it is listed.
    let held = || {
        for _ in 0..200 {
            let list = approvals(&["list"]);
            if let Some(row) = list.lines().nth(1) {
                return (row.split_whitespace().next().unwrap().to_string(), list);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("nothing was held");
    };
    let create = ["dynamodb", "create-table", "--table-name", "keep", "--profile", "prod"];
    let schema = [
        "--attribute-definitions",
        "AttributeName=id,AttributeType=S",
        "--key-schema",
        "AttributeName=id,KeyType=HASH",
        "--billing-mode",
        "PAY_PER_REQUEST",
    ];
    agent.aws_ok(&[&create[..], &schema[..]].concat());
    let delete = ["dynamodb", "delete-table", "--table-name", "keep", "--profile", "prod"];

    std::thread::scope(|s| {
        // Denied by a person: the CLI shows AccessDenied naming the rule and the person.
        let waiting = s.spawn(|| agent.aws_err(&delete));
        let (id, list) = held();
        assert!(
            list.contains(
                "DeleteTable dynamodb in account prod (111111111111), us-east-1, by agent local \
                 — rule 'table deletes need a person'"
            ),
            "{list}"
        );
        approvals(&["deny", &id, "--as", "alice", "--reason", "keep the table"]);
        let denied = waiting.join().unwrap();
        assert!(
            denied.contains("AccessDenied")
                && denied
                    .contains("denied by alice while rule 'table deletes need a person' held it for approval by oncall: keep the table"),
            "{denied}"
        );

        // Allowed by a person: the call goes through.
        let waiting = s.spawn(|| agent.aws_ok(&delete));
        let (id, _) = held();
        approvals(&["allow", &id, "--as", "bob"]);
        let deleted = waiting.join().unwrap();
        assert!(deleted.contains("\"TableName\": \"keep\""), "{deleted}");
    });
}

#[test]
fn fifty_concurrent_calls_on_a_cold_cache_assume_each_role_once() {
    let moto = Moto::start();
    // This one reads the base key from an AWS credentials file.
    let gateway = gateway_for(&moto, BaseKey::CredentialsFile);
    let agent = agent_for(&gateway);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/agent.py");
    let burst = agent.run("python", &[script.to_str().unwrap(), "identity-burst", "50"]);
    assert!(burst.status.success(), "{}", String::from_utf8_lossy(&burst.stderr));
    assert_eq!(
        String::from_utf8_lossy(&burst.stdout).trim(),
        r#"["111111111111", "222222222222"]"#
    );
    let calls = gateway.log().matches("assuming role").count();
    assert_eq!(calls, 2, "one AssumeRole per account:\n{}", gateway.log());
}

/// Whether `text` holds something shaped like a temporary access key id.
fn has_temporary_key(text: &str) -> bool {
    text.match_indices("ASIA").any(|(i, _)| {
        let rest = &text[i + 4..];
        rest.len() >= 16
            && rest
                .bytes()
                .take(16)
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    })
}

#[test]
fn a_base_key_set_through_the_admin_api_is_used_from_then_on() {
    let moto = Moto::start();
    let gateway = gateway_for(&moto, BaseKey::AdminApi);
    let agent = agent_for(&gateway);
    let before = agent.aws_err(&["sts", "get-caller-identity", "--profile", "prod"]);
    assert!(before.contains("has no key yet"), "{before}");
    let put = |token: &str| {
        let body = serde_json::json!({ "access_key_id": moto.base_key_id, "secret_access_key": moto.base_secret });
        std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "PUT",
                "--noproxy",
                "*",
                "-H",
            ])
            .arg(format!("Authorization: Bearer {token}"))
            .args(["--data-binary", &body.to_string()])
            .arg(format!("http://{}/api/credentials/base", gateway.admin))
            .output()
            .unwrap()
    };
    assert_eq!(String::from_utf8_lossy(&put("not-the-token").stdout), "401");
    assert_eq!(String::from_utf8_lossy(&put(&gateway.admin_token).stdout), "204");
    let out = agent.aws_ok(&["sts", "get-caller-identity", "--profile", "prod", "--output", "json"]);
    assert!(out.contains("111111111111"), "{out}");
    assert!(
        !gateway.log().contains(&moto.base_secret),
        "the key set through the API never reaches the log"
    );
}
