//! `sys/policies/acl[/<name>]` and the older `sys/policy[/<name>]`: ACL policy CRUD.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{is_write, legacy, unsupported};
use crate::core::{Operation, Request, RequestError, Response, Unsealed};

/// Dispatches `policy…` and `policies/acl…` (paths relative to `sys/`).
pub async fn handle(unsealed: &Arc<Unsealed>, req: &Request) -> Result<Response, RequestError> {
    let path = req.path.trim_end_matches('/');
    let (legacy_api, name) = if let Some(rest) = path.strip_prefix("policies/acl") {
        (false, rest.trim_start_matches('/'))
    } else if let Some(rest) = path.strip_prefix("policy") {
        (true, rest.trim_start_matches('/'))
    } else {
        return Err(RequestError::unsupported_path());
    };
    if name.is_empty() {
        return list(unsealed, req, legacy_api);
    }
    match req.operation {
        Operation::Read => read(unsealed, name, legacy_api),
        op if is_write(op) => {
            let text = policy_text(req, legacy_api)?;
            unsealed.policies.put(name, &text).await?;
            Ok(Response::empty())
        }
        Operation::Delete => {
            unsealed.policies.delete(name).await?;
            Ok(Response::empty())
        }
        _ => unsupported(),
    }
}

fn list(unsealed: &Unsealed, req: &Request, legacy_api: bool) -> Result<Response, RequestError> {
    let names = unsealed.policies.names();
    match (legacy_api, req.operation) {
        (true, Operation::Read | Operation::List) => {
            let mut data = Map::new();
            data.insert("keys".into(), json!(names));
            data.insert("policies".into(), json!(names));
            Ok(legacy(data))
        }
        (false, Operation::List) => Response::list(names),
        _ => unsupported(),
    }
}

fn read(unsealed: &Unsealed, name: &str, legacy_api: bool) -> Result<Response, RequestError> {
    let name = crate::core::policies::normalize_name(name)?;
    if name == "root" {
        let mut data = Map::new();
        data.insert("name".into(), json!("root"));
        data.insert(
            if legacy_api { "rules" } else { "policy" }.into(),
            json!(""),
        );
        return Ok(if legacy_api {
            legacy(data)
        } else {
            Response::data(data)
        });
    }
    let policy = unsealed.policies.get(&name).ok_or(RequestError::NotFound)?;
    let mut data = Map::new();
    data.insert("name".into(), json!(policy.name));
    if legacy_api {
        data.insert("rules".into(), json!(policy.raw));
        Ok(legacy(data))
    } else {
        data.insert("policy".into(), json!(policy.raw));
        Ok(Response::data(data))
    }
}

/// The policy document from `policy` (or `rules` on the old API); Vault also accepts it
/// base64-encoded.
fn policy_text(req: &Request, legacy_api: bool) -> Result<String, RequestError> {
    let fields: &[&str] = if legacy_api {
        &["rules", "policy"]
    } else {
        &["policy"]
    };
    let text = fields
        .iter()
        .find_map(|f| match req.data.get(*f) {
            Some(Value::String(s)) => Some(Ok(s.clone())),
            None | Some(Value::Null) => None,
            Some(_) => Some(Err(RequestError::invalid(format!(
                "{f:?} must be a string"
            )))),
        })
        .transpose()?
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| RequestError::invalid("'policy' parameter not supplied or empty"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    Ok(decoded.unwrap_or(text))
}
