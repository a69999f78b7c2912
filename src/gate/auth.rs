//! Who is calling: agents authenticate with `Proxy-Authorization: Basic`.

use std::collections::HashMap;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::PROXY_AUTHORIZATION;
use subtle::ConstantTimeEq;

use crate::config::{AgentConfig, TokenHash};
use crate::ids::AgentName;
use crate::net::query::{Plus, percent_decode};

/// Why an agent was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Proxy-Authorization`.
    #[error(
        "proxy authentication required: send the agent's name and token, as in HTTPS_PROXY=http://NAME:TOKEN@host:port"
    )]
    Missing,
    /// `Proxy-Authorization` that is not `Basic NAME:TOKEN`.
    #[error("proxy authentication required: Proxy-Authorization must be `Basic` with base64 of NAME:TOKEN")]
    Malformed,
    /// An unknown name or a wrong token.
    #[error("proxy authentication required: unknown agent or wrong token")]
    Wrong,
    /// No agent is configured and the client is not on this machine.
    #[error("no agents are configured, so only clients on this machine may connect")]
    LoopbackOnly,
}

/// The agents that may use the proxy.
#[derive(Debug)]
pub enum Agents {
    /// None configured: only clients on this machine, as agent `local`.
    LoopbackOnly,
    /// Agents by name, each with its token's hash.
    Tokens(HashMap<AgentName, TokenHash>),
}

impl Agents {
    /// The agents of a configuration.
    pub fn new(agents: &[AgentConfig]) -> Agents {
        if agents.is_empty() {
            Agents::LoopbackOnly
        } else {
            Agents::Tokens(
                agents
                    .iter()
                    .map(|a| (a.name.clone(), a.token_sha256.clone()))
                    .collect(),
            )
        }
    }

    /// Identifies the agent behind a request from `peer`.
    pub fn authenticate(&self, headers: &HeaderMap, peer: IpAddr) -> Result<AgentName, AuthError> {
        let tokens = match self {
            Agents::LoopbackOnly if peer.is_loopback() => return Ok(AgentName::local()),
            Agents::LoopbackOnly => return Err(AuthError::LoopbackOnly),
            Agents::Tokens(tokens) => tokens,
        };
        let header = headers.get(PROXY_AUTHORIZATION).ok_or(AuthError::Missing)?;
        let (user, token) = basic_credentials(header.as_bytes()).ok_or(AuthError::Malformed)?;
        let presented = TokenHash::of(token.as_bytes());
        let known = AgentName::parse(&user)
            .ok()
            .and_then(|name| tokens.get_key_value(&name));
        // Compare against a stand-in when the name is unknown, so that the
        // time taken does not tell which agent names exist.
        let stand_in = TokenHash::of(b"");
        let expected = known.map_or(&stand_in, |(_, hash)| hash);
        let equal: bool = presented.as_bytes().ct_eq(expected.as_bytes()).into();
        match known {
            Some((name, _)) if equal => Ok(name.clone()),
            _ => Err(AuthError::Wrong),
        }
    }
}

/// The user and password of a `Basic` credential.
fn basic_credentials(header: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(header).ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((
        percent_decode(user, Plus::Literal),
        percent_decode(password, Plus::Literal),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agents() -> Agents {
        Agents::new(&[AgentConfig {
            name: AgentName::parse("ci-bot").unwrap(),
            token_sha256: TokenHash::of(b"s3cret"),
        }])
    }

    fn headers(user_pass: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(user_pass));
        h.insert(PROXY_AUTHORIZATION, value.parse().unwrap());
        h
    }

    const REMOTE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 1, 2, 3));
    const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn the_right_token_names_the_agent() {
        let name = agents().authenticate(&headers("ci-bot:s3cret"), REMOTE).unwrap();
        assert_eq!(name.as_str(), "ci-bot");
        let encoded = agents().authenticate(&headers("ci-bot:s3%63ret"), REMOTE).unwrap();
        assert_eq!(encoded.as_str(), "ci-bot");
    }

    #[test]
    fn missing_wrong_or_unknown_credentials_are_refused_even_from_loopback() {
        let agents = agents();
        for h in [
            HeaderMap::new(),
            headers("ci-bot:wrong"),
            headers("other:s3cret"),
            headers("ci-bot"),
        ] {
            let err = agents.authenticate(&h, LOOPBACK).unwrap_err();
            assert!(err != AuthError::LoopbackOnly, "{err}");
        }
    }

    #[test]
    fn without_agents_only_loopback_is_accepted_as_local() {
        let agents = Agents::new(&[]);
        assert_eq!(
            agents.authenticate(&HeaderMap::new(), LOOPBACK).unwrap(),
            AgentName::local()
        );
        assert!(matches!(
            agents.authenticate(&HeaderMap::new(), REMOTE),
            Err(AuthError::LoopbackOnly)
        ));
    }
}
