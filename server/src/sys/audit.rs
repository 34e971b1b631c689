//! `sys/audit` (list the enabled devices), `sys/audit/<path>` (enable, disable) and
//! `sys/audit-hash/<path>` (the hash a device writes for an input), as Vault has them.
//! Enabling over the API is allowed only in `-dev` mode or with
//! `unsafe_allow_api_audit_creation = true`: a file device can write anywhere the server can.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::audit::{AuditError, DeviceSpec};
use crate::core::{Operation, Request, RequestError, Response, Unsealed};

/// Handles `audit`, `audit/<path>` and `audit-hash/<path>` (paths relative to `sys/`).
pub(super) async fn handle(
    unsealed: &Arc<Unsealed>,
    req: &Request,
) -> Result<Response, RequestError> {
    let path = req.path.trim_end_matches('/');
    if let Some(device) = path.strip_prefix("audit-hash/") {
        return hash(unsealed, device, req);
    }
    if path == "audit" {
        return match req.operation {
            Operation::Read | Operation::List => Ok(list(unsealed)),
            _ => super::unsupported(),
        };
    }
    let Some(device) = path.strip_prefix("audit/").filter(|d| !d.is_empty()) else {
        return Err(RequestError::unsupported_path());
    };
    match req.operation {
        op if super::is_write(op) => enable(unsealed, device, req).await,
        Operation::Delete => {
            unsealed.audit.disable(device).await?;
            Ok(Response::empty())
        }
        _ => super::unsupported(),
    }
}

fn list(unsealed: &Unsealed) -> Response {
    let mut data = Map::new();
    for spec in unsealed.audit.list() {
        data.insert(
            spec.path.clone(),
            json!({
                "type": spec.kind,
                "description": spec.description,
                "options": spec.options,
                "local": spec.local,
                "path": spec.path,
            }),
        );
    }
    super::legacy(data)
}

async fn enable(
    unsealed: &Unsealed,
    device: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let settings = &unsealed.settings;
    if !settings.dev && !settings.unsafe_allow_api_audit_creation {
        let path = device.trim_matches('/').to_string();
        return Err(AuditError::ApiCreationDisabled(path).into());
    }
    let kind = req
        .str_field("type")?
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| RequestError::invalid("missing audit device type"))?;
    let spec = DeviceSpec {
        path: device.to_string(),
        kind: kind.to_string(),
        description: req
            .str_field("description")?
            .unwrap_or_default()
            .to_string(),
        local: req.bool_field("local")?.unwrap_or(false),
        options: options(req.data.get("options"))?,
        declared: false,
    };
    unsealed.audit.enable(spec).await?;
    Ok(Response::empty())
}

/// `options`: an object of strings (numbers and booleans are taken as their text).
fn options(value: Option<&Value>) -> Result<BTreeMap<String, String>, RequestError> {
    let map = match value {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(RequestError::invalid("field \"options\" must be an object")),
    };
    map.iter()
        .map(|(key, value)| match value {
            Value::String(s) => Ok((key.clone(), s.clone())),
            Value::Bool(_) | Value::Number(_) => Ok((key.clone(), value.to_string())),
            _ => Err(RequestError::invalid(format!(
                "option {key:?} must be a string"
            ))),
        })
        .collect()
}

fn hash(unsealed: &Unsealed, device: &str, req: &Request) -> Result<Response, RequestError> {
    if !super::is_write(req.operation) {
        return super::unsupported();
    }
    let input = req.str_field("input")?.unwrap_or_default();
    let hash = unsealed.audit.hash(device, input)?;
    Ok(Response::json(json!({ "hash": hash })))
}
