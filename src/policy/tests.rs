//! Loading rules and deciding with them.

use std::collections::HashMap;

use super::*;
use crate::config::ConfigErrors;
use crate::facet::{AgentFacts, AwsFacts, HttpFacts};
use crate::ids::AgentName;

/// The policy in `files`, with `env` as the environment.
fn load_with(files: &[(&str, &str)], env: &[(&str, &str)]) -> Result<Policy, Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let prefix = format!("{}/", dir.path().display());
    Policy::load(dir.path(), &env)
        .map_err(|e: ConfigErrors| e.errors().iter().map(|e| e.to_string().replace(&prefix, "")).collect())
}

fn load(text: &str) -> Result<Policy, Vec<String>> {
    load_with(&[("rules.hcl", text)], &[])
}

const ENDPOINT: &str = r#"
endpoint "aws_api" "org" {
  hosts    = ["*.amazonaws.com"]
  role     = "clawgate-agent"
  region   = "us-east-1"
  accounts = ["111111111111=prod", "222222222222=staging"]
}
"#;

/// Facts for an AWS request with these `aws` fields.
fn aws(fields: &[(&str, &str)]) -> Facts {
    Facts {
        agent: AgentFacts {
            name: AgentName::parse("ci-bot").unwrap(),
        },
        http: HttpFacts {
            method: "POST".into(),
            host: "s3.amazonaws.com".into(),
            path: "/".into(),
            ..HttpFacts::default()
        },
        aws: Some(AwsFacts::from_fields(fields.iter().copied(), None).unwrap()),
    }
}

fn decide(policy: &Policy, facts: &Facts) -> Decision {
    policy.decide(EndpointId(0), facts)
}

#[test]
fn the_example_from_the_issue_loads_unchanged_and_behaves_as_its_comments_say() {
    let text = r#"plugin "aws" {
  source  = "github.com/denoland/clawpatrol-plugin-aws"
  version = "~> 0.1"
}
credential "aws_account" "base" {}   # base key entered on the dashboard
endpoint "aws_api" "avocet2" {
  hosts      = ["*.amazonaws.com"]
  role       = "clawpatrol-gateway"  # role assumed in each account
  region     = "us-east-1"
  credential = aws_account.base
  accounts = [                       # optional id -> name labels
    "111111111111=prod",
    "222222222222=staging",
  ]
}
# Broad reads allowed; mutations need human approval; secrets denied.
rule "reads ok" {
  endpoints = [aws_api.avocet2]
  match     = aws.action.startsWith("Get") || aws.action.startsWith("List") || aws.action.startsWith("Describe")
  action    = "allow"
}
rule "mutations need approval" {
  endpoints = [aws_api.avocet2]
  match     = !(aws.action.startsWith("Get") || aws.action.startsWith("List") || aws.action.startsWith("Describe"))
  action    = "approve"
  approvers = [human.oncall]
}
"#;
    let policy = load(text).unwrap();
    let notices: Vec<String> = policy.config().notices.iter().map(|n| n.message.clone()).collect();
    assert!(
        notices.iter().any(|n| n.contains("plugin \"aws\" is ignored")),
        "{notices:?}"
    );
    assert!(
        notices.iter().any(|n| n.contains("human \"oncall\" has no block")),
        "{notices:?}"
    );
    assert!(
        matches!(policy.config().credentials[0].source, crate::config::KeySource::Runtime),
        "no sources: the key is entered later"
    );
    assert!(matches!(decide(&policy, &aws(&[("action", "ListBuckets")])), Decision::Allow(m) if m.rule == "reads ok"));
    match decide(&policy, &aws(&[("action", "PutObject")])) {
        Decision::Hold(hold) => assert_eq!(
            (hold.rule.as_str(), hold.approvers),
            ("mutations need approval", vec!["oncall".to_string()])
        ),
        other => panic!("expected a hold, got {other:?}"),
    }
}

#[test]
fn quoted_heredoc_and_unquoted_conditions_are_the_same_rule() {
    for condition in [
        r#"match = "aws.action == 'GetObject' && aws.account_name == 'prod'""#,
        "match = <<EOT\naws.action == 'GetObject' &&\n  aws.account_name == 'prod'\nEOT",
        "condition = aws.action == \"GetObject\" &&\n    aws.account_name == \"prod\" # a comment",
        "condition = (aws.action == 'GetObject'\n  && aws.account_name == 'prod')",
    ] {
        let text = format!("{ENDPOINT}\nrule \"r\" {{\n  {condition}\n  verdict = \"allow\"\n}}\n");
        let policy = load(&text).unwrap_or_else(|e| panic!("{condition}: {e:?}"));
        let get = aws(&[("action", "GetObject"), ("account_name", "prod")]);
        let put = aws(&[("action", "PutObject"), ("account_name", "prod")]);
        assert!(matches!(decide(&policy, &get), Decision::Allow(_)), "{condition}");
        assert_eq!(decide(&policy, &put), Decision::Deny(Denial::NoMatch), "{condition}");
    }
}

#[test]
fn priority_first_then_file_and_declaration_order() {
    let files = [
        (
            "a.hcl",
            &*format!("{ENDPOINT}\nrule \"first in a\" {{\n  match = true\n  action = \"allow\"\n}}\n"),
        ),
        (
            "b.hcl",
            "rule \"urgent\" {\n  priority = 10\n  match = aws.action == \"DeleteBucket\"\n  action = \"deny\"\n  reason = \"no deletes\"\n}\nrule \"low\" {\n  priority = -1\n  match = true\n  action = \"deny\"\n}\n",
        ),
    ];
    let policy = load_with(&files, &[]).unwrap();
    let delete = decide(&policy, &aws(&[("action", "DeleteBucket")]));
    assert_eq!(
        delete,
        Decision::Deny(Denial::Rule {
            rule: "urgent".into(),
            reason: Some("no deletes".into())
        })
    );
    assert!(matches!(decide(&policy, &aws(&[("action", "GetObject")])), Decision::Allow(m) if m.rule == "first in a"));
    let names: Vec<String> = policy
        .explain(EndpointId(0), &aws(&[("action", "X")]))
        .outcomes
        .into_iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(names, ["urgent", "first in a", "low"]);
}

#[test]
fn no_match_denies_and_an_evaluation_error_denies_with_the_error() {
    let text = format!(
        "{ENDPOINT}\nrule \"bucket rule\" {{\n  match = aws.bucket == \"logs\"\n  action = \"allow\"\n}}\nrule \"never\" {{\n  match = false\n  action = \"allow\"\n}}\n"
    );
    let policy = load(&text).unwrap();
    match decide(&policy, &aws(&[("action", "ListBuckets")])) {
        Decision::Deny(Denial::Error { rule, error }) => {
            assert_eq!(rule, "bucket rule");
            assert!(error.contains("bucket"), "{error}");
        }
        other => panic!("a rule reading an absent field must deny, got {other:?}"),
    }
    assert!(matches!(
        decide(&policy, &aws(&[("bucket", "logs")])),
        Decision::Allow(_)
    ));
    assert_eq!(
        decide(&policy, &aws(&[("bucket", "other")])),
        Decision::Deny(Denial::NoMatch)
    );
    let text = format!("{ENDPOINT}\nrule \"not a bool\" {{\n  match = aws.action\n  action = \"allow\"\n}}\n");
    assert!(matches!(
        decide(&load(&text).unwrap(), &aws(&[("action", "X")])),
        Decision::Deny(Denial::Error { .. })
    ));
}

#[test]
fn list_facets_read_as_lists_in_cel_and_fail_closed_when_absent() {
    let text = format!(
        "{ENDPOINT}\nrule \"no roles passed\" {{\n  priority = 1\n  match = \"iam:PassRole\" in aws.iam_actions\n  action = \"deny\"\n}}\n\
         rule \"prod buckets\" {{\n  match = aws.resources.exists(r, r.startsWith(\"arn:aws:s3:::prod-\"))\n  action = \"allow\"\n}}\n"
    );
    let policy = load(&text).unwrap();
    assert!(policy.reads_params(), "JSON bodies carry what the lists come from");
    let passes = aws(&[
        ("iam_actions", "lambda:CreateFunction,iam:PassRole"),
        ("resources", "arn:aws:s3:::prod-a"),
    ]);
    assert!(matches!(decide(&policy, &passes), Decision::Deny(Denial::Rule { rule, .. }) if rule == "no roles passed"));
    let reads = aws(&[
        ("iam_actions", "s3:GetObject"),
        ("resources", "arn:aws:s3:::dev-a,arn:aws:s3:::prod-b/k"),
    ]);
    assert!(matches!(decide(&policy, &reads), Decision::Allow(m) if m.rule == "prod buckets"));
    let unknown = aws(&[("action", "GetObject")]);
    assert!(
        matches!(decide(&policy, &unknown), Decision::Deny(Denial::Error { rule, .. }) if rule == "no roles passed")
    );
    let text = format!("{ENDPOINT}\nrule \"r\" {{\n  match = aws.resources.arn == \"x\"\n  action = \"allow\"\n}}\n");
    let errors = load(&text).err().unwrap();
    assert!(
        errors[0].contains("`aws.resources` is a list; it has no field `arn`"),
        "{errors:?}"
    );
    let text = format!("{ENDPOINT}\nrule \"r\" {{\n  match = aws.resource == \"x\"\n  action = \"allow\"\n}}\n");
    assert!(
        load(&text).unwrap().reads_params(),
        "aws.resource comes from JSON bodies too"
    );
}

#[test]
fn disabled_rules_and_other_endpoints_do_not_decide() {
    let text = format!(
        "{ENDPOINT}\nendpoint \"https\" \"github\" {{\n  hosts = [\"api.github.com\"]\n}}\n\
         rule \"off\" {{\n  match = true\n  action = \"deny\"\n  disabled = true\n}}\n\
         rule \"github only\" {{\n  endpoints = [https.github]\n  match = true\n  action = \"deny\"\n}}\n\
         rule \"rest\" {{\n  match = true\n  action = \"allow\"\n}}\n"
    );
    let policy = load(&text).unwrap();
    assert!(matches!(decide(&policy, &aws(&[])), Decision::Allow(m) if m.rule == "rest"));
    assert!(
        matches!(policy.decide(EndpointId(1), &aws(&[])), Decision::Deny(Denial::Rule { rule, .. }) if rule == "github only")
    );
}

#[test]
fn matches_uses_precompiled_patterns_and_bad_patterns_fail_at_load() {
    let text = format!(
        "{ENDPOINT}\nrule \"r\" {{\n  match = aws.action.matches(\"^(Get|List)[A-Z]\") && matches(agent.name, \"^ci-\")\n  action = \"allow\"\n}}\n"
    );
    let policy = load(&text).unwrap();
    assert!(matches!(
        decide(&policy, &aws(&[("action", "GetObject")])),
        Decision::Allow(_)
    ));
    assert_eq!(
        decide(&policy, &aws(&[("action", "PutObject")])),
        Decision::Deny(Denial::NoMatch)
    );
    let bad = format!("{ENDPOINT}\nrule \"r\" {{\n  match = aws.action.matches(\"(\")\n  action = \"allow\"\n}}\n");
    let errors = load(&bad).unwrap_err();
    assert!(
        errors[0].starts_with("rules.hcl:10:30: the pattern is not a valid regular expression"),
        "{errors:?}"
    );
}

#[test]
fn load_errors_name_the_place_and_what_to_write() {
    let cases: [(&str, &str); 6] = [
        (
            "rule \"r\" {\n  endpoints = [aws_api.orgg]\n  match = true\n  action = \"allow\"\n}\n",
            "rules.hcl:9:16: `endpoints`: no endpoint `aws_api.orgg` is declared; did you mean `aws_api.org`?",
        ),
        (
            "rule \"r\" {\n  match = true\n  action = \"allow\"\n}\nrule \"r\" {\n  match = true\n  action = \"deny\"\n}\n",
            "rules.hcl:12:1: rule \"r\" is defined twice; the first definition is at rules.hcl:8:1",
        ),
        (
            "rule \"r\" {\n  match = aws.action == \n  action = \"allow\"\n}\n",
            "rules.hcl:9:",
        ),
        (
            "rule \"r\" {\n  match = aws.acton == \"GetObject\"\n  action = \"allow\"\n}\n",
            "rules.hcl:9:15: `aws.acton` is not a facet field; did you mean `aws.action`?",
        ),
        (
            "credential \"aws_account\" \"base\" {\n  access_key_id = env(\"NO_SUCH_VARIABLE\")\n  secret_access_key = \"x\"\n}\n",
            "rules.hcl:9:19: `access_key_id`: environment variable `NO_SUCH_VARIABLE` is not set",
        ),
        (
            "rule \"r\" {\n  match = awz.action == \"x\"\n  action = \"approve\"\n}\n",
            "rules.hcl:8:1: rule \"r\" needs `approvers`",
        ),
    ];
    for (text, expected) in cases {
        let errors = load(&format!("{ENDPOINT}{text}")).unwrap_err();
        assert!(
            errors.iter().any(|e| e.starts_with(expected)),
            "expected {expected:?} in {errors:#?}"
        );
    }
}

#[test]
fn the_aws_facet_is_only_for_aws_endpoints() {
    let text = "endpoint \"https\" \"github\" {\n  hosts = [\"api.github.com\"]\n}\nrule \"r\" {\n  match = aws.action == \"x\"\n  action = \"allow\"\n}\n";
    let errors = load(text).unwrap_err();
    assert!(errors[0].contains("exists only on aws_api endpoints"), "{errors:?}");
}

#[test]
fn secrets_come_from_the_given_environment() {
    let text = format!(
        "{ENDPOINT}credential \"aws_account\" \"base\" {{\n  access_key_id = env(\"ID\")\n  secret_access_key = env(\"SECRET\")\n}}\n"
    );
    let policy = load_with(&[("rules.hcl", &text)], &[("ID", "AKIAEXAMPLE"), ("SECRET", "shh")]).unwrap();
    let crate::config::KeySource::Inline(key) = &policy.config().credentials[0].source else {
        panic!("inline key")
    };
    assert_eq!(
        (key.access_key_id.expose(), key.secret_access_key.expose()),
        ("AKIAEXAMPLE", "shh")
    );
    assert!(
        !format!("{:?}", policy.config()).contains("shh"),
        "secrets never reach Debug output"
    );
}

#[test]
fn the_shipped_policies_load_and_their_tests_pass() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let report = tooling::test(&dir, &HashMap::<String, String>::new());
    assert!(report.ok, "{}", report.text);
    assert!(report.text.contains(" 0 failed"), "{}", report.text);
}

#[test]
fn web_identity_comes_from_the_environment_and_names_what_is_missing() {
    let text = format!("{ENDPOINT}credential \"aws_account\" \"base\" {{\n  web_identity = true\n}}\n");
    let policy = load_with(
        &[("rules.hcl", &text)],
        &[
            ("AWS_ROLE_ARN", "arn:aws:iam::000000000000:role/hub"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
        ],
    )
    .unwrap();
    assert!(matches!(
        &policy.config().credentials[0].source,
        crate::config::KeySource::WebIdentity { role_arn, .. } if role_arn == "arn:aws:iam::000000000000:role/hub"
    ));
    let errors = load_with(
        &[("rules.hcl", &text)],
        &[("AWS_ROLE_ARN", "arn:aws:iam::000000000000:role/hub")],
    )
    .unwrap_err();
    assert!(
        errors[0].contains("`AWS_WEB_IDENTITY_TOKEN_FILE` is not set"),
        "{errors:?}"
    );
}
