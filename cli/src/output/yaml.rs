//! A small YAML emitter for `-format=yaml`: block-style maps and lists (keys sorted, as
//! JSON objects arrive), plain scalars where YAML reads them back unchanged and
//! JSON-quoted strings everywhere else. Output has no trailing newline.

use serde_json::Value;

/// `value` as a YAML document.
pub fn to_yaml(value: &Value) -> String {
    let mut lines = Vec::new();
    emit(value, 0, &mut lines);
    lines.join("\n")
}

fn emit(value: &Value, indent: usize, lines: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                let key = scalar_string(key);
                match child {
                    Value::Object(m) if !m.is_empty() => {
                        lines.push(format!("{pad}{key}:"));
                        emit(child, indent + 2, lines);
                    }
                    // Lists under a key start at the key's own indentation.
                    Value::Array(a) if !a.is_empty() => {
                        lines.push(format!("{pad}{key}:"));
                        emit(child, indent, lines);
                    }
                    _ => lines.push(format!("{pad}{key}: {}", scalar(child))),
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                match item {
                    Value::Object(m) if !m.is_empty() => emit_item(item, indent, lines),
                    Value::Array(a) if !a.is_empty() => emit_item(item, indent, lines),
                    _ => lines.push(format!("{pad}- {}", scalar(item))),
                }
            }
        }
        _ => lines.push(format!("{pad}{}", scalar(value))),
    }
}

/// A collection inside a list: rendered two deeper, its first line starting with `- `.
fn emit_item(item: &Value, indent: usize, lines: &mut Vec<String>) {
    let start = lines.len();
    emit(item, indent + 2, lines);
    if let Some(first) = lines.get_mut(start) {
        *first = format!("{}- {}", " ".repeat(indent), &first[indent + 2..]);
    }
}

/// A scalar (or empty collection) on one line.
fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_string(s),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

/// A string plain when YAML would read it back as the same string, JSON-quoted if not.
fn scalar_string(text: &str) -> String {
    if needs_quotes(text) {
        Value::String(text.to_string()).to_string()
    } else {
        text.to_string()
    }
}

fn needs_quotes(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return true;
    };
    const RESERVED: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".inf", "-.inf", "+.inf",
        ".nan",
    ];
    RESERVED.contains(&text.to_ascii_lowercase().as_str())
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || first.is_whitespace()
        || text.ends_with(char::is_whitespace)
        || text.ends_with(':')
        || text.contains(": ")
        || text.contains(" #")
        || text.chars().any(|c| c.is_control())
        || looks_numeric(text)
}

/// Numbers (as Go's YAML library resolves them: underscores ignored, `0x`/`0o`/`0b`
/// prefixes, floats), base-60 forms such as `12:30` (YAML 1.1) and timestamps.
fn looks_numeric(text: &str) -> bool {
    let plain: String = text.chars().filter(|c| *c != '_').collect();
    let unsigned = plain.trim_start_matches(['+', '-']);
    if !unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return plain.parse::<f64>().is_ok();
    }
    let radix = unsigned.len() > 2
        && ["0x", "0o", "0b"].contains(&unsigned[..2].to_ascii_lowercase().as_str())
        && unsigned[2..].chars().all(|c| c.is_ascii_hexdigit());
    let base60 = unsigned.contains(':')
        && unsigned
            .split(':')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit() || c == '.'));
    let bytes = unsigned.as_bytes();
    let date = bytes.len() >= 10
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && bytes[5..7].iter().all(u8::is_ascii_digit)
        && bytes[7] == b'-';
    plain.parse::<f64>().is_ok() || radix || base60 || date
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_maps_indent_by_two() {
        let value = json!({"data": {"data": {"password": "s3cret"}, "metadata": {
            "created_time": "2026-11-23T10:22:57.631700422Z", "custom_metadata": null,
            "deletion_time": "", "destroyed": false, "version": 1}},
            "lease_id": "", "warnings": null});
        assert_eq!(
            to_yaml(&value),
            "data:\n  data:\n    password: s3cret\n  metadata:\n    \
             created_time: \"2026-11-23T10:22:57.631700422Z\"\n    custom_metadata: null\n    \
             deletion_time: \"\"\n    destroyed: false\n    version: 1\nlease_id: \"\"\nwarnings: null"
        );
    }

    #[test]
    fn lists_under_keys_and_at_top_level() {
        assert_eq!(to_yaml(&json!(["app", "db/"])), "- app\n- db/");
        assert_eq!(
            to_yaml(&json!({"policies": ["default", "root"], "empty": [], "none": {}})),
            "empty: []\nnone: {}\npolicies:\n- default\n- root"
        );
    }

    #[test]
    fn maps_and_lists_inside_lists() {
        assert_eq!(
            to_yaml(&json!([{"a": 1, "b": [true]}, [1, 2]])),
            "- a: 1\n  b:\n  - true\n- - 1\n  - 2"
        );
    }

    #[test]
    fn strings_that_would_change_meaning_are_quoted() {
        for text in [
            "",
            "true",
            "No",
            "null",
            "~",
            "123",
            "1.5",
            "1e3",
            "0x1F",
            "12:30",
            "-",
            "- x",
            "#x",
            "a: b",
            "a #b",
            " lead",
            "trail ",
            "multi\nline",
            "@x",
            "*x",
            "2026-01-01",
        ] {
            assert!(needs_quotes(text), "{text:?} should be quoted");
        }
        for text in [
            "s3cret",
            "secret/",
            "kv_fba367cb",
            "a b",
            "cee2d916-317a-09ce",
            "default",
            "key/value secret storage",
            "s.abc",
            "ünïcode",
        ] {
            assert!(!needs_quotes(text), "{text:?} should be plain");
        }
    }

    #[test]
    fn quoted_strings_are_json_escaped() {
        assert_eq!(to_yaml(&json!({"k": "a\"b\nc"})), "k: \"a\\\"b\\nc\"");
        assert_eq!(to_yaml(&json!("plain")), "plain");
        assert_eq!(to_yaml(&json!(null)), "null");
    }
}
