//! The system backend (`sys/`): seal lifecycle, mounts, policies, capabilities. Handlers
//! are thin: they validate input and call the core.

mod capabilities;
mod mounts;
mod policies;
mod seal;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::core::{Core, Operation, Request, RequestError, Response, Unsealed};
use crate::engines::MountContext;

pub use seal::handle_unauthenticated;

/// Handles an authenticated request under `sys/` (`req.path` is relative to `sys/`).
pub async fn handle(
    core: &Core,
    unsealed: &Arc<Unsealed>,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    let path = req.path.as_str();
    let top = path.split('/').next().unwrap_or("");
    match top {
        "seal" | "rotate" | "key-status" => seal::handle_authenticated(core, unsealed, req).await,
        "mounts" | "auth" | "remount" => mounts::handle(unsealed, req).await,
        "internal" if path.starts_with("internal/ui/mounts") => {
            mounts::ui_mounts(unsealed, ctx, req).await
        }
        "policy" | "policies" => policies::handle(unsealed, req).await,
        "capabilities" | "capabilities-self" | "capabilities-accessor" => {
            capabilities::handle(unsealed, ctx, req).await
        }
        _ => Err(RequestError::unsupported_path()),
    }
}

/// A sys response that also repeats its data at the top level, as Vault does for these
/// older endpoints.
pub(crate) fn legacy(data: Map<String, Value>) -> Response {
    Response {
        data_at_top_level: true,
        ..Response::data(data)
    }
}

/// Rejects an operation the path does not support.
pub(crate) fn unsupported<T>() -> Result<T, RequestError> {
    Err(RequestError::UnsupportedOperation)
}

/// `true` for the two write operations.
pub(crate) fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update)
}

/// A field as a string list: accepts a JSON list of strings or a comma-separated string.
pub(crate) fn string_list(req: &Request, name: &str) -> Result<Option<Vec<String>>, RequestError> {
    match req.data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(
            s.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
        )),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_string()),
                _ => Err(RequestError::invalid(format!(
                    "field {name:?} must be a list of strings"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(RequestError::invalid(format!(
            "field {name:?} must be a list of strings"
        ))),
    }
}

/// A boolean field (JSON bool, or "true"/"false"/"1"/"0" from forms and queries).
pub(crate) fn bool_field(req: &Request, name: &str) -> Result<Option<bool>, RequestError> {
    match req.data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "t" | "" => Ok(Some(true)),
            "false" | "0" | "f" => Ok(Some(false)),
            _ => Err(RequestError::invalid(format!(
                "field {name:?} must be a boolean"
            ))),
        },
        Some(_) => Err(RequestError::invalid(format!(
            "field {name:?} must be a boolean"
        ))),
    }
}

/// An unsigned integer field (number or numeric string).
pub(crate) fn uint_field(req: &Request, name: &str) -> Result<Option<u64>, RequestError> {
    let bad = || RequestError::invalid(format!("field {name:?} must be a non-negative integer"));
    match req.data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(bad),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// A duration field in seconds: integer seconds or a Go duration string ("1h30m").
pub(crate) fn duration_field(req: &Request, name: &str) -> Result<Option<u64>, RequestError> {
    match req.data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(v) => crate::duration::parse_duration_value(v)
            .map(|d| Some(d.as_secs()))
            .map_err(|e| RequestError::invalid(format!("invalid duration for {name:?}: {e}"))),
    }
}
