//! `rule` blocks: a condition in CEL and what to do when it holds.

use std::fmt;

use super::reader::{Blocks, Settings};
use super::values::{ConditionText, Reference};
use super::{ConfigError, Location};

/// What a rule does with a request its condition matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Forward it.
    Allow,
    /// Refuse it.
    Deny,
    /// Hold it until each approver, in order, allows it.
    Approve(Vec<String>),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
            Action::Approve(_) => "approve",
        })
    }
}

/// A rule as written, its references not yet checked.
#[derive(Debug, Clone)]
pub(super) struct RawRule {
    pub name: String,
    pub endpoints: Option<Vec<Reference>>,
    pub condition: ConditionText,
    pub action: Action,
    pub approvers: Vec<Reference>,
    pub priority: i64,
    pub reason: Option<String>,
    pub disabled: bool,
    pub at: Location,
}

const SETTINGS: &str = "endpoints, match, condition, action, verdict, approvers, approve, priority, reason, disabled";

/// Reads every `rule` block, in file and declaration order.
pub(super) fn read_all(blocks: &Blocks<'_>, errors: &mut Vec<ConfigError>) -> Vec<RawRule> {
    let mut rules: Vec<RawRule> = Vec::new();
    for item in &blocks.rule {
        let at = item.location();
        let labels = item.labels();
        let [name] = labels.as_slice() else {
            errors.push(ConfigError::Labels {
                at,
                block: "rule".to_string(),
                expected: "one label, the rule's name",
                example: r#"rule "reads ok" {"#,
            });
            continue;
        };
        let s = Settings::new(item, format!("rule \"{name}\""), SETTINGS, errors);
        let condition = s.condition(["match", "condition"], errors);
        if condition.is_none() && s.get("match").is_none() && s.get("condition").is_none() {
            errors.push(s.missing(at.clone(), "match", r#"match = aws.action.startsWith("Get")"#));
        }
        let action = either(&s, ["action", "verdict"], errors).and_then(|(key, text)| match text.as_str() {
            "allow" => Some(Action::Allow),
            "deny" => Some(Action::Deny),
            "approve" => Some(Action::Approve(Vec::new())),
            other => {
                errors.extend(s.get(key).map(|a| {
                    s.invalid(
                        a,
                        format!("`{other}` is not an action; write \"allow\", \"deny\" or \"approve\""),
                    )
                }));
                None
            }
        });
        if s.get("action").is_none() && s.get("verdict").is_none() {
            errors.push(s.missing(at.clone(), "action", r#"action = "allow"  # or "deny", "approve""#));
        }
        let approvers = approvers(&s, errors);
        match (&action, approvers.is_empty()) {
            (Some(Action::Approve(_)), true) => {
                errors.push(s.missing(at.clone(), "approvers", "approvers = [human.oncall]"))
            }
            (Some(Action::Allow | Action::Deny), false) => errors.push(ConfigError::InvalidValue {
                at: approvers[0].at.clone(),
                name: "approvers".to_string(),
                problem: "only rules with action = \"approve\" take approvers".to_string(),
            }),
            _ => {}
        }
        let reason = s.text("reason", errors);
        let priority = s.signed("priority", errors).unwrap_or(0);
        let disabled = s.boolean("disabled", errors).unwrap_or(false);
        let endpoints = s.references("endpoints", errors);
        let (Some(condition), Some(action)) = (condition, action) else {
            continue;
        };
        if let Some(first) = rules.iter().find(|r| r.name == *name) {
            errors.push(ConfigError::Duplicate {
                at,
                what: format!("rule \"{name}\""),
                first: first.at.clone(),
            });
            continue;
        }
        rules.push(RawRule {
            name: name.to_string(),
            endpoints,
            condition,
            action,
            approvers,
            priority,
            reason,
            disabled,
            at,
        });
    }
    rules
}

/// The approvers under `approvers` or `approve`.
fn approvers(s: &Settings<'_>, errors: &mut Vec<ConfigError>) -> Vec<Reference> {
    if let (Some(_), Some(second)) = (s.get("approvers"), s.get("approve")) {
        errors.push(s.invalid(second, "write either `approvers` or `approve`, not both"));
    }
    s.references("approvers", errors)
        .or_else(|| s.references("approve", errors))
        .unwrap_or_default()
}

/// A string under either of two spellings, with the key it was found under.
fn either(s: &Settings<'_>, keys: [&'static str; 2], errors: &mut Vec<ConfigError>) -> Option<(&'static str, String)> {
    if let (Some(_), Some(second)) = (s.get(keys[0]), s.get(keys[1])) {
        errors.push(s.invalid(second, format!("write either `{}` or `{}`, not both", keys[0], keys[1])));
        return None;
    }
    keys.into_iter().find_map(|k| s.text(k, errors).map(|t| (k, t)))
}
