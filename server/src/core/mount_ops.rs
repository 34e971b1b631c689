//! Changing the mount tables: enable, disable, tune and move mounts. Each change is a
//! read-modify-write of one stored table under the mount lock, then a router rebuild.

use super::mounts::{normalize_path, MountEntry};
use super::{RequestError, Unsealed};

impl Unsealed {
    /// Remembers a finished move for `sys/remount/status` (kept in memory, last 100).
    pub fn record_migration(&self, id: &str, from: &str, to: &str) {
        let mut moves = self.migrations.lock().unwrap_or_else(|e| e.into_inner());
        if moves.len() >= 100 {
            moves.remove(0);
        }
        moves.push((id.to_string(), from.to_string(), to.to_string()));
    }

    /// (from, to) of a recorded move.
    pub fn migration(&self, id: &str) -> Option<(String, String)> {
        let moves = self.migrations.lock().unwrap_or_else(|e| e.into_inner());
        moves
            .iter()
            .find(|(m, _, _)| m == id)
            .map(|(_, f, t)| (f.clone(), t.clone()))
    }
}

/// Secrets-engine paths that cannot be mounted over or removed.
const RESERVED: &[&str] = &["sys/", "auth/", "cubbyhole/", "identity/"];

impl Unsealed {
    /// Mounts a new engine or auth method.
    pub async fn enable_mount(&self, mut entry: MountEntry) -> Result<(), RequestError> {
        entry.path = validate_path(&entry.path)?;
        if !entry.is_auth && RESERVED.iter().any(|r| entry.path.starts_with(r)) {
            return Err(RequestError::invalid(format!(
                "cannot mount at reserved path {:?}",
                entry.path
            )));
        }
        // Builds the engine now so a bad type or option fails before anything is stored.
        if !matches!(entry.kind.as_str(), "system" | "token") {
            crate::auth::create(&entry)?;
        }
        let _guard = self.mount_lock.lock().await;
        if let Some(existing) = self.router.conflict(&entry.api_path()) {
            return Err(RequestError::invalid(format!(
                "path is already in use at {existing}"
            )));
        }
        let mut table = self.table(entry.is_auth).await?;
        let is_auth = entry.is_auth;
        table.push(entry);
        self.save_table(is_auth, &table).await?;
        self.rebuild_routes().await
    }

    /// Unmounts and deletes the mount's data.
    pub async fn disable_mount(&self, auth: bool, path: &str) -> Result<(), RequestError> {
        let path = validate_path(path)?;
        let _guard = self.mount_lock.lock().await;
        let mut table = self.table(auth).await?;
        let Some(index) = table.iter().position(|e| e.path == path) else {
            // Vault answers success for a path with nothing mounted.
            return Ok(());
        };
        if matches!(table[index].kind.as_str(), "system" | "cubbyhole" | "token") {
            return Err(RequestError::invalid(format!(
                "cannot unmount {:?}",
                table[index].api_path()
            )));
        }
        // As Vault: the mount's leases are revoked first; if that fails, nothing changes.
        let prefix = table[index].api_path();
        self.revoke_lease_prefix(&prefix, false)
            .await
            .map_err(|e| RequestError::invalid(format!("failed to revoke leases: {e}")))?;
        let removed = table.remove(index);
        self.save_table(auth, &table).await?;
        self.rebuild_routes().await?;
        self.mount_storage(&removed).clear().await?;
        Ok(())
    }

    /// Applies `change` to the entry at `path` and stores the result.
    pub async fn tune_mount(
        &self,
        auth: bool,
        path: &str,
        change: impl FnOnce(&mut MountEntry) -> Result<(), RequestError>,
    ) -> Result<(), RequestError> {
        let path = validate_path(path)?;
        let _guard = self.mount_lock.lock().await;
        let mut table = self.table(auth).await?;
        let entry = table
            .iter_mut()
            .find(|e| e.path == path)
            .ok_or_else(|| RequestError::invalid(format!("no mount at {path:?}")))?;
        change(entry)?;
        if !matches!(entry.kind.as_str(), "system" | "token") {
            crate::auth::create(entry)?;
        }
        self.save_table(auth, &table).await?;
        self.rebuild_routes().await
    }

    /// Moves a mount to a new path; its data stays where it is (keyed by UUID).
    pub async fn remount(&self, from: &str, to: &str) -> Result<(), RequestError> {
        let (from_auth, from) = split_auth(from);
        let (to_auth, to) = split_auth(to);
        if from_auth != to_auth {
            return Err(RequestError::invalid(
                "cannot move a mount between secrets engines and auth methods",
            ));
        }
        let from = validate_path(&from)?;
        let to = validate_path(&to)?;
        let _guard = self.mount_lock.lock().await;
        let mut table = self.table(from_auth).await?;
        let Some(index) = table.iter().position(|e| e.path == from) else {
            return Err(RequestError::invalid(format!(
                "no matching mount at {from:?}"
            )));
        };
        if matches!(table[index].kind.as_str(), "system" | "cubbyhole" | "token") {
            return Err(RequestError::invalid(format!("cannot remount {from:?}")));
        }
        let target = if from_auth {
            format!("auth/{to}")
        } else {
            to.clone()
        };
        if let Some(existing) = self.router.conflict(&target) {
            return Err(RequestError::invalid(format!(
                "path already in use at {existing}"
            )));
        }
        if !from_auth && RESERVED.iter().any(|r| to.starts_with(r)) {
            return Err(RequestError::invalid(format!(
                "cannot remount to reserved path {to:?}"
            )));
        }
        table[index].path = to;
        self.save_table(from_auth, &table).await?;
        self.rebuild_routes().await
    }
}

fn split_auth(path: &str) -> (bool, String) {
    let path = path.trim_start_matches('/');
    match path.strip_prefix("auth/") {
        Some(rest) => (true, rest.to_string()),
        None => (false, path.to_string()),
    }
}

/// A mount path: non-empty, no `..` or empty segments, normalised to end in '/'.
pub fn validate_path(path: &str) -> Result<String, RequestError> {
    let normalized = normalize_path(path);
    let segments: Vec<&str> = normalized.trim_end_matches('/').split('/').collect();
    if normalized == "/"
        || segments
            .iter()
            .any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return Err(RequestError::invalid(format!(
            "invalid mount path {path:?}"
        )));
    }
    Ok(normalized)
}
