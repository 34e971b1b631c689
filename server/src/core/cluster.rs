//! Several nodes on one shared store (HA): what each node caches from storage, how it
//! drops those caches when another node changes them, and which background work only the
//! leader runs. The backend reports other nodes' writes ([`Change`]); a lost connection
//! reports [`Change::Resync`] and every cache is reloaded.

use std::sync::Arc;

use super::mounts::{AUTH_PATH, MOUNTS_PATH};
use super::{RequestError, Unsealed};
use crate::barrier::KEYRING_PATH;
use crate::storage::Change;

/// Key prefixes (barrier paths) whose values some node caches in memory: writes under
/// them are announced to the other nodes.
pub const SHARED_CACHE_PREFIXES: &[&str] = &[
    "core/",
    "sys/policy/",
    "sys/token/id/",
    "sys/quotas/",
    "sys/expire/id/",
];

impl Unsealed {
    /// Applies other nodes' changes until seal (a no-op for single-node storage).
    pub(super) fn start_change_listener(self: &Arc<Self>) {
        let Some(mut changes) = self.barrier.backend().changes() else {
            return;
        };
        let this = Arc::downgrade(self);
        let mut stop = self.stop.subscribe();
        let task = tokio::spawn(async move {
            loop {
                let change = tokio::select! {
                    _ = stop.changed() => return,
                    change = changes.recv() => change,
                };
                let change = match change {
                    Ok(change) => change,
                    // Too slow to keep up: some changes were dropped.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Change::Resync,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                let Some(this) = this.upgrade() else { return };
                if let Err(e) = this.apply_change(&change).await {
                    tracing::warn!(error = %e, ?change, "applying another node's change failed; reloading everything");
                    if let Err(e) = this.apply_change(&Change::Resync).await {
                        tracing::error!(error = %e, "reloading caches failed");
                    }
                }
            }
        });
        self.push_task(task);
    }

    /// Drops or reloads what `change` made stale.
    async fn apply_change(&self, change: &Change) -> Result<(), RequestError> {
        let key = match change {
            Change::Key(key) => key.as_str(),
            Change::Resync => {
                self.barrier.reload_keyring().await?;
                self.reload_routes().await?;
                self.policies.reload_all().await?;
                self.quotas.reload().await?;
                self.tokens.invalidate_all();
                self.leases.invalidate_counts();
                return Ok(());
            }
        };
        if key == KEYRING_PATH {
            self.barrier.reload_keyring().await?;
        } else if key == MOUNTS_PATH || key == AUTH_PATH {
            self.reload_routes().await?;
        } else if let Some(name) = key.strip_prefix("sys/policy/") {
            self.policies.reload(name).await?;
        } else if let Some(hash) = key.strip_prefix("sys/token/id/") {
            self.tokens.invalidate(hash);
        } else if key.starts_with("sys/quotas/") {
            self.quotas.reload().await?;
        } else if key.starts_with("sys/expire/id/") {
            self.leases.invalidate_counts();
        }
        Ok(())
    }

    async fn reload_routes(&self) -> Result<(), RequestError> {
        let _guard = self.mount_lock.lock().await;
        self.rebuild_routes().await
    }

    /// Whether this node runs the once-only background work (always, unless HA).
    pub fn is_leader(&self) -> bool {
        self.barrier.backend().is_leader()
    }
}
