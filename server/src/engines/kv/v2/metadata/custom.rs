//! `custom_metadata`: user-supplied string pairs on a key, with Vault's limits (64 keys,
//! keys up to 128 bytes, values up to 512, printable text). A write replaces the map; a
//! patch merges into it, a null value removing that key; a null map clears it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::core::fields;
use crate::core::RequestError;

const MAX_KEYS: usize = 64;
const MAX_KEY_LENGTH: usize = 128;
const MAX_VALUE_LENGTH: usize = 512;
const PREFIX: &str = "custom_metadata validation failed";

/// What a request asks of `custom_metadata`.
#[derive(Debug, PartialEq)]
pub enum CustomMetadataChange {
    /// `"custom_metadata": null`.
    Clear,
    /// The given pairs; `None` values (patch only) remove their key.
    Set(BTreeMap<String, Option<String>>),
}

impl CustomMetadataChange {
    /// Reads and validates the field; `None` when absent.
    pub fn parse(data: &Map<String, Value>, patch: bool) -> Result<Option<Self>, RequestError> {
        let map = match data.get("custom_metadata") {
            None => return Ok(None),
            Some(Value::Null) => return Ok(Some(Self::Clear)),
            Some(Value::Object(map)) => map,
            Some(other) => {
                let detail = format!("expected a JSON object, got {}", fields::type_name(other));
                return Err(fields::conversion_error("custom_metadata", detail));
            }
        };
        let pairs = map
            .iter()
            .map(|(key, value)| Ok((key.clone(), as_text(key, value, patch)?)))
            .collect::<Result<BTreeMap<_, _>, RequestError>>()?;
        validate(
            pairs.iter().filter_map(|(k, v)| Some((k, v.as_ref()?))),
            pairs.len(),
        )?;
        Ok(Some(Self::Set(pairs)))
    }

    /// Applies the change to a key's map (`patch`: merge, else replace).
    pub fn apply(
        self,
        current: &mut BTreeMap<String, String>,
        patch: bool,
    ) -> Result<(), RequestError> {
        let pairs = match self {
            Self::Clear => {
                current.clear();
                return Ok(());
            }
            Self::Set(pairs) => pairs,
        };
        if !patch {
            current.clear();
        }
        for (key, value) in pairs {
            match value {
                Some(value) => current.insert(key, value),
                None => current.remove(&key),
            };
        }
        if current.len() > MAX_KEYS {
            return Err(too_many(current.len()));
        }
        Ok(())
    }
}

/// A value as Vault's weak decoding reads it: strings as is, numbers and booleans as text,
/// null as removal in a patch (and as an empty, invalid, value otherwise).
fn as_text(key: &str, value: &Value, patch: bool) -> Result<Option<String>, RequestError> {
    match value {
        Value::Null if patch => Ok(None),
        Value::Null => Ok(Some(String::new())),
        Value::String(text) => Ok(Some(text.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(if *b { "1" } else { "0" }.to_string())),
        other => Err(RequestError::invalid(format!(
            "{PREFIX}: value for key {key:?} must be a string, got {}",
            fields::type_name(other)
        ))),
    }
}

fn too_many(count: usize) -> RequestError {
    RequestError::invalid(format!(
        "{PREFIX}: payload must contain at most {MAX_KEYS} keys, provided {count}"
    ))
}

/// Vault's checks, all problems reported at once.
fn validate<'a>(
    pairs: impl Iterator<Item = (&'a String, &'a String)>,
    count: usize,
) -> Result<(), RequestError> {
    if count > MAX_KEYS {
        return Err(too_many(count));
    }
    let mut problems = Vec::new();
    for (key, value) in pairs {
        if key.is_empty() || key.len() > MAX_KEY_LENGTH {
            problems.push(format!(
                "{PREFIX}: length of key {key:?} is {} but must be 0 < len(key) <= \
                 {MAX_KEY_LENGTH}",
                key.len()
            ));
        }
        if value.is_empty() || value.len() > MAX_VALUE_LENGTH {
            problems.push(format!(
                "{PREFIX}: length of value for key {key:?} is {} but must be 0 < len(value) \
                 <= {MAX_VALUE_LENGTH}",
                value.len()
            ));
        }
        if !printable(key) {
            problems.push(format!(
                "{PREFIX}: key {key:?} contains unprintable characters"
            ));
        }
        if !printable(value) {
            problems.push(format!(
                "{PREFIX}: value for key {key:?} contains unprintable characters"
            ));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(RequestError::invalid(problems.join("; "))),
    }
}

/// Go's `unicode.IsPrint` for every character: no control characters, and no whitespace
/// other than the ASCII space.
fn printable(text: &str) -> bool {
    text.chars()
        .all(|c| !c.is_control() && (c == ' ' || !c.is_whitespace()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value, patch: bool) -> Result<Option<CustomMetadataChange>, RequestError> {
        let data = match json!({ "custom_metadata": value }) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        CustomMetadataChange::parse(&data, patch)
    }

    fn message(result: Result<Option<CustomMetadataChange>, RequestError>) -> String {
        match result {
            Err(RequestError::InvalidRequest(message)) => message,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn values_are_read_as_text() {
        let parsed = parse(json!({"a": "x", "n": 5, "b": true}), false);
        let expected: BTreeMap<String, Option<String>> = [
            ("a".to_string(), Some("x".to_string())),
            ("b".to_string(), Some("1".to_string())),
            ("n".to_string(), Some("5".to_string())),
        ]
        .into();
        assert_eq!(parsed.ok(), Some(Some(CustomMetadataChange::Set(expected))));
        assert_eq!(
            parse(Value::Null, false).ok(),
            Some(Some(CustomMetadataChange::Clear))
        );
    }

    #[test]
    fn vaults_limits_are_enforced() {
        assert!(message(parse(json!({"k": ""}), false)).contains("length of value"));
        assert!(message(parse(json!({"k": null}), false)).contains("length of value"));
        assert!(message(parse(json!({"k": {"a": 1}}), false)).contains("must be a string"));
        assert!(message(parse(json!({"k": "a\tb"}), false)).contains("unprintable"));
        let long_key = "k".repeat(129);
        assert!(message(parse(json!({ long_key: "v" }), false)).contains("length of key"));
        let many: Map<String, Value> = (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(message(parse(Value::Object(many), false)).contains("at most 64 keys"));
        assert!(message(parse(json!("text"), false)).contains("custom_metadata"));
    }

    #[test]
    fn patches_merge_and_remove() {
        let mut current: BTreeMap<String, String> = [
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ]
        .into();
        let change = parse(json!({"a": null, "c": "3"}), true).ok().flatten();
        assert!(change.map(|c| c.apply(&mut current, true)).is_some());
        assert_eq!(current.keys().collect::<Vec<_>>(), ["b", "c"]);
        let change = parse(json!({"z": "9"}), false).ok().flatten();
        assert!(change.map(|c| c.apply(&mut current, false)).is_some());
        assert_eq!(current.keys().collect::<Vec<_>>(), ["z"]);
    }
}
