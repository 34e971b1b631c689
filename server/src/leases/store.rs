//! [`LeaseStore`]: lease entries and their `due/` and `token/` indexes, written together in
//! one storage transaction, plus the lazily built per-path counts.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::LeaseEntry;
use crate::barrier::{BarrierError, StorageView};
use crate::storage::TxnOp;

/// Keys read per storage scan while paging through an index.
const PAGE: usize = 1024;

/// The lease store of one unsealed core.
pub struct LeaseStore {
    view: StorageView,
    /// Live leases per lease path (`database/creds/ro`); `None` until first needed.
    counts: Mutex<Option<BTreeMap<String, u64>>>,
}

/// The path part of a lease id: everything before its last segment.
pub fn lease_path(lease_id: &str) -> &str {
    lease_id.rsplit_once('/').map_or("", |(path, _)| path)
}

impl LeaseStore {
    pub fn new(view: StorageView) -> Self {
        Self {
            view,
            counts: Mutex::new(None),
        }
    }

    pub async fn get(&self, lease_id: &str) -> Result<Option<LeaseEntry>, BarrierError> {
        if lease_id.is_empty() || lease_id.ends_with('/') {
            return Ok(None);
        }
        self.view.get_json(&format!("id/{lease_id}")).await
    }

    /// Stores a new lease with its indexes.
    pub async fn create(&self, entry: &LeaseEntry) -> Result<(), BarrierError> {
        let mut ops = vec![
            TxnOp::Put(format!("id/{}", entry.lease_id), to_json(entry)),
            TxnOp::Put(due_key(entry.due_time(), &entry.lease_id), Vec::new()),
        ];
        if !entry.token_hash.is_empty() {
            ops.push(TxnOp::Put(
                token_key(&entry.token_hash, &entry.lease_id),
                Vec::new(),
            ));
        }
        self.view.transaction(ops).await?;
        self.adjust_count(&entry.lease_id, 1);
        Ok(())
    }

    /// Replaces a lease (renewal, failed revocation), moving its `due/` entry.
    pub async fn update(&self, old: &LeaseEntry, new: &LeaseEntry) -> Result<(), BarrierError> {
        let mut ops = vec![TxnOp::Put(format!("id/{}", new.lease_id), to_json(new))];
        if old.due_time() != new.due_time() {
            ops.push(TxnOp::Delete(due_key(old.due_time(), &old.lease_id)));
            ops.push(TxnOp::Put(
                due_key(new.due_time(), &new.lease_id),
                Vec::new(),
            ));
        }
        self.view.transaction(ops).await
    }

    /// Deletes a lease and its indexes.
    pub async fn remove(&self, entry: &LeaseEntry) -> Result<(), BarrierError> {
        let mut ops = vec![
            TxnOp::Delete(format!("id/{}", entry.lease_id)),
            TxnOp::Delete(due_key(entry.due_time(), &entry.lease_id)),
        ];
        if !entry.token_hash.is_empty() {
            ops.push(TxnOp::Delete(token_key(&entry.token_hash, &entry.lease_id)));
        }
        self.view.transaction(ops).await?;
        self.adjust_count(&entry.lease_id, -1);
        Ok(())
    }

    /// Up to `limit` (due time, lease id) pairs due at or before `now`, oldest first.
    pub async fn due(&self, now: u64, limit: usize) -> Result<Vec<(u64, String)>, BarrierError> {
        let keys = self.view.scan("due/", None, limit).await?;
        Ok(keys
            .iter()
            .filter_map(|k| parse_due_key(k))
            .take_while(|(time, _)| *time <= now)
            .collect())
    }

    /// Removes a `due/` entry that no longer matches its lease.
    pub async fn drop_due(&self, time: u64, lease_id: &str) -> Result<(), BarrierError> {
        self.view.delete(&due_key(time, lease_id)).await
    }

    /// The ids of the leases a token created.
    pub async fn by_token(&self, token_hash: &str) -> Result<Vec<String>, BarrierError> {
        let prefix = format!("token/{token_hash}/");
        Ok(self
            .scan_all(&prefix)
            .await?
            .into_iter()
            .map(|k| k[prefix.len()..].to_string())
            .collect())
    }

    /// Drops a `token/` index entry whose lease is gone.
    pub async fn drop_token_index(
        &self,
        token_hash: &str,
        lease_id: &str,
    ) -> Result<(), BarrierError> {
        self.view.delete(&token_key(token_hash, lease_id)).await
    }

    /// Every lease id starting with `prefix` (a path prefix such as `database/creds/`).
    pub async fn ids_with_prefix(&self, prefix: &str) -> Result<Vec<String>, BarrierError> {
        Ok(self
            .scan_all(&format!("id/{prefix}"))
            .await?
            .into_iter()
            .map(|k| k["id/".len()..].to_string())
            .collect())
    }

    /// One level of the lease id tree below `prefix` (`sys/leases/lookup/<prefix>`):
    /// lease ids' last segments and sub-paths ending in '/'.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, BarrierError> {
        self.view.list(&format!("id/{prefix}")).await
    }

    /// Every key under `prefix` (relative to the store), paging through the index.
    async fn scan_all(&self, prefix: &str) -> Result<Vec<String>, BarrierError> {
        let mut out: Vec<String> = Vec::new();
        loop {
            let after = out.last().cloned();
            let keys = self.view.scan(prefix, after.as_deref(), PAGE).await?;
            let done = keys.len() < PAGE;
            out.extend(keys);
            if done {
                return Ok(out);
            }
        }
    }

    /// Live leases per lease path, built by a key-only scan on first use.
    pub async fn counts(&self) -> Result<BTreeMap<String, u64>, BarrierError> {
        self.with_counts(BTreeMap::clone).await
    }

    /// Runs `f` on the counts under their lock, building them first if needed.
    async fn with_counts<T>(
        &self,
        f: impl FnOnce(&BTreeMap<String, u64>) -> T,
    ) -> Result<T, BarrierError> {
        if let Some(counts) = self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            return Ok(f(counts));
        }
        let mut counts = BTreeMap::new();
        for key in self.scan_all("id/").await? {
            *counts
                .entry(lease_path(&key["id/".len()..]).to_string())
                .or_insert(0) += 1;
        }
        let mut slot = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        // Another caller may have built them meanwhile; its scan is as good as ours.
        Ok(f(slot.get_or_insert(counts)))
    }

    /// Forgets the counts (another node added or removed leases); the next use rescans.
    pub fn invalidate_counts(&self) {
        *self.counts.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Live leases whose id starts with `prefix`.
    pub async fn count_under(&self, prefix: &str) -> Result<u64, BarrierError> {
        self.with_counts(|counts| {
            counts
                .iter()
                .filter(|(path, _)| under(path, prefix))
                .map(|(_, n)| n)
                .sum()
        })
        .await
    }

    fn adjust_count(&self, lease_id: &str, delta: i64) {
        let mut slot = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(counts) = slot.as_mut() {
            let path = lease_path(lease_id);
            let n = counts.entry(path.to_string()).or_insert(0);
            *n = n.saturating_add_signed(delta);
            if *n == 0 {
                counts.remove(path);
            }
        }
    }
}

/// Whether a lease path lies under a quota or count prefix (`database/` covers
/// `database/creds/ro`; `database/creds/ro` covers itself).
pub fn under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path == prefix
        || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

fn to_json(entry: &LeaseEntry) -> Vec<u8> {
    serde_json::to_vec(entry).expect("lease entries always serialise")
}

fn due_key(time: u64, lease_id: &str) -> String {
    format!("due/{time:012}/{lease_id}")
}

fn token_key(token_hash: &str, lease_id: &str) -> String {
    format!("token/{token_hash}/{lease_id}")
}

fn parse_due_key(key: &str) -> Option<(u64, String)> {
    let (time, id) = key.strip_prefix("due/")?.split_once('/')?;
    Some((time.parse().ok()?, id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> LeaseStore {
        let barrier = crate::barrier::in_memory_for_tests().await;
        LeaseStore::new(StorageView::new(barrier, "sys/expire/"))
    }

    fn lease(id: &str, token: &str, expire: u64) -> LeaseEntry {
        LeaseEntry {
            lease_id: id.into(),
            mount_uuid: "u".into(),
            path: "creds/ro".into(),
            internal: serde_json::Map::new(),
            token_hash: token.into(),
            issue_time: 1,
            expire_time: expire,
            last_renewal: 0,
            max_expire_time: expire + 100,
            ttl: expire - 1,
            renewable: true,
            revocation: None,
        }
    }

    #[tokio::test]
    async fn indexes_follow_the_entry() {
        let s = store().await;
        s.create(&lease("db/creds/ro/a", "t1", 50)).await.unwrap();
        s.create(&lease("db/creds/ro/b", "t1", 20)).await.unwrap();
        s.create(&lease("db/creds/rw/c", "t2", 30)).await.unwrap();
        let due: Vec<_> = s.due(30, 10).await.unwrap();
        assert_eq!(
            due,
            vec![(20, "db/creds/ro/b".into()), (30, "db/creds/rw/c".into())]
        );
        assert_eq!(s.by_token("t1").await.unwrap().len(), 2);
        assert_eq!(s.list("db/creds/").await.unwrap(), vec!["ro/", "rw/"]);
        assert_eq!(s.ids_with_prefix("db/creds/ro/").await.unwrap().len(), 2);

        let old = s.get("db/creds/ro/b").await.unwrap().unwrap();
        let mut renewed = old.clone();
        renewed.expire_time = 60;
        s.update(&old, &renewed).await.unwrap();
        assert_eq!(s.due(30, 10).await.unwrap().len(), 1, "moved past 30");

        assert_eq!(s.count_under("db/").await.unwrap(), 3);
        assert_eq!(s.count_under("db/creds/ro").await.unwrap(), 2);
        assert_eq!(s.count_under("db/creds/r").await.unwrap(), 0);
        s.remove(&renewed).await.unwrap();
        assert_eq!(s.count_under("db/creds/ro").await.unwrap(), 1);
        assert!(s.get("db/creds/ro/b").await.unwrap().is_none());
        assert_eq!(s.by_token("t1").await.unwrap(), vec!["db/creds/ro/a"]);
        assert_eq!(s.due(100, 10).await.unwrap().len(), 2);
    }

    #[test]
    fn lease_paths_and_prefixes() {
        assert_eq!(lease_path("database/creds/ro/abc"), "database/creds/ro");
        assert!(under("database/creds/ro", "database/"));
        assert!(under("database/creds/ro", "database/creds/ro"));
        assert!(!under("database/creds/rox", "database/creds/ro"));
        assert!(under("anything", ""));
    }
}
