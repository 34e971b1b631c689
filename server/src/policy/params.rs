//! Request-parameter constraints of a path rule: required, denied and
//! allowed parameters, with Vault's merge and check semantics.
//!
//! Keys of `allowed_parameters`/`denied_parameters` are case-insensitive
//! (stored lowercased); an empty value list means "any value". String values
//! may use a leading and/or trailing `*` glob, as in Vault.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::acl::Denied;

/// Parameter key → permitted (or forbidden) values; an empty list means any value.
pub(crate) type ValueMap = HashMap<String, Vec<Value>>;

/// The parameter constraints of one (merged) path rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ParameterRules {
    /// Empty means every parameter is allowed.
    pub allowed: ValueMap,
    pub denied: ValueMap,
    /// Lowercased names that must be present in the request.
    pub required: Vec<String>,
}

impl ParameterRules {
    /// Merges the rules of another policy on the same path, as Vault does:
    /// value lists are concatenated, and an empty list ("any value") wins.
    pub fn merge(&mut self, other: &ParameterRules) {
        merge_values(&mut self.allowed, &other.allowed);
        merge_values(&mut self.denied, &other.denied);
        for name in &other.required {
            if !self.required.contains(name) {
                self.required.push(name.clone());
            }
        }
    }

    /// Checks a request's parameters against these rules.
    pub fn check(&self, params: &Map<String, Value>) -> Result<(), Denied> {
        if let Some(missing) = self
            .required
            .iter()
            .find(|name| !params.contains_key(*name))
        {
            return Err(Denied::MissingParameter(missing.clone()));
        }
        if params.is_empty() {
            return Ok(());
        }
        self.check_denied(params)?;
        self.check_allowed(params)
    }

    fn check_denied(&self, params: &Map<String, Value>) -> Result<(), Denied> {
        if self.denied.is_empty() {
            return Ok(());
        }
        if self.denied.contains_key("*") {
            let first = params.keys().next().cloned().unwrap_or_default();
            return Err(Denied::DeniedParameter(first));
        }
        for (key, value) in params {
            if lookup(&self.denied, key).is_some_and(|list| value_in_list(value, list)) {
                return Err(Denied::DeniedParameter(key.clone()));
            }
        }
        Ok(())
    }

    fn check_allowed(&self, params: &Map<String, Value>) -> Result<(), Denied> {
        if self.allowed.is_empty() {
            return Ok(());
        }
        let allows_any_key = self.allowed.contains_key("*");
        if allows_any_key && self.allowed.len() == 1 {
            return Ok(());
        }
        for (key, value) in params {
            match lookup(&self.allowed, key) {
                None if allows_any_key => {}
                None => return Err(Denied::ParameterNotAllowed(key.clone())),
                Some(list) if !value_in_list(value, list) => {
                    return Err(Denied::ValueNotAllowed(key.clone()));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

fn merge_values(into: &mut ValueMap, from: &ValueMap) {
    for (key, values) in from {
        let existing = into.get(key);
        let merged = if values.is_empty() || existing.is_some_and(Vec::is_empty) {
            Vec::new()
        } else {
            let mut merged = values.clone();
            merged.extend(existing.into_iter().flatten().cloned());
            merged
        };
        into.insert(key.clone(), merged);
    }
}

/// Case-insensitive lookup that allocates only for keys with capitals.
fn lookup<'a>(map: &'a ValueMap, key: &str) -> Option<&'a Vec<Value>> {
    if key.chars().any(char::is_uppercase) {
        map.get(&key.to_lowercase())
    } else {
        map.get(key)
    }
}

fn value_in_list(value: &Value, list: &[Value]) -> bool {
    list.is_empty() || list.iter().any(|pattern| value_matches(pattern, value))
}

fn value_matches(pattern: &Value, value: &Value) -> bool {
    match (pattern, value) {
        (Value::String(pattern), Value::String(value)) => glob_matches(pattern, value),
        (Value::Number(pattern), Value::Number(value)) => numbers_equal(pattern, value),
        _ => pattern == value,
    }
}

/// Numbers compare by value, so `5` in a policy matches `5` or `5.0` in JSON.
fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(a), Some(b)) => a == b,
        _ => a.as_f64() == b.as_f64(),
    }
}

/// Vault's value globs: `*x*` contains, `*x` suffix, `x*` prefix, else equal.
pub(crate) fn glob_matches(pattern: &str, value: &str) -> bool {
    if pattern.len() < 2 {
        return pattern == value;
    }
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(rest), Some(_)) => value.contains(&rest[..rest.len() - 1]),
        (Some(suffix), None) => value.ends_with(suffix),
        (None, Some(prefix)) => value.starts_with(prefix),
        (None, None) => pattern == value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(allowed: Value, denied: Value, required: &[&str]) -> ParameterRules {
        let to_map = |v: Value| -> ValueMap { serde_json::from_value(v).unwrap_or_default() };
        ParameterRules {
            allowed: to_map(allowed),
            denied: to_map(denied),
            required: required.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn globs_like_vault() {
        assert!(glob_matches("foo-*", "foo-bar"));
        assert!(!glob_matches("foo-*", "bar-foo"));
        assert!(glob_matches("*-prod", "db-prod"));
        assert!(glob_matches("*mid*", "a-mid-b"));
        assert!(glob_matches("*", "*"));
        assert!(!glob_matches("*", "x"));
        assert!(glob_matches("**", "anything"));
        assert!(glob_matches("exact", "exact"));
    }

    #[test]
    fn required_parameters_must_be_present() {
        let r = rules(json!({}), json!({}), &["ttl"]);
        assert_eq!(
            r.check(&params(json!({}))),
            Err(Denied::MissingParameter("ttl".into()))
        );
        assert_eq!(r.check(&params(json!({"ttl": "1h"}))), Ok(()));
    }

    #[test]
    fn denied_parameters() {
        let r = rules(json!({}), json!({"secret": [], "env": ["prod-*"]}), &[]);
        assert_eq!(
            r.check(&params(json!({"Secret": "x"}))),
            Err(Denied::DeniedParameter("Secret".into()))
        );
        assert!(r.check(&params(json!({"env": "prod-eu"}))).is_err());
        assert_eq!(r.check(&params(json!({"env": "dev"}))), Ok(()));
        let all = rules(json!({}), json!({"*": []}), &[]);
        assert!(all.check(&params(json!({"a": 1}))).is_err());
        assert_eq!(all.check(&params(json!({}))), Ok(()));
    }

    #[test]
    fn allowed_parameters() {
        let r = rules(
            json!({"name": [], "size": [1, "small"], "tag": ["team-*"]}),
            json!({}),
            &[],
        );
        assert_eq!(r.check(&params(json!({"name": "x", "size": 1.0}))), Ok(()));
        assert_eq!(r.check(&params(json!({"tag": "team-a"}))), Ok(()));
        assert_eq!(
            r.check(&params(json!({"other": 1}))),
            Err(Denied::ParameterNotAllowed("other".into()))
        );
        assert_eq!(
            r.check(&params(json!({"size": "1"}))),
            Err(Denied::ValueNotAllowed("size".into()))
        );
        let any = rules(json!({"*": [], "size": ["small"]}), json!({}), &[]);
        assert_eq!(any.check(&params(json!({"other": true}))), Ok(()));
        assert!(any.check(&params(json!({"size": "big"}))).is_err());
    }

    #[test]
    fn denied_is_checked_before_allowed() {
        let r = rules(json!({"*": []}), json!({"key": []}), &[]);
        assert_eq!(
            r.check(&params(json!({"key": 1}))),
            Err(Denied::DeniedParameter("key".into()))
        );
    }

    #[test]
    fn merge_concatenates_and_empty_wins() {
        let mut a = rules(json!({"x": ["1"], "y": ["a"]}), json!({"d": ["v"]}), &["r"]);
        let b = rules(json!({"x": ["2"], "y": []}), json!({"d": []}), &["r", "s"]);
        a.merge(&b);
        assert_eq!(a.allowed["x"].len(), 2);
        assert!(a.allowed["y"].is_empty());
        assert!(a.denied["d"].is_empty());
        assert_eq!(a.required, ["r", "s"]);
    }
}
