//! What a refused HEAD and an approved hold leave behind, through the real
//! binary: the agent's response, the audit record, and log lines a person
//! can read.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::agent;
use support::gateway::Gateway;
use support::operator::Operator;
use support::origin::Origin;

async fn start(rules: String) -> Gateway {
    tokio::task::spawn_blocking(move || Gateway::start(&rules))
        .await
        .unwrap()
}

/// Waits up to 10 s for the audit record of the request at `path`.
async fn record_of(gateway: &Gateway, path: &str) -> Value {
    for _ in 0..100 {
        if let Some(record) = gateway.audit_records().into_iter().find(|r| r["path"] == path) {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no record of {path}: {:#?}", gateway.audit_records());
}

/// An S3 HEAD signed with a placeholder key for account 111111111111.
fn head(client: &reqwest::Client, key: &str) -> reqwest::RequestBuilder {
    agent::placeholder_s3_signature(client.head(format!("https://reports.s3.amazonaws.com/{key}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_head_is_recorded_with_its_reason_and_the_agent_learns_why() {
    let rules = r#"
endpoint "aws_api" "org" {
  hosts = ["*.amazonaws.com"]
  role  = "clawgate-agent"
}
human "alice" { timeout = "1s" }
rule "no secrets" {
  match  = aws.key.startsWith("secret/")
  action = "deny"
  reason = "secrets stay put"
}
rule "heads wait" {
  match     = aws.action == "HeadObject"
  action    = "approve"
  approvers = [human.alice]
}
"#;
    let gateway = start(rules.to_string()).await;
    let client = agent::client(&gateway.proxy_url(), &gateway.ca_pem(), true);

    let denied = head(&client, "secret/key").send().await.unwrap();
    assert_eq!(denied.status(), 403);
    let reason = denied.headers()["x-clawgate-reason"].to_str().unwrap();
    assert_eq!(reason, "clawgate: denied by rule 'no secrets': secrets stay put");
    let record = record_of(&gateway, "/secret/key").await;
    assert_eq!(record["status"], 403);
    assert_eq!(record["decision"], "deny");
    assert_eq!(record["rule"], "no secrets");
    assert_eq!(record["aws_error"], "AccessDenied");
    assert_eq!(record["side"], "agent");
    assert_eq!(
        record["error"], "denied by rule 'no secrets': secrets stay put",
        "{record:#}"
    );

    // Nobody answers alice's hold within her second.
    let timed_out = head(&client, "report.csv").send().await.unwrap();
    assert_eq!(timed_out.status(), 403);
    assert!(
        timed_out.headers()["x-clawgate-reason"]
            .to_str()
            .unwrap()
            .contains("nobody approved it in time"),
        "{:?}",
        timed_out.headers()
    );
    let record = record_of(&gateway, "/report.csv").await;
    assert_eq!(
        (record["status"].as_u64(), record["decision"].as_str()),
        (Some(403), Some("deny"))
    );
    assert_eq!(record["aws_error"], "AccessDenied");
    assert_eq!(record["approval"]["outcome"], "timed out");
    let error = record["error"].as_str().unwrap();
    assert!(error.contains("nobody approved it in time"), "{error}");
    assert!(!error.contains("went away"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_speak_in_words() {
    let origin = Origin::start().await;
    let rules = origin.rules_holding_posts("", r#"human "alice" {}"#, "human.alice");
    let gateway = start(rules).await;
    let client = agent::client(&gateway.proxy_url(), &gateway.ca_pem(), true);
    let post = tokio::spawn(async move {
        client
            .post("https://upstream.test/echo/deploy")
            .body("v2")
            .send()
            .await
            .unwrap()
    });
    let operator = Operator::of(&gateway);
    let id = operator.wait_for_holds(1).await[0]["id"].as_u64().unwrap();
    let decided = operator.decide(id, "allow", "alice", "release day").await;
    assert_eq!(decided.status(), 204);
    assert_eq!(post.await.unwrap().status(), 200);
    record_of(&gateway, "/echo/deploy").await;

    let log = gateway.log();
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with `{needle}` in:\n{log}"))
    };
    assert!(
        line("hold decided").contains(r#"outcome=allowed by alice (release day)"#),
        "{log}"
    );
    assert!(
        line(" approved").contains("outcome=allowed by alice (release day)"),
        "{log}"
    );
    let audit = line("audit records go to");
    assert!(audit.trim_end().ends_with("audit.jsonl"), "{audit}");
    assert_eq!(audit.matches("audit.jsonl").count(), 1, "said once: {audit}");
    for debug in ["Allowed {", "Consent {", "Some("] {
        assert!(!log.contains(debug), "Rust Debug `{debug}` in the log:\n{log}");
    }
}
