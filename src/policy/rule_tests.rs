//! Running rule tests (`clawgate policy test`).

use crate::config::{EndpointId, EndpointKind, RuleTest};
use crate::facet::aws::host;
use crate::facet::{AgentFacts, AwsFacts, Facts, HttpFacts, Seen, derive, described_head};

use super::{Decision, Denial, Policy};

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
    let decision = match facts {
        Ok(facts) => policy.decide(endpoint, &facts),
        Err(refused) => Decision::Deny(refused),
    };
    let rule_ok = test
        .rule
        .as_deref()
        .is_none_or(|r| decision.rule().is_some_and(|d| d == r));
    if decision.action() == test.expect && rule_ok {
        return Ok(());
    }
    let expected = match &test.rule {
        Some(rule) => format!("{} by rule '{rule}'", test.expect),
        None => test.expect.clone(),
    };
    Err(format!("expected {expected}, got: {}", describe(&decision)))
}

/// The endpoint and facts a test describes; the facts are a denial instead
/// when the request itself is refused (its parts disagree, say), as the proxy
/// would refuse it. `Err` when the test cannot be run.
pub fn test_facts(policy: &Policy, test: &RuleTest) -> Result<(EndpointId, Result<Facts, Denial>), String> {
    let config = policy.config();
    let head = test
        .request
        .as_ref()
        .map(described_head)
        .transpose()
        .map_err(|e| e.to_string())?;
    let endpoint = match (&test.endpoint, &head) {
        (Some(r), _) => config
            .endpoints
            .iter()
            .position(|e| e.kind.label() == r.kind && e.name == r.name)
            .map(EndpointId)
            .ok_or_else(|| format!("no endpoint `{r}` is declared"))?,
        (None, Some((_, host))) => config
            .route(host)
            .ok_or_else(|| format!("no endpoint claims `{host}`; name one with endpoint = KIND.NAME"))?,
        (None, None) => return Err("the test describes no request and names no endpoint".to_string()),
    };
    let api = match config.endpoint(endpoint).map(|e| &e.kind) {
        // `aws` fields given one by one take the place of derived ones.
        Some(EndpointKind::AwsApi(api)) if test.aws.is_none() => Some(&**api),
        _ => None,
    };
    let mut facts = match (head, &test.request) {
        (Some((mut parts, host)), Some(request)) => {
            // What the proxy does with the request, the same way.
            derive::clean(&mut parts.headers, parts.uri.query())
                .map_err(|hop| format!("the request is refused before any rule runs: {hop}"))?;
            let aws_host = host::parse(&host);
            let seen = Seen {
                agent: &test.agent,
                parts: &parts,
                host: &host,
                aws_host: aws_host.as_ref(),
                api,
                reads_params: policy.reads_params(),
            };
            match seen.facts(Some(request.body.as_bytes())) {
                Ok(facts) => facts,
                Err(refused) => return Ok((endpoint, Err(Denial::Refused(refused)))),
            }
        }
        _ => Facts {
            agent: AgentFacts {
                name: test.agent.clone(),
            },
            http: HttpFacts::default(),
            aws: None,
        },
    };
    if let Some(fields) = &test.aws {
        let pairs = fields.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let mut aws = AwsFacts::from_fields(pairs, test.aws_params.clone()).map_err(|e| e.to_string())?;
        for (name, items) in &test.aws_lists {
            aws.set_list(name, items.clone()).map_err(|e| e.to_string())?;
        }
        facts.aws = Some(aws);
    }
    Ok((endpoint, Ok(facts)))
}

/// A decision with its rule and reason, for reports.
pub fn describe(decision: &Decision) -> String {
    match decision {
        Decision::Allow(m) => format!("allow by rule '{}'", m.rule),
        Decision::Hold(h) => format!("approve by rule '{}' ({})", h.rule, h.approvers.join(", ")),
        Decision::Deny(d) => format!("deny ({d})"),
    }
}
