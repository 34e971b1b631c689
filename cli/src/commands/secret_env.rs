//! Secrets as environment variables, shared by `cofre run` and `cofre kv export`:
//! reading a path whatever engine serves it (KV v1, KV v2 found by the same preflight as
//! `kv`, or a leased path such as `database/creds/ro`), naming variables after keys,
//! and rendering values as text.

use cofre_client::{Client, Secret};
use serde_json::{Map, Value};

use crate::commands::kv_path::resolve;
use crate::failure::{server_error, Failure};

/// A secret read for export: its key/value data and the envelope (lease fields).
#[derive(Debug)]
pub struct Fetched {
    /// The secret's keys and values (`data.data` on KV v2).
    pub data: Map<String, Value>,
    /// The whole envelope, for its lease.
    pub secret: Secret,
}

/// Reads `path`: a KV v2 path gains `data/`; anything else is read as it is. A missing
/// secret is one line, exit 2.
pub async fn fetch(client: &Client, path: &str) -> Result<Fetched, Failure> {
    let target = resolve(client, path, None, false).await?;
    let api_path = target.api_path("data");
    let secret = client
        .read(&api_path)
        .await
        .map_err(|e| server_error(&format!("Error reading {api_path}"), &e))?
        .ok_or_else(|| Failure::server(format!("No value found at {api_path}")))?;
    let data = if target.v2 {
        secret.field("data").cloned()
    } else {
        secret.data.clone()
    };
    let Some(Value::Object(data)) = data else {
        return Err(Failure::server(format!(
            "No key/value data found at {api_path}"
        )));
    };
    Ok(Fetched { data, secret })
}

/// How variable names are derived from keys.
#[derive(Debug, Clone, Default)]
pub struct Naming {
    /// Put before every derived name (`DB_`).
    pub prefix: String,
    /// Upper-case the key.
    pub upper: bool,
}

impl Naming {
    /// `db-password` → `DB_PASSWORD` (with `upper`), prefixed; characters other than
    /// ASCII letters, digits and `_` become `_`; a leading digit gains a `_`.
    pub fn name(&self, key: &str) -> String {
        let mut name: String = self
            .prefix
            .chars()
            .chain(key.chars())
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if self.upper {
            name.make_ascii_uppercase();
        }
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            name.insert(0, '_');
        }
        name
    }
}

/// Whether `name` can be an environment variable set from a shell (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value as the text a variable holds: strings as they are, `null` empty, anything
/// else as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_derived_from_keys() {
        let upper = Naming {
            prefix: "DB_".into(),
            upper: true,
        };
        assert_eq!(upper.name("password"), "DB_PASSWORD");
        assert_eq!(upper.name("api-key.v2"), "DB_API_KEY_V2");
        let plain = Naming::default();
        assert_eq!(plain.name("camelCase"), "camelCase");
        assert_eq!(plain.name("1st"), "_1st");
        assert_eq!(plain.name("clé"), "cl_");
        assert_eq!(plain.name(""), "_");
    }

    #[test]
    fn names_are_validated() {
        assert!(is_valid_name("DB_PASSWORD"));
        assert!(is_valid_name("_x1"));
        assert!(!is_valid_name("1x"));
        assert!(!is_valid_name("A-B"));
        assert!(!is_valid_name(""));
    }

    #[test]
    fn values_become_text() {
        assert_eq!(value_text(&json!("s3cret")), "s3cret");
        assert_eq!(value_text(&json!(5)), "5");
        assert_eq!(value_text(&json!(true)), "true");
        assert_eq!(value_text(&json!(null)), "");
        assert_eq!(value_text(&json!({"a": [1]})), r#"{"a":[1]}"#);
    }
}
