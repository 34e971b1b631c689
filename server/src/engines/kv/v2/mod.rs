//! KV version 2: versioned secrets with metadata, check-and-set, soft delete, undelete and
//! destroy, shaped like OpenBao's responses. Paths below the mount: `config`,
//! `data/<path>`, `metadata/<path>`, `detailed-metadata/<path>` (list), `delete/<path>`,
//! `undelete/<path>`, `destroy/<path>` and `subkeys/<path>`.

mod config;
mod data;
mod history;
mod metadata;
mod store;
mod subkeys;
mod upgrade;
mod versions;

#[cfg(test)]
mod tests;

use crate::engines::help::{BackendHelp, PathHelp};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};

use async_trait::async_trait;
use tokio::sync::{Mutex, MutexGuard};

use self::store::MountConfig;
use crate::barrier::StorageView;
use crate::core::{Operation, Request, RequestError, Response};
use crate::engines::{Engine, MountContext};

/// Writes to one key are serialised (check-and-set and version numbering read, then write,
/// the record); writes to different keys run in parallel. Keys map onto this many locks.
const KEY_LOCKS: usize = 256;

/// The KV v2 engine of one mount.
pub struct KvV2 {
    key_locks: Box<[Mutex<()>]>,
    /// The mount's `config`, read from storage once and kept current by config writes.
    config: RwLock<Option<MountConfig>>,
    /// Held while filling or replacing `config`, so a stale read never overwrites a write.
    config_update: Mutex<()>,
    /// Set once the mount's storage holds no KV v1 secrets to upgrade.
    upgraded: AtomicBool,
    upgrade_lock: Mutex<()>,
}

impl Default for KvV2 {
    fn default() -> Self {
        Self {
            key_locks: (0..KEY_LOCKS).map(|_| Mutex::new(())).collect(),
            config: RwLock::new(None),
            config_update: Mutex::new(()),
            upgraded: AtomicBool::new(false),
            upgrade_lock: Mutex::new(()),
        }
    }
}

impl KvV2 {
    /// Serialises writes to the key at `path`.
    async fn lock_key(&self, path: &str) -> MutexGuard<'_, ()> {
        let mut hasher = DefaultHasher::new();
        path.hash(&mut hasher);
        self.key_locks[(hasher.finish() as usize) % KEY_LOCKS]
            .lock()
            .await
    }

    /// The mount's settings (cached).
    async fn config(&self, storage: &StorageView) -> Result<MountConfig, RequestError> {
        if let Some(config) = self.cached_config() {
            return Ok(config);
        }
        let _update = self.config_update.lock().await;
        if let Some(config) = self.cached_config() {
            return Ok(config);
        }
        let config = store::load_config(storage).await?;
        self.set_cached_config(config);
        Ok(config)
    }

    fn cached_config(&self) -> Option<MountConfig> {
        *self.config.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_cached_config(&self, config: MountConfig) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Some(config);
    }

    /// Converts KV v1 secrets left in the mount's storage (a v1 mount tuned to version 2)
    /// before the first request is served.
    async fn ensure_upgraded(&self, storage: &StorageView) -> Result<(), RequestError> {
        if self.upgraded.load(Ordering::Acquire) {
            return Ok(());
        }
        let _upgrading = self.upgrade_lock.lock().await;
        if self.upgraded.load(Ordering::Acquire) {
            return Ok(());
        }
        upgrade::run(self, storage).await?;
        self.upgraded.store(true, Ordering::Release);
        Ok(())
    }
}

/// Which endpoint a request path names.
#[derive(Debug, PartialEq)]
enum Route<'a> {
    Config,
    Data(&'a str),
    Metadata(&'a str),
    DetailedMetadata(&'a str),
    Versions(versions::Action, &'a str),
    Subkeys(&'a str),
    /// `data`, `metadata`, … without a path.
    SectionRoot,
    Invalid,
}

fn route(path: &str) -> Route<'_> {
    if path == "config" {
        return Route::Config;
    }
    let Some((section, rest)) = path.split_once('/') else {
        return match path {
            "data" | "metadata" | "delete" | "undelete" | "destroy" => Route::SectionRoot,
            _ => Route::Invalid,
        };
    };
    match section {
        "data" => Route::Data(rest),
        "metadata" => Route::Metadata(rest),
        "detailed-metadata" => Route::DetailedMetadata(rest),
        "delete" => Route::Versions(versions::Action::Delete, rest),
        "undelete" => Route::Versions(versions::Action::Undelete, rest),
        "destroy" => Route::Versions(versions::Action::Destroy, rest),
        "subkeys" => Route::Subkeys(rest),
        _ => Route::Invalid,
    }
}

static HELP: BackendHelp = BackendHelp {
    description: "A versioned key/value store (KV version 2): every write keeps a new version of a secret; versions can be soft-deleted, undeleted or destroyed, and each secret has metadata (max versions, check-and-set, custom metadata).",
    paths: &[
        PathHelp {
            pattern: "config",
            synopsis: "Settings for the whole mount.",
            description: "GET reads and POST writes max_versions, cas_required and delete_version_after, the defaults for every secret of the mount.",
        },
        PathHelp {
            pattern: "data/<path*>",
            synopsis: "Write, read, patch or delete a secret's data.",
            description: "GET reads the latest version (or ?version=N). POST/PUT writes {\"data\": {...}, \"options\": {\"cas\": N}} as a new version. PATCH merges into the latest version. DELETE soft-deletes the latest version.",
        },
        PathHelp {
            pattern: "metadata/<path*>",
            synopsis: "Read, write, list or delete a secret's metadata and all its versions.",
            description: "GET reads the versions and settings of a secret, POST writes max_versions, cas_required, delete_version_after and custom_metadata, PATCH merges them, LIST names keys, DELETE removes the secret with every version.",
        },
        PathHelp {
            pattern: "detailed-metadata/<path*>",
            synopsis: "List keys with their metadata.",
            description: "LIST names the keys below a path together with each key's metadata.",
        },
        PathHelp {
            pattern: "delete/<path*>",
            synopsis: "Soft-delete versions of a secret.",
            description: "POST {\"versions\": [1, 2]} marks those versions deleted; undelete can restore them.",
        },
        PathHelp {
            pattern: "undelete/<path*>",
            synopsis: "Restore soft-deleted versions of a secret.",
            description: "POST {\"versions\": [1, 2]} restores versions that were deleted but not destroyed.",
        },
        PathHelp {
            pattern: "destroy/<path*>",
            synopsis: "Permanently remove versions of a secret.",
            description: "POST {\"versions\": [1, 2]} erases the data of those versions; this cannot be undone.",
        },
        PathHelp {
            pattern: "subkeys/<path*>",
            synopsis: "Read the structure of a secret without its values.",
            description: "GET returns the secret's keys with null in place of every value (?depth=N limits nesting, ?version=N picks a version).",
        },
    ],
};

#[async_trait]
impl Engine for KvV2 {
    fn help(&self) -> &'static BackendHelp {
        &HELP
    }

    async fn handle(&self, ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
        let storage = &ctx.storage;
        self.ensure_upgraded(storage).await?;
        let op = req.operation;
        match route(&req.path) {
            Route::Config => config::handle(self, storage, req).await,
            Route::Data(_) if op == Operation::List => Err(RequestError::UnsupportedOperation),
            Route::Data(path) => data::handle(self, storage, path, req).await,
            Route::Metadata(path) if op == Operation::List => {
                metadata::list(storage, path, req, false).await
            }
            Route::Metadata(path) => metadata::handle(self, storage, path, req).await,
            Route::DetailedMetadata(path) if op == Operation::List => {
                metadata::list(storage, path, req, true).await
            }
            Route::Versions(action, path)
                if matches!(op, Operation::Create | Operation::Update) =>
            {
                versions::handle(self, storage, action, path, req).await
            }
            Route::Subkeys(path) if op == Operation::Read => {
                subkeys::read(storage, path, req).await
            }
            Route::DetailedMetadata(_) | Route::Versions(..) | Route::Subkeys(_) => {
                Err(RequestError::UnsupportedOperation)
            }
            Route::SectionRoot => Ok(not_found_with_warning(
                "Non-listing operations on the root of a K/V v2 mount are not supported.".into(),
            )),
            Route::Invalid => Ok(not_found_with_warning(invalid_path_warning(op))),
        }
    }

    async fn exists(
        &self,
        ctx: &MountContext,
        req: &Request,
    ) -> Result<Option<bool>, RequestError> {
        let path = match route(&req.path) {
            Route::Data(path) | Route::Metadata(path) if !path.is_empty() => path,
            _ => return Ok(None),
        };
        self.ensure_upgraded(&ctx.storage).await?;
        Ok(Some(
            store::load_metadata(&ctx.storage, path).await?.is_some(),
        ))
    }
}

/// A 404 with the envelope and a warning, as Vault answers paths that are not endpoints.
fn not_found_with_warning(warning: String) -> Response {
    Response {
        status: Some(404),
        warnings: vec![warning],
        ..Response::default()
    }
}

fn invalid_path_warning(op: Operation) -> String {
    let command = match op {
        Operation::Create | Operation::Update => "put",
        Operation::Patch => "patch",
        Operation::Read => "get",
        Operation::List => "list",
        Operation::Delete => "delete",
    };
    format!(
        "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate \
         API endpoints to use. If using the CLI, use 'cofre kv {command}' (or 'bao kv \
         {command}') for this operation."
    )
}

/// A response whose status is 404 but which carries data, as Vault answers reads of
/// deleted or destroyed versions.
fn not_found_with(data: serde_json::Map<String, serde_json::Value>) -> Response {
    Response {
        status: Some(404),
        ..Response::data(data)
    }
}
