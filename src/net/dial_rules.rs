//! Which addresses clawgate dials: public ones; special-purpose ones only
//! where configuration names them (`resolve`, `dial_private`); metadata,
//! link-local and clawgate's own listeners never, whatever the configuration.

use std::fmt;
use std::net::{IpAddr, SocketAddr, UdpSocket};

use super::address::{Class, Classified, Reach, classify};
use super::cidr::Cidr;

/// Where an address about to be dialled came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The gateway's `resolve` map: the configuration names it.
    Resolve,
    /// DNS, or an IP literal the agent sent.
    Lookup,
}

/// One of clawgate's own listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// Where agents connect.
    Proxy,
    /// The admin server.
    Admin,
}

/// Why an address is not dialled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Its class is never dialled.
    #[error("{0}, which clawgate never dials")]
    Never(Classified),
    /// Its class is dialled only where configuration names it, and none does.
    #[error(
        "{class}, which clawgate dials only where configuration names it: \
         to allow it, list it in the gateway's `dial_private` (e.g. dial_private = [\"{ip}\"]) \
         or dial the host through the gateway's `resolve`"
    )]
    Unlisted {
        /// Its class.
        class: Classified,
        /// The address.
        ip: IpAddr,
    },
    /// It is clawgate itself.
    #[error("clawgate's own {0}, which it never dials")]
    Itself(Listener),
}

/// The addresses configuration opens, and clawgate's own listeners.
#[derive(Debug, Clone, Default)]
pub struct DialRules {
    private: Vec<Cidr>,
    own: Vec<(Listener, SocketAddr)>,
}

impl DialRules {
    /// Rules that also dial special-purpose addresses in `private`, and
    /// never the listeners in `own` (the addresses actually bound).
    pub fn new(private: Vec<Cidr>, own: Vec<(Listener, SocketAddr)>) -> DialRules {
        DialRules { private, own }
    }

    /// Whether `addr`, which came from `source`, may be dialled.
    pub fn check(&self, addr: SocketAddr, source: Source) -> Result<(), Refusal> {
        if let Some(listener) = self.itself(addr) {
            return Err(Refusal::Itself(listener));
        }
        let class = classify(addr.ip());
        match class.class.reach() {
            Reach::Dial => Ok(()),
            Reach::Never => Err(Refusal::Never(class)),
            Reach::WhenConfigured if source == Source::Resolve || self.lists(addr.ip(), class) => Ok(()),
            Reach::WhenConfigured => Err(Refusal::Unlisted { class, ip: addr.ip() }),
        }
    }

    /// Whether `dial_private` holds `ip`, or the IPv4 address it embeds.
    fn lists(&self, ip: IpAddr, class: Classified) -> bool {
        let embedded = class.embedded.map(|(_, v4)| IpAddr::V4(v4));
        self.private
            .iter()
            .any(|range| range.contains(ip) || embedded.is_some_and(|v4| range.contains(v4)))
    }

    /// The listener `addr` would reach: one on its port, where the address
    /// is the listener's own, this machine's loopback or unspecified
    /// address in any form, or (for a listener on all addresses) any
    /// address of this machine.
    fn itself(&self, addr: SocketAddr) -> Option<Listener> {
        let ip = addr.ip().to_canonical();
        let this_machine = matches!(classify(ip).class, Class::Loopback | Class::ThisNetwork);
        self.own
            .iter()
            .find(|(_, own)| {
                own.port() == addr.port()
                    && (ip == own.ip().to_canonical() || this_machine || (own.ip().is_unspecified() && is_local(ip)))
            })
            .map(|(listener, _)| *listener)
    }
}

/// Whether `ip` is an address of this machine: only those can be bound.
fn is_local(ip: IpAddr) -> bool {
    UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Listener::Proxy => "proxy listener",
            Listener::Admin => "admin server",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_verdict_by_source_and_configuration() {
        let rules = DialRules::new(
            vec!["10.1.0.0/16".parse().unwrap(), "fd00:1::/32".parse().unwrap()],
            vec![
                (Listener::Proxy, "127.0.0.1:8080".parse().unwrap()),
                (Listener::Admin, "0.0.0.0:8081".parse().unwrap()),
            ],
        );
        let never = "never";
        let unlisted = "unlisted";
        let itself = "itself";
        let dial = "dial";
        let cases = [
            ("52.95.110.1:443", Source::Lookup, dial),
            ("52.95.110.1:8080", Source::Lookup, dial),
            ("10.1.2.3:443", Source::Lookup, dial),
            ("[::ffff:10.1.2.3]:443", Source::Lookup, dial),
            ("[64:ff9b::a01:203]:443", Source::Lookup, dial),
            ("[fd00:1::5]:443", Source::Lookup, dial),
            ("10.2.0.1:443", Source::Lookup, unlisted),
            ("10.2.0.1:443", Source::Resolve, dial),
            ("127.0.0.1:9000", Source::Lookup, unlisted),
            ("127.0.0.1:9000", Source::Resolve, dial),
            ("100.64.0.1:443", Source::Lookup, unlisted),
            ("[fd00::1]:443", Source::Lookup, unlisted),
            ("0.0.0.0:443", Source::Lookup, unlisted),
            ("169.254.169.254:80", Source::Resolve, never),
            ("100.100.100.200:80", Source::Resolve, never),
            ("[64:ff9b::a9fe:a9fe]:80", Source::Resolve, never),
            ("[2002:a9fe:a9fe::1]:80", Source::Lookup, never),
            ("[::a9fe:a9fe]:80", Source::Lookup, never),
            ("127.0.0.1:8080", Source::Resolve, itself),
            ("127.0.0.2:8080", Source::Resolve, itself),
            ("0.0.0.0:8080", Source::Resolve, itself),
            ("[::1]:8080", Source::Resolve, itself),
            ("[::ffff:127.0.0.1]:8080", Source::Resolve, itself),
            ("127.0.0.1:8081", Source::Resolve, itself),
            ("[::]:8081", Source::Resolve, itself),
        ];
        for (addr, source, expected) in cases {
            let verdict = match rules.check(addr.parse().unwrap(), source) {
                Ok(()) => dial,
                Err(Refusal::Never(_)) => never,
                Err(Refusal::Unlisted { .. }) => unlisted,
                Err(Refusal::Itself(_)) => itself,
            };
            assert_eq!(verdict, expected, "{addr} from {source:?}");
        }
    }

    #[test]
    fn a_refusal_says_what_would_allow_it() {
        let rules = DialRules::default();
        let refusal = rules
            .check("100.64.0.1:443".parse().unwrap(), Source::Lookup)
            .unwrap_err();
        assert!(
            refusal.to_string().contains("dial_private = [\"100.64.0.1\"]"),
            "{refusal}"
        );
        let refusal = rules
            .check("[::a9fe:a9fe]:80".parse().unwrap(), Source::Lookup)
            .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "the IPv4-compatible form of 169.254.169.254, a cloud instance-metadata address, which clawgate never dials"
        );
    }
}
