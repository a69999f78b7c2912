//! Running rule tests (`clawgate policy test`).

use crate::config::{AwsApi, EndpointId, EndpointKind, RuleTest, TestRequest};
use crate::facet::aws::{self, AwsFacetError, AwsRequest};
use crate::facet::{AwsFacts, Facts};

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
    let mut facts = match &test.request {
        Some(request) => Facts::describe(request, test.agent.clone()).map_err(|e| e.to_string())?,
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
    let api = match config.endpoint(endpoint).map(|e| &e.kind) {
        Some(EndpointKind::AwsApi(api)) => Some(api),
        _ => None,
    };
    match (&test.aws, api, &test.request) {
        (Some(fields), _, _) => {
            let pairs = fields.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            facts.aws = Some(AwsFacts::from_fields(pairs, test.aws_params.clone()).map_err(|e| e.to_string())?);
        }
        (None, Some(api), Some(request)) => match derive_aws(api, request, &facts.http.host) {
            Ok(aws) => facts.aws = Some(aws),
            Err(refused) => return Ok((endpoint, Err(Denial::Refused(refused)))),
        },
        _ => {}
    }
    Ok((endpoint, Ok(facts)))
}

/// The `aws` facts of a described request, as the proxy derives them.
fn derive_aws(api: &AwsApi, request: &TestRequest, host: &str) -> Result<AwsFacts, AwsFacetError> {
    let uri: http::Uri = request.url.parse().unwrap_or_default();
    let mut headers = http::HeaderMap::new();
    for (name, value) in &request.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(name.as_str()),
            http::HeaderValue::try_from(value.as_str()),
        ) {
            headers.append(name, value);
        }
    }
    let aws_request = AwsRequest {
        method: &request.method,
        host,
        path: uri.path(),
        query: uri.query(),
        headers: &headers,
        body: Some(request.body.as_bytes()),
    };
    aws::extract(&aws_request, api)
}

/// A decision with its rule and reason, for reports.
pub fn describe(decision: &Decision) -> String {
    match decision {
        Decision::Allow(m) => format!("allow by rule '{}'", m.rule),
        Decision::Hold(h) => format!("approve by rule '{}' ({})", h.rule, h.approvers.join(", ")),
        Decision::Deny(d) => format!("deny ({d})"),
    }
}
