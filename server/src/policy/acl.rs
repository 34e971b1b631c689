//! The compiled union of a token's policies, answering "may this request
//! proceed?" without allocating on the allowed path.
//!
//! Rules naming the same path are merged when the ACL is built. At request
//! time one rule decides, as in Vault: an exact rule wins; otherwise the
//! highest-priority matching prefix (`*`) or segment (`+`) rule. Capabilities
//! of different matching rules are never combined.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::capability::{Capabilities, Capability};
use super::explain::RuleSource;
use super::rules::{PathKind, Permissions};
use super::Policy;

/// Why a request was refused. Every message starts with "permission denied".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// No rule grants the capability (or a rule denies it).
    #[error("permission denied")]
    Permission,
    #[error("permission denied: this operation requires the sudo capability")]
    SudoRequired,
    #[error("permission denied: missing required parameter \"{0}\"")]
    MissingParameter(String),
    #[error("permission denied: parameter \"{0}\" is denied by policy")]
    DeniedParameter(String),
    #[error("permission denied: parameter \"{0}\" is not allowed by policy")]
    ParameterNotAllowed(String),
    #[error("permission denied: this value of parameter \"{0}\" is not allowed by policy")]
    ValueNotAllowed(String),
    #[error("permission denied: this path requires response wrapping with a TTL within the policy's bounds")]
    WrappingRequired,
}

/// A compiled set of policies. Build it once per policy change and share it.
#[derive(Debug, Clone, Default)]
pub struct Acl {
    root: bool,
    exact: HashMap<Box<str>, Permissions>,
    /// Prefix rules sorted by path bytes, for longest-prefix search.
    prefixes: Vec<(Box<str>, Permissions)>,
    /// Segment-wildcard rules, highest priority first.
    segment_rules: Vec<SegmentRule>,
    /// Which policies' rules were merged into each rule, keyed by the rule's pattern
    /// (prefix rules with their `*`). Read only by [`Acl::explain`], never by checks.
    pub(super) sources: HashMap<Box<str>, Vec<RuleSource>>,
}

/// What the matcher found for a path: the deciding rule and how it matched. Checks use
/// its permissions; [`Acl::explain`] reports the rest, so the two cannot disagree.
#[derive(Clone, Copy)]
pub(super) struct Matched<'a> {
    pub kind: PathKind,
    /// The rule's pattern as written in [`Acl::sources`]' keys, without a prefix's `*`.
    pub path: &'a str,
    pub permissions: &'a Permissions,
    /// A list request matched through the path without its trailing slash.
    pub list_fallback: bool,
}

impl Matched<'_> {
    fn fallback(self) -> Self {
        Matched {
            list_fallback: true,
            ..self
        }
    }

    /// The rule's pattern with a prefix rule's `*` restored, as `sources` keys it.
    pub fn pattern(&self) -> String {
        pattern(self.kind, self.path)
    }
}

/// A rule's pattern as policies write it (a prefix rule regains its `*`).
pub(super) fn pattern(kind: PathKind, path: &str) -> String {
    match kind {
        PathKind::Prefix => format!("{path}*"),
        PathKind::Exact | PathKind::Segments => path.to_owned(),
    }
}

#[derive(Debug, Clone)]
pub(super) struct SegmentRule {
    /// The rule's path as written (with a trailing `*` if any).
    pub pattern: Box<str>,
    /// The path without its trailing `*`.
    path: Box<str>,
    segments: Vec<Segment>,
    is_prefix: bool,
    first_wildcard: usize,
    wildcards: usize,
    permissions: Permissions,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Any,
    Literal(Box<str>),
}

/// Vault's priority among non-exact matches; greater wins. Fields compare
/// in order: later first wildcard, not a prefix, fewer `+`, longer, larger.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Priority<'a> {
    first_wildcard: usize,
    not_prefix: bool,
    fewer_wildcards: Reverse<usize>,
    length: usize,
    path: &'a str,
}

impl SegmentRule {
    fn new(full_path: &str, permissions: Permissions) -> SegmentRule {
        let (path, is_prefix) = match full_path.strip_suffix('*') {
            Some(path) => (path, true),
            None => (full_path, false),
        };
        let segments: Vec<Segment> = path
            .split('/')
            .map(|part| match part {
                "+" => Segment::Any,
                literal => Segment::Literal(literal.into()),
            })
            .collect();
        SegmentRule {
            pattern: full_path.into(),
            path: path.into(),
            wildcards: segments.iter().filter(|s| **s == Segment::Any).count(),
            segments,
            is_prefix,
            first_wildcard: full_path.find('+').unwrap_or(0),
            permissions,
        }
    }

    fn priority(&self) -> Priority<'_> {
        Priority {
            first_wildcard: self.first_wildcard,
            not_prefix: !self.is_prefix,
            fewer_wildcards: Reverse(self.wildcards),
            length: self.path.len(),
            path: &self.path,
        }
    }

    pub fn matches(&self, path: &str, path_segments: usize) -> bool {
        let wanted = self.segments.len();
        if path_segments < wanted || (!self.is_prefix && path_segments != wanted) {
            return false;
        }
        let last = wanted - 1;
        self.segments
            .iter()
            .zip(path.split('/'))
            .enumerate()
            .all(|(i, (segment, part))| match segment {
                Segment::Any => true,
                Segment::Literal(literal) if self.is_prefix && i == last => {
                    part.starts_with(&**literal)
                }
                Segment::Literal(literal) => **literal == *part,
            })
    }
}

impl SegmentRule {
    /// Whether the rule's first segments match every segment of `mount`.
    fn covers_mount(&self, mount: &str) -> bool {
        let parts = mount.split('/').count();
        if self.segments.len() < parts {
            return false;
        }
        let last = self.segments.len() - 1;
        self.segments
            .iter()
            .zip(mount.split('/'))
            .enumerate()
            .all(|(i, (segment, part))| match segment {
                Segment::Any => true,
                Segment::Literal(literal) => {
                    **literal == *part
                        || (self.is_prefix && i == last && part.starts_with(&**literal))
                }
            })
    }
}

fn prefix_priority(prefix: &str) -> Priority<'_> {
    Priority {
        first_wildcard: prefix.len(),
        not_prefix: false,
        fewer_wildcards: Reverse(0),
        length: prefix.len(),
        path: prefix,
    }
}

impl Acl {
    /// Compiles the union of `policies`. No policies grants nothing. The name
    /// "root" is not special here: use [`Acl::root`] for the root token.
    pub fn new(policies: &[Arc<Policy>]) -> Acl {
        let mut merged: HashMap<(PathKind, &str), Permissions> = HashMap::new();
        let mut acl = Acl::default();
        for policy in policies {
            for rule in &policy.rules {
                merged
                    .entry((rule.kind, rule.path.as_str()))
                    .and_modify(|existing| existing.merge(&rule.permissions))
                    .or_insert_with(|| rule.permissions.clone());
                acl.sources
                    .entry(pattern(rule.kind, &rule.path).into())
                    .or_default()
                    .push(RuleSource::new(&policy.name, rule));
            }
        }
        for ((kind, path), permissions) in merged {
            match kind {
                PathKind::Exact => {
                    acl.exact.insert(path.into(), permissions);
                }
                PathKind::Prefix => acl.prefixes.push((path.into(), permissions)),
                PathKind::Segments => acl.segment_rules.push(SegmentRule::new(path, permissions)),
            }
        }
        acl.prefixes.sort_by(|a, b| a.0.cmp(&b.0));
        acl.segment_rules
            .sort_by(|a, b| b.priority().cmp(&a.priority()));
        acl
    }

    /// The root policy: every capability on every path, including sudo.
    pub fn root() -> Acl {
        Acl {
            root: true,
            ..Acl::default()
        }
    }

    pub fn is_root(&self) -> bool {
        self.root
    }

    /// Capabilities granted on `path` (no leading slash needed), as Vault's
    /// `sys/capabilities` computes them. A deny on the winning rule yields
    /// only `Deny`; no matching rule yields the empty set.
    pub fn capabilities(&self, path: &str) -> Capabilities {
        if self.root {
            return Capabilities::ROOT;
        }
        self.find(trim_slashes(path), true)
            .map_or(Capabilities::NONE, |found| found.permissions.capabilities)
    }

    /// Full check for a request: capability, sudo if `needs_sudo`, and the
    /// parameter constraints (for read, create, update and patch). A rule
    /// with wrapping TTL bounds refuses unwrapped requests: see
    /// [`Acl::check_wrapped`].
    pub fn check(
        &self,
        path: &str,
        cap: Capability,
        needs_sudo: bool,
        params: &Map<String, Value>,
    ) -> Result<(), Denied> {
        self.check_wrapped(path, cap, needs_sudo, params, None)
    }

    /// [`Acl::check`] for a request that asks for response wrapping with
    /// `wrap_ttl`, checked against the rule's `min/max_wrapping_ttl`.
    pub fn check_wrapped(
        &self,
        path: &str,
        cap: Capability,
        needs_sudo: bool,
        params: &Map<String, Value>,
        wrap_ttl: Option<Duration>,
    ) -> Result<(), Denied> {
        if self.root {
            return Ok(());
        }
        let permissions = self
            .find(trim_slashes(path), cap == Capability::List)
            .ok_or(Denied::Permission)?
            .permissions;
        grant(permissions.capabilities, cap, needs_sudo)?;
        check_wrapping(permissions, wrap_ttl)?;
        if matches!(
            cap,
            Capability::Read | Capability::Create | Capability::Update | Capability::Patch
        ) {
            permissions.parameters.check(params)?;
        }
        Ok(())
    }

    /// Whether anything at or below the mount `path` is granted, as Vault
    /// decides which mounts to show a token (`sys/internal/ui/mounts`).
    pub fn grants_anything_under(&self, path: &str) -> bool {
        if self.root {
            return true;
        }
        let path = trim_slashes(path);
        let granted = self.capabilities(path);
        if !granted.is_empty() && !granted.is_deny() {
            return true;
        }
        let mount = path.trim_end_matches('/');
        let below = format!("{mount}/");
        let under = |rule: &str| rule.starts_with(&below);
        let grants = |p: &Permissions| !p.capabilities.is_empty() && !p.capabilities.is_deny();
        self.exact.iter().any(|(rule, p)| under(rule) && grants(p))
            || self
                .prefixes
                .iter()
                .any(|(rule, p)| under(rule) && grants(p))
            || self
                .segment_rules
                .iter()
                .any(|rule| grants(&rule.permissions) && rule.covers_mount(mount))
    }

    /// The deciding rule for `path`. List requests also try the path without
    /// its trailing slash, as Vault does.
    pub(super) fn find(&self, path: &str, is_list: bool) -> Option<Matched<'_>> {
        let without_slash = path.strip_suffix('/').filter(|_| is_list);
        self.exact_rule(path)
            .or_else(|| {
                without_slash
                    .and_then(|p| self.exact_rule(p))
                    .map(Matched::fallback)
            })
            .or_else(|| self.non_exact(path))
            .or_else(|| {
                without_slash
                    .and_then(|p| self.non_exact(p))
                    .map(Matched::fallback)
            })
    }

    fn exact_rule(&self, path: &str) -> Option<Matched<'_>> {
        let (path, permissions) = self.exact.get_key_value(path)?;
        Some(Matched {
            kind: PathKind::Exact,
            path,
            permissions,
            list_fallback: false,
        })
    }

    fn non_exact(&self, path: &str) -> Option<Matched<'_>> {
        let mut best = self.longest_prefix(path).map(|(prefix, permissions)| {
            let found = Matched {
                kind: PathKind::Prefix,
                path: prefix,
                permissions,
                list_fallback: false,
            };
            (prefix_priority(prefix), found)
        });
        if self.segment_rules.is_empty() {
            return best.map(|(_, found)| found);
        }
        let path_segments = path.split('/').count();
        for rule in &self.segment_rules {
            let priority = rule.priority();
            if best.as_ref().is_some_and(|(winner, _)| *winner > priority) {
                break;
            }
            if rule.matches(path, path_segments) {
                let found = Matched {
                    kind: PathKind::Segments,
                    path: &rule.pattern,
                    permissions: &rule.permissions,
                    list_fallback: false,
                };
                best = Some((priority, found));
                break;
            }
        }
        best.map(|(_, found)| found)
    }

    /// Every rule that matches `path` (and, for a list, the path without its
    /// trailing slash), whether or not it decides: exact, then prefix, then
    /// segment rules in priority order. For explanations only.
    pub(super) fn all_matches(&self, path: &str, is_list: bool) -> Vec<Matched<'_>> {
        let without_slash = path.strip_suffix('/').filter(|_| is_list);
        let tried = std::iter::once((path, false)).chain(without_slash.map(|p| (p, true)));
        let mut found = Vec::new();
        for (candidate, list_fallback) in tried {
            let segments = candidate.split('/').count();
            let exact = self.exact_rule(candidate);
            let prefixes = self
                .prefixes
                .iter()
                .filter(|(prefix, _)| candidate.starts_with(&**prefix))
                .rev()
                .map(|(prefix, permissions)| Matched {
                    kind: PathKind::Prefix,
                    path: prefix,
                    permissions,
                    list_fallback: false,
                });
            let segment_rules = self
                .segment_rules
                .iter()
                .filter(|rule| rule.matches(candidate, segments))
                .map(|rule| Matched {
                    kind: PathKind::Segments,
                    path: &rule.pattern,
                    permissions: &rule.permissions,
                    list_fallback: false,
                });
            found.extend(
                exact
                    .into_iter()
                    .chain(prefixes)
                    .chain(segment_rules)
                    .map(|m| Matched { list_fallback, ..m }),
            );
        }
        found
    }

    /// The longest prefix rule that `path` starts with. The candidate is the
    /// greatest rule ≤ the path; if it is not a prefix, any answer must be a
    /// prefix of what the two share, so search again with that.
    fn longest_prefix(&self, path: &str) -> Option<(&str, &Permissions)> {
        let mut target = path.as_bytes();
        loop {
            let index = self
                .prefixes
                .partition_point(|(prefix, _)| prefix.as_bytes() <= target);
            let (prefix, permissions) = self.prefixes.get(index.checked_sub(1)?)?;
            if target.starts_with(prefix.as_bytes()) {
                return Some((prefix, permissions));
            }
            let shared = prefix
                .bytes()
                .zip(target)
                .take_while(|(a, b)| a == *b)
                .count();
            target = &target[..shared];
        }
    }
}

fn trim_slashes(path: &str) -> &str {
    path.trim_start_matches('/')
}

/// Whether the capabilities of the deciding rule allow `cap` (and sudo when
/// the path needs it). Shared by checks and explanations.
pub(super) fn grant(
    granted: Capabilities,
    cap: Capability,
    needs_sudo: bool,
) -> Result<(), Denied> {
    if cap == Capability::Deny || granted.is_deny() || !granted.contains(cap) {
        return Err(Denied::Permission);
    }
    if needs_sudo && !granted.contains(Capability::Sudo) {
        return Err(Denied::SudoRequired);
    }
    Ok(())
}

fn check_wrapping(permissions: &Permissions, wrap_ttl: Option<Duration>) -> Result<(), Denied> {
    let too_long = permissions
        .max_wrapping_ttl
        .is_some_and(|max| wrap_ttl.is_none_or(|ttl| ttl > max));
    let too_short = permissions
        .min_wrapping_ttl
        .is_some_and(|min| wrap_ttl.is_none_or(|ttl| ttl < min));
    if too_long || too_short {
        return Err(Denied::WrappingRequired);
    }
    Ok(())
}
