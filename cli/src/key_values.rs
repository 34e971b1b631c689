//! `key=value` arguments of `write`, `kv put` and friends, as `vault` reads them:
//! `k=v`, `k=@file` (the file's contents), `k=-` (stdin), `\@` for a literal `@`,
//! `-` alone or `@file.json` alone to merge a JSON object, and repeated keys collected
//! into a list.

use std::io::Read;

use serde_json::{Map, Value};

/// Parses `args` into a JSON object, reading `stdin` at most once.
pub fn parse(args: &[String], stdin: &mut dyn Read) -> Result<Map<String, Value>, String> {
    let mut result = Map::new();
    let mut stdin_used = false;
    for arg in args {
        add(arg, &mut result, stdin, &mut stdin_used)
            .map_err(|e| format!("invalid key/value pair {arg:?}: {e}"))?;
    }
    Ok(result)
}

/// Parses `args` into string-valued pairs (query parameters); lists are repeated.
pub fn parse_strings(
    args: &[String],
    stdin: &mut dyn Read,
) -> Result<Vec<(String, String)>, String> {
    let map = parse(args, stdin)?;
    let mut pairs = Vec::new();
    for (key, value) in map {
        match value {
            Value::Array(items) => {
                for item in items {
                    pairs.push((key.clone(), as_text(&item)));
                }
            }
            other => pairs.push((key, as_text(&other))),
        }
    }
    Ok(pairs)
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn add(
    raw: &str,
    result: &mut Map<String, Value>,
    stdin: &mut dyn Read,
    stdin_used: &mut bool,
) -> Result<(), String> {
    if raw.is_empty() {
        return Ok(());
    }
    let Some((key, value)) = raw.split_once('=') else {
        if raw == "-" {
            let text = read_stdin(stdin, stdin_used)?;
            return merge_json(&text, result);
        }
        if let Some(path) = raw.strip_prefix('@') {
            let text = read_file(path)?;
            return merge_json(&text, result);
        }
        return Err("format must be key=value".into());
    };
    let value = if let Some(path) = value.strip_prefix('@') {
        read_file(path)?
    } else if let Some(literal) = value.strip_prefix("\\@") {
        format!("@{literal}")
    } else if value == "-" {
        read_stdin(stdin, stdin_used)?
    } else {
        value.to_string()
    };
    insert(result, key, Value::String(value));
    Ok(())
}

/// Adds `value` under `key`; a repeated key turns into a list of its values.
fn insert(result: &mut Map<String, Value>, key: &str, value: Value) {
    match result.get_mut(key) {
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            result.insert(key.to_string(), value);
        }
    }
}

fn read_stdin(stdin: &mut dyn Read, used: &mut bool) -> Result<String, String> {
    if *used {
        return Err("stdin already consumed".into());
    }
    *used = true;
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .map_err(|e| format!("error reading stdin: {e}"))?;
    Ok(text)
}

fn read_file(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("error reading file {path}: {e}"))
}

fn merge_json(text: &str, result: &mut Map<String, Value>) -> Result<(), String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => {
            result.extend(map);
            Ok(())
        }
        Ok(_) => Err("the JSON input must be an object".into()),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    fn parse_with(args: &[&str], stdin: &str) -> Result<Value, String> {
        parse(&strings(args), &mut stdin.as_bytes()).map(Value::Object)
    }

    #[test]
    fn plain_pairs() {
        assert_eq!(
            parse_with(&["user=app", "password=a=b", "empty="], "").unwrap(),
            json!({"user": "app", "password": "a=b", "empty": ""})
        );
    }

    #[test]
    fn repeated_keys_become_lists() {
        assert_eq!(
            parse_with(&["p=a", "p=b", "p=c"], "").unwrap(),
            json!({"p": ["a", "b", "c"]})
        );
    }

    #[test]
    fn values_from_files_keep_their_bytes() {
        let path = std::env::temp_dir().join(format!("cofre-kv-{}.txt", std::process::id()));
        std::fs::write(&path, "line1\nline2\n").unwrap();
        let arg = format!("cert=@{}", path.display());
        assert_eq!(
            parse_with(&[&arg], "").unwrap(),
            json!({"cert": "line1\nline2\n"})
        );
        std::fs::write(&path, r#"{"a": 1, "b": "two"}"#).unwrap();
        let arg = format!("@{}", path.display());
        assert_eq!(
            parse_with(&[&arg], "").unwrap(),
            json!({"a": 1, "b": "two"})
        );
        std::fs::remove_file(&path).unwrap();
        let err = parse_with(&["k=@/nonexistent/file"], "").unwrap_err();
        assert!(err.contains("/nonexistent/file"), "{err}");
    }

    #[test]
    fn escaped_at_is_literal() {
        assert_eq!(
            parse_with(&["email=\\@home"], "").unwrap(),
            json!({"email": "@home"})
        );
    }

    #[test]
    fn stdin_as_value_or_object_once() {
        assert_eq!(
            parse_with(&["password=-"], "from-stdin").unwrap(),
            json!({"password": "from-stdin"})
        );
        assert_eq!(
            parse_with(&["-", "extra=1"], r#"{"a": true}"#).unwrap(),
            json!({"a": true, "extra": "1"})
        );
        let err = parse_with(&["a=-", "b=-"], "x").unwrap_err();
        assert!(err.contains("stdin already consumed"), "{err}");
        assert!(parse_with(&["-"], "[1]").is_err());
    }

    #[test]
    fn missing_equals_is_an_error() {
        let err = parse_with(&["justakey"], "").unwrap_err();
        assert_eq!(
            err,
            "invalid key/value pair \"justakey\": format must be key=value"
        );
    }

    #[test]
    fn string_pairs_for_queries() {
        let pairs =
            parse_strings(&strings(&["list=true", "k=a", "k=b"]), &mut "".as_bytes()).unwrap();
        assert_eq!(
            pairs,
            vec![
                ("k".to_string(), "a".to_string()),
                ("k".to_string(), "b".to_string()),
                ("list".to_string(), "true".to_string())
            ]
        );
    }
}
