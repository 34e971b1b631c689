//! `delete/<path>`, `undelete/<path>`, `destroy/<path>`: soft-delete, restore, or
//! permanently remove chosen versions (`{"versions": [1, 2]}`). Unknown versions, and
//! keys that do not exist, are ignored as in Vault.

use std::time::SystemTime;

use super::store::{encode, load_record, meta_key, version_key, KeyRecord, MountConfig};
use super::KvV2;
use crate::barrier::StorageView;
use crate::core::fields;
use crate::core::{Request, RequestError, Response};
use crate::duration::rfc3339_nanos;
use crate::storage::TxnOp;

/// What to do to the chosen versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Delete,
    Undelete,
    Destroy,
}

pub async fn handle(
    engine: &KvV2,
    storage: &StorageView,
    action: Action,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let versions = fields::int_list(&req.data, "versions")?;
    if versions.is_empty() {
        // Vault's two spellings, kept for clients that match on them.
        let message = match action {
            Action::Destroy => "no version number provided",
            Action::Delete | Action::Undelete => "No version number provided",
        };
        return Err(RequestError::invalid(message));
    }
    let versions: Vec<u64> = versions
        .into_iter()
        .filter_map(|v| u64::try_from(v).ok())
        .collect();
    let config = engine.config(storage).await?;
    let _key = engine.lock_key(path).await;
    let Some(mut record) = load_record(storage, path).await? else {
        return Ok(Response::empty());
    };
    let now = SystemTime::now();
    let changes = match action {
        Action::Delete => delete(&mut record, &versions, now),
        Action::Undelete => undelete(&mut record, &versions, &config, now),
        Action::Destroy => destroy(&mut record, path, &versions),
    };
    let Some(mut ops) = changes else {
        return Ok(Response::empty());
    };
    ops.push(TxnOp::Put(meta_key(path), encode(&record)));
    storage.transaction(ops).await?;
    Ok(Response::empty())
}

/// Marks live versions deleted now. Like the other actions, returns `None` when nothing
/// changed, else the storage operations besides rewriting the record.
fn delete(record: &mut KeyRecord, versions: &[u64], now: SystemTime) -> Option<Vec<TxnOp>> {
    let mut changed = false;
    for number in versions {
        if let Some(version) = record.meta.versions.get_mut(number) {
            if !version.is_gone(now) {
                version.deletion_time = rfc3339_nanos(now);
                changed = true;
            }
        }
    }
    changed.then(Vec::new)
}

/// Clears the deletion of versions not destroyed; `delete_version_after` restarts from now.
fn undelete(
    record: &mut KeyRecord,
    versions: &[u64],
    config: &MountConfig,
    now: SystemTime,
) -> Option<Vec<TxnOp>> {
    let deletion_time = record.meta.deletion_time(config, now);
    let mut changed = false;
    for number in versions {
        if let Some(version) = record.meta.versions.get_mut(number) {
            if !version.destroyed {
                version.deletion_time = deletion_time.clone();
                changed = true;
            }
        }
    }
    changed.then(Vec::new)
}

/// Marks versions destroyed and deletes their data (the record's own for the current one).
fn destroy(record: &mut KeyRecord, path: &str, versions: &[u64]) -> Option<Vec<TxnOp>> {
    let current = record.meta.current_version;
    let mut changed = false;
    let mut ops = Vec::new();
    for &number in versions {
        let Some(version) = record.meta.versions.get_mut(&number) else {
            continue;
        };
        if version.destroyed {
            continue;
        }
        version.destroyed = true;
        changed = true;
        if number == current {
            record.latest = None;
        } else {
            ops.push(TxnOp::Delete(version_key(number, path)));
        }
    }
    changed.then_some(ops)
}
