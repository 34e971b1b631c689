//! [`Timed`]: a thin wrapper around any [`Backend`] that records each operation's duration
//! in the server's metrics (`cofre_storage_operation_duration_seconds`). Installed once at
//! startup; it sees only what the backend sees (keys and ciphertext) and records neither.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use super::{Backend, Change, HaNode, StorageError, TxnOp};
use crate::metrics::Metrics;

/// A backend whose operations are timed.
pub struct Timed {
    inner: Arc<dyn Backend>,
    metrics: Arc<Metrics>,
}

impl Timed {
    pub fn new(inner: Arc<dyn Backend>, metrics: Arc<Metrics>) -> Self {
        Timed { inner, metrics }
    }

    /// Runs `work`, recording its duration under operation `index` of
    /// [`crate::metrics::STORAGE_OPERATIONS`].
    async fn timed<T>(&self, index: usize, work: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let result = work.await;
        self.metrics.observe_storage(index, started.elapsed());
        result
    }
}

#[async_trait]
impl Backend for Timed {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.timed(0, self.inner.get(key)).await
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        self.timed(1, self.inner.put(key, value)).await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.timed(2, self.inner.delete(key)).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        self.timed(3, self.inner.list(prefix)).await
    }

    async fn scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        self.timed(4, self.inner.scan(prefix, after, limit)).await
    }

    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<(), StorageError> {
        self.timed(5, self.inner.transaction(ops)).await
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        self.inner.changes()
    }

    fn is_leader(&self) -> bool {
        self.inner.is_leader()
    }

    async fn ha_nodes(&self) -> Result<Option<Vec<HaNode>>, StorageError> {
        self.inner.ha_nodes().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn behaves_as_the_backend_and_counts_operations() {
        let metrics = Arc::new(Metrics::default());
        let timed = Timed::new(Arc::new(super::super::inmem::Inmem::new()), metrics.clone());
        super::super::conformance::run_all(&timed).await;
        let text = crate::metrics::exposition::prometheus(&metrics.families());
        assert!(
            text.contains("cofre_storage_operation_duration_seconds_count{operation=\"put\"}"),
            "{text}"
        );
        assert!(
            !text.contains("cofre_storage_operation_duration_seconds_count{operation=\"get\"} 0\n")
        );
    }
}
