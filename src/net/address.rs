//! What kind of address an IP is: public, or one of the special-purpose
//! ranges (IANA's IPv4 and IPv6 registries, RFC 6890), with every IPv6 form
//! that embeds an IPv4 address judged by the address it embeds, and the
//! instance-metadata addresses of the major clouds. One table, read top
//! down: the first range holding the address decides.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::cidr::Cidr;

/// The kind of an address, as far as dialling it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Globally routable unicast.
    Public,
    /// A cloud's instance-metadata (or host-agent) service.
    Metadata,
    /// Link-local (169.254.0.0/16, fe80::/10): the local segment only.
    LinkLocal,
    /// Loopback (127.0.0.0/8, ::1): this machine.
    Loopback,
    /// "This network" (0.0.0.0/8) and the unspecified `::`; 0.0.0.0 reaches this machine.
    ThisNetwork,
    /// Private-use networks (RFC 1918: 10/8, 172.16/12, 192.168/16).
    Private,
    /// Shared address space behind carrier-grade NAT (100.64.0.0/10, RFC 6598).
    SharedNat,
    /// IPv6 unique-local addresses (fc00::/7).
    UniqueLocal,
    /// IETF protocol assignments (192.0.0.0/24, 2001::/23).
    IetfProtocol,
    /// Documentation examples (192.0.2.0/24, 2001:db8::/32, ...).
    Documentation,
    /// Network benchmarking (198.18.0.0/15, 2001:2::/48).
    Benchmarking,
    /// Local-use IPv4/IPv6 translation (64:ff9b:1::/48, RFC 8215).
    LocalTranslation,
    /// Discard-only (100::/64).
    DiscardOnly,
    /// Multicast (224.0.0.0/4, ff00::/8).
    Multicast,
    /// Limited broadcast (255.255.255.255).
    Broadcast,
    /// Reserved or deprecated space that is not globally routable.
    Reserved,
}

/// Whether clawgate may dial an address of a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Dial it.
    Dial,
    /// Dial it only where configuration names it (`resolve`, `dial_private`).
    WhenConfigured,
    /// Never dial it, whatever the configuration.
    Never,
}

/// An IPv6 form that carries an IPv4 address inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// IPv4-mapped, `::ffff:a.b.c.d`.
    Mapped,
    /// IPv4-translated (SIIT), `::ffff:0:a.b.c.d`.
    Translated,
    /// IPv4-compatible (deprecated), `::a.b.c.d`.
    Compatible,
    /// NAT64's well-known prefix, `64:ff9b::a.b.c.d`.
    Nat64,
    /// A local-use NAT64 prefix inside 64:ff9b:1::/48, at any RFC 6052 position.
    LocalNat64,
    /// 6to4, `2002:AABB:CCDD::/48`.
    SixToFour,
    /// Teredo, `2001:0::/32`, whose client address is the last 32 bits inverted.
    Teredo,
}

/// What a range in the table holds.
#[derive(Debug, Clone, Copy)]
enum Holds {
    /// Addresses of this class.
    Class(Class),
    /// IPv4 addresses in this form; the embedded address decides.
    Embedded(Embedding),
}

/// An address's class and, for an embedding form, the IPv4 address it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    /// The class that decides.
    pub class: Class,
    /// The form and the embedded address the class was read from.
    pub embedded: Option<(Embedding, Ipv4Addr)>,
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Cidr {
    Cidr::v4(Ipv4Addr::new(a, b, c, d), len)
}

#[expect(
    clippy::too_many_arguments,
    reason = "the eight groups of an IPv6 address, as written"
)]
const fn v6(a: u16, b: u16, c: u16, d: u16, e: u16, f: u16, g: u16, h: u16, len: u8) -> Cidr {
    Cidr::v6(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// Every special-purpose range; the first one holding an address decides, so
/// single addresses come before the ranges around them. Each family ends in
/// a catch-all.
const RANGES: &[(Cidr, Holds)] = {
    use Class::*;
    use Embedding::*;
    use Holds::{Class as Is, Embedded as Embeds};
    &[
        // Instance metadata: AWS (EC2, ECS task metadata, EKS pod identity),
        // GCP, Azure, Oracle, OpenStack, DigitalOcean, Hetzner, IBM.
        (v4(169, 254, 169, 254, 32), Is(Metadata)),
        (v4(169, 254, 170, 2, 32), Is(Metadata)),
        (v4(169, 254, 170, 23, 32), Is(Metadata)),
        // Tencent Cloud.
        (v4(169, 254, 0, 23, 32), Is(Metadata)),
        // Alibaba Cloud.
        (v4(100, 100, 100, 200, 32), Is(Metadata)),
        // Azure's WireServer (host agent, certificates), a public-looking address.
        (v4(168, 63, 129, 16, 32), Is(Metadata)),
        // Oracle Cloud's older metadata address.
        (v4(192, 0, 0, 192, 32), Is(Metadata)),
        (v4(0, 0, 0, 0, 8), Is(ThisNetwork)),
        (v4(10, 0, 0, 0, 8), Is(Private)),
        (v4(100, 64, 0, 0, 10), Is(SharedNat)),
        (v4(127, 0, 0, 0, 8), Is(Loopback)),
        (v4(169, 254, 0, 0, 16), Is(LinkLocal)),
        (v4(172, 16, 0, 0, 12), Is(Private)),
        (v4(192, 0, 0, 0, 24), Is(IetfProtocol)),
        (v4(192, 0, 2, 0, 24), Is(Documentation)),
        // Formerly the 6to4 relay anycast (RFC 7526).
        (v4(192, 88, 99, 0, 24), Is(Reserved)),
        (v4(192, 168, 0, 0, 16), Is(Private)),
        (v4(198, 18, 0, 0, 15), Is(Benchmarking)),
        (v4(198, 51, 100, 0, 24), Is(Documentation)),
        (v4(203, 0, 113, 0, 24), Is(Documentation)),
        (v4(224, 0, 0, 0, 4), Is(Multicast)),
        (v4(255, 255, 255, 255, 32), Is(Broadcast)),
        (v4(240, 0, 0, 0, 4), Is(Reserved)),
        (v4(0, 0, 0, 0, 0), Is(Public)),
        // Instance metadata over IPv6: AWS (EC2, EKS pod identity), GCP, OpenStack.
        (v6(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254, 128), Is(Metadata)),
        (v6(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23, 128), Is(Metadata)),
        (v6(0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254, 128), Is(Metadata)),
        (v6(0xfe80, 0, 0, 0, 0, 0, 0xa9fe, 0xa9fe, 128), Is(Metadata)),
        (v6(0, 0, 0, 0, 0, 0, 0, 0, 128), Is(ThisNetwork)),
        (v6(0, 0, 0, 0, 0, 0, 0, 1, 128), Is(Loopback)),
        (v6(0, 0, 0, 0, 0, 0xffff, 0, 0, 96), Embeds(Mapped)),
        (v6(0, 0, 0, 0, 0xffff, 0, 0, 0, 96), Embeds(Translated)),
        (v6(0, 0, 0, 0, 0, 0, 0, 0, 96), Embeds(Compatible)),
        (v6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0, 96), Embeds(Nat64)),
        (v6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0, 48), Embeds(LocalNat64)),
        (v6(0x100, 0, 0, 0, 0, 0, 0, 0, 64), Is(DiscardOnly)),
        (v6(0x2001, 0, 0, 0, 0, 0, 0, 0, 32), Embeds(Teredo)),
        (v6(0x2001, 2, 0, 0, 0, 0, 0, 0, 48), Is(Benchmarking)),
        (v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0, 32), Is(Documentation)),
        (v6(0x2001, 0, 0, 0, 0, 0, 0, 0, 23), Is(IetfProtocol)),
        (v6(0x2002, 0, 0, 0, 0, 0, 0, 0, 16), Embeds(SixToFour)),
        (v6(0x3fff, 0, 0, 0, 0, 0, 0, 0, 20), Is(Documentation)),
        // Segment-routing SIDs (RFC 9602).
        (v6(0x5f00, 0, 0, 0, 0, 0, 0, 0, 16), Is(Reserved)),
        (v6(0x2000, 0, 0, 0, 0, 0, 0, 0, 3), Is(Public)),
        (v6(0xfc00, 0, 0, 0, 0, 0, 0, 0, 7), Is(UniqueLocal)),
        (v6(0xfe80, 0, 0, 0, 0, 0, 0, 0, 10), Is(LinkLocal)),
        (v6(0xff00, 0, 0, 0, 0, 0, 0, 0, 8), Is(Multicast)),
        // Everything outside 2000::/3 not named above, site-local fec0::/10 included.
        (v6(0, 0, 0, 0, 0, 0, 0, 0, 0), Is(Reserved)),
    ]
};

/// The class of `ip`; an IPv6 form that embeds an IPv4 address has the
/// class of the address it embeds.
pub fn classify(ip: IpAddr) -> Classified {
    let holds = RANGES
        .iter()
        .find(|(range, _)| range.contains(ip))
        .map(|(_, holds)| *holds);
    match (holds, ip) {
        (Some(Holds::Embedded(form)), IpAddr::V6(v6)) => embedded(form, v6),
        (Some(Holds::Class(class)), _) => Classified { class, embedded: None },
        // Each family ends in a catch-all, and only IPv6 ranges embed.
        (None | Some(Holds::Embedded(_)), _) => Classified {
            class: Class::Reserved,
            embedded: None,
        },
    }
}

/// The class of an address of `form`, read from the IPv4 address inside.
fn embedded(form: Embedding, v6: Ipv6Addr) -> Classified {
    let o = v6.octets();
    let inner = |a: usize, b: usize, c: usize, d: usize| Ipv4Addr::new(o[a], o[b], o[c], o[d]);
    let last = inner(12, 13, 14, 15);
    let of = |v4: Ipv4Addr| Classified {
        class: classify(IpAddr::V4(v4)).class,
        embedded: Some((form, v4)),
    };
    match form {
        Embedding::Mapped | Embedding::Translated | Embedding::Compatible | Embedding::Nat64 => of(last),
        Embedding::SixToFour => of(inner(2, 3, 4, 5)),
        Embedding::Teredo => of(Ipv4Addr::from(!u32::from(last))),
        // The prefix length is the translator's choice (RFC 6052 allows /48,
        // /56, /64 and /96 inside this /48): an address clawgate must never
        // dial at any of those positions is refused.
        Embedding::LocalNat64 => [inner(6, 7, 9, 10), inner(7, 9, 10, 11), inner(9, 10, 11, 12), last]
            .into_iter()
            .map(of)
            .find(|c| c.class.reach() == Reach::Never)
            .unwrap_or(Classified {
                class: Class::LocalTranslation,
                embedded: None,
            }),
    }
}

impl Class {
    /// Whether clawgate may dial addresses of this class.
    pub fn reach(self) -> Reach {
        match self {
            Class::Public => Reach::Dial,
            Class::Metadata | Class::LinkLocal => Reach::Never,
            _ => Reach::WhenConfigured,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Class::Public => "a public address",
            Class::Metadata => "a cloud instance-metadata address",
            Class::LinkLocal => "a link-local address",
            Class::Loopback => "a loopback address (this machine)",
            Class::ThisNetwork => "a this-network or unspecified address (0.0.0.0 reaches this machine)",
            Class::Private => "a private-network address (RFC 1918)",
            Class::SharedNat => "a carrier-grade NAT address (100.64.0.0/10)",
            Class::UniqueLocal => "an IPv6 unique-local address (fc00::/7)",
            Class::IetfProtocol => "an IETF protocol-assignment address",
            Class::Documentation => "a documentation-only address",
            Class::Benchmarking => "a benchmarking address (198.18.0.0/15, 2001:2::/48)",
            Class::LocalTranslation => "a local-use NAT64 address (64:ff9b:1::/48)",
            Class::DiscardOnly => "a discard-only address (100::/64)",
            Class::Multicast => "a multicast address",
            Class::Broadcast => "the broadcast address",
            Class::Reserved => "a reserved address",
        }
    }
}

impl Embedding {
    fn describe(self) -> &'static str {
        match self {
            Embedding::Mapped => "IPv4-mapped",
            Embedding::Translated => "IPv4-translated",
            Embedding::Compatible => "IPv4-compatible",
            Embedding::Nat64 => "NAT64",
            Embedding::LocalNat64 => "local-use NAT64",
            Embedding::SixToFour => "6to4",
            Embedding::Teredo => "Teredo",
        }
    }
}

/// "a loopback address", or "the NAT64 form of 169.254.169.254, a cloud
/// instance-metadata address".
impl fmt::Display for Classified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((form, v4)) = self.embedded {
            write!(f, "the {} form of {v4}, ", form.describe())?;
        }
        f.write_str(self.class.describe())
    }
}

#[cfg(test)]
mod tests;
