//! The virtual IP as a route destination.

use std::fmt;
use std::net::IpAddr;

/// A virtual IP: one host address, routed as a /32 (IPv4) or /128 (IPv6).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vip {
    pub address: IpAddr,
}

impl Vip {
    /// Parses `172.16.0.1`, `172.16.0.1/32`, `fd00::1` or `fd00::1/128`.
    /// Any other prefix length is rejected because a VIP is one address.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().ok()?;
        let full = if address.is_ipv4() { "32" } else { "128" };
        if prefix.is_some_and(|p| p != full) {
            return None;
        }
        if address.is_unspecified() || address.is_multicast() || address.is_loopback() {
            return None;
        }
        Some(Vip { address })
    }

    /// Returns the destination CIDR block as AWS writes it.
    pub fn destination(&self) -> String {
        match self.address {
            IpAddr::V4(v4) => format!("{v4}/32"),
            IpAddr::V6(v6) => format!("{v6}/128"),
        }
    }

    pub fn is_ipv6(&self) -> bool {
        self.address.is_ipv6()
    }

    /// Parses a CIDR block such as `10.0.0.0/16` into address and prefix.
    pub fn parse_network(text: &str) -> Option<(IpAddr, u8)> {
        let (address, prefix) = text.trim().split_once('/')?;
        let address: IpAddr = address.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some((address, prefix))
    }

    /// Tells whether this VIP falls inside the CIDR block `network`.
    pub fn is_inside(&self, network: &str) -> bool {
        let Some((base, prefix)) = Self::parse_network(network) else {
            return false;
        };
        match (self.address, base) {
            (IpAddr::V4(vip), IpAddr::V4(base)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                u32::from(vip) & mask == u32::from(base) & mask
            }
            (IpAddr::V6(vip), IpAddr::V6(base)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                u128::from(vip) & mask == u128::from(base) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_host_forms() {
        assert_eq!(
            Vip::parse("172.16.0.1").unwrap().destination(),
            "172.16.0.1/32"
        );
        assert_eq!(
            Vip::parse("172.16.0.1/32").unwrap().destination(),
            "172.16.0.1/32"
        );
        assert_eq!(Vip::parse("fd00::1").unwrap().destination(), "fd00::1/128");
    }

    #[test]
    fn parse_rejects_networks_and_junk() {
        for text in [
            "172.16.0.0/24",
            "172.16.0.256",
            "",
            "0.0.0.0",
            "vip",
            "fd00::1/64",
        ] {
            assert!(Vip::parse(text).is_none(), "accepted {text:?}");
        }
    }

    #[test]
    fn inside_compares_prefix_bits() {
        let vip = Vip::parse("10.0.5.1").unwrap();
        assert!(vip.is_inside("10.0.0.0/16"));
        assert!(!vip.is_inside("10.1.0.0/16"));
        assert!(vip.is_inside("0.0.0.0/0"));
    }
}
