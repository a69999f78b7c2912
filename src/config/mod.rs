//! Rule files (HCL) into typed configuration.
//!
//! Every `*.hcl` file in the rule directory is read, in file-name order, and
//! merged into one [`Config`]. Errors name `file:line:col` and what to write
//! instead; all of them are collected, not just the first.

mod agent;
mod duration;
mod endpoint;
mod error;
mod gateway;
mod host_pattern;
mod reader;
mod source;

pub use agent::{AddAgentError, AddedAgent, AgentConfig, AgentName, Token, TokenHash, add_agent};
pub use duration::parse_duration;
pub use endpoint::{Endpoint, EndpointKind};
pub use error::{ConfigError, ConfigErrors};
pub use gateway::{Gateway, Limits, Resolve, UnknownHost, UpstreamRoots};
pub use host_pattern::HostPattern;
pub use source::Location;

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
}

impl Config {
    /// Reads every `*.hcl` file in `dir` (rule tests, `*.test.hcl`, excepted).
    pub fn load_dir(dir: &Path) -> Result<Config, ConfigErrors> {
        let files = rule_files(dir).map_err(|e| ConfigErrors::from(vec![e]))?;
        let mut errors = Vec::new();
        let mut sources = Vec::new();
        for path in files {
            match Source::read(&path) {
                Ok(source) => sources.push(source),
                Err(e) => errors.push(e),
            }
        }
        let mut blocks = Blocks::default();
        for source in &sources {
            blocks.collect(source, &mut errors);
        }
        let gateway = gateway::read(&blocks, &mut errors);
        let agents = agent::read_all(&blocks, &mut errors);
        let endpoints = endpoint::read_all(&blocks, &mut errors);
        if errors.is_empty() {
            Ok(Config {
                dir: dir.to_path_buf(),
                gateway,
                agents,
                endpoints,
            })
        } else {
            Err(ConfigErrors::from(errors))
        }
    }

    /// The first endpoint whose `hosts` claim `host` (lower-case, no port).
    pub fn route(&self, host: &str) -> Option<&Endpoint> {
        self.endpoints
            .iter()
            .find(|e| e.hosts.iter().any(|p| p.matches(host)))
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
