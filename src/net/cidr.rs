//! Address ranges written as CIDR blocks (`10.0.0.0/8`, `fd00::/8`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 or IPv6 network: an address whose bits past the prefix are zero,
/// and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    len: u8,
}

/// A text that is not a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The part before `/` is not an IP address.
    #[error("`{0}` is not an address range; write a CIDR block such as \"10.0.0.0/8\" or \"fd00::/8\"")]
    Address(String),
    /// The prefix length is not a number up to the family's width.
    #[error("`{text}` has no valid prefix length; write a number from 0 to {max} after the `/`")]
    PrefixLength {
        /// The range as written.
        text: String,
        /// 32 for IPv4, 128 for IPv6.
        max: u8,
    },
    /// Bits past the prefix are set, so the range is probably not what was meant.
    #[error("`{text}` has bits set past its prefix; write `{network}`")]
    HostBits {
        /// The range as written.
        text: String,
        /// The network it lies in.
        network: Cidr,
    },
}

impl Cidr {
    /// The IPv4 network `network/len`; `len` must be at most 32 and the
    /// bits past it zero (the table of special ranges is written so).
    pub const fn v4(network: Ipv4Addr, len: u8) -> Cidr {
        Cidr {
            network: IpAddr::V4(network),
            len,
        }
    }

    /// The IPv6 network `network/len`; `len` must be at most 128 and the
    /// bits past it zero.
    pub const fn v6(network: Ipv6Addr, len: u8) -> Cidr {
        Cidr {
            network: IpAddr::V6(network),
            len,
        }
    }

    /// Whether `ip` lies in this network (an IPv4 address never lies in an
    /// IPv6 network, nor the other way round).
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.network.is_ipv4() && masked(ip, self.len) == self.network
    }
}

/// `ip` with every bit past the first `len` cleared.
fn masked(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32_u32.saturating_sub(len.into())).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128_u32.saturating_sub(len.into())).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
        }
    }
}

/// Reads `10.0.0.0/8`, or a bare address as the range of that one address.
impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let (address, len) = text.split_once('/').map_or((text, None), |(a, l)| (a, Some(l)));
        let address: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| CidrError::Address(text.to_string()))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(len) => {
                len.trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| CidrError::PrefixLength {
                        text: text.to_string(),
                        max,
                    })?
            }
        };
        let network = Cidr {
            network: masked(address, len),
            len,
        };
        if network.network != address {
            return Err(CidrError::HostBits {
                text: text.to_string(),
                network,
            });
        }
        Ok(network)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_contain_their_addresses_only() {
        let private: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(private.contains("10.255.0.1".parse().unwrap()));
        assert!(!private.contains("11.0.0.1".parse().unwrap()));
        assert!(
            !private.contains("::ffff:10.0.0.1".parse().unwrap()),
            "families never mix"
        );
        let everything: Cidr = "::/0".parse().unwrap();
        assert!(everything.contains("2001:db8::1".parse().unwrap()));
        let one: Cidr = "fd00::7".parse().unwrap();
        assert_eq!(one.to_string(), "fd00::7/128");
        assert!(one.contains("fd00::7".parse().unwrap()) && !one.contains("fd00::8".parse().unwrap()));
    }

    #[test]
    fn a_bad_range_says_what_to_write() {
        let error = |t: &str| t.parse::<Cidr>().unwrap_err().to_string();
        assert_eq!(
            error("10.0.0.1/8"),
            "`10.0.0.1/8` has bits set past its prefix; write `10.0.0.0/8`"
        );
        assert!(
            error("10.0.0.0/33").contains("a number from 0 to 32"),
            "{}",
            error("10.0.0.0/33")
        );
        assert!(error("intranet").contains("not an address range"));
    }
}
