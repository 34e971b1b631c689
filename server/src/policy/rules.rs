//! Interprets parsed path blocks as ACL rules: path kind, capabilities,
//! parameter constraints and wrapping TTL bounds, with Vault's validation.

use std::time::Duration;

use serde_json::Value;

use super::capability::{Capabilities, Capability};
use super::error::{Location, ParseError};
use super::params::{ParameterRules, ValueMap};
use super::parse::{RawAttr, RawPath, RawPolicy};

/// How a rule's path is matched against request paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PathKind {
    /// The path must be equal.
    Exact,
    /// The path ended in `*` (stripped here): a prefix match.
    Prefix,
    /// The path has `+` segments (and may end in `*`, kept here).
    Segments,
}

/// One rule of one policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PathRule {
    pub path: String,
    pub kind: PathKind,
    pub permissions: Permissions,
    /// The path exactly as the policy wrote it, and its line (HCL only), for explanations.
    pub written: String,
    pub line: Option<usize>,
}

/// What a rule grants; merged across policies that name the same path.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Permissions {
    pub capabilities: Capabilities,
    pub min_wrapping_ttl: Option<Duration>,
    pub max_wrapping_ttl: Option<Duration>,
    pub parameters: ParameterRules,
}

impl Permissions {
    /// Merges another policy's rule for the same path, as Vault does: a deny
    /// anywhere leaves only the deny; otherwise capabilities are unioned, the
    /// lower wrapping TTL bounds win and parameter constraints are merged.
    pub fn merge(&mut self, other: &Permissions) {
        if self.capabilities.is_deny() || other.capabilities.is_deny() {
            *self = Permissions {
                capabilities: Capabilities::DENY,
                ..Permissions::default()
            };
            return;
        }
        self.capabilities = self.capabilities.union(other.capabilities);
        self.min_wrapping_ttl = lower(self.min_wrapping_ttl, other.min_wrapping_ttl);
        self.max_wrapping_ttl = lower(self.max_wrapping_ttl, other.max_wrapping_ttl);
        self.parameters.merge(&other.parameters);
    }
}

fn lower(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

const PATH_KEYS: &str = "capabilities, policy, allowed_parameters, denied_parameters, \
                         required_parameters, min_wrapping_ttl, max_wrapping_ttl, comment";

/// Vault keys Cofre rejects rather than silently ignoring a restriction.
const UNSUPPORTED_KEYS: [&str; 5] = [
    "mfa_methods",
    "control_group",
    "expiration",
    "pagination_limit",
    "list_scan_response_keys_filter_path",
];

/// Capabilities other Vault versions know that Cofre accepts and ignores.
const IGNORED_CAPABILITIES: [&str; 3] = ["subscribe", "recover", "scan"];

/// Compiles every path block of a policy.
pub(crate) fn compile(raw: &RawPolicy) -> Result<Vec<PathRule>, ParseError> {
    raw.paths.iter().map(compile_path).collect()
}

fn compile_path(raw: &RawPath) -> Result<PathRule, ParseError> {
    let at = Location::new(raw.line, Some(&raw.path));
    let (path, kind) = classify(&raw.path, &at)?;
    let mut permissions = Permissions::default();
    let mut seen: Vec<&str> = Vec::new();
    for attr in &raw.attrs {
        let at = Location::new(attr.line.or(raw.line), Some(&raw.path));
        check_key(attr, &seen, &at)?;
        seen.push(&attr.key);
        apply(&mut permissions, attr, &at)?;
    }
    if permissions.capabilities.is_deny() {
        // Vault ignores everything else on a deny rule.
        permissions = Permissions {
            capabilities: Capabilities::DENY,
            ..Permissions::default()
        };
    }
    check_ttl_order(&permissions, &at)?;
    Ok(PathRule {
        path,
        kind,
        permissions,
        written: raw.path.clone(),
        line: raw.line,
    })
}

/// Strips a leading `/` and decides how the path matches, as Vault does.
fn classify(path: &str, at: &Location) -> Result<(String, PathKind), ParseError> {
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.contains("+*") {
        return Err(ParseError::invalid(
            at,
            "invalid use of wildcards ('+*' is forbidden)",
        ));
    }
    if path.contains("{{") {
        let message = "identity templating (`{{...}}`) in paths is not supported by Cofre";
        return Err(ParseError::invalid(at, message));
    }
    if path == "+" || path.starts_with("+/") || path.contains("/+") {
        return Ok((path.to_owned(), PathKind::Segments));
    }
    match path.strip_suffix('*') {
        Some(prefix) => Ok((prefix.to_owned(), PathKind::Prefix)),
        None => Ok((path.to_owned(), PathKind::Exact)),
    }
}

fn check_key(attr: &RawAttr, seen: &[&str], at: &Location) -> Result<(), ParseError> {
    if UNSUPPORTED_KEYS.contains(&attr.key.as_str()) {
        return Err(ParseError::Unsupported {
            at: at.clone(),
            key: attr.key.clone(),
        });
    }
    if seen.contains(&attr.key.as_str()) {
        return Err(ParseError::invalid(
            at,
            format!("\"{}\" is set twice", attr.key),
        ));
    }
    Ok(())
}

fn apply(permissions: &mut Permissions, attr: &RawAttr, at: &Location) -> Result<(), ParseError> {
    let value = &attr.value;
    match attr.key.as_str() {
        "comment" => {}
        "capabilities" => {
            permissions.capabilities = permissions.capabilities.union(capabilities(value, at)?)
        }
        "policy" => {
            permissions.capabilities = permissions.capabilities.union(shorthand(value, at)?)
        }
        "allowed_parameters" => permissions.parameters.allowed = value_map(value, &attr.key, at)?,
        "denied_parameters" => permissions.parameters.denied = value_map(value, &attr.key, at)?,
        "required_parameters" => permissions.parameters.required = required(value, at)?,
        "min_wrapping_ttl" => permissions.min_wrapping_ttl = wrapping_ttl(value, &attr.key, at)?,
        "max_wrapping_ttl" => permissions.max_wrapping_ttl = wrapping_ttl(value, &attr.key, at)?,
        _ => {
            return Err(ParseError::UnknownKey {
                at: at.clone(),
                key: attr.key.clone(),
                expected: PATH_KEYS,
            })
        }
    }
    Ok(())
}

fn strings<'a>(value: &'a Value, key: &str, at: &Location) -> Result<Vec<&'a str>, ParseError> {
    let message = || format!("\"{key}\" must be a list of strings, like [\"read\", \"list\"]");
    let items = value
        .as_array()
        .ok_or_else(|| ParseError::invalid(at, message()))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .ok_or_else(|| ParseError::invalid(at, message()))
        })
        .collect()
}

fn capabilities(value: &Value, at: &Location) -> Result<Capabilities, ParseError> {
    let mut set = Capabilities::NONE;
    for name in strings(value, "capabilities", at)? {
        if IGNORED_CAPABILITIES.contains(&name) {
            continue;
        }
        let capability = name
            .parse::<Capability>()
            .map_err(|_| ParseError::UnknownCapability {
                at: at.clone(),
                capability: name.to_owned(),
            })?;
        set.insert(capability);
    }
    Ok(set)
}

/// The legacy `policy = "..."` shorthand.
fn shorthand(value: &Value, at: &Location) -> Result<Capabilities, ParseError> {
    use Capability::{Create, Delete, Deny, List, Read, Sudo, Update};
    let granted: &[Capability] = match value.as_str() {
        Some("deny") => &[Deny],
        Some("read") => &[Read, List],
        Some("write") => &[Create, Read, Update, Delete, List],
        Some("sudo") => &[Create, Read, Update, Delete, List, Sudo],
        _ => {
            let message = format!(
                "invalid policy {value}: expected \"deny\", \"read\", \"write\" or \"sudo\""
            );
            return Err(ParseError::invalid(at, message));
        }
    };
    Ok(granted.iter().copied().collect())
}

/// A `{ "key" = [values] }` map; HCL1's JSON form may wrap it in a list.
fn value_map(value: &Value, key: &str, at: &Location) -> Result<ValueMap, ParseError> {
    let objects: Vec<&serde_json::Map<String, Value>> = match value {
        Value::Object(map) => vec![map],
        Value::Array(items) if items.iter().all(Value::is_object) => {
            items.iter().filter_map(Value::as_object).collect()
        }
        _ => {
            let message = format!("\"{key}\" must be a map of parameter names to value lists, like {{ \"ttl\" = [] }}");
            return Err(ParseError::invalid(at, message));
        }
    };
    let mut map = ValueMap::new();
    for (name, values) in objects.into_iter().flatten() {
        let values = match values {
            Value::Array(items) => items.clone(),
            single => vec![single.clone()],
        };
        map.entry(name.to_lowercase()).or_default().extend(values);
    }
    Ok(map)
}

fn required(value: &Value, at: &Location) -> Result<Vec<String>, ParseError> {
    let names = strings(value, "required_parameters", at)?;
    Ok(names.into_iter().map(str::to_lowercase).collect())
}

fn wrapping_ttl(value: &Value, key: &str, at: &Location) -> Result<Option<Duration>, ParseError> {
    let parsed = match value {
        Value::Number(n) => n.as_u64().map(Duration::from_secs),
        Value::String(s) => parse_duration(s),
        _ => None,
    };
    let ttl = parsed.ok_or_else(|| {
        let message =
            format!("\"{key}\" must be a duration like \"5m\" or a number of seconds, got {value}");
        ParseError::invalid(at, message)
    })?;
    Ok(Some(ttl).filter(|ttl| !ttl.is_zero()))
}

fn check_ttl_order(permissions: &Permissions, at: &Location) -> Result<(), ParseError> {
    match (permissions.min_wrapping_ttl, permissions.max_wrapping_ttl) {
        (Some(min), Some(max)) if max < min => Err(ParseError::invalid(
            at,
            "max_wrapping_ttl cannot be less than min_wrapping_ttl",
        )),
        _ => Ok(()),
    }
}

/// Parses seconds (`"300"`) or a Go-style duration (`"1h30m"`, `"1.5h"`, `"2d"`).
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Duration::ZERO);
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        total += number * unit_seconds(&rest[..unit_len])?;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).ok()
}

fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5 minutes"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("-5s"), None);
    }

    #[test]
    fn classifies_paths_like_vault() {
        let at = Location::default();
        let kind = |p: &str| classify(p, &at);
        assert_eq!(kind("/secret/*"), Ok(("secret/".into(), PathKind::Prefix)));
        assert_eq!(
            kind("secret/+/x*"),
            Ok(("secret/+/x*".into(), PathKind::Segments))
        );
        assert_eq!(kind("+"), Ok(("+".into(), PathKind::Segments)));
        assert_eq!(kind("a+b/c"), Ok(("a+b/c".into(), PathKind::Exact)));
        assert_eq!(kind("*"), Ok(("".into(), PathKind::Prefix)));
        assert!(kind("secret/+*").is_err());
        assert!(kind("identity/{{identity.entity.id}}").is_err());
    }

    #[test]
    fn merge_with_deny_keeps_only_deny() {
        let mut read = Permissions {
            capabilities: [Capability::Read].into_iter().collect(),
            max_wrapping_ttl: Some(Duration::from_secs(60)),
            ..Permissions::default()
        };
        let deny = Permissions {
            capabilities: Capabilities::DENY,
            ..Permissions::default()
        };
        read.merge(&deny);
        assert_eq!(read, deny);
    }

    #[test]
    fn merge_takes_lower_ttls() {
        let ttl = |min: u64, max: u64| Permissions {
            min_wrapping_ttl: Some(Duration::from_secs(min)),
            max_wrapping_ttl: Some(Duration::from_secs(max)),
            ..Permissions::default()
        };
        let mut a = ttl(10, 100);
        a.merge(&ttl(5, 200));
        assert_eq!(a, ttl(5, 100));
    }
}
