//! The host and port a tunnel or request is for.

use std::fmt;
use std::net::Ipv6Addr;

use http::uri::Authority;

/// The port a URL of `scheme` has when it names none: 80 for `http`, else 443.
pub fn default_port(scheme: &http::uri::Scheme) -> u16 {
    if *scheme == http::uri::Scheme::HTTP { 80 } else { 443 }
}

/// Why a host and port, or a request's `Host`, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a host and port.
    #[error("`{0}` is not a host and port, e.g. `example.com:443`")]
    Malformed(String),
    /// The request's `Host` disagrees with the host the tunnel was opened to.
    #[error("the request is for `{host}` but the tunnel was opened to `{target}`; they must be the same")]
    HostMismatch {
        /// What the request named.
        host: String,
        /// What the CONNECT named.
        target: String,
    },
    /// The request names no host at all.
    #[error("the request has no `Host` header")]
    NoHost,
}

/// A host (lower-case, IPv6 without brackets, no trailing dot, no empty
/// label) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    host: String,
    port: u16,
}

impl Target {
    /// Parses `host[:port]`, taking `default_port` when none is written.
    pub fn parse(text: &str, default_port: u16) -> Result<Target, TargetError> {
        let bad = || TargetError::Malformed(text.to_string());
        let authority: Authority = text.parse().map_err(|_| bad())?;
        if authority.as_str().contains('@') {
            return Err(bad());
        }
        // A bracketed host is an IPv6 address, and brackets appear nowhere
        // else: `http` reads `a[::1]b:443` as the host `a[`.
        let written = authority.host();
        let host = match written.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(ip) if ip.parse::<Ipv6Addr>().is_ok() => ip,
            Some(_) => return Err(bad()),
            None if written.contains(['[', ']']) => return Err(bad()),
            None => written,
        };
        // One trailing dot (the root) is dropped; no label may be empty.
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        if host.is_empty() || host.split('.').any(str::is_empty) {
            return Err(bad());
        }
        // After the host, nothing or `:` and the port's digits.
        let port = match &authority.as_str()[written.len()..] {
            "" => default_port,
            rest => match rest.strip_prefix(':') {
                Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                    digits.parse().map_err(|_| bad())?
                }
                _ => return Err(bad()),
            },
        };
        Ok(Target { host, port })
    }

    /// Checks that `request` names this target in its `Host` header (HTTP/1)
    /// or `:authority` (HTTP/2), so a tunnel opened to one host cannot carry
    /// requests for another.
    pub fn check_request<B>(&self, request: &http::Request<B>, default_port: u16) -> Result<(), TargetError> {
        let named = request.uri().authority().map(|a| a.as_str()).into_iter().chain(
            request
                .headers()
                .get_all(http::header::HOST)
                .iter()
                .map(|h| h.to_str().unwrap_or("")),
        );
        let mut any = false;
        for host in named {
            any = true;
            if Target::parse(host, default_port).ok().as_ref() != Some(self) {
                return Err(TargetError::HostMismatch {
                    host: host.to_string(),
                    target: self.to_string(),
                });
            }
        }
        if any { Ok(()) } else { Err(TargetError::NoHost) }
    }

    /// The host, lower-case, as endpoints and `resolve` match it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The same host on `port`.
    pub fn with_port(&self, port: u16) -> Target {
        Target {
            host: self.host.clone(),
            port,
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The authority as written in a URL whose scheme defaults to
    /// `default_port`: the port is left out when it is the default.
    pub fn authority(&self, default_port: u16) -> String {
        let host = self.bracketed_host();
        if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    fn bracketed_host(&self) -> String {
        if self.host.parse::<Ipv6Addr>().is_ok() {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.bracketed_host(), self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_ips_and_default_ports() {
        let t = Target::parse("S3.Amazonaws.com.:443", 443).unwrap();
        assert_eq!((t.host(), t.port()), ("s3.amazonaws.com", 443));
        assert_eq!(t.authority(443), "s3.amazonaws.com");
        let t = Target::parse("[::1]:8443", 443).unwrap();
        assert_eq!((t.host(), t.port()), ("::1", 8443));
        assert_eq!(t.authority(443), "[::1]:8443");
        assert_eq!(Target::parse("example.com", 80).unwrap().port(), 80);
    }

    #[test]
    fn rejects_what_is_not_an_authority() {
        for bad in [
            "",
            ":443",
            "a b:443",
            "user@host:443",
            "host:99999",
            "/path",
            "host:",
            "host:+443",
            "sts.amazo[::1]naws.com:443",
            "127.0.0.1:80[::]:443",
            "[fe80::1%25eth0]:443",
            "[not-an-ip]:443",
            ".s3.amazonaws.com:443",
            "a..b:443",
            "example.com..:443",
        ] {
            assert!(Target::parse(bad, 443).is_err(), "{bad:?} should be rejected");
        }
    }
}
