//! The unknown-parameter check the kubernetes and jwt methods apply to their `config` and
//! `role/<name>` writes. Vault ignores unknown parameters with a warning; a typo in a
//! binding (`bound_claim` for `bound_claims`) would then silently widen who may log in, so
//! Cofre refuses them with a 400 that names every one. Also the field readers their
//! `config` writes share: [`trimmed_text`] and [`pem_list`].

use serde_json::{Map, Value};

use crate::auth::token_fields::string_list;
use crate::core::{Request, RequestError};

/// The string field `name`, trimmed; empty when absent.
pub fn trimmed_text(req: &Request, name: &str) -> Result<String, RequestError> {
    Ok(req.str_field(name)?.unwrap_or_default().trim().to_string())
}

/// A list of PEM texts in the field `name` (a single string may hold several blocks;
/// commas are not separators here, unlike other list fields).
pub fn pem_list(data: &Map<String, Value>, name: &str) -> Result<Vec<String>, RequestError> {
    match data.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(_)) => Ok(string_list(data, name)?.unwrap_or_default()),
        Some(_) => Err(RequestError::invalid(format!(
            "{name} must be a list of PEM-encoded public keys"
        ))),
    }
}

/// Refuses a request carrying fields not in `known`, naming them in sorted order.
pub fn reject_unknown_fields(req: &Request, known: &[&str]) -> Result<(), RequestError> {
    let mut unknown: Vec<&str> = req
        .data
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    Err(RequestError::invalid(format!(
        "unknown parameters: {}",
        unknown.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::auth::token_fields::TOKEN_FIELD_NAMES;
    use crate::core::Operation;

    fn request(body: serde_json::Value) -> Request {
        let data = body.as_object().cloned().unwrap_or_default();
        Request::new(Operation::Update, "role/r").with_data(data)
    }

    #[test]
    fn unknown_fields_are_all_named_and_known_ones_pass() {
        let known: Vec<&str> = ["audience"]
            .iter()
            .chain(TOKEN_FIELD_NAMES)
            .copied()
            .collect();
        let ok = request(json!({"audience": "a", "token_ttl": "1h", "bound_cidrs": "10.0.0.0/8"}));
        assert!(reject_unknown_fields(&ok, &known).is_ok());
        let bad = request(json!({"zeta": 1, "audience": "a", "alpha": 2}));
        match reject_unknown_fields(&bad, &known) {
            Err(RequestError::InvalidRequest(m)) => {
                assert_eq!(m, "unknown parameters: alpha, zeta")
            }
            other => panic!("expected a 400, got {other:?}"),
        }
    }
}
