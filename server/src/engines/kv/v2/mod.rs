//! KV version 2: versioned secrets with metadata, check-and-set, soft delete, undelete and
//! destroy, shaped like OpenBao's responses. Paths below the mount: `config`,
//! `data/<path>`, `delete/<path>`, `undelete/<path>`, `destroy/<path>`,
//! `metadata/<path>`, `subkeys/<path>`.

mod config;
mod data;
mod metadata;
mod store;
mod versions;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use async_trait::async_trait;
use serde_json::Value;

use super::secret_path;
use crate::core::{Operation, Request, RequestError, Response};
use crate::engines::{Engine, MountContext};

/// Writes to one key are serialised (check-and-set and version numbering read, then
/// write, the metadata); writes to different keys run in parallel and share storage
/// flushes. Keys map onto this many locks.
const KEY_LOCKS: usize = 256;

/// The KV v2 engine of one mount.
pub struct KvV2 {
    locks: Vec<tokio::sync::Mutex<()>>,
}

impl Default for KvV2 {
    fn default() -> Self {
        Self {
            locks: (0..KEY_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }
}

impl KvV2 {
    /// The lock serialising writes to `path`.
    pub(super) fn lock_for(&self, path: &str) -> &tokio::sync::Mutex<()> {
        let mut hasher = DefaultHasher::new();
        path.hash(&mut hasher);
        &self.locks[(hasher.finish() as usize) % KEY_LOCKS]
    }
}

#[async_trait]
impl Engine for KvV2 {
    async fn handle(&self, ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
        let (section, rest) = req.path.split_once('/').unwrap_or((req.path.as_str(), ""));
        let storage = &ctx.storage;
        match (section, req.operation) {
            ("config", _) if rest.is_empty() => config::handle(storage, req).await,
            ("data", Operation::List) | ("metadata", Operation::List) => {
                metadata::list(storage, rest).await
            }
            ("data", _) => data::handle(self, storage, secret_path(rest)?, req).await,
            ("metadata", _) => metadata::handle(self, storage, secret_path(rest)?, req).await,
            ("subkeys", Operation::Read) => {
                metadata::subkeys(storage, secret_path(rest)?, req).await
            }
            ("delete" | "undelete" | "destroy", Operation::Create | Operation::Update) => {
                versions::handle(self, storage, section, secret_path(rest)?, req).await
            }
            ("delete" | "undelete" | "destroy" | "subkeys", _) => {
                Err(RequestError::UnsupportedOperation)
            }
            _ => Err(RequestError::unsupported_path()),
        }
    }

    async fn exists(
        &self,
        ctx: &MountContext,
        req: &Request,
    ) -> Result<Option<bool>, RequestError> {
        let (section, rest) = req.path.split_once('/').unwrap_or((req.path.as_str(), ""));
        let Ok(path) = secret_path(rest) else {
            return Ok(None);
        };
        match section {
            "data" => Ok(Some(
                store::load_meta(&ctx.storage, path)
                    .await?
                    .is_some_and(|m| m.current_version > 0),
            )),
            "metadata" => Ok(Some(store::load_meta(&ctx.storage, path).await?.is_some())),
            _ => Ok(None),
        }
    }
}

/// A list of version numbers from `versions` (numbers or numeric strings, or a
/// comma-separated string as the CLI sends).
pub(super) fn version_list(req: &Request) -> Result<Vec<u64>, RequestError> {
    let bad = || RequestError::invalid("versions must be a list of positive integers");
    let items: Vec<Value> = match req.data.get("versions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|p| Value::String(p.trim().to_string()))
            .collect(),
        Some(Value::Number(n)) => vec![Value::Number(n.clone())],
        Some(_) => return Err(bad()),
    };
    let versions = items
        .iter()
        .map(|v| match v {
            Value::Number(n) => n.as_u64().ok_or_else(bad),
            Value::String(s) => s.parse::<u64>().map_err(|_| bad()),
            _ => Err(bad()),
        })
        .collect::<Result<Vec<u64>, _>>()?;
    if versions.is_empty() {
        return Err(RequestError::invalid("no version number provided"));
    }
    Ok(versions)
}
