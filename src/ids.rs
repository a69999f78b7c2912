//! Typed ids every room shares: a value of one of these types has been
//! checked once, where it entered clawgate, and cannot hold what its name
//! does not promise.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Why a text is not a valid id of its kind; the message says what one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not twelve digits.
    #[error("`{0}` is not an AWS account id; write its twelve digits, e.g. \"111111111111\"")]
    Account(String),
    /// Not a valid agent name.
    #[error("`{0}` is not an agent name; use 1 to 64 letters, digits, `-`, `_` or `.`")]
    Agent(String),
    /// Not a hold number.
    #[error("`{0}` is not a hold id; `clawgate approvals list` shows them")]
    Hold(String),
    /// Not a region name.
    #[error("`{0}` is not an AWS region name, e.g. `us-east-1`")]
    Region(String),
    /// Not a service name.
    #[error("`{0}` is not an AWS service name, e.g. `s3` or `dynamodb`")]
    Service(String),
}

/// An AWS account id: exactly twelve ASCII digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId([u8; 12]);

impl AccountId {
    /// Parses exactly twelve digits.
    pub fn parse(text: &str) -> Result<AccountId, IdError> {
        let bytes: [u8; 12] = text
            .as_bytes()
            .try_into()
            .ok()
            .filter(|b: &[u8; 12]| b.iter().all(u8::is_ascii_digit))
            .ok_or_else(|| IdError::Account(text.to_string()))?;
        Ok(AccountId(bytes))
    }

    /// The twelve digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An agent's name: 1–64 characters of letters, digits, `-`, `_` and `.`,
/// so that it fits unescaped in a proxy URL's user part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentName(String);

impl AgentName {
    /// The name given to loopback clients when no agent is configured.
    pub fn local() -> AgentName {
        AgentName("local".to_string())
    }

    /// Parses a name, explaining what a valid one looks like.
    pub fn parse(text: &str) -> Result<AgentName, IdError> {
        let valid = !text.is_empty()
            && text.len() <= 64
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if valid {
            Ok(AgentName(text.to_string()))
        } else {
            Err(IdError::Agent(text.to_string()))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A hold's number, unique within one run of clawgate (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct HoldId(pub u64);

impl fmt::Display for HoldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for HoldId {
    type Err = IdError;

    fn from_str(text: &str) -> Result<HoldId, IdError> {
        text.parse().map(HoldId).map_err(|_| IdError::Hold(text.to_string()))
    }
}

/// A rule's name, as its block's label gives it. Cheap to clone: every
/// decision, hold and record names its rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RuleName(Arc<str>);

impl RuleName {
    /// The name a rule file gives (any text a label can hold).
    pub fn new(name: &str) -> RuleName {
        RuleName(Arc::from(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for RuleName {
    fn from(name: &str) -> RuleName {
        RuleName::new(name)
    }
}

impl PartialEq<str> for RuleName {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for RuleName {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

/// Whether `text` is 1–`max` characters of lower-case letters, digits and `extra`.
fn is_name(text: &str, max: usize, extra: &[u8]) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
}

/// An AWS region name as requests write it (`us-east-1`, `aws-global`):
/// lower-case letters, digits and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

impl Region {
    /// Parses a region name (lower-cased first).
    pub fn parse(text: &str) -> Result<Region, IdError> {
        let lower = text.to_ascii_lowercase();
        if is_name(&lower, 32, b"-") {
            Ok(Region(lower))
        } else {
            Err(IdError::Region(text.to_string()))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of an AWS service as a host prefix or a credential scope
/// writes it (`s3`, `dynamodb`, `streams.dynamodb`, `execute-api`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceName(String);

impl ServiceName {
    /// Parses a service name (lower-cased first).
    pub fn parse(text: &str) -> Result<ServiceName, IdError> {
        let lower = text.to_ascii_lowercase();
        if is_name(&lower, 64, b"-._") {
            Ok(ServiceName(lower))
        } else {
            Err(IdError::Service(text.to_string()))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ServiceName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_exactly_twelve_digits() {
        assert_eq!(AccountId::parse("035475582903").unwrap().as_str(), "035475582903");
        for bad in ["", "12345678901", "1234567890123", "12345678901a", "١٢٣٤٥٦٧٨٩٠١٢"] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn agent_names_fit_a_proxy_url() {
        assert_eq!(AgentName::parse("ci-bot_1.x").unwrap().as_str(), "ci-bot_1.x");
        for bad in ["", "a b", "a:b", "a@b", &"x".repeat(65)] {
            let error = AgentName::parse(bad).unwrap_err().to_string();
            assert!(error.contains("is not an agent name"), "{error}");
        }
    }

    #[test]
    fn regions_and_services_are_lower_case_names() {
        assert_eq!(Region::parse("US-East-1").unwrap().as_str(), "us-east-1");
        assert_eq!(
            ServiceName::parse("streams.dynamodb").unwrap().as_str(),
            "streams.dynamodb"
        );
        for bad in ["", "us east 1", "us/east", "é"] {
            assert!(Region::parse(bad).is_err(), "{bad:?}");
            assert!(ServiceName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hold_ids_parse_or_say_where_to_find_them() {
        assert_eq!("42".parse::<HoldId>().unwrap(), HoldId(42));
        let error = "x".parse::<HoldId>().unwrap_err().to_string();
        assert!(error.contains("clawgate approvals list"), "{error}");
    }
}
