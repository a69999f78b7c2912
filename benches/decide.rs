//! Deciding on a request against a 50-rule policy.

#![expect(clippy::expect_used, reason = "a benchmark stops at the first set-up failure")]
#![expect(missing_docs, reason = "criterion's macros generate undocumented functions")]

use std::collections::HashMap;
use std::fmt::Write;

use clawgate::config::EndpointId;
use clawgate::facet::{AgentFacts, AwsFacts, Facts, HttpFacts};
use clawgate::ids::AgentName;
use clawgate::policy::Policy;
use criterion::{Criterion, criterion_group, criterion_main};

/// 50 rules of the kinds security teams write: per-service denies, per-account
/// approvals, action prefixes, a regex and a header check; the last allows reads.
fn rules() -> String {
    let mut text = String::from(
        r#"endpoint "aws_api" "org" {
  hosts    = ["*.amazonaws.com"]
  role     = "clawgate-agent"
  region   = "us-east-1"
  accounts = ["111111111111=prod", "222222222222=staging"]
}
"#,
    );
    let services = [
        "ec2",
        "iam",
        "kms",
        "secretsmanager",
        "ssm",
        "lambda",
        "sqs",
        "sns",
        "rds",
        "ecs",
    ];
    for i in 0..48 {
        let service = services[i % services.len()];
        let condition = match i % 4 {
            0 => format!("aws.service == \"{service}\" && aws.action == \"Delete{i}\""),
            1 => format!("aws.account_name == \"staging\" && aws.action.startsWith(\"Put{i}\")"),
            2 => format!("aws.iam_action in [\"{service}:Create{i}\", \"{service}:Update{i}\"]"),
            _ => format!("agent.name == \"bot-{i}\" && aws.action.matches(\"^Terminate.*{i}$\")"),
        };
        let _ = write!(
            text,
            "rule \"rule {i}\" {{\n  match = {condition}\n  action = \"deny\"\n}}\n"
        );
    }
    text.push_str("rule \"agent header\" {\n  match = \"x-forbidden\" in http.headers\n  action = \"deny\"\n}\n");
    text.push_str("rule \"reads ok\" {\n  match = aws.action.startsWith(\"Get\") || aws.action.startsWith(\"List\")\n  action = \"allow\"\n}\n");
    text
}

fn facts(action: &str) -> Facts {
    let fields = [
        ("service", "s3"),
        ("action", action),
        ("iam_action", "s3:GetObject"),
        ("account", "111111111111"),
        ("account_name", "prod"),
        ("region", "us-east-1"),
        ("bucket", "reports"),
        ("key", "q3.csv"),
    ];
    let mut headers = std::collections::BTreeMap::new();
    headers.insert("user-agent".to_string(), vec!["aws-cli/1.46".to_string()]);
    Facts {
        agent: AgentFacts {
            name: AgentName::parse("ci-bot").expect("name"),
        },
        http: HttpFacts {
            method: "GET".into(),
            host: "reports.s3.amazonaws.com".into(),
            path: "/q3.csv".into(),
            headers,
            ..HttpFacts::default()
        },
        aws: Some(AwsFacts::from_fields(fields, None).expect("fields")),
    }
}

fn decide(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("rules.hcl"), rules()).expect("write rules");
    let policy = Policy::load(dir.path(), &HashMap::<String, String>::new()).expect("rules load");
    assert_eq!(policy.config().rules.len(), 50);
    let read = facts("GetObject");
    let write = facts("PutObject");
    c.bench_function("decide: 50 rules, last one allows", |b| {
        b.iter(|| policy.decide(EndpointId(0), &read));
    });
    c.bench_function("decide: 50 rules, none matches", |b| {
        b.iter(|| policy.decide(EndpointId(0), &write));
    });
}

criterion_group!(benches, decide);
criterion_main!(benches);
