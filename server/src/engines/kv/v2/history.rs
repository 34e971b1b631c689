//! Adding a version to a key: numbering, deletion time, pruning beyond `max_versions`, and
//! the storage operations that make it durable in one transaction. Data writes, patches and
//! the v1 upgrade all go through [`append_version`].

use std::time::SystemTime;

use serde_json::Value;

use super::store::{
    encode, meta_key, version_key, KeyRecord, MountConfig, StoredData, VersionMeta,
};
use crate::duration::rfc3339_nanos;
use crate::storage::TxnOp;

/// Makes `data` the new current version of `record` (the key at `path`) and returns the
/// operations to run in one transaction: the previous current data moves to `ver/`,
/// versions beyond the limit are deleted, and the record is rewritten. The moved version
/// (or, for a new key, the record) is a [`TxnOp::Create`], so of two writers that started
/// from the same version — on two nodes of a shared store — only one commits.
pub fn append_version(
    record: &mut KeyRecord,
    path: &str,
    data: Value,
    config: &MountConfig,
    now: SystemTime,
) -> Vec<TxnOp> {
    let previous = record.meta.current_version;
    // Never stored before (no version, no metadata written on its own).
    let new_key = previous == 0 && record.meta.created_time.is_empty();
    let previous_data = record.latest.take();
    let created = rfc3339_nanos(now);
    let deletion_time = record.meta.deletion_time(config, now);

    let meta = &mut record.meta;
    meta.current_version += 1;
    meta.versions.insert(
        meta.current_version,
        VersionMeta {
            created_time: created.clone(),
            deletion_time,
            destroyed: false,
        },
    );
    if meta.created_time.is_empty() {
        meta.created_time = created.clone();
    }
    meta.updated_time = created;

    let mut ops: Vec<TxnOp> = prune(record, config)
        .into_iter()
        .filter(|&pruned| pruned != previous)
        .map(|pruned| TxnOp::Delete(version_key(pruned, path)))
        .collect();
    if let Some(previous_data) = previous_data {
        if record.meta.versions.contains_key(&previous) {
            ops.push(TxnOp::Create(
                version_key(previous, path),
                encode(&previous_data),
            ));
        }
    }
    record.latest = Some(StoredData::from_value(&data));
    ops.push(match new_key {
        true => TxnOp::Create(meta_key(path), encode(record)),
        false => TxnOp::Put(meta_key(path), encode(record)),
    });
    ops
}

/// Vault's sliding window: once the current version is `max` past the oldest kept one,
/// every version up to `current - max` goes. Returns the versions removed.
fn prune(record: &mut KeyRecord, config: &MountConfig) -> Vec<u64> {
    let meta = &mut record.meta;
    let max = meta.max_versions(config);
    if meta.current_version.saturating_sub(meta.oldest_version) < max {
        return Vec::new();
    }
    let last_removed = meta.current_version - max;
    let kept = meta.versions.split_off(&(last_removed + 1));
    let removed = std::mem::replace(&mut meta.versions, kept);
    meta.oldest_version = last_removed + 1;
    removed.into_keys().collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn put_keys(ops: &[TxnOp]) -> Vec<String> {
        ops.iter()
            .filter_map(|op| match op {
                TxnOp::Put(key, _) | TxnOp::Create(key, _) => Some(key.clone()),
                TxnOp::Delete(_) => None,
            })
            .collect()
    }

    fn deleted_keys(ops: &[TxnOp]) -> Vec<String> {
        ops.iter()
            .filter_map(|op| match op {
                TxnOp::Delete(key) => Some(key.clone()),
                TxnOp::Put(..) | TxnOp::Create(..) => None,
            })
            .collect()
    }

    #[test]
    fn the_previous_version_moves_out_of_the_record() {
        let mut record = KeyRecord::default();
        let config = MountConfig::default();
        let now = SystemTime::now();
        let ops = append_version(&mut record, "p", json!({"v": 1}), &config, now);
        assert_eq!(put_keys(&ops), vec!["meta/p"]);
        assert_eq!(record.meta.created_time, record.meta.updated_time);
        let ops = append_version(&mut record, "p", json!({"v": 2}), &config, now);
        assert_eq!(put_keys(&ops), vec!["ver/1/p", "meta/p"]);
        assert_eq!(
            record.latest,
            Some(StoredData::from_value(&json!({"v": 2})))
        );
        assert_eq!(record.meta.current_version, 2);
    }

    #[test]
    fn pruning_follows_vaults_window() {
        let mut record = KeyRecord::default();
        let config = MountConfig::default();
        let now = SystemTime::now();
        for v in 1..=9 {
            append_version(&mut record, "p", json!(v), &config, now);
        }
        assert_eq!(record.meta.oldest_version, 0);
        append_version(&mut record, "p", json!(10), &config, now);
        assert_eq!(record.meta.oldest_version, 1);
        assert_eq!(record.meta.versions.len(), 10);
        let ops = append_version(&mut record, "p", json!(11), &config, now);
        assert_eq!(deleted_keys(&ops), vec!["ver/1/p"]);
        assert_eq!(record.meta.oldest_version, 2);

        record.meta.max_versions = 3;
        let ops = append_version(&mut record, "p", json!(12), &config, now);
        assert_eq!(
            record.meta.versions.keys().copied().collect::<Vec<_>>(),
            [10, 11, 12]
        );
        assert_eq!(deleted_keys(&ops).len(), 8);
        assert_eq!(record.meta.oldest_version, 10);
    }

    #[test]
    fn a_limit_of_one_never_moves_the_previous_version() {
        let mut record = KeyRecord::default();
        record.meta.max_versions = 1;
        let config = MountConfig::default();
        let now = SystemTime::now();
        append_version(&mut record, "p", json!(1), &config, now);
        let ops = append_version(&mut record, "p", json!(2), &config, now);
        assert_eq!(put_keys(&ops), vec!["meta/p"]);
        assert!(deleted_keys(&ops).is_empty());
        assert_eq!(
            record.meta.versions.keys().copied().collect::<Vec<_>>(),
            [2]
        );
    }

    #[test]
    fn the_mount_and_key_limits_take_the_larger() {
        let mut record = KeyRecord::default();
        record.meta.max_versions = 2;
        let config = MountConfig {
            max_versions: 3,
            ..MountConfig::default()
        };
        let now = SystemTime::now();
        for v in 1..=5 {
            append_version(&mut record, "p", json!(v), &config, now);
        }
        assert_eq!(
            record.meta.versions.keys().copied().collect::<Vec<_>>(),
            [3, 4, 5]
        );
    }

    #[test]
    fn deletion_time_takes_the_smaller_setting_unless_disabled() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut record = KeyRecord::default();
        let mut config = MountConfig::default();
        assert_eq!(record.meta.deletion_time(&config, now), "");
        config.delete_version_after = 3600;
        record.meta.delete_version_after = 60;
        assert_eq!(
            record.meta.deletion_time(&config, now),
            "2023-11-14T22:14:20Z"
        );
        record.meta.delete_version_after = 0;
        assert_eq!(
            record.meta.deletion_time(&config, now),
            "2023-11-14T23:13:20Z"
        );
        config.delete_version_after = -1;
        record.meta.delete_version_after = 60;
        assert_eq!(record.meta.deletion_time(&config, now), "");
    }
}
