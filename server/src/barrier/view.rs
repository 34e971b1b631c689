//! A [`StorageView`] is the barrier seen through a key prefix: each mount gets one under
//! its own UUID prefix, so an engine cannot read another mount's data, and moving a mount
//! moves no data.

use std::sync::Arc;

use super::{Barrier, BarrierError};
use crate::storage::TxnOp;

/// The barrier restricted to keys under `prefix`.
#[derive(Clone)]
pub struct StorageView {
    barrier: Arc<Barrier>,
    prefix: String,
}

impl StorageView {
    pub fn new(barrier: Arc<Barrier>, prefix: impl Into<String>) -> Self {
        Self {
            barrier,
            prefix: prefix.into(),
        }
    }

    /// A narrower view below this one.
    pub fn sub(&self, prefix: &str) -> Self {
        Self::new(
            self.barrier.clone(),
            [self.prefix.as_str(), prefix].concat(),
        )
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, key: &str) -> String {
        // Not `format!`: this runs on every storage access, and concat is several times
        // cheaper than the formatting machinery.
        [self.prefix.as_str(), key].concat()
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BarrierError> {
        self.barrier.get(&self.key(key)).await
    }

    /// Reads and decodes a JSON value; a value that does not decode is an error.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, BarrierError> {
        let Some(bytes) = self.get(key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| BarrierError::Decrypt {
                path: self.key(key),
                source: super::AeadError::Malformed,
            })
    }

    pub async fn put(&self, key: &str, value: &[u8]) -> Result<(), BarrierError> {
        self.barrier.put(&self.key(key), value).await
    }

    pub async fn put_json<T: serde::Serialize>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), BarrierError> {
        let bytes = serde_json::to_vec(value).expect("our stored types always serialise");
        self.put(key, &bytes).await
    }

    pub async fn delete(&self, key: &str) -> Result<(), BarrierError> {
        self.barrier.delete(&self.key(key)).await
    }

    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, BarrierError> {
        self.barrier.list(&self.key(prefix)).await
    }

    /// Keys under `prefix` relative to this view, in order, after `after` (relative).
    pub async fn scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, BarrierError> {
        let after = after.map(|a| self.key(a));
        let keys = self
            .barrier
            .scan(&self.key(prefix), after.as_deref(), limit)
            .await?;
        Ok(keys
            .into_iter()
            .map(|k| k[self.prefix.len()..].to_string())
            .collect())
    }

    /// Atomic puts/deletes with keys relative to this view.
    pub async fn transaction(&self, ops: Vec<TxnOp>) -> Result<(), BarrierError> {
        let ops = ops
            .into_iter()
            .map(|op| match op {
                TxnOp::Put(k, v) => TxnOp::Put(self.key(&k), v),
                TxnOp::Create(k, v) => TxnOp::Create(self.key(&k), v),
                TxnOp::Delete(k) => TxnOp::Delete(self.key(&k)),
            })
            .collect();
        self.barrier.transaction(ops).await
    }

    /// Deletes every key under this view (unmount, token cubbyhole cleanup).
    pub async fn clear(&self) -> Result<(), BarrierError> {
        loop {
            let keys = self.barrier.scan(&self.prefix, None, 512).await?;
            if keys.is_empty() {
                return Ok(());
            }
            let ops = keys.into_iter().map(TxnOp::Delete).collect();
            self.barrier.transaction(ops).await?;
        }
    }
}
