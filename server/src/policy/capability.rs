//! Capabilities a policy grants on a path, and a small bit set of them.
//!
//! Names and rendering follow Vault: `sys/capabilities` lists names sorted
//! alphabetically, the root token renders as `["root"]`, and a path with no
//! capability renders as `["deny"]`.

use std::fmt;
use std::str::FromStr;

/// One capability of an ACL path rule.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Capability {
    Create,
    Read,
    Update,
    Patch,
    Delete,
    List,
    Sudo,
    Deny,
}

impl Capability {
    /// Every capability, in Vault's alphabetical rendering order.
    pub const ALL: [Capability; 8] = [
        Capability::Create,
        Capability::Delete,
        Capability::Deny,
        Capability::List,
        Capability::Patch,
        Capability::Read,
        Capability::Sudo,
        Capability::Update,
    ];

    /// The name used in policy text and API responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Create => "create",
            Capability::Read => "read",
            Capability::Update => "update",
            Capability::Patch => "patch",
            Capability::Delete => "delete",
            Capability::List => "list",
            Capability::Sudo => "sudo",
            Capability::Deny => "deny",
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a capability name that Cofre does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability \"{0}\"")]
pub struct UnknownCapability(pub String);

impl FromStr for Capability {
    type Err = UnknownCapability;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| UnknownCapability(name.to_owned()))
    }
}

/// A set of capabilities.
///
/// A set holding [`Capability::Deny`] holds nothing else: policies never grant
/// alongside a deny (see [`Capabilities::insert`]).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct Capabilities(u16);

const ROOT_BIT: u16 = 1 << 15;

impl Capabilities {
    /// No capability at all.
    pub const NONE: Capabilities = Capabilities(0);

    /// Only [`Capability::Deny`].
    pub const DENY: Capabilities = Capabilities(Capability::Deny.bit());

    /// What the root policy holds: every granting capability including sudo.
    pub const ROOT: Capabilities = Capabilities(
        ROOT_BIT
            | Capability::Create.bit()
            | Capability::Read.bit()
            | Capability::Update.bit()
            | Capability::Patch.bit()
            | Capability::Delete.bit()
            | Capability::List.bit()
            | Capability::Sudo.bit(),
    );

    pub fn contains(self, capability: Capability) -> bool {
        self.0 & capability.bit() != 0
    }

    /// Adds `capability`; adding `Deny` drops every other capability, and
    /// nothing can be added to a set that denies.
    pub fn insert(&mut self, capability: Capability) {
        *self = self.union(Capabilities(capability.bit()));
    }

    /// Union of two sets, where a deny in either leaves only the deny.
    pub fn union(self, other: Capabilities) -> Capabilities {
        if self.is_deny() || other.is_deny() {
            return Capabilities::DENY;
        }
        Capabilities(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether the set explicitly denies.
    pub fn is_deny(self) -> bool {
        self.contains(Capability::Deny)
    }

    /// Whether this is the root token's set.
    pub fn is_root(self) -> bool {
        self.0 & ROOT_BIT != 0
    }

    /// The capabilities in the set, in Vault's alphabetical order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }

    /// Names as Vault's `sys/capabilities` returns them: sorted, `["root"]`
    /// for root, and `["deny"]` for an empty set.
    pub fn names(&self) -> Vec<&'static str> {
        if self.is_root() {
            return vec!["root"];
        }
        if self.is_empty() {
            return vec![Capability::Deny.as_str()];
        }
        self.iter().map(Capability::as_str).collect()
    }
}

/// A list of names: `["read", "list"]`, `["root"]` for root, `[]` for none.
impl serde::Serialize for Capabilities {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let names: Vec<&str> = match self.is_root() {
            true => vec!["root"],
            false => self.iter().map(Capability::as_str).collect(),
        };
        serializer.collect_seq(names)
    }
}

impl serde::Serialize for Capability {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut set = Capabilities::NONE;
        for capability in iter {
            set.insert(capability);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sorted_like_vault() {
        let set: Capabilities = [Capability::Update, Capability::Read, Capability::Create]
            .into_iter()
            .collect();
        assert_eq!(set.names(), ["create", "read", "update"]);
        let all: Capabilities = Capability::ALL
            .into_iter()
            .filter(|c| *c != Capability::Deny)
            .collect();
        assert_eq!(
            all.names(),
            ["create", "delete", "list", "patch", "read", "sudo", "update"]
        );
    }

    #[test]
    fn root_and_empty_render_like_vault() {
        assert_eq!(Capabilities::ROOT.names(), ["root"]);
        assert_eq!(Capabilities::NONE.names(), ["deny"]);
        assert!(Capabilities::ROOT.contains(Capability::Sudo));
        assert!(!Capabilities::ROOT.contains(Capability::Deny));
    }

    #[test]
    fn deny_absorbs_everything() {
        let mut set: Capabilities = [Capability::Read, Capability::Sudo].into_iter().collect();
        set.insert(Capability::Deny);
        assert_eq!(set, Capabilities::DENY);
        set.insert(Capability::Read);
        assert_eq!(set.names(), ["deny"]);
        assert!(!set.contains(Capability::Read));
    }

    #[test]
    fn names_parse_back() {
        for capability in Capability::ALL {
            assert_eq!(capability.as_str().parse::<Capability>(), Ok(capability));
        }
        assert!("Read".parse::<Capability>().is_err());
    }
}
