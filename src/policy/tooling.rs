//! What `clawgate policy check|test|explain` print: the tools rule authors
//! use before deploying rules.

use std::fmt::Write;
use std::path::Path;

use crate::config::{Environment, RuleTest, TestRequest, load_rule_tests};
use crate::facet::Facts;
use crate::ids::AgentName;

use super::{Policy, describe, run_tests, test_facts};

/// A report and whether it is a success (exit 0) or not (exit 1).
#[derive(Debug)]
pub struct Report {
    /// What to print.
    pub text: String,
    /// Whether everything checked out.
    pub ok: bool,
}

/// `n thing` or `n things`.
fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// `policy check`: every load error at once, and the notices.
pub fn check(dir: &Path, env: &dyn Environment) -> Report {
    match Policy::load(dir, env) {
        Ok(policy) => {
            let config = policy.config();
            let mut text = String::new();
            for notice in &config.notices {
                let _ = writeln!(text, "{notice}");
            }
            let _ = writeln!(
                text,
                "{}: OK — {}, {}, {}",
                dir.display(),
                count(config.rules.len(), "rule"),
                count(config.endpoints.len(), "endpoint"),
                count(config.agents.len(), "agent")
            );
            Report { text, ok: true }
        }
        Err(errors) => Report {
            text: format!("{errors}\n"),
            ok: false,
        },
    }
}

/// `policy test`: every `*.test.hcl` case, pass or fail.
pub fn test(dir: &Path, env: &dyn Environment) -> Report {
    let loaded = Policy::load(dir, env).and_then(|p| Ok((p, load_rule_tests(dir)?)));
    let (policy, tests) = match loaded {
        Ok(loaded) => loaded,
        Err(errors) => {
            return Report {
                text: format!("{errors}\n"),
                ok: false,
            };
        }
    };
    let mut text = String::new();
    let reports = run_tests(&policy, &tests);
    for report in &reports {
        match &report.result {
            Ok(()) => writeln!(text, "PASS {}", report.name),
            Err(why) => writeln!(text, "FAIL {} ({})\n     {why}", report.name, report.at),
        }
        .unwrap_or_default();
    }
    let failed = reports.iter().filter(|r| r.result.is_err()).count();
    let _ = writeln!(text, "{} passed, {failed} failed", reports.len() - failed);
    Report { text, ok: failed == 0 }
}

/// `policy explain`: the facets of a request, every rule's outcome, the decision.
pub fn explain(
    dir: &Path,
    env: &dyn Environment,
    request: TestRequest,
    agent: AgentName,
    aws: Vec<(String, String)>,
) -> Report {
    let policy = match Policy::load(dir, env) {
        Ok(p) => p,
        Err(errors) => {
            return Report {
                text: format!("{errors}\n"),
                ok: false,
            };
        }
    };
    let test = RuleTest {
        name: "explain".to_string(),
        at: crate::config::Location {
            file: std::sync::Arc::from(Path::new("<command line>")),
            line: 1,
            column: 1,
        },
        agent,
        endpoint: None,
        request: Some(request),
        aws: (!aws.is_empty()).then(|| aws.into_iter().collect()),
        aws_lists: std::collections::BTreeMap::new(),
        aws_params: None,
        expect: "allow".to_string(),
        rule: None,
    };
    let (endpoint, facts) = match test_facts(&policy, &test) {
        Ok(found) => found,
        Err(why) => {
            return Report {
                text: format!("{why}\n"),
                ok: false,
            };
        }
    };
    let mut text = String::new();
    let name = policy
        .config()
        .endpoint(endpoint)
        .map(ToString::to_string)
        .unwrap_or_default();
    let _ = writeln!(text, "endpoint: {name}");
    let facts = match facts {
        Ok(facts) => facts,
        Err(refused) => {
            let _ = writeln!(
                text,
                "the request is refused before any rule runs\ndecision: deny ({refused})"
            );
            return Report { text, ok: true };
        }
    };
    write_facts(&mut text, &facts);
    let explanation = policy.explain(endpoint, &facts);
    let _ = writeln!(text, "rules, in the order they run:");
    for (rule, outcome) in &explanation.outcomes {
        let _ = writeln!(text, "  {rule:<32} {outcome}");
    }
    let _ = writeln!(text, "decision: {}", describe(&explanation.decision));
    Report { text, ok: true }
}

fn write_facts(text: &mut String, facts: &Facts) {
    let _ = writeln!(text, "facets:\n  agent.name = {:?}", facts.agent.name.as_str());
    let http = &facts.http;
    for (field, value) in [("method", &http.method), ("host", &http.host), ("path", &http.path)] {
        let _ = writeln!(text, "  http.{field} = {value:?}");
    }
    let _ = writeln!(text, "  http.query = {:?}", http.query);
    let _ = writeln!(text, "  http.headers = {:?}", http.headers);
    match &facts.aws {
        Some(aws) => {
            for (field, value) in aws.texts() {
                let _ = writeln!(text, "  aws.{field} = {value:?}");
            }
            for (field, items) in aws.lists() {
                let _ = writeln!(text, "  aws.{field} = {items:?}");
            }
            if let Some(params) = &aws.params {
                let _ = writeln!(text, "  aws.params = {}", serde_json::Value::Object(params.clone()));
            }
        }
        None => {
            let _ = writeln!(text, "  aws: (none)");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn check_counts_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let rules = r#"
endpoint "https" "api" { hosts = ["api.example.com"] }
rule "one" {
  match  = http.method == "GET"
  action = "allow"
}
"#;
        std::fs::write(dir.path().join("rules.hcl"), rules).unwrap();
        let report = check(dir.path(), &HashMap::<String, String>::new());
        assert!(report.ok, "{}", report.text);
        assert!(
            report.text.ends_with("OK — 1 rule, 1 endpoint, 0 agents\n"),
            "{}",
            report.text
        );
    }
}
