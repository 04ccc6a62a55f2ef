//! Which network addresses a user-supplied URL may reach. Video URLs and export connections come
//! from users, and the server fetches them: without this rule a user could make the server read
//! its own loopback services, the private network or a cloud metadata endpoint. Resolving host
//! names is the caller's IO; this module only classifies the addresses they resolve to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of network an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// Reachable on the public internet.
    Public,
    /// This machine (127.0.0.0/8, ::1).
    Loopback,
    /// A private or shared network (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7).
    Private,
    /// Link-local (169.254/16, fe80::/10).
    LinkLocal,
    /// A cloud provider's instance metadata service (169.254.169.254 and its kin).
    Metadata,
    /// Unspecified, multicast, broadcast, documentation or otherwise reserved: never a server.
    Reserved,
}

impl AddressClass {
    /// Classifies one address. IPv4 addresses embedded in IPv6 (mapped, NAT64, 6to4) are
    /// classified as the IPv4 address they carry.
    pub fn of(ip: IpAddr) -> AddressClass {
        match ip {
            IpAddr::V4(v4) => classify_v4(v4),
            IpAddr::V6(v6) => classify_v6(v6),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Loopback => "a loopback address (this machine)",
            AddressClass::Private => "a private network address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Metadata => "a cloud metadata address",
            AddressClass::Reserved => "a reserved address",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The addresses user-supplied URLs may reach. Public addresses always; loopback, private and
/// link-local ones only when an administrator allows them (a self-hosted WordPress on the same
/// network, or tests on 127.0.0.1). Metadata and reserved addresses are never allowed: no real
/// video host or blog lives there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddressPolicy {
    /// Allow loopback, private and link-local addresses.
    pub allow_private: bool,
}

impl AddressPolicy {
    /// Public addresses only: the default.
    pub const PUBLIC_ONLY: AddressPolicy = AddressPolicy {
        allow_private: false,
    };
    /// Public, loopback, private and link-local addresses.
    pub const ALLOW_PRIVATE: AddressPolicy = AddressPolicy {
        allow_private: true,
    };

    /// Whether `ip` may be reached.
    pub fn check(&self, ip: IpAddr) -> Result<(), ForbiddenAddress> {
        let class = AddressClass::of(ip);
        let allowed = match class {
            AddressClass::Public => true,
            AddressClass::Loopback | AddressClass::Private | AddressClass::LinkLocal => {
                self.allow_private
            }
            AddressClass::Metadata | AddressClass::Reserved => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(ForbiddenAddress {
                ip,
                class,
                can_be_allowed: matches!(
                    class,
                    AddressClass::Loopback | AddressClass::Private | AddressClass::LinkLocal
                ),
            })
        }
    }

    /// Checks every address a host name resolved to: one forbidden address refuses the host,
    /// since the connection could go to any of them. An empty list is refused too.
    pub fn check_all<I>(&self, addresses: I) -> Result<(), ForbiddenAddress>
    where
        I: IntoIterator<Item = IpAddr>,
    {
        let mut any = false;
        for ip in addresses {
            self.check(ip)?;
            any = true;
        }
        if any {
            Ok(())
        } else {
            Err(ForbiddenAddress {
                ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                class: AddressClass::Reserved,
                can_be_allowed: false,
            })
        }
    }
}

/// A user-supplied URL pointed at an address the policy refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct ForbiddenAddress {
    /// The refused address.
    pub ip: IpAddr,
    /// Its class.
    pub class: AddressClass,
    can_be_allowed: bool,
}

impl ForbiddenAddress {
    fn message(&self) -> String {
        if self.ip.is_unspecified() && self.class == AddressClass::Reserved {
            return "the host has no address to connect to".into();
        }
        let mut message = format!("{} is {}", self.ip, self.class);
        if self.can_be_allowed {
            message.push_str(
                ", which Vidpress does not reach for user-supplied URLs unless an administrator \
                 allows private addresses",
            );
        } else {
            message.push_str(", which Vidpress never reaches for user-supplied URLs");
        }
        message
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, d] = ip.octets();
    match (a, b, c, d) {
        // AWS, GCP, Azure, OpenStack and DigitalOcean answer on 169.254.169.254; AWS ECS task
        // metadata on 169.254.170.2; Alibaba Cloud on 100.100.100.200.
        (169, 254, 169, 254) | (169, 254, 170, 2) | (100, 100, 100, 200) => AddressClass::Metadata,
        (127, ..) => AddressClass::Loopback,
        (10, ..) | (192, 168, ..) => AddressClass::Private,
        (172, b, ..) if (16..=31).contains(&b) => AddressClass::Private,
        (100, b, ..) if (64..=127).contains(&b) => AddressClass::Private,
        (169, 254, ..) => AddressClass::LinkLocal,
        (0, ..) | (224..=255, ..) => AddressClass::Reserved,
        (192, 0, 0, _) | (192, 0, 2, _) | (198, 51, 100, _) | (203, 0, 113, _) => {
            AddressClass::Reserved
        }
        (198, 18..=19, ..) => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let segments = ip.segments();
    if ip == Ipv6Addr::LOCALHOST {
        return AddressClass::Loopback;
    }
    // AWS's IPv6 instance metadata endpoint.
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return AddressClass::Metadata;
    }
    match segments[0] {
        s if s & 0xfe00 == 0xfc00 => AddressClass::Private,
        s if s & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        s if s & 0xff00 == 0xff00 => AddressClass::Reserved,
        // Documentation (2001:db8::/32) and Teredo tunnels (2001::/32), whose far end we
        // cannot see.
        0x2001 if segments[1] == 0x0db8 || segments[1] == 0 => AddressClass::Reserved,
        _ if ip.is_unspecified() => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

/// The IPv4 address an IPv6 address carries, for the forms that reach it: IPv4-mapped
/// (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        return Some(tail());
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        AddressClass::of(s.parse().unwrap())
    }

    #[test]
    fn addresses_are_classified() {
        for (ip, expected) in [
            ("8.8.8.8", AddressClass::Public),
            ("142.250.74.14", AddressClass::Public),
            ("127.0.0.1", AddressClass::Loopback),
            ("127.8.9.10", AddressClass::Loopback),
            ("10.1.2.3", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("172.31.255.255", AddressClass::Private),
            ("172.32.0.1", AddressClass::Public),
            ("192.168.1.1", AddressClass::Private),
            ("100.64.0.1", AddressClass::Private),
            ("169.254.1.1", AddressClass::LinkLocal),
            ("169.254.169.254", AddressClass::Metadata),
            ("100.100.100.200", AddressClass::Metadata),
            ("0.0.0.0", AddressClass::Reserved),
            ("224.0.0.1", AddressClass::Reserved),
            ("255.255.255.255", AddressClass::Reserved),
            ("198.51.100.7", AddressClass::Reserved),
            ("::1", AddressClass::Loopback),
            ("::", AddressClass::Reserved),
            ("fd12::1", AddressClass::Private),
            ("fe80::1", AddressClass::LinkLocal),
            ("fd00:ec2::254", AddressClass::Metadata),
            ("ff02::1", AddressClass::Reserved),
            ("2001:db8::1", AddressClass::Reserved),
            ("2a00:1450:4001::200e", AddressClass::Public),
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("::ffff:169.254.169.254", AddressClass::Metadata),
            ("::10.0.0.1", AddressClass::Private),
            ("64:ff9b::a00:1", AddressClass::Private),
            ("2002:7f00:1::", AddressClass::Loopback),
            ("::ffff:8.8.8.8", AddressClass::Public),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn the_policy_allows_private_addresses_only_when_told_and_metadata_never() {
        let public_only = AddressPolicy::PUBLIC_ONLY;
        let private_ok = AddressPolicy::ALLOW_PRIVATE;
        for ip in ["127.0.0.1", "10.0.0.1", "169.254.3.4", "::1"] {
            let ip = ip.parse().unwrap();
            assert!(public_only.check(ip).is_err(), "{ip}");
            assert!(private_ok.check(ip).is_ok(), "{ip}");
        }
        for ip in ["169.254.169.254", "fd00:ec2::254", "0.0.0.0", "224.0.0.1"] {
            let ip = ip.parse().unwrap();
            assert!(private_ok.check(ip).is_err(), "{ip}");
        }
        assert!(public_only.check("93.184.216.34".parse().unwrap()).is_ok());
    }

    #[test]
    fn one_forbidden_address_among_several_refuses_the_host() {
        let addrs: Vec<IpAddr> = vec![
            "93.184.216.34".parse().unwrap(),
            "10.0.0.5".parse().unwrap(),
        ];
        let err = AddressPolicy::PUBLIC_ONLY.check_all(addrs).unwrap_err();
        assert_eq!(err.class, AddressClass::Private);
        assert!(AddressPolicy::PUBLIC_ONLY.check_all(Vec::new()).is_err());
    }

    #[test]
    fn the_refusal_says_why_and_what_can_be_done() {
        let err = AddressPolicy::PUBLIC_ONLY
            .check("127.0.0.1".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("127.0.0.1 is a loopback address"), "{err}");
        assert!(
            err.contains("administrator allows private addresses"),
            "{err}"
        );
        let err = AddressPolicy::ALLOW_PRIVATE
            .check("169.254.169.254".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("cloud metadata address"), "{err}");
        assert!(err.contains("never"), "{err}");
    }
}
