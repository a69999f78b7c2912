//! `agent` blocks: who may use the proxy, identified by a token whose hash is stored.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::reader::{Blocks, Settings};
use super::{Config, ConfigError, ConfigErrors, Location};
use crate::ids::AgentName;

/// A text that is not a token's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected 64 hex digits, the SHA-256 of the token (written by `clawgate agent add NAME`)")]
pub struct TokenHashError;

/// The SHA-256 of an agent's token: all clawgate keeps of it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a token as presented by an agent.
    pub fn of(token: &[u8]) -> TokenHash {
        TokenHash(Sha256::digest(token).into())
    }

    /// Parses 64 hex digits, as written after `token_sha256 =`.
    pub fn parse(text: &str) -> Result<TokenHash, TokenHashError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| TokenHashError)?;
        Ok(TokenHash(bytes))
    }

    /// The hash's bytes, for constant-time comparison.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash([redacted])")
    }
}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// One `agent "NAME" { token_sha256 = "…" }` block.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The agent's name, also the user part of its proxy URL.
    pub name: AgentName,
    /// The hash of its token.
    pub token_sha256: TokenHash,
}

/// Reads every `agent` block, rejecting duplicates.
pub(super) fn read_all(blocks: &Blocks<'_>, errors: &mut Vec<ConfigError>) -> Vec<AgentConfig> {
    let mut agents: Vec<(AgentConfig, Location)> = Vec::new();
    for item in &blocks.agent {
        let at = item.location();
        let labels = item.labels();
        let [label] = labels.as_slice() else {
            errors.push(ConfigError::Labels {
                at,
                block: "agent".to_string(),
                expected: "one label, the agent's name",
                example: r#"agent "ci-bot" {"#,
            });
            continue;
        };
        let s = Settings::new(item, format!("agent \"{label}\""), "token_sha256", errors);
        let name = AgentName::parse(label).map_err(|problem| ConfigError::InvalidValue {
            at: at.clone(),
            name: "agent".to_string(),
            problem: problem.to_string(),
        });
        let hash = s.parsed("token_sha256", errors, TokenHash::parse);
        if s.get("token_sha256").is_none() {
            errors.push(s.missing(
                at.clone(),
                "token_sha256",
                r#"token_sha256 = "…" (made by clawgate agent add NAME)"#,
            ));
        }
        match (name, hash) {
            (Ok(name), Some(token_sha256)) => {
                if let Some((_, first)) = agents.iter().find(|(a, _)| a.name == name) {
                    errors.push(ConfigError::Duplicate {
                        at,
                        what: format!("agent \"{name}\""),
                        first: first.clone(),
                    });
                } else {
                    agents.push((AgentConfig { name, token_sha256 }, at));
                }
            }
            (Err(e), _) => errors.push(e),
            (Ok(_), None) => {}
        }
    }
    agents.into_iter().map(|(a, _)| a).collect()
}

/// A new agent's token: shown once, then only its hash is kept.
pub struct Token(zeroize::Zeroizing<String>);

impl Token {
    /// `cg_` and 256 random bits, base64url without padding: safe in a proxy
    /// URL, recognisable to secret scanners, and never starting with `-`
    /// (which a command line would take for an option).
    pub fn generate() -> Token {
        use base64::Engine;
        let mut bytes: zeroize::Zeroizing<[u8; 32]> = zeroize::Zeroizing::new(rand::random());
        let token = format!(
            "cg_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref())
        );
        zeroize::Zeroize::zeroize(&mut *bytes);
        Token(zeroize::Zeroizing::new(token))
    }

    /// The token itself, for printing it the one time it is shown.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// An agent just added by [`add_agent`].
#[derive(Debug)]
pub struct AddedAgent {
    /// The file its block was appended to.
    pub file: PathBuf,
    /// Its token.
    pub token: Token,
    /// The proxy address from the rule directory's `gateway` block.
    pub listen: std::net::SocketAddr,
}

/// Why an agent could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddAgentError {
    /// The rule directory does not load; adding to it would hide that.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// The name is taken.
    #[error("agent `{0}` already exists; remove its block first to give it a new token")]
    Exists(AgentName),
    /// The file could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Adds agent `name` with a fresh token to `agents.hcl` in the rule
/// directory `dir`, storing only the token's hash.
pub fn add_agent(dir: &Path, name: &AgentName) -> Result<AddedAgent, AddAgentError> {
    let config = Config::load_dir(dir)?;
    if config.agents.iter().any(|a| &a.name == name) {
        return Err(AddAgentError::Exists(name.clone()));
    }
    let token = Token::generate();
    let hash = TokenHash::of(token.reveal().as_bytes());
    let file = dir.join("agents.hcl");
    let io = |source| AddAgentError::Io {
        path: file.clone(),
        source,
    };
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .map_err(io)?;
    writeln!(out, "\nagent \"{name}\" {{\n  token_sha256 = \"{hash}\"\n}}").map_err(io)?;
    Ok(AddedAgent {
        file,
        token,
        listen: config.gateway.listen,
    })
}
