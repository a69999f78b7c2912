//! The special-purpose table, smokescreen-style: one address per line and the
//! class it must have, every range and every embedding form.

use super::*;

/// (address, class, the IPv4 address it embeds if any).
const CASES: &[(&str, Class, Option<&str>)] = {
    use Class::*;
    &[
        // Public.
        ("8.8.8.8", Public, None),
        ("52.95.110.1", Public, None),
        ("100.63.255.255", Public, None),
        ("100.128.0.0", Public, None),
        ("172.32.0.1", Public, None),
        ("2600:1f18::1", Public, None),
        ("2001:4860:4860::8888", Public, None),
        // Metadata, cloud by cloud.
        ("169.254.169.254", Metadata, None),
        ("169.254.170.2", Metadata, None),
        ("169.254.170.23", Metadata, None),
        ("169.254.0.23", Metadata, None),
        ("100.100.100.200", Metadata, None),
        ("168.63.129.16", Metadata, None),
        ("192.0.0.192", Metadata, None),
        ("fd00:ec2::254", Metadata, None),
        ("fd00:ec2::23", Metadata, None),
        ("fd20:ce::254", Metadata, None),
        ("fe80::a9fe:a9fe", Metadata, None),
        // IPv4 special-purpose ranges.
        ("0.0.0.0", ThisNetwork, None),
        ("0.255.255.255", ThisNetwork, None),
        ("10.0.0.1", Private, None),
        ("172.16.0.1", Private, None),
        ("172.31.255.255", Private, None),
        ("192.168.1.1", Private, None),
        ("100.64.0.1", SharedNat, None),
        ("100.127.255.254", SharedNat, None),
        ("127.0.0.1", Loopback, None),
        ("127.255.255.254", Loopback, None),
        ("169.254.0.1", LinkLocal, None),
        ("169.254.169.253", LinkLocal, None),
        ("192.0.0.8", IetfProtocol, None),
        ("192.0.2.1", Documentation, None),
        ("198.51.100.1", Documentation, None),
        ("203.0.113.1", Documentation, None),
        ("192.88.99.1", Reserved, None),
        ("198.18.0.1", Benchmarking, None),
        ("198.19.255.255", Benchmarking, None),
        ("224.0.0.1", Multicast, None),
        ("239.255.255.255", Multicast, None),
        ("240.0.0.1", Reserved, None),
        ("255.255.255.254", Reserved, None),
        ("255.255.255.255", Broadcast, None),
        // IPv6 special-purpose ranges.
        ("::", ThisNetwork, None),
        ("::1", Loopback, None),
        ("100::1", DiscardOnly, None),
        ("2001:2::1", Benchmarking, None),
        ("2001:1::1", IetfProtocol, None),
        ("2001:db8::1", Documentation, None),
        ("3fff::1", Documentation, None),
        ("5f00::1", Reserved, None),
        ("fc00::1", UniqueLocal, None),
        ("fd00::1", UniqueLocal, None),
        ("fd00:ec2::253", UniqueLocal, None),
        ("fe80::1", LinkLocal, None),
        ("febf::1", LinkLocal, None),
        ("fec0::1", Reserved, None),
        ("ff02::2", Multicast, None),
        ("4000::1", Reserved, None),
        ("64:ff9c::1", Reserved, None),
        ("64:ff9b:1::1", LocalTranslation, None),
        // IPv4-mapped.
        ("::ffff:169.254.169.254", Metadata, Some("169.254.169.254")),
        ("::ffff:127.0.0.1", Loopback, Some("127.0.0.1")),
        ("::ffff:0.0.0.0", ThisNetwork, Some("0.0.0.0")),
        ("::ffff:8.8.8.8", Public, Some("8.8.8.8")),
        // IPv4-translated.
        ("::ffff:0:a9fe:a9fe", Metadata, Some("169.254.169.254")),
        ("::ffff:0:a00:1", Private, Some("10.0.0.1")),
        // IPv4-compatible.
        ("::a9fe:a9fe", Metadata, Some("169.254.169.254")),
        ("::127.0.0.1", Loopback, Some("127.0.0.1")),
        ("::808:808", Public, Some("8.8.8.8")),
        // NAT64, well-known prefix.
        ("64:ff9b::a9fe:a9fe", Metadata, Some("169.254.169.254")),
        ("64:ff9b::6464:64c8", Metadata, Some("100.100.100.200")),
        ("64:ff9b::7f00:1", Loopback, Some("127.0.0.1")),
        ("64:ff9b::a00:1", Private, Some("10.0.0.1")),
        ("64:ff9b::6440:1", SharedNat, Some("100.64.0.1")),
        ("64:ff9b::808:808", Public, Some("8.8.8.8")),
        // NAT64, local-use prefix: every RFC 6052 position.
        ("64:ff9b:1:1234:5678::", LocalTranslation, None),
        ("64:ff9b:1:0:a9:fea9:fe00:0", Metadata, Some("169.254.169.254")),
        ("64:ff9b:1:a9fe:a9:fe00::", Metadata, Some("169.254.169.254")),
        ("64:ff9b:1:a9:fe:a9fe::", Metadata, Some("169.254.169.254")),
        ("64:ff9b:1::a9fe:a9fe", Metadata, Some("169.254.169.254")),
        ("64:ff9b:1::a00:1", LocalTranslation, None),
        // 6to4.
        ("2002:a9fe:a9fe::1", Metadata, Some("169.254.169.254")),
        ("2002:7f00:1::", Loopback, Some("127.0.0.1")),
        ("2002:c0a8:101::1", Private, Some("192.168.1.1")),
        ("2002:808:808::1", Public, Some("8.8.8.8")),
        // Teredo: the client address is the last 32 bits, inverted.
        (
            "2001:0:4136:e378:8000:63bf:5601:5601",
            Metadata,
            Some("169.254.169.254"),
        ),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", Loopback, Some("127.0.0.1")),
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            Documentation,
            Some("192.0.2.45"),
        ),
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", Public, Some("8.8.8.8")),
    ]
};

#[test]
fn every_range_and_embedding_form_has_its_class() {
    let mut wrong = Vec::new();
    for (text, class, inner) in CASES {
        let ip: IpAddr = text.parse().unwrap();
        let got = classify(ip);
        let inner = inner.map(|v4| v4.parse::<Ipv4Addr>().unwrap());
        if got.class != *class || got.embedded.map(|(_, v4)| v4) != inner {
            wrong.push(format!("{text}: {got:?}, expected {class:?} embedding {inner:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn each_class_has_its_reach() {
    assert_eq!(Class::Public.reach(), Reach::Dial);
    for never in [Class::Metadata, Class::LinkLocal] {
        assert_eq!(never.reach(), Reach::Never, "{never:?}");
    }
    for configured in [
        Class::Loopback,
        Class::Private,
        Class::SharedNat,
        Class::ThisNetwork,
        Class::UniqueLocal,
    ] {
        assert_eq!(configured.reach(), Reach::WhenConfigured, "{configured:?}");
    }
}

#[test]
fn an_embedded_address_is_named_in_the_description() {
    let nat64 = classify("64:ff9b::a9fe:a9fe".parse().unwrap());
    assert_eq!(
        nat64.to_string(),
        "the NAT64 form of 169.254.169.254, a cloud instance-metadata address"
    );
    assert_eq!(
        classify("10.1.2.3".parse().unwrap()).to_string(),
        "a private-network address (RFC 1918)"
    );
}
