//! The core: seal state, mount table, router, the request pipeline and the audit broker.
//!
//! The barrier, router, policy and token stores live in an [`Unsealed`] value that exists
//! only while the core is unsealed; [`Core::unsealed`] is the only way to reach them, so
//! "sealed means 503" and "no keys after seal" hold by construction.

mod cluster;
pub mod error;
mod expiration;
pub mod fields;
mod lifecycle;
mod login;
mod mount_ops;
pub mod mounts;
mod pipeline;
pub mod policies;
pub mod quotas;
pub mod request;
pub mod root_paths;
pub mod router;
pub mod seal;
mod snapshot;
pub mod static_seal;
#[cfg(test)]
pub(crate) mod testutil;
mod unsealed;
pub mod wrapping;

use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use cluster::SHARED_CACHE_PREFIXES;
pub use error::RequestError;
pub use expiration::LeaseMetrics;
pub use lifecycle::InitResult;
pub use pipeline::RequestTrace;
pub use request::{
    AuthInfo, LeaseInfo, LoginGrant, Operation, Request, Response, SecretLease, WrapInfo,
};
pub use unsealed::Unsealed;

use crate::storage::Backend;
use seal::UnsealProgress;

/// Server-wide settings the core needs.
#[derive(Clone, Debug)]
pub struct CoreSettings {
    pub default_lease_ttl: Duration,
    pub max_lease_ttl: Duration,
    /// `-dev` mode: a `secret/` KV v2 mount is created at init.
    pub dev: bool,
    /// Audit devices declared in the server config, enabled at every unseal.
    pub audit_devices: Vec<crate::config::AuditDevice>,
    /// `unsafe_allow_api_audit_creation`: `sys/audit/<path>` may enable devices.
    pub unsafe_allow_api_audit_creation: bool,
    /// The process's metrics registry (request, storage and audit counters).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// `telemetry { unauthenticated_metrics_access = true }`: `sys/metrics` needs no token.
    pub unauthenticated_metrics_access: bool,
    /// The keys of a `seal "static"` block: the vault unseals itself with them.
    pub static_seal: Option<Arc<static_seal::StaticKeys>>,
}

impl Default for CoreSettings {
    fn default() -> Self {
        let month = Duration::from_secs(768 * 3600);
        Self {
            default_lease_ttl: month,
            max_lease_ttl: month,
            dev: false,
            audit_devices: Vec::new(),
            unsafe_allow_api_audit_creation: false,
            metrics: Arc::default(),
            unauthenticated_metrics_access: false,
            static_seal: None,
        }
    }
}

/// The vault core of one server process.
pub struct Core {
    backend: Arc<dyn Backend>,
    pub settings: CoreSettings,
    state: RwLock<Option<Arc<Unsealed>>>,
    /// Serialises init/unseal/seal and holds the unseal shares submitted so far.
    progress: tokio::sync::Mutex<UnsealProgress>,
}

impl Core {
    pub fn new(backend: Arc<dyn Backend>, settings: CoreSettings) -> Self {
        Self {
            backend,
            settings,
            state: RwLock::new(None),
            progress: tokio::sync::Mutex::new(UnsealProgress::default()),
        }
    }

    /// The unsealed state, or 503 "Vault is sealed".
    pub fn unsealed(&self) -> Result<Arc<Unsealed>, RequestError> {
        self.state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(RequestError::sealed)
    }

    pub fn is_sealed(&self) -> bool {
        self.state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    pub fn storage_type(&self) -> &'static str {
        self.backend.kind()
    }

    /// The nodes sharing this node's store, `None` when it is not an HA store.
    pub async fn ha_nodes(&self) -> Result<Option<Vec<crate::storage::HaNode>>, RequestError> {
        Ok(self.backend.ha_nodes().await?)
    }

    fn set_state(&self, state: Option<Arc<Unsealed>>) -> Option<Arc<Unsealed>> {
        std::mem::replace(
            &mut *self.state.write().unwrap_or_else(|e| e.into_inner()),
            state,
        )
    }
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
