//! The KV secrets engines: version 1 (one JSON object per path) and version 2 (versioned,
//! with metadata, check-and-set and soft deletion). `options.version` picks one.

pub mod v1;
pub mod v2;

use std::sync::Arc;

use serde_json::{Map, Value};

use super::Engine;
use crate::core::mounts::MountEntry;
use crate::core::{Request, RequestError};

/// The engine for a `kv` mount, by its `version` option ("1" when absent).
pub fn create(entry: &MountEntry) -> Result<Arc<dyn Engine>, RequestError> {
    match entry.option("version").unwrap_or("1") {
        "1" | "" => Ok(Arc::new(v1::KvV1)),
        "2" => Ok(Arc::new(v2::KvV2::default())),
        other => Err(RequestError::invalid(format!(
            "invalid kv version {other:?}: must be \"1\" or \"2\""
        ))),
    }
}

/// A secret path below the mount: no empty, `.` or `..` segments.
pub(crate) fn secret_path(path: &str) -> Result<&str, RequestError> {
    let path = path.trim_start_matches('/');
    if path.is_empty() || path.ends_with('/') {
        return Err(RequestError::invalid("missing secret path"));
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(RequestError::invalid(format!(
            "invalid secret path {path:?}"
        )));
    }
    Ok(path)
}

/// A list prefix below the mount: empty or ending in '/'.
pub(crate) fn list_prefix(path: &str) -> Result<String, RequestError> {
    let path = path.trim_start_matches('/');
    if path.split('/').any(|s| s == "." || s == "..") {
        return Err(RequestError::invalid(format!("invalid path {path:?}")));
    }
    let mut prefix = path.trim_end_matches('/').to_string();
    if !prefix.is_empty() {
        prefix.push('/');
    }
    Ok(prefix)
}

/// The request body as the secret's data (KV v1, cubbyhole).
pub(crate) fn body_as_data(req: &Request) -> Result<Map<String, Value>, RequestError> {
    if req.data.is_empty() {
        return Err(RequestError::invalid("missing data fields"));
    }
    Ok(req.data.clone())
}
