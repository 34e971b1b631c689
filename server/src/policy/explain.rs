//! Why an [`Acl`] decides a path the way it does: the rule that decides, the
//! other rules that match but lose, which policies each rule came from, and
//! the decision for an operation.
//!
//! Built from the same matcher as [`Acl::check`] (`Acl::find` reports what it
//! matched), so an explanation never disagrees with enforcement. Checks never
//! run this code: it allocates freely.

use serde::Serialize;

use super::acl::{grant, Acl, Matched};
use super::capability::{Capabilities, Capability};
use super::rules::{PathKind, PathRule, Permissions};

/// One policy's rule that contributed to a (merged) ACL rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSource {
    pub policy: String,
    /// The path exactly as the policy wrote it.
    pub written: String,
    /// 1-based line of the `path` block (HCL policies only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What this policy's rule grants on its own.
    pub capabilities: Capabilities,
}

impl RuleSource {
    pub(super) fn new(policy: &str, rule: &PathRule) -> RuleSource {
        RuleSource {
            policy: policy.to_owned(),
            written: rule.written.clone(),
            line: rule.line,
            capabilities: rule.permissions.capabilities,
        }
    }
}

/// How a rule's pattern matches request paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The path must be equal.
    Exact,
    /// The pattern ends in `*`: every path starting with the rest.
    Prefix,
    /// The pattern has `+` segments, each standing for one path segment.
    SegmentGlob,
}

impl MatchKind {
    fn of(kind: PathKind) -> MatchKind {
        match kind {
            PathKind::Exact => MatchKind::Exact,
            PathKind::Prefix => MatchKind::Prefix,
            PathKind::Segments => MatchKind::SegmentGlob,
        }
    }

    /// A short description for people: `exact`, `prefix (*)`, `segment glob (+)`.
    pub fn describe(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::Prefix => "prefix (*)",
            MatchKind::SegmentGlob => "segment glob (+)",
        }
    }
}

/// Conditions a rule puts on requests besides capabilities.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Conditions {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required_parameters: Vec<String>,
    /// Names of allowed parameters (`*` for any); empty: every parameter is allowed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_parameters: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub denied_parameters: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_wrapping_ttl_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wrapping_ttl_seconds: Option<u64>,
}

impl Conditions {
    fn of(permissions: &Permissions) -> Conditions {
        let names = |map: &super::params::ValueMap| {
            let mut names: Vec<String> = map.keys().cloned().collect();
            names.sort();
            names
        };
        Conditions {
            required_parameters: permissions.parameters.required.clone(),
            allowed_parameters: names(&permissions.parameters.allowed),
            denied_parameters: names(&permissions.parameters.denied),
            min_wrapping_ttl_seconds: permissions.min_wrapping_ttl.map(|d| d.as_secs()),
            max_wrapping_ttl_seconds: permissions.max_wrapping_ttl.map(|d| d.as_secs()),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Conditions::default()
    }
}

/// A rule of the ACL (merged across policies naming the same path) that matches the path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchingRule {
    /// The pattern, as policies write it (`secret/*`, `secret/+/config`).
    pub pattern: String,
    pub kind: MatchKind,
    /// The path it matched: the request path, or for a list without its trailing slash.
    pub matched_path: String,
    /// What the rule grants: the union of its sources, or only `deny` if any denies.
    pub capabilities: Capabilities,
    pub sources: Vec<RuleSource>,
    #[serde(skip_serializing_if = "Conditions::is_empty")]
    pub conditions: Conditions,
}

/// Why a path is decided as it is, for every operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The path as the ACL checks it (a list's ends in `/`).
    pub path: String,
    /// The token has the root policy: everything is allowed, no rule is consulted.
    pub root: bool,
    /// The rule that decides, if any matches (none: implicit deny).
    pub deciding: Option<MatchingRule>,
    /// Rules that match too but lose to the deciding one, most specific first.
    pub overruled: Vec<MatchingRule>,
    /// Plain-language remarks: merges, overriding denies, the list fallback.
    pub notes: Vec<String>,
}

/// The outcome for one capability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub capability: Capability,
    pub sudo_required: bool,
    pub allowed: bool,
    pub reason: String,
}

impl Acl {
    /// Explains how the ACL decides `path` (no leading slash needed). `is_list`
    /// as for checks: a list also tries the path without its trailing slash.
    pub fn explain(&self, path: &str, is_list: bool) -> Explanation {
        let path = path.trim_start_matches('/');
        if self.is_root() {
            return Explanation {
                path: path.to_owned(),
                root: true,
                deciding: None,
                overruled: Vec::new(),
                notes: vec!["the root policy allows every operation on every path".into()],
            };
        }
        let deciding = self.find(path, is_list).map(|m| self.describe(path, m));
        let mut overruled: Vec<MatchingRule> = Vec::new();
        for rule in self.all_matches(path, is_list) {
            let rule = self.describe(path, rule);
            let seen = deciding
                .iter()
                .chain(&overruled)
                .any(|r| r.pattern == rule.pattern);
            if !seen {
                overruled.push(rule);
            }
        }
        let notes = notes(path, deciding.as_ref(), &overruled);
        Explanation {
            path: path.to_owned(),
            root: false,
            deciding,
            overruled,
            notes,
        }
    }

    fn describe(&self, path: &str, found: Matched<'_>) -> MatchingRule {
        let pattern = found.pattern();
        let matched_path = match found.list_fallback {
            true => path.strip_suffix('/').unwrap_or(path),
            false => path,
        };
        MatchingRule {
            sources: self
                .sources
                .get(pattern.as_str())
                .cloned()
                .unwrap_or_default(),
            kind: MatchKind::of(found.kind),
            matched_path: matched_path.to_owned(),
            capabilities: found.permissions.capabilities,
            conditions: Conditions::of(found.permissions),
            pattern,
        }
    }
}

impl MatchingRule {
    /// `"secret/*" (policy app)`, or `(policies app, ops)` for a merged rule.
    pub fn label(&self) -> String {
        let policies: Vec<&str> = self.sources.iter().map(|s| s.policy.as_str()).collect();
        let noun = if policies.len() == 1 {
            "policy"
        } else {
            "policies"
        };
        format!("\"{}\" ({noun} {})", self.pattern, policies.join(", "))
    }
}

impl Explanation {
    /// The decision for `capability` (with `sudo` too when `needs_sudo`), by the
    /// same test [`Acl::check`] applies. Parameter and wrapping conditions of the
    /// deciding rule are not applied here: they depend on the request's body.
    pub fn decide(&self, capability: Capability, needs_sudo: bool) -> Decision {
        let decision = |allowed: bool, reason: String| Decision {
            capability,
            sudo_required: needs_sudo,
            allowed,
            reason,
        };
        if self.root {
            return decision(true, "the token has the root policy".into());
        }
        let Some(rule) = &self.deciding else {
            let reason = format!("no rule matches {}: implicit deny", self.path);
            return decision(false, reason);
        };
        let granted = rule.capabilities;
        let outcome = grant(granted, capability, needs_sudo);
        let label = rule.label();
        let reason = match outcome {
            Ok(()) if needs_sudo => format!("rule {label} grants {capability} and sudo"),
            Ok(()) => format!("rule {label} grants {capability}"),
            Err(_) if granted.is_deny() => format!("rule {label} denies"),
            Err(_) if !granted.contains(capability) => {
                format!("rule {label} grants [{}], not {capability}", names(granted))
            }
            Err(_) => format!("the path needs sudo, which rule {label} does not grant"),
        };
        decision(outcome.is_ok(), reason)
    }
}

/// `read, list` (or `none`).
pub(crate) fn names(capabilities: Capabilities) -> String {
    let names: Vec<&str> = capabilities.iter().map(Capability::as_str).collect();
    match names.is_empty() {
        true => "none".into(),
        false => names.join(", "),
    }
}

fn notes(path: &str, deciding: Option<&MatchingRule>, overruled: &[MatchingRule]) -> Vec<String> {
    let mut notes = Vec::new();
    let Some(rule) = deciding else {
        notes.push("no rule of the token's policies matches: Cofre denies by default".into());
        return notes;
    };
    if rule.sources.len() > 1 {
        let policies: Vec<&str> = rule.sources.iter().map(|s| s.policy.as_str()).collect();
        notes.push(format!(
            "\"{}\" is named by {} rules (policies {}): merged into one rule",
            rule.pattern,
            rule.sources.len(),
            policies.join(", ")
        ));
    }
    if rule.capabilities.is_deny() {
        if let Some(denier) = rule.sources.iter().find(|s| s.capabilities.is_deny()) {
            if rule.sources.iter().any(|s| !s.capabilities.is_deny()) {
                notes.push(format!(
                    "the deny of policy {} overrides what the other policies grant on \"{}\"",
                    denier.policy, rule.pattern
                ));
            }
        }
    }
    if rule.matched_path != path {
        notes.push(format!(
            "a list request also matches the path without its trailing slash: \"{}\"",
            rule.matched_path
        ));
    }
    for lost in overruled.iter().filter(|r| r.capabilities.is_deny()) {
        notes.push(format!(
            "\"{}\" denies but does not decide: the more specific rule \"{}\" wins (denies override only rules naming the same path)",
            lost.pattern, rule.pattern
        ));
    }
    if !rule.conditions.is_empty() {
        notes.push(format!(
            "\"{}\" also constrains request parameters or response wrapping: a request must meet them",
            rule.pattern
        ));
    }
    notes
}
