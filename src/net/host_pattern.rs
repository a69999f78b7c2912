//! Host names and wildcard patterns that endpoints and `resolve` match on.

use std::fmt;
use std::net::IpAddr;

/// A pattern for host names: an exact name (`api.example.com`), an IP
/// address, or `*.example.com`, which matches any depth of subdomain of
/// `example.com` but neither `example.com` itself nor `evilexample.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Exactly this host (lower-case).
    Exact(String),
    /// Any host ending in this suffix, which starts with a dot.
    Subdomains(String),
}

/// A text that is not a host pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a host pattern; write a host name (`api.example.com`), \
     an IP address, or `*.example.com` for every subdomain"
)]
pub struct HostPatternError(String);

impl HostPattern {
    /// Parses a pattern as written in a rule file.
    pub fn parse(text: &str) -> Result<HostPattern, HostPatternError> {
        let lower = text.trim_end_matches('.').to_ascii_lowercase();
        if lower.parse::<IpAddr>().is_ok() {
            return Ok(HostPattern::Exact(lower));
        }
        let (wildcard, name) = match lower.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, lower.as_str()),
        };
        let valid_label = |l: &str| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if name.is_empty() || !name.split('.').all(valid_label) {
            return Err(HostPatternError(text.to_string()));
        }
        Ok(if wildcard {
            HostPattern::Subdomains(format!(".{name}"))
        } else {
            HostPattern::Exact(name.to_string())
        })
    }

    /// Whether `host` (lower-case, without port or trailing dot) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(name) => name == host,
            HostPattern::Subdomains(suffix) => host.len() > suffix.len() && host.ends_with(suffix.as_str()),
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Exact(name) => f.write_str(name),
            HostPattern::Subdomains(suffix) => write!(f, "*{suffix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> HostPattern {
        HostPattern::parse(text).unwrap()
    }

    #[test]
    fn wildcard_matches_any_depth_but_not_the_suffix_trick() {
        let pattern = p("*.example.com");
        assert!(pattern.matches("a.example.com"));
        assert!(pattern.matches("a.b.c.example.com"));
        assert!(!pattern.matches("example.com"));
        assert!(!pattern.matches("evilexample.com"));
        assert!(!pattern.matches("example.com.evil.net"));
    }

    #[test]
    fn exact_names_and_ips_match_only_themselves() {
        assert!(p("API.Example.com.").matches("api.example.com"));
        assert!(!p("api.example.com").matches("x.api.example.com"));
        assert!(p("127.0.0.1").matches("127.0.0.1"));
        assert!(p("::1").matches("::1"));
    }

    #[test]
    fn rejects_malformed_patterns() {
        for bad in ["", "*", "*.", "a.*.com", "exa mple.com", "a..b", "*example.com"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
