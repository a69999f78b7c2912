//! Which `Host` the admin server answers for: loopback, `localhost`, its own
//! address and the names in `admin_hosts`. A page on another site that
//! rebinds its own name to clawgate's address (DNS rebinding) still sends
//! its own name, and is refused.

use std::net::{IpAddr, SocketAddr};

use http::uri::Authority;

use crate::net::HostPattern;

/// The names and addresses the admin server answers for.
#[derive(Debug, Clone)]
pub struct AdminHosts {
    names: Vec<HostPattern>,
    listen: SocketAddr,
}

impl AdminHosts {
    /// Answers for `names` (the gateway's `admin_hosts`), loopback,
    /// `localhost`, and `listen`'s address (the address actually bound).
    pub fn new(names: Vec<HostPattern>, listen: SocketAddr) -> AdminHosts {
        AdminHosts { names, listen }
    }

    /// Whether a request whose `Host` (or absolute URI) says `authority`
    /// is answered.
    pub fn allows(&self, authority: &str) -> bool {
        let Ok(authority) = authority.parse::<Authority>() else {
            return false;
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        match host.parse::<IpAddr>() {
            Ok(ip) => {
                let ip = ip.to_canonical();
                ip.is_loopback() || ip == self.listen.ip().to_canonical() || self.listed(&host)
            }
            Err(_) => host == "localhost" || self.listed(&host),
        }
    }

    fn listed(&self, host: &str) -> bool {
        self.names.iter().any(|name| name.matches(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_its_own_address_and_listed_names_are_answered_and_others_not() {
        let hosts = AdminHosts::new(
            vec![HostPattern::parse("clawgate.internal").unwrap()],
            "10.0.0.5:8081".parse().unwrap(),
        );
        for host in [
            "127.0.0.1:8081",
            "127.0.0.1",
            "[::1]:8081",
            "localhost:8081",
            "LocalHost.",
            "10.0.0.5:8081",
            "[::ffff:10.0.0.5]:8081",
            "clawgate.internal:8081",
        ] {
            assert!(hosts.allows(host), "{host} must be answered");
        }
        for host in [
            "evil.example",
            "evil.example:8081",
            "localhost.evil.example",
            "10.0.0.6:8081",
            "clawgate.internal.evil.example",
            "",
            "a b",
        ] {
            assert!(!hosts.allows(host), "{host} must be refused");
        }
    }
}
