//! Turning JSON values into table cells the way the `vault` CLI (Go's `%v`) shows them:
//! `<nil>`, `[a b]`, `map[k:v]`, and durations such as `1h` for TTL-like fields.

use serde_json::Value;

/// A value as Go's `%v` prints it.
pub fn display(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(display).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", display(v)))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// A list of strings as Go's `%q` prints it: `["a" "b"]`.
pub fn quoted_list(items: Option<&[String]>) -> String {
    let parts: Vec<String> = items
        .unwrap_or_default()
        .iter()
        .map(|s| Value::String(s.clone()).to_string())
        .collect();
    format!("[{}]", parts.join(" "))
}

/// A cell for `key`: whole seconds become a duration when the key looks like one.
pub fn cell(key: &str, value: &Value) -> String {
    if looks_like_duration(key) {
        if let Some(seconds) = value.as_i64() {
            return human_duration(seconds);
        }
    }
    display(value)
}

/// Vault's rule for fields shown as durations.
pub fn looks_like_duration(key: &str) -> bool {
    key == "period"
        || key.ends_with("_period")
        || key == "ttl"
        || key.ends_with("_ttl")
        || key == "duration"
        || key.ends_with("_duration")
        || key == "lease_max"
        || key == "ttl_max"
}

/// Seconds as the `vault` CLI prints a duration, leaving out zero parts: `1h`, `1h1m`,
/// `1h1s`, `1m30s`, `0s`.
pub fn human_duration(seconds: i64) -> String {
    if seconds == 0 {
        return "0s".to_string();
    }
    let sign = if seconds < 0 { "-" } else { "" };
    let total = seconds.unsigned_abs();
    let (hours, minutes, secs) = (total / 3600, (total % 3600) / 60, total % 60);
    let mut text = String::from(sign);
    if hours > 0 {
        text.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        text.push_str(&format!("{minutes}m"));
    }
    if secs > 0 {
        text.push_str(&format!("{secs}s"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_style_display() {
        assert_eq!(display(&json!(null)), "<nil>");
        assert_eq!(display(&json!(["root", "default"])), "[root default]");
        assert_eq!(display(&json!({"b": 1, "a": "x"})), "map[a:x b:1]");
        assert_eq!(display(&json!({})), "map[]");
        assert_eq!(display(&json!(2)), "2");
        assert_eq!(display(&json!(true)), "true");
    }

    #[test]
    fn quoted_lists() {
        assert_eq!(quoted_list(Some(&["default".to_string()])), "[\"default\"]");
        assert_eq!(quoted_list(None), "[]");
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(90), "1m30s");
        assert_eq!(human_duration(3600), "1h");
        assert_eq!(human_duration(3660), "1h1m");
        assert_eq!(human_duration(3601), "1h1s");
        assert_eq!(human_duration(2_764_800), "768h");
        assert_eq!(human_duration(-60), "-1m");
    }

    #[test]
    fn duration_cells_only_for_duration_keys_and_integers() {
        assert_eq!(cell("ttl", &json!(3600)), "1h");
        assert_eq!(cell("creation_ttl", &json!(0)), "0s");
        assert_eq!(cell("ttl", &json!("1h")), "1h");
        assert_eq!(cell("version", &json!(3600)), "3600");
        assert_eq!(cell("delete_version_after", &json!("0s")), "0s");
    }
}
