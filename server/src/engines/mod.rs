//! Secrets engines: each mount of a kind (`kv`, `cubbyhole`, …) is served by one value of a
//! type implementing [`Engine`]. A new engine is one module plus one line in [`create`].

pub mod cubbyhole;
pub mod database;
pub mod help;
pub mod kv;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::barrier::StorageView;
use crate::core::mounts::MountEntry;
use crate::core::{Request, RequestError, Response};
use crate::tokens::TokenEntry;

/// What an engine gets with each request besides the request itself.
pub struct MountContext {
    /// The mount's own storage (the barrier under `logical/<uuid>/`).
    pub storage: StorageView,
    /// The mount's table entry (path, options, tuned TTLs).
    pub mount: Arc<MountEntry>,
    /// The token that made the request (None only for unauthenticated paths).
    pub token: Option<Arc<TokenEntry>>,
    /// The server's `default_lease_ttl` in seconds, for mounts that do not tune their own.
    pub system_default_ttl: u64,
}

/// A lease handed back to the engine that issued it (revocation, renewal).
pub struct LeasedSecret<'a> {
    pub lease_id: &'a str,
    /// The request path that issued it, relative to the mount (`creds/readonly`).
    pub path: &'a str,
    /// The `internal` map of the engine's [`crate::core::SecretLease`].
    pub internal: &'a Map<String, Value>,
    /// Unix seconds: when the lease expires (after this renewal, for `renew`).
    pub expire_time: u64,
}

/// A secrets engine. `req.path` is relative to the mount (`data/app/db` for
/// `secret/data/app/db`); list paths end in '/'.
#[async_trait]
pub trait Engine: Send + Sync {
    async fn handle(&self, ctx: &MountContext, req: &Request) -> Result<Response, RequestError>;

    /// What the engine is and the paths it serves, for `?help=1` (`vault path-help`).
    fn help(&self) -> &'static help::BackendHelp;

    /// Paths (relative to the mount) that need no token: an auth method's login paths.
    /// An entry ending in `*` matches every path with that prefix.
    fn unauthenticated_paths(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether the path of a write already exists, so the ACL can require `create` or
    /// `update`. `None`: the engine makes no such distinction (always `update`).
    async fn exists(
        &self,
        _ctx: &MountContext,
        _req: &Request,
    ) -> Result<Option<bool>, RequestError> {
        Ok(None)
    }

    /// Revokes a lease this engine issued (drops the database user, …). Called by the
    /// expiration manager with no token in `ctx`; an error makes it retry with backoff.
    async fn revoke(
        &self,
        _ctx: &MountContext,
        _lease: &LeasedSecret<'_>,
    ) -> Result<(), RequestError> {
        Ok(())
    }

    /// Extends a lease this engine issued to `lease.expire_time` (the core has already
    /// capped it at the lease's max TTL). An error refuses the renewal.
    async fn renew(
        &self,
        _ctx: &MountContext,
        _lease: &LeasedSecret<'_>,
    ) -> Result<(), RequestError> {
        Ok(())
    }

    /// Periodic work (static role rotation, …), called about every 5 s while unsealed on
    /// one task; keep it short. Errors are logged.
    async fn tick(&self, _ctx: &MountContext) -> Result<(), RequestError> {
        Ok(())
    }
}

/// Builds the engine for a mount entry, or says why the type or options are not supported.
pub fn create(entry: &MountEntry) -> Result<Arc<dyn Engine>, RequestError> {
    match entry.kind.as_str() {
        "kv" | "generic" => kv::create(entry),
        "cubbyhole" => Ok(Arc::new(cubbyhole::Cubbyhole)),
        "database" => Ok(Arc::new(database::Database::default())),
        other => Err(RequestError::invalid(format!(
            "plugin not found in the catalog: {other}"
        ))),
    }
}
