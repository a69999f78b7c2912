//! Rules compiled from CEL, and decisions that explain themselves.
//!
//! Rules run by priority (high first), then in file and declaration order;
//! the first whose endpoints include the request's and whose condition holds
//! decides. No match denies; a condition that fails to evaluate denies.
//! [`Policy::decide`] cannot fail.

mod bind;
mod check;
mod decision;
mod regex_cache;
mod rule_tests;
pub mod tooling;

pub use decision::{Decision, Denial, Hold, Matched, RuleOutcome};
pub use rule_tests::{TestReport, describe, run_tests, test_facts};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cel::{Context, Program, Value};

use crate::config::{
    Action, Config, ConfigErrors, DEFAULT_APPROVAL_TIMEOUT, EndpointId, EndpointKind, Environment, Rule,
};
use crate::facet::Facts;
use crate::ids::RuleName;
use bind::Bound;
use regex_cache::RegexCache;

/// A loaded rule directory: its configuration and its compiled rules.
pub struct Policy {
    config: Arc<Config>,
    /// Rules in evaluation order.
    rules: Vec<Compiled>,
    /// The CEL root scope: standard functions plus a cached `matches`.
    root: Context<'static, 'static>,
    /// Whether any rule may read `aws.params` or a field derived from it
    /// (then bodies are read for them).
    reads_params: bool,
}

struct Compiled {
    rule: Rule,
    program: Program,
    /// Whether the condition may read an `aws` field the body can settle.
    reads_body: bool,
    /// How long a request it holds may wait: its first approver's timeout.
    timeout: Duration,
}

/// Every rule's outcome for one request, and the decision.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// Each rule, in evaluation order, with what it did.
    pub outcomes: Vec<(RuleName, RuleOutcome)>,
    /// The decision.
    pub decision: Decision,
}

impl Policy {
    /// Loads and compiles the rules in `dir`.
    pub fn load(dir: &Path, env: &dyn Environment) -> Result<Policy, ConfigErrors> {
        Policy::compile(Config::load_dir_with(dir, env)?)
    }

    /// Compiles every rule of `config`; all errors are reported at once.
    pub fn compile(config: Config) -> Result<Policy, ConfigErrors> {
        let mut errors = Vec::new();
        let mut patterns = Vec::new();
        let mut rules = Vec::new();
        let mut reads_params = false;
        for rule in &config.rules {
            let aws_available = match &rule.endpoints {
                Some(ids) => ids.iter().any(|id| is_aws(&config, *id)),
                None => config
                    .endpoints
                    .iter()
                    .any(|e| matches!(e.kind, EndpointKind::AwsApi(_))),
            };
            if let Some(checked) = check::compile(&rule.condition, aws_available, &mut errors) {
                patterns.extend(checked.patterns);
                reads_params |= checked.reads_params && !rule.disabled;
                rules.push(Compiled {
                    rule: rule.clone(),
                    program: checked.program,
                    reads_body: checked.reads_body,
                    timeout: approval_timeout(&config, rule),
                });
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors::from(errors));
        }
        // Stable: equal priorities keep file and declaration order.
        rules.sort_by_key(|c| std::cmp::Reverse(c.rule.priority));
        let mut root = Context::default();
        RegexCache::with(patterns).install(&mut root);
        Ok(Policy {
            config: Arc::new(config),
            rules,
            root,
            reads_params,
        })
    }

    /// Whether some rule may read `aws.params` or a field derived from it
    /// (`aws.resource`, `aws.resources`, `aws.iam_actions`), so request
    /// bodies must be read (up to 1 MiB) before deciding.
    pub fn reads_params(&self) -> bool {
        self.reads_params
    }

    /// The configuration the rules came from.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Decides on a request to `endpoint` described by `facts`.
    pub fn decide(&self, endpoint: EndpointId, facts: &Facts) -> Decision {
        self.evaluate(endpoint, facts, Known::All, None)
            .unwrap_or(Decision::Deny(Denial::NoMatch))
    }

    /// Decides on `facts` from the request's head alone, when its body may
    /// still settle `aws` fields: the decision, if the first rule to match
    /// comes before any rule that reads such a field (it is then the
    /// decision the whole request gets), or `None`.
    pub fn decide_before_body(&self, endpoint: EndpointId, facts: &Facts) -> Option<Decision> {
        self.evaluate(endpoint, facts, Known::Head, None)
    }

    /// Decides, recording what every rule did.
    pub fn explain(&self, endpoint: EndpointId, facts: &Facts) -> Explanation {
        let mut outcomes = Vec::with_capacity(self.rules.len());
        let decision = self
            .evaluate(endpoint, facts, Known::All, Some(&mut outcomes))
            .unwrap_or(Decision::Deny(Denial::NoMatch));
        let reached = outcomes.len();
        outcomes.extend(
            self.rules[reached..]
                .iter()
                .map(|c| (c.rule.name.clone(), RuleOutcome::NotReached)),
        );
        Explanation { outcomes, decision }
    }

    fn evaluate(
        &self,
        endpoint: EndpointId,
        facts: &Facts,
        known: Known,
        mut trace: Option<&mut Vec<(RuleName, RuleOutcome)>>,
    ) -> Option<Decision> {
        let bound = Bound::new(facts);
        let mut scope = self.root.new_inner_scope();
        scope.set_variable_resolver(&bound);
        let mut record = |rule: &Rule, outcome: RuleOutcome| {
            if let Some(trace) = trace.as_deref_mut() {
                trace.push((rule.name.clone(), outcome));
            }
        };
        for compiled in &self.rules {
            let rule = &compiled.rule;
            if rule.disabled {
                record(rule, RuleOutcome::Disabled);
                continue;
            }
            if rule.endpoints.as_ref().is_some_and(|ids| !ids.contains(&endpoint)) {
                record(rule, RuleOutcome::OtherEndpoint);
                continue;
            }
            if known == Known::Head && compiled.reads_body {
                return None;
            }
            let error = match compiled.program.execute(&scope) {
                Ok(Value::Bool(true)) => {
                    record(rule, RuleOutcome::Matched);
                    return Some(decision_of(compiled));
                }
                Ok(Value::Bool(false)) => {
                    record(rule, RuleOutcome::NotMatched);
                    continue;
                }
                Ok(other) => format!("the condition gave {:?}, not true or false", other.type_of()),
                Err(e) => e.to_string(),
            };
            record(rule, RuleOutcome::Error(error.clone()));
            return Some(Decision::Deny(Denial::Error {
                rule: rule.name.clone(),
                error,
            }));
        }
        Some(Decision::Deny(Denial::NoMatch))
    }
}

/// How much of a request its facts describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    /// All of it.
    All,
    /// Its head: `aws` fields its body may settle are not known yet.
    Head,
}

fn is_aws(config: &Config, id: EndpointId) -> bool {
    config
        .endpoint(id)
        .is_some_and(|e| matches!(e.kind, EndpointKind::AwsApi(_)))
}

/// How long a request held by `rule` may wait: its first approver's
/// `timeout`, looked up once when the rules load.
fn approval_timeout(config: &Config, rule: &Rule) -> Duration {
    let Action::Approve(approvers) = &rule.action else {
        return DEFAULT_APPROVAL_TIMEOUT;
    };
    approvers
        .first()
        .and_then(|name| config.humans.iter().find(|h| &h.name == name))
        .map_or(DEFAULT_APPROVAL_TIMEOUT, |h| h.timeout)
}

/// The decision a matching rule makes.
fn decision_of(compiled: &Compiled) -> Decision {
    let rule = &compiled.rule;
    let name = rule.name.clone();
    let reason = rule.reason.clone();
    match &rule.action {
        Action::Allow => Decision::Allow(Matched { rule: name, reason }),
        Action::Deny => Decision::Deny(Denial::Rule { rule: name, reason }),
        Action::Approve(approvers) => Decision::Hold(Hold {
            rule: name,
            reason,
            approvers: approvers.clone(),
            timeout: compiled.timeout,
        }),
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
