//! Rule files (HCL) into typed configuration.
//!
//! Every `*.hcl` file in the rule directory is read, in file-name order, and
//! merged into one [`Config`]. Errors name `file:line:col` and what to write
//! instead; all of them are collected, not just the first.

mod agent;
mod credential;
mod duration;
mod endpoint;
mod environment;
mod error;
mod gateway;
mod human;
mod reader;
mod resolve;
mod rule;
mod rule_test;
mod source;
mod unquoted;
mod values;

pub use agent::{AddAgentError, AddedAgent, AgentConfig, Token, TokenHash, TokenHashError, add_agent};
pub use credential::{AwsKey, Credential, KeySource};
pub use duration::{DurationError, parse_duration};
pub use endpoint::{AwsApi, BucketOwners, Endpoint, EndpointKind};
pub use environment::{Environment, ProcessEnvironment};
pub use error::{ConfigError, ConfigErrors};
pub use gateway::{
    ApprovalSettings, AuditFailure, AuditSettings, BODY_GRACE, Gateway, Limits, UnknownHost, UpstreamRoots,
};
pub use human::{DEFAULT_APPROVAL_TIMEOUT, Human, Telegram};
pub use resolve::{EndpointId, Notice, Rule, edit_distance};
pub use rule::Action;
pub use rule_test::{RuleTest, TestRequest, load_rule_tests};
pub use source::Location;
pub use values::{ConditionText, Reference};

use std::path::{Path, PathBuf};

use reader::Blocks;
use source::Source;

/// The whole configuration read from a rule directory.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the rules were read from.
    pub dir: PathBuf,
    /// Listener addresses, routing defaults and limits.
    pub gateway: Gateway,
    /// Agents allowed to use the proxy; empty means "loopback clients only".
    pub agents: Vec<AgentConfig>,
    /// Upstream services clawgate intercepts, in declaration order.
    pub endpoints: Vec<Endpoint>,
    /// Base credentials, by name.
    pub credentials: Vec<Credential>,
    /// Approvers, declared or referenced.
    pub humans: Vec<Human>,
    /// Rules in file and declaration order (not yet sorted by priority).
    pub rules: Vec<Rule>,
    /// Things worth telling the author that are not errors.
    pub notices: Vec<Notice>,
}

impl Config {
    /// Reads every `*.hcl` file in `dir` (rule tests, `*.test.hcl`, excepted),
    /// taking `env("…")` from the process environment.
    pub fn load_dir(dir: &Path) -> Result<Config, ConfigErrors> {
        Config::load_dir_with(dir, &ProcessEnvironment)
    }

    /// [`Config::load_dir`] with `env("…")` read from `env`.
    pub fn load_dir_with(dir: &Path, env: &dyn Environment) -> Result<Config, ConfigErrors> {
        let files = rule_files(dir).map_err(|e| ConfigErrors::from(vec![e]))?;
        let mut errors = Vec::new();
        let mut sources = Vec::new();
        for path in files {
            match Source::read(&path) {
                Ok(source) => sources.push(source),
                Err(e) => errors.push(e),
            }
        }
        Config::from_sources(dir, &sources, errors, env)
    }

    /// Reads one rule file's `text` as if it were the file at `path` (its
    /// directory is the rule directory), taking `env("…")` from `env`; for
    /// tools and fuzzing that hold the text in memory.
    pub fn load_text(path: &Path, text: String, env: &dyn Environment) -> Result<Config, ConfigErrors> {
        let dir = path.parent().unwrap_or(Path::new("."));
        Config::from_sources(dir, &[Source::new(path, text)], Vec::new(), env)
    }

    /// The configuration of the rule files `sources` of `dir`, after the
    /// `errors` already found reading them.
    fn from_sources(
        dir: &Path,
        sources: &[Source],
        mut errors: Vec<ConfigError>,
        env: &dyn Environment,
    ) -> Result<Config, ConfigErrors> {
        let mut blocks = Blocks::default();
        for source in sources {
            blocks.collect(source, &mut errors);
        }
        let (endpoints, credential_refs) = endpoint::read_all(&blocks, &mut errors);
        let mut config = Config {
            dir: dir.to_path_buf(),
            gateway: gateway::read(&blocks, &mut errors),
            agents: agent::read_all(&blocks, &mut errors),
            endpoints,
            credentials: credential::read_all(&blocks, env, &mut errors),
            humans: human::read_all(&blocks, env, &mut errors),
            rules: Vec::new(),
            notices: Vec::new(),
        };
        let raw_rules = rule::read_all(&blocks, &mut errors);
        resolve::resolve(&mut config, &blocks, raw_rules, credential_refs, &mut errors);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors::from(errors))
        }
    }

    /// The first endpoint whose `hosts` claim `host` (lower-case, no port).
    pub fn route(&self, host: &str) -> Option<EndpointId> {
        self.endpoints
            .iter()
            .position(|e| e.hosts.iter().any(|p| p.matches(host)))
            .map(EndpointId)
    }

    /// The endpoint `id` names.
    pub fn endpoint(&self, id: EndpointId) -> Option<&Endpoint> {
        self.endpoints.get(id.0)
    }
}

/// The rule files of `dir`, sorted by name so the order of rules is stable.
fn rule_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let io_error = |source| ConfigError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".hcl") && !name.ends_with(".test.hcl") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests;
