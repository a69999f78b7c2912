//! Cross-references between blocks: rules to endpoints and approvers,
//! endpoints to credentials; and notices for what is accepted but ignored.

use std::fmt;

use super::reader::Blocks;
use super::rule::{Action, RawRule};
use super::values::{ConditionText, Reference};
use super::{Config, ConfigError, DEFAULT_APPROVAL_TIMEOUT, Human, Location};
use crate::ids::RuleName;

/// An endpoint, by its position in [`Config::endpoints`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndpointId(pub usize);

/// A rule with its references resolved.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's name, shown in decisions and errors.
    pub name: RuleName,
    /// The endpoints it applies to; `None` means every endpoint.
    pub endpoints: Option<Vec<EndpointId>>,
    /// Its condition, in CEL.
    pub condition: ConditionText,
    /// What it does when the condition holds.
    pub action: Action,
    /// Higher runs first; ties keep file and declaration order.
    pub priority: i64,
    /// Why the rule exists, shown with its decisions.
    pub reason: Option<String>,
    /// A disabled rule is loaded and checked but never decides.
    pub disabled: bool,
    /// Where the rule is written.
    pub at: Location,
}

/// Something a rule author should know that is not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Where it applies.
    pub at: Location,
    /// What to know.
    pub message: String,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: note: {}", self.at, self.message)
    }
}

/// Resolves `raw` rules into `config.rules`, checks endpoint credentials,
/// and records notices.
pub(super) fn resolve(
    config: &mut Config,
    blocks: &Blocks<'_>,
    raw: Vec<RawRule>,
    credentials: Vec<Reference>,
    errors: &mut Vec<ConfigError>,
) {
    for item in &blocks.plugin {
        let name = item.labels().first().copied().unwrap_or("").to_string();
        config.notices.push(Notice {
            at: item.location(),
            message: format!("plugin \"{name}\" is ignored: AWS support is built into clawgate"),
        });
    }
    for r in credentials {
        if !config.credentials.iter().any(|c| c.name == r.name) {
            let declared: Vec<String> = config
                .credentials
                .iter()
                .map(|c| format!("aws_account.{}", c.name))
                .collect();
            errors.push(ConfigError::InvalidValue {
                at: r.at.clone(),
                name: "credential".to_string(),
                problem: unknown(&r.to_string(), "credential", &declared),
            });
        }
    }
    for rule in raw {
        let endpoints = rule.endpoints.map(|refs| {
            refs.iter()
                .filter_map(|r| endpoint_id(config, r).map_err(|e| errors.push(e)).ok())
                .collect()
        });
        let action = match rule.action {
            Action::Approve(_) => Action::Approve(
                rule.approvers
                    .iter()
                    .filter_map(|r| approver(config, r, errors))
                    .collect(),
            ),
            other => other,
        };
        config.rules.push(Rule {
            name: RuleName::new(&rule.name),
            endpoints,
            condition: rule.condition,
            action,
            priority: rule.priority,
            reason: rule.reason,
            disabled: rule.disabled,
            at: rule.at,
        });
    }
}

/// The endpoint a reference names.
fn endpoint_id(config: &Config, r: &Reference) -> Result<super::EndpointId, ConfigError> {
    config
        .endpoints
        .iter()
        .position(|e| e.kind.label() == r.kind && e.name == r.name)
        .map(EndpointId)
        .ok_or_else(|| {
            let declared: Vec<String> = config.endpoints.iter().map(ToString::to_string).collect();
            ConfigError::InvalidValue {
                at: r.at.clone(),
                name: "endpoints".to_string(),
                problem: unknown(&r.to_string(), "endpoint", &declared),
            }
        })
}

/// The approver a reference names, declared with defaults (and a notice) when
/// no `human` block defines it.
fn approver(config: &mut Config, r: &Reference, errors: &mut Vec<ConfigError>) -> Option<String> {
    if r.kind != "human" {
        errors.push(ConfigError::InvalidValue {
            at: r.at.clone(),
            name: "approvers".to_string(),
            problem: format!("`{r}` is not a person; approvers are written human.NAME"),
        });
        return None;
    }
    if !config.humans.iter().any(|h| h.name == r.name) {
        config.notices.push(Notice {
            at: r.at.clone(),
            message: format!(
                "human \"{0}\" has no block; using defaults (timeout {1} minutes, dashboard and command line only). \
                 Add `human \"{0}\" {{ … }}` to change them",
                r.name,
                DEFAULT_APPROVAL_TIMEOUT.as_secs() / 60
            ),
        });
        config.humans.push(Human {
            name: r.name.clone(),
            timeout: DEFAULT_APPROVAL_TIMEOUT,
            telegram: None,
        });
    }
    Some(r.name.clone())
}

/// "unknown X `name`", with the closest declared name as a hint.
fn unknown(name: &str, what: &str, declared: &[String]) -> String {
    let closest = declared
        .iter()
        .min_by_key(|d| edit_distance(name, d))
        .filter(|d| edit_distance(name, d) <= 3);
    match (closest, declared.is_empty()) {
        (Some(d), _) => format!("no {what} `{name}` is declared; did you mean `{d}`?"),
        (None, true) => format!("no {what} `{name}` is declared, and none is"),
        (None, false) => format!("no {what} `{name}` is declared; declared: {}", declared.join(", ")),
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(previous + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

/// Where a condition's text came from, for messages.
impl fmt::Display for ConditionText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
