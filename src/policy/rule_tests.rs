//! Running rule tests (`clawgate policy test`).

use crate::config::{EndpointId, RuleTest};
use crate::facet::{AwsFacts, Facts};

use super::{Decision, Policy};

/// What one rule test found.
#[derive(Debug, Clone)]
pub struct TestReport {
    /// The test's name.
    pub name: String,
    /// Where it is written.
    pub at: String,
    /// `Ok` when it passed; otherwise what differed.
    pub result: Result<(), String>,
}

/// Runs `tests` against `policy`.
pub fn run_tests(policy: &Policy, tests: &[RuleTest]) -> Vec<TestReport> {
    tests
        .iter()
        .map(|test| TestReport {
            name: test.name.clone(),
            at: test.at.to_string(),
            result: run_one(policy, test),
        })
        .collect()
}

fn run_one(policy: &Policy, test: &RuleTest) -> Result<(), String> {
    let (endpoint, facts) = test_facts(policy, test)?;
    let decision = policy.decide(endpoint, &facts);
    let rule_ok = test.rule.as_deref().is_none_or(|r| decision.rule() == Some(r));
    if decision.action() == test.expect && rule_ok {
        return Ok(());
    }
    let expected = match &test.rule {
        Some(rule) => format!("{} by rule '{rule}'", test.expect),
        None => test.expect.clone(),
    };
    Err(format!("expected {expected}, got: {}", describe(&decision)))
}

/// The endpoint and facts a test describes.
pub fn test_facts(policy: &Policy, test: &RuleTest) -> Result<(EndpointId, Facts), String> {
    let config = policy.config();
    let mut facts = match &test.request {
        Some(request) => Facts::describe(request, test.agent.clone())?,
        None => Facts {
            agent: crate::facet::AgentFacts {
                name: test.agent.clone(),
            },
            http: crate::facet::HttpFacts::default(),
            aws: None,
        },
    };
    let endpoint = match &test.endpoint {
        Some(r) => config
            .endpoints
            .iter()
            .position(|e| e.kind.label() == r.kind && e.name == r.name)
            .map(EndpointId)
            .ok_or_else(|| format!("no endpoint `{r}` is declared"))?,
        None => config.route(&facts.http.host).ok_or_else(|| {
            format!(
                "no endpoint claims `{}`; name one with endpoint = KIND.NAME",
                facts.http.host
            )
        })?,
    };
    if let Some(fields) = &test.aws {
        let pairs = fields.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        facts.aws = Some(AwsFacts::from_fields(pairs, test.aws_params.clone())?);
    }
    Ok((endpoint, facts))
}

/// A decision with its rule and reason, for reports.
pub fn describe(decision: &Decision) -> String {
    match decision {
        Decision::Allow(m) => format!("allow by rule '{}'", m.rule),
        Decision::Hold(h) => format!("approve by rule '{}' ({})", h.rule, h.approvers.join(", ")),
        Decision::Deny(d) => format!("deny ({d})"),
    }
}
