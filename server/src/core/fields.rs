//! Reading typed fields from a request's data as Vault's framework does: a JSON value of
//! the right type, or a string (query parameters and form bodies arrive as strings).
//! An empty string counts as absent. Errors are 400s naming the field.

use serde_json::{Map, Value};

use super::RequestError;
use crate::duration::parse_duration;

/// `error converting input for field "<name>": <detail>`, Vault's wording.
pub fn conversion_error(name: &str, detail: impl std::fmt::Display) -> RequestError {
    RequestError::invalid(format!(
        "error converting input for field \"{name}\": {detail}"
    ))
}

/// The field's value, `None` when absent, null or an empty string.
fn present<'a>(data: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    match data.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(value) => Some(value),
    }
}

/// An integer (JSON integer or decimal string).
pub fn int(data: &Map<String, Value>, name: &str) -> Result<Option<i64>, RequestError> {
    let Some(value) = present(data, name) else {
        return Ok(None);
    };
    let parsed = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed
        .map(Some)
        .ok_or_else(|| conversion_error(name, format!("cannot parse {value} as an integer")))
}

/// A non-negative integer that fits Vault's 32-bit counters (`max_versions`).
pub fn count(data: &Map<String, Value>, name: &str) -> Result<Option<u64>, RequestError> {
    match int(data, name)? {
        None => Ok(None),
        Some(n) if (0..=i64::from(u32::MAX)).contains(&n) => Ok(Some(n as u64)),
        Some(n) => Err(conversion_error(
            name,
            format!("{n} is out of range: it must be between 0 and {}", u32::MAX),
        )),
    }
}

/// A boolean (JSON bool, a number, or "true"/"false"/"1"/"0"/"t"/"f").
pub fn boolean(data: &Map<String, Value>, name: &str) -> Result<Option<bool>, RequestError> {
    let Some(value) = present(data, name) else {
        return Ok(None);
    };
    let parsed = match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_f64() != Some(0.0)),
        Value::String(s) => match s.trim() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
            _ => None,
        },
        _ => None,
    };
    parsed
        .map(Some)
        .ok_or_else(|| conversion_error(name, format!("cannot parse {value} as a boolean")))
}

/// A duration in whole seconds, possibly negative: a number of seconds or a string such as
/// "30s", "1h30m", "-1s", "7d" or "3600".
pub fn signed_seconds(data: &Map<String, Value>, name: &str) -> Result<Option<i64>, RequestError> {
    let Some(value) = present(data, name) else {
        return Ok(None);
    };
    let bad = |detail: String| conversion_error(name, detail);
    match value {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(seconds), _) => Ok(Some(seconds)),
            (None, Some(seconds)) if seconds.abs() < 9.2e9 => Ok(Some(seconds.trunc() as i64)),
            _ => Err(bad(format!("{n} is not a valid duration"))),
        },
        Value::String(s) => {
            let text = s.trim();
            let (negative, magnitude) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text),
            };
            let seconds = parse_duration(magnitude).map_err(|e| bad(e.to_string()))?;
            let seconds = i64::try_from(seconds.as_secs())
                .map_err(|_| bad(format!("{text:?} is too long")))?;
            Ok(Some(if negative { -seconds } else { seconds }))
        }
        other => Err(bad(format!("cannot parse {other} as a duration"))),
    }
}

/// A non-negative duration in seconds (Vault's `TypeDurationSecond`).
pub fn seconds(data: &Map<String, Value>, name: &str) -> Result<Option<u64>, RequestError> {
    match signed_seconds(data, name)? {
        None => Ok(None),
        Some(s) if s >= 0 => Ok(Some(s as u64)),
        Some(s) => Err(conversion_error(
            name,
            format!("cannot provide negative value '{s}'"),
        )),
    }
}

/// A JSON object field (`options`, `custom_metadata`); `None` when absent or null.
pub fn object<'a>(
    data: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, RequestError> {
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(conversion_error(
            name,
            format!("expected a JSON object, got {}", type_name(other)),
        )),
    }
}

/// A list of integers (Vault's `TypeCommaIntSlice`): a JSON list of integers or decimal
/// strings, a single integer, or a comma-separated string.
pub fn int_list(data: &Map<String, Value>, name: &str) -> Result<Vec<i64>, RequestError> {
    let bad = |item: &dyn std::fmt::Display| {
        conversion_error(name, format!("cannot parse {item} as an integer"))
    };
    let parse_str = |s: &str| s.trim().parse::<i64>().map_err(|_| bad(&format!("{s:?}")));
    match data.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => s
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .map(parse_str)
            .collect(),
        Some(Value::Number(n)) => n.as_i64().map(|v| vec![v]).ok_or_else(|| bad(n)),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Number(n) => n.as_i64().ok_or_else(|| bad(n)),
                Value::String(s) => parse_str(s),
                other => Err(bad(other)),
            })
            .collect(),
        Some(other) => Err(bad(other)),
    }
}

/// A short name for a JSON value's type, for error messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn integers_accept_numbers_and_strings() {
        let d = data(json!({"a": 3, "b": "4", "c": "x", "d": 1.5, "e": "", "f": -2}));
        assert_eq!(int(&d, "a").ok(), Some(Some(3)));
        assert_eq!(int(&d, "b").ok(), Some(Some(4)));
        assert!(int(&d, "c").is_err());
        assert!(int(&d, "d").is_err());
        assert_eq!(int(&d, "e").ok(), Some(None));
        assert_eq!(int(&d, "missing").ok(), Some(None));
        assert!(count(&d, "f").is_err());
        assert_eq!(count(&d, "a").ok(), Some(Some(3)));
    }

    #[test]
    fn booleans_and_durations() {
        let d = data(json!({"t": "true", "f": 0, "x": "maybe", "h": "1h30m", "n": "-1s", "s": 90}));
        assert_eq!(boolean(&d, "t").ok(), Some(Some(true)));
        assert_eq!(boolean(&d, "f").ok(), Some(Some(false)));
        assert!(boolean(&d, "x").is_err());
        assert_eq!(seconds(&d, "h").ok(), Some(Some(5400)));
        assert_eq!(seconds(&d, "s").ok(), Some(Some(90)));
        assert_eq!(signed_seconds(&d, "n").ok(), Some(Some(-1)));
        let err = seconds(&d, "n").err().map(|e| e.to_string());
        assert!(matches!(err, Some(m) if m.contains("negative")));
    }

    #[test]
    fn integer_lists_take_every_shape_vault_accepts() {
        let d = data(json!({"a": [1, "2"], "b": "3, 4", "c": 5, "d": ["x"], "e": {}}));
        assert_eq!(int_list(&d, "a").ok(), Some(vec![1, 2]));
        assert_eq!(int_list(&d, "b").ok(), Some(vec![3, 4]));
        assert_eq!(int_list(&d, "c").ok(), Some(vec![5]));
        assert!(int_list(&d, "d").is_err());
        assert!(int_list(&d, "e").is_err());
        assert_eq!(int_list(&d, "none").ok(), Some(vec![]));
    }
}
