//! CIDR blocks for address bindings (`token_bound_cidrs` of the auth methods' roles,
//! `secret_id_bound_cidrs`, and the `bound_cidrs` a token entry carries): parsing in
//! Vault's accepted forms (`10.0.0.0/8`, a bare address meaning one host), membership
//! tests, and Vault's read-back form (a one-host block is shown as the bare address).

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// One IPv4 or IPv6 block, stored as its text so it round-trips through storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr/prefix` or a bare address (a one-host block).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || format!("invalid CIDR block {text:?}");
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let width = bit_width(network);
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(bad)?,
            None => width,
        };
        Ok(Self {
            network: mask(network, prefix),
            prefix,
        })
    }

    /// Whether `addr` lies in this block (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
            v4 => v4,
        };
        addr.is_ipv4() == self.network.is_ipv4() && mask(addr, self.prefix) == self.network
    }

    /// Whether every address of `other` is in this block.
    pub fn covers(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && self.contains(other.network)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == bit_width(self.network) {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

impl TryFrom<String> for Cidr {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Cidr::parse(&text)
    }
}

impl From<Cidr> for String {
    fn from(cidr: Cidr) -> String {
        cidr.to_string()
    }
}

/// Whether `addr` is allowed by `blocks`: an empty list allows everything; a request
/// without a known address is refused by a non-empty list.
pub fn allows(blocks: &[Cidr], addr: Option<IpAddr>) -> bool {
    if blocks.is_empty() {
        return true;
    }
    addr.is_some_and(|addr| blocks.iter().any(|b| b.contains(addr)))
}

/// Parses a list of blocks (each entry may itself be comma-separated).
pub fn parse_list(items: &[String]) -> Result<Vec<Cidr>, String> {
    items
        .iter()
        .flat_map(|item| item.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(Cidr::parse)
        .collect()
}

fn bit_width(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & kept).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & kept).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test addresses parse")
    }

    #[test]
    fn parses_and_shows_as_vault_does() {
        let shown = |s: &str| Cidr::parse(s).map(|c| c.to_string());
        assert_eq!(shown("127.0.0.1/32"), Ok("127.0.0.1".into()));
        assert_eq!(shown("10.1.2.3/8"), Ok("10.0.0.0/8".into()));
        assert_eq!(shown("::1"), Ok("::1".into()));
        assert_eq!(shown("fd00::1/64"), Ok("fd00::/64".into()));
        assert_eq!(shown("0.0.0.0/0"), Ok("0.0.0.0/0".into()));
        for bad in ["10.0.0.0/33", "nope", "10.0.0/8", "1.2.3.4/x", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn membership() {
        let block = Cidr::parse("10.0.0.0/8").expect("valid");
        assert!(block.contains(ip("10.9.8.7")));
        assert!(!block.contains(ip("11.0.0.1")));
        assert!(block.contains(ip("::ffff:10.1.1.1")));
        assert!(!block.contains(ip("::1")));
        assert!(Cidr::parse("0.0.0.0/0")
            .expect("valid")
            .contains(ip("8.8.8.8")));
        let host = [Cidr::parse("127.0.0.1").expect("valid")];
        assert!(allows(&host, Some(ip("127.0.0.1"))));
        assert!(!allows(&host, Some(ip("127.0.0.2"))));
        assert!(!allows(&host, None));
        assert!(allows(&[], None));
        assert!(block.covers(&Cidr::parse("10.2.0.0/16").expect("valid")));
        assert!(!block.covers(&Cidr::parse("0.0.0.0/0").expect("valid")));
    }

    #[test]
    fn lists_accept_commas_and_round_trip_through_json() {
        let list = parse_list(&["10.0.0.0/8, 127.0.0.1".into()]).expect("valid");
        assert_eq!(list.len(), 2);
        let json = serde_json::to_string(&list).expect("serialises");
        assert_eq!(json, r#"["10.0.0.0/8","127.0.0.1"]"#);
        let back: Vec<Cidr> = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, list);
        assert!(parse_list(&["10.0.0.0/8,bad".into()]).is_err());
    }
}
