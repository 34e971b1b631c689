//! ACL policies: parsing Vault/OpenBao policy text (HCL or JSON), formatting
//! it, and compiling a token's policies into an [`Acl`] that answers access
//! checks with Vault's semantics. Pure logic: no I/O, no async.
//!
//! Layout: `parse` reads text (HCL1 forms through `crate::hcl1`) into a neutral
//! tree, `rules` gives it meaning, `format` writes it back, `acl` and
//! `params` decide requests, `explain` says why `acl` decided as it did.

mod acl;
mod capability;
mod error;
mod explain;
mod format;
mod params;
mod parse;
mod rules;
#[cfg(test)]
mod tests;

pub use acl::{Acl, Denied};
pub use capability::{Capabilities, Capability, UnknownCapability};
pub use error::{Location, ParseError};
pub use explain::{Conditions, Decision, Explanation, MatchKind, MatchingRule, RuleSource};

/// A named, parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    /// The text the policy was parsed from, returned as-is on read.
    pub raw: String,
    rules: Vec<rules::PathRule>,
}

impl Policy {
    /// Number of `path` rules in the policy.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }
}

/// The path the ACL checks for a request on `path`: no leading or trailing
/// slash, except that a list's path ends in one (the pipeline and
/// `cofre policy explain` both use this).
pub fn checked_path(path: &str, is_list: bool) -> String {
    let path = path.trim_matches('/');
    match is_list {
        true => format!("{path}/"),
        false => path.to_owned(),
    }
}

/// Parses HCL or JSON policy text (JSON if it starts with `{` and is JSON).
pub fn parse(name: &str, text: &str) -> Result<Policy, ParseError> {
    let raw = parse::parse_raw(text)?;
    Ok(Policy {
        name: name.to_owned(),
        raw: text.to_owned(),
        rules: rules::compile(&raw)?,
    })
}

/// Validates policy text and returns it as canonical HCL.
pub fn format(text: &str) -> Result<String, ParseError> {
    let raw = parse::parse_raw(text)?;
    rules::compile(&raw)?;
    Ok(format::render(&raw))
}

/// Cofre's built-in `default` policy: what every token may do to itself.
pub fn default_policy_text() -> &'static str {
    include_str!("default_policy.hcl")
}
