//! `endpoint` blocks: which hosts clawgate intercepts, and how it treats them.

use std::fmt;

use hcl_edit::expr::Expression;

use super::reader::{Blocks, Settings};
use super::values::Reference;
use super::{ConfigError, Location};
use crate::ids::AccountId;
use crate::net::HostPattern;

/// An upstream service whose hosts clawgate intercepts.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The endpoint's name, the second label: `endpoint "https" "github"`.
    pub name: String,
    /// What kind of service it is, with the kind's settings.
    pub kind: EndpointKind,
    /// The hosts it claims.
    pub hosts: Vec<HostPattern>,
}

/// The kinds of endpoint, the first label of the block.
#[derive(Debug, Clone)]
pub enum EndpointKind {
    /// Any HTTPS API: intercepted, decided on the `http` facet, forwarded unchanged.
    Https,
    /// AWS APIs: decided on the `aws` facet too; requests re-signed with a
    /// role assumed in the target account.
    AwsApi(Box<AwsApi>),
}

/// The settings of an `aws_api` endpoint.
#[derive(Debug, Clone)]
pub struct AwsApi {
    /// The role assumed in each account.
    pub role: String,
    /// The region of the STS endpoint used to assume it.
    pub region: String,
    /// The `credential "aws_account"` block holding the base key, by name.
    pub credential: Option<String>,
    /// Accounts agents may reach, with names; empty means any account.
    pub accounts: Vec<(AccountId, String)>,
    /// How long assumed credentials last (`DurationSeconds`), 15m to 12h.
    pub session_duration: std::time::Duration,
    /// `ExternalId` for roles that require one.
    pub external_id: Option<String>,
    /// Pass the agent's name as `SourceIdentity`.
    pub source_identity: bool,
    /// An inline session policy (JSON) narrowing what every agent may do.
    pub policy: Option<String>,
    /// Tag sessions with `agent = <name>`.
    pub session_tags: bool,
    /// Hosts signed for although they are not AWS service endpoints (an API
    /// Gateway the organisation owns): exact names only, never patterns.
    pub signed_hosts: Vec<HostPattern>,
    /// Whose S3 buckets requests may reach.
    pub bucket_owners: BucketOwners,
}

/// Which accounts may own the S3 buckets an endpoint's requests reach
/// (`bucket_owners`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketOwners {
    /// The target account and these: every S3 request carries
    /// `x-amz-expected-bucket-owner` (and, for a copy,
    /// `x-amz-source-expected-bucket-owner`) set to the target account unless
    /// the agent names one of these; any other value is refused. The default,
    /// with none listed.
    Pinned(Vec<AccountId>),
    /// `"off"`: no owner is added or checked.
    Off,
}

impl Default for AwsApi {
    /// The settings of a block that gives only `hosts` and `role`.
    fn default() -> AwsApi {
        AwsApi {
            role: "clawgate-agent".to_string(),
            region: "us-east-1".to_string(),
            credential: None,
            accounts: Vec::new(),
            session_duration: std::time::Duration::from_secs(3600),
            external_id: None,
            source_identity: false,
            policy: None,
            session_tags: false,
            signed_hosts: Vec::new(),
            bucket_owners: BucketOwners::Pinned(Vec::new()),
        }
    }
}

impl AwsApi {
    /// Whether sessions carry the agent's identity, so credentials are per agent.
    pub fn per_agent(&self) -> bool {
        self.source_identity || self.session_tags
    }
}

impl EndpointKind {
    /// The kind as written in the block's first label and in references.
    pub fn label(&self) -> &'static str {
        match self {
            EndpointKind::Https => "https",
            EndpointKind::AwsApi(_) => "aws_api",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.label(), self.name)
    }
}

/// The settings each kind takes.
const HTTPS_SETTINGS: &str = "hosts";
const AWS_SETTINGS: &str = "hosts, role, region, credential, accounts, session_duration, external_id, \
                            source_identity, policy, session_tags, signed_hosts, bucket_owners";

/// Reads every `endpoint` block, rejecting duplicates. Also returns the
/// credential references, to be checked once credentials are read.
pub(super) fn read_all(blocks: &Blocks<'_>, errors: &mut Vec<ConfigError>) -> (Vec<Endpoint>, Vec<Reference>) {
    let mut endpoints: Vec<(Endpoint, Location)> = Vec::new();
    let mut credentials = Vec::new();
    for item in &blocks.endpoint {
        let at = item.location();
        let labels = item.labels();
        let [kind, name] = labels.as_slice() else {
            errors.push(ConfigError::Labels {
                at,
                block: "endpoint".to_string(),
                expected: "two labels, its kind and its name",
                example: r#"endpoint "https" "github" {"#,
            });
            continue;
        };
        let describe = format!("endpoint \"{kind}\" \"{name}\"");
        let (s, kind) = match *kind {
            "https" => (Settings::new(item, describe, HTTPS_SETTINGS, errors), None),
            "aws_api" => (Settings::new(item, describe, AWS_SETTINGS, errors), Some(())),
            other => {
                errors.push(ConfigError::InvalidValue {
                    at,
                    name: "endpoint".to_string(),
                    problem: format!("`{other}` is not an endpoint kind; write \"https\" or \"aws_api\""),
                });
                continue;
            }
        };
        let kind = match kind {
            None => EndpointKind::Https,
            Some(()) => EndpointKind::AwsApi(Box::new(read_aws(&s, &mut credentials, errors))),
        };
        let endpoint = Endpoint {
            name: name.to_string(),
            hosts: read_hosts(&s, errors),
            kind,
        };
        let duplicate = endpoints.iter().find(|(e, _)| e.to_string() == endpoint.to_string());
        match duplicate {
            Some((_, first)) => errors.push(ConfigError::Duplicate {
                at,
                what: format!("endpoint {endpoint}"),
                first: first.clone(),
            }),
            None => endpoints.push((endpoint, at)),
        }
    }
    (endpoints.into_iter().map(|(e, _)| e).collect(), credentials)
}

fn read_hosts(s: &Settings<'_>, errors: &mut Vec<ConfigError>) -> Vec<HostPattern> {
    if s.get("hosts").is_none() {
        errors.push(s.missing(
            s.block_location(),
            "hosts",
            r#"hosts = ["api.example.com", "*.example.com"]"#,
        ));
    }
    let mut hosts = Vec::new();
    for (text, at) in s.strings("hosts", errors).unwrap_or_default() {
        match HostPattern::parse(&text) {
            Ok(p) => hosts.push(p),
            Err(problem) => errors.push(ConfigError::InvalidValue {
                at,
                name: "hosts".to_string(),
                problem: problem.to_string(),
            }),
        }
    }
    hosts
}

fn read_aws(s: &Settings<'_>, references: &mut Vec<Reference>, errors: &mut Vec<ConfigError>) -> AwsApi {
    let role = s.parsed("role", errors, |t| {
        let valid =
            !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        valid
            .then(|| t.to_string())
            .ok_or_else(|| format!("`{t}` is not an IAM role name, e.g. \"clawgate-agent\""))
    });
    if s.get("role").is_none() {
        errors.push(s.missing(s.block_location(), "role", r#"role = "clawgate-agent""#));
    }
    let region = s.parsed("region", errors, |t| {
        let parts: Vec<&str> = t.split('-').collect();
        let valid = parts.len() >= 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
            && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        valid
            .then(|| t.to_string())
            .ok_or_else(|| format!("`{t}` is not an AWS region, e.g. \"us-east-1\""))
    });
    let credential = s
        .reference("credential", errors)
        .and_then(|r| credential_name(r, errors));
    references.extend(
        s.reference("credential", &mut Vec::new())
            .filter(|_| credential.is_some()),
    );
    let mut accounts: Vec<(AccountId, String)> = Vec::new();
    for (text, at) in s.strings("accounts", errors).unwrap_or_default() {
        let (id, name) = text.split_once('=').unwrap_or((&text, &text));
        match AccountId::parse(id.trim()) {
            Ok(id) if accounts.iter().any(|(a, _)| *a == id) => errors.push(ConfigError::InvalidValue {
                at,
                name: "accounts".to_string(),
                problem: format!("account {id} is listed twice"),
            }),
            Ok(id) => accounts.push((id, name.trim().to_string())),
            Err(problem) => errors.push(ConfigError::InvalidValue {
                at,
                name: "accounts".to_string(),
                problem: format!("{problem}; entries are \"ID=name\", e.g. \"111111111111=prod\""),
            }),
        }
    }
    let session_duration = s
        .parsed("session_duration", errors, |t| {
            let d = super::parse_duration(t).map_err(|e| e.to_string())?;
            let range = std::time::Duration::from_secs(900)..=std::time::Duration::from_secs(43_200);
            if range.contains(&d) {
                Ok(d)
            } else {
                Err(format!("`{t}` is outside 15m to 12h, what STS accepts"))
            }
        })
        .unwrap_or(std::time::Duration::from_secs(3600));
    let policy = s.parsed("policy", errors, |t| {
        serde_json::from_str::<serde_json::Value>(t)
            .map(|_| t.to_string())
            .map_err(|e| format!("the session policy is not JSON: {e}"))
    });
    AwsApi {
        session_duration,
        external_id: s.text("external_id", errors),
        source_identity: s.boolean("source_identity", errors).unwrap_or(false),
        policy,
        session_tags: s.boolean("session_tags", errors).unwrap_or(false),
        signed_hosts: read_signed_hosts(s, errors),
        bucket_owners: read_bucket_owners(s, errors),
        role: role.unwrap_or_default(),
        region: region.unwrap_or_else(|| "us-east-1".to_string()),
        credential,
        accounts,
    }
}

/// `signed_hosts`: exact names, as a pattern under an AWS domain would cover
/// names anyone can create there.
fn read_signed_hosts(s: &Settings<'_>, errors: &mut Vec<ConfigError>) -> Vec<HostPattern> {
    let mut hosts = Vec::new();
    for (text, at) in s.strings("signed_hosts", errors).unwrap_or_default() {
        let problem = match HostPattern::parse(&text) {
            Ok(host @ HostPattern::Exact(_)) => {
                hosts.push(host);
                continue;
            }
            Ok(HostPattern::Subdomains(_)) => format!(
                "`{text}` is a pattern, and signed_hosts takes exact host names only: a pattern under an AWS \
                 domain covers names anyone can create there; list each host, e.g. \
                 \"abc123.execute-api.us-east-1.amazonaws.com\""
            ),
            Err(problem) => problem.to_string(),
        };
        errors.push(ConfigError::InvalidValue {
            at,
            name: "signed_hosts".to_string(),
            problem,
        });
    }
    hosts
}

/// `bucket_owners`: `"off"`, or the accounts besides the target one.
fn read_bucket_owners(s: &Settings<'_>, errors: &mut Vec<ConfigError>) -> BucketOwners {
    let Some(attr) = s.get("bucket_owners") else {
        return BucketOwners::Pinned(Vec::new());
    };
    if !matches!(attr.value, Expression::Array(_)) {
        return match s.text("bucket_owners", errors).as_deref() {
            Some("off") => BucketOwners::Off,
            _ => {
                errors.push(s.invalid(
                    attr,
                    r#"write "off", or the accounts whose buckets requests may reach besides the target account, e.g. ["111122223333"]"#,
                ));
                BucketOwners::Pinned(Vec::new())
            }
        };
    }
    let mut accounts = Vec::new();
    for (text, at) in s.strings("bucket_owners", errors).unwrap_or_default() {
        match AccountId::parse(text.trim()) {
            Ok(account) => accounts.push(account),
            Err(problem) => errors.push(ConfigError::InvalidValue {
                at,
                name: "bucket_owners".to_string(),
                problem: problem.to_string(),
            }),
        }
    }
    BucketOwners::Pinned(accounts)
}

/// The credential's name if `reference` is of the kind an aws_api endpoint takes.
fn credential_name(reference: Reference, errors: &mut Vec<ConfigError>) -> Option<String> {
    if reference.kind == "aws_account" {
        return Some(reference.name);
    }
    errors.push(ConfigError::InvalidValue {
        at: reference.at,
        name: "credential".to_string(),
        problem: format!(
            "`{}.{}` is not an AWS credential; write aws_account.NAME",
            reference.kind, reference.name
        ),
    });
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// The endpoint's settings with `extra`, or every load error.
    fn aws_api(extra: &str) -> Result<AwsApi, Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "endpoint \"aws_api\" \"org\" {{\n  hosts = [\"*.amazonaws.com\"]\n  role = \"r\"\n  {extra}\n}}\n"
        );
        std::fs::write(dir.path().join("main.hcl"), text).unwrap();
        let config =
            Config::load_dir(dir.path()).map_err(|e| e.errors().iter().map(ToString::to_string).collect::<Vec<_>>())?;
        match &config.endpoints[0].kind {
            EndpointKind::AwsApi(api) => Ok(api.as_ref().clone()),
            EndpointKind::Https => unreachable!("an aws_api block"),
        }
    }

    #[test]
    fn signed_hosts_are_exact_names_and_bucket_owners_a_list_or_off() {
        let api = aws_api("").unwrap();
        assert_eq!(
            api.bucket_owners,
            BucketOwners::Pinned(Vec::new()),
            "pinned to the target by default"
        );
        assert!(api.signed_hosts.is_empty());
        let api = aws_api(
            r#"signed_hosts = ["ABC123.execute-api.us-east-1.amazonaws.com"]
            bucket_owners = ["333333333333"]"#,
        )
        .unwrap();
        assert!(api.signed_hosts[0].matches("abc123.execute-api.us-east-1.amazonaws.com"));
        assert_eq!(
            api.bucket_owners,
            BucketOwners::Pinned(vec![AccountId::parse("333333333333").unwrap()])
        );
        assert_eq!(
            aws_api(r#"bucket_owners = "off""#).unwrap().bucket_owners,
            BucketOwners::Off
        );

        let errors = aws_api(r#"signed_hosts = ["*.execute-api.us-east-1.amazonaws.com"]"#).unwrap_err();
        assert!(
            errors[0].contains("signed_hosts takes exact host names only"),
            "{errors:?}"
        );
        let errors = aws_api(r#"bucket_owners = "none""#).unwrap_err();
        assert!(errors[0].contains(r#"write "off""#), "{errors:?}");
        let errors = aws_api(r#"bucket_owners = ["12345"]"#).unwrap_err();
        assert!(errors[0].contains("bucket_owners"), "{errors:?}");
    }
}
