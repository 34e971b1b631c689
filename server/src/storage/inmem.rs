//! In-memory storage for `-dev` mode and tests: a sorted map behind a lock. Nothing
//! survives a restart.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

use async_trait::async_trait;

use super::{immediate_child, skip_folder, Backend, StorageError, TxnOp};

/// A `BTreeMap` store; all operations are synchronous under a short lock.
#[derive(Default)]
pub struct Inmem {
    map: RwLock<BTreeMap<String, Vec<u8>>>,
}

impl Inmem {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Vec<u8>>> {
        // A poisoned lock only means another thread panicked mid-operation; the map
        // itself is always in a consistent state between single inserts/removes.
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.map.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Backend for Inmem {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.read().get(key).cloned())
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        self.write().insert(key.to_string(), value);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.write().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let map = self.read();
        let mut out = Vec::new();
        let mut start = prefix.to_string();
        loop {
            let next = map
                .range::<String, _>((Bound::Included(&start), Bound::Unbounded))
                .next();
            let Some((key, _)) = next else { break };
            let Some(child) = immediate_child(prefix, key) else {
                if key.starts_with(prefix) {
                    start = format!("{key}\0");
                    continue;
                }
                break;
            };
            start = if child.ends_with('/') {
                skip_folder(prefix, &child)
            } else {
                format!("{key}\0")
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
        let map = self.read();
        let lower = match after {
            Some(a) => Bound::Excluded(a.to_string()),
            None => Bound::Included(prefix.to_string()),
        };
        Ok(map
            .range::<String, _>((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, _)| k.clone())
            .collect())
    }

    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<(), StorageError> {
        let mut map = self.write();
        if let Some(taken) = ops
            .iter()
            .find(|op| matches!(op, TxnOp::Create(k, _) if map.contains_key(k)))
        {
            return Err(StorageError::Conflict {
                key: taken.key().to_string(),
            });
        }
        for op in ops {
            match op {
                TxnOp::Put(k, v) | TxnOp::Create(k, v) => {
                    map.insert(k, v);
                }
                TxnOp::Delete(k) => {
                    map.remove(&k);
                }
            }
        }
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "inmem"
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn conforms() {
        super::super::conformance::run_all(&super::Inmem::new()).await;
    }
}
