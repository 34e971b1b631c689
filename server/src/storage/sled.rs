//! Durable embedded storage on `sled` (pinned 0.34.7). sled only syncs in the background a
//! few times a second, so every write here awaits a flush before it returns: an
//! acknowledged write survives `kill -9`. Concurrent writers share flushes (group commit):
//! a writer whose write is already covered by a flush that started after it skips its own.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::{immediate_child, skip_folder, Backend, StorageError, TxnOp};

/// The page cache sled may keep in memory.
const CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// A sled database with group-committed durability.
pub struct Sled {
    db: sled::Db,
    /// Sequence number of the last write applied to sled's memory.
    written: AtomicU64,
    /// Every write with a sequence number at or below this is on disk.
    flushed: AtomicU64,
    flush_lock: tokio::sync::Mutex<()>,
    create_lock: tokio::sync::Mutex<()>,
}

impl Sled {
    /// Opens (or creates) the database directory. Corruption is a fatal, clearly worded
    /// error: the operator restores a snapshot rather than letting us guess.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let open_error = |reason: String| StorageError::Open {
            path: path.display().to_string(),
            reason,
        };
        let db = sled::Config::new()
            .path(path)
            .mode(sled::Mode::HighThroughput)
            // sled's default page cache is 1 GiB; hot keys fit well in far less, and the
            // OS page cache still holds the rest of the files.
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|e| match e {
                sled::Error::Corruption { .. } => open_error(format!(
                    "the data files are corrupt ({e}); restore the directory from a snapshot"
                )),
                other => open_error(other.to_string()),
            })?;
        Ok(Self {
            db,
            written: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            flush_lock: tokio::sync::Mutex::new(()),
            create_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// Waits until the write numbered `seq` is on disk, flushing if nobody else has.
    async fn sync(&self, seq: u64, key: &str) -> Result<(), StorageError> {
        if self.flushed.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        let _turn = self.flush_lock.lock().await;
        if self.flushed.load(Ordering::Acquire) >= seq {
            return Ok(());
        }
        let target = self.written.load(Ordering::Acquire);
        self.db
            .flush_async()
            .await
            .map_err(|e| StorageError::backend("flush", key, e))?;
        self.flushed.fetch_max(target, Ordering::AcqRel);
        Ok(())
    }

    fn next_seq(&self) -> u64 {
        self.written.fetch_add(1, Ordering::AcqRel) + 1
    }
}

#[async_trait]
impl Backend for Sled {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let value = self
            .db
            .get(key.as_bytes())
            .map_err(|e| StorageError::backend("get", key, e))?;
        Ok(value.map(|v| v.to_vec()))
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        self.db
            .insert(key.as_bytes(), value)
            .map_err(|e| StorageError::backend("put", key, e))?;
        let seq = self.next_seq();
        self.sync(seq, key).await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.db
            .remove(key.as_bytes())
            .map_err(|e| StorageError::backend("delete", key, e))?;
        let seq = self.next_seq();
        self.sync(seq, key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let mut out = Vec::new();
        let mut start = prefix.as_bytes().to_vec();
        loop {
            let next = self
                .db
                .range(start.clone()..)
                .next()
                .transpose()
                .map_err(|e| StorageError::backend("list", prefix, e))?;
            let Some((key, _)) = next else { break };
            let key = String::from_utf8_lossy(&key).into_owned();
            if !key.starts_with(prefix) {
                break;
            }
            let Some(child) = immediate_child(prefix, &key) else {
                start = [key.as_bytes(), &[0]].concat();
                continue;
            };
            start = if child.ends_with('/') {
                skip_folder(prefix, &child).into_bytes()
            } else {
                [key.as_bytes(), &[0]].concat()
            };
            out.push(child);
        }
        Ok(out)
    }

    async fn scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        let start = match after {
            Some(a) => [a.as_bytes(), &[0]].concat(),
            None => prefix.as_bytes().to_vec(),
        };
        let mut out = Vec::new();
        for item in self.db.range(start..) {
            let (key, _) = item.map_err(|e| StorageError::backend("scan", prefix, e))?;
            let key = String::from_utf8_lossy(&key).into_owned();
            if !key.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push(key);
        }
        Ok(out)
    }

    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<(), StorageError> {
        let Some(first_key) = ops.first().map(|op| op.key().to_string()) else {
            return Ok(());
        };
        let creates = ops.iter().any(|op| matches!(op, TxnOp::Create(..)));
        // Creates check-then-apply under one lock (this process is the only writer).
        let _creating = match creates {
            true => Some(self.create_lock.lock().await),
            false => None,
        };
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                TxnOp::Put(k, v) => batch.insert(k.as_bytes(), v),
                TxnOp::Delete(k) => batch.remove(k.as_bytes()),
                TxnOp::Create(k, v) => {
                    let taken = self
                        .db
                        .contains_key(k.as_bytes())
                        .map_err(|e| StorageError::backend("transaction", &k, e))?;
                    if taken {
                        return Err(StorageError::Conflict { key: k });
                    }
                    batch.insert(k.as_bytes(), v)
                }
            }
        }
        self.db
            .apply_batch(batch)
            .map_err(|e| StorageError::backend("transaction", &first_key, e))?;
        let seq = self.next_seq();
        self.sync(seq, &first_key).await
    }

    fn kind(&self) -> &'static str {
        "sled"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conforms() {
        let dir = tempdir();
        let db = Sled::open(&dir).unwrap();
        super::super::conformance::run_all(&db).await;
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn reopens_with_data() {
        let dir = tempdir();
        {
            let db = Sled::open(&dir).unwrap();
            db.put("k", b"v".to_vec()).await.unwrap();
        }
        let db = Sled::open(&dir).unwrap();
        assert_eq!(db.get("k").await.unwrap(), Some(b"v".to_vec()));
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_share_flushes() {
        let dir = tempdir();
        let db = std::sync::Arc::new(Sled::open(&dir).unwrap());
        let tasks: Vec<_> = (0..16)
            .map(|w| {
                let db = db.clone();
                tokio::spawn(async move {
                    for i in 0..20 {
                        db.put(&format!("w{w}/{i}"), vec![w as u8]).await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(db.flushed.load(Ordering::Acquire), 320);
        assert_eq!(db.list("w3/").await.unwrap().len(), 20);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn corrupt_directory_is_a_clear_error() {
        let dir = tempdir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("conf"), b"garbage that is not a sled config").unwrap();
        let err = Sled::open(&dir).err().expect("open must fail");
        assert!(err.to_string().contains("cannot open storage"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }

    fn tempdir() -> std::path::PathBuf {
        let mut bytes = [0u8; 8];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).unwrap();
        std::env::temp_dir().join(format!("cofre-sled-test-{}", u64::from_le_bytes(bytes)))
    }
}
