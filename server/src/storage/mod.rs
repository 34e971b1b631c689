//! Storage: the lowest layer. A [`Backend`] keeps opaque byte values under string keys and
//! never sees plaintext (the barrier above encrypts everything it writes). Backends:
//! [`inmem`] for `-dev` and tests, [`sled`](self::sled) for durable embedded storage,
//! [`postgres`] for several nodes sharing one store (HA).

pub mod inmem;
pub mod postgres;
pub mod sled;
pub mod timed;

use async_trait::async_trait;

/// A storage failure. Messages name the operation and key, never a value.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The underlying store failed (I/O, corruption, closed).
    #[error("storage {op} {key:?} failed: {reason}")]
    Backend {
        op: &'static str,
        key: String,
        reason: String,
    },
    /// The store could not be opened at all.
    #[error("cannot open storage at {path}: {reason}")]
    Open { path: String, reason: String },
    /// A [`TxnOp::Create`] found its key already there (another writer won): nothing of
    /// the transaction was applied.
    #[error("storage key {key:?} was written concurrently")]
    Conflict { key: String },
    /// The store cannot be reached right now (a shared database restarting); the request
    /// may be retried.
    #[error("storage unavailable: {reason}")]
    Unavailable { reason: String },
}

impl StorageError {
    pub(crate) fn backend(op: &'static str, key: &str, reason: impl ToString) -> Self {
        StorageError::Backend {
            op,
            key: key.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// One write in an atomic [`Backend::transaction`].
#[derive(Debug, Clone)]
pub enum TxnOp {
    Put(String, Vec<u8>),
    Delete(String),
    /// A put that requires the key to be absent; if it exists, the whole transaction
    /// fails with [`StorageError::Conflict`]. Lets writers on several nodes of a shared
    /// store detect that another one got there first.
    Create(String, Vec<u8>),
}

impl TxnOp {
    pub fn key(&self) -> &str {
        match self {
            TxnOp::Put(k, _) | TxnOp::Delete(k) | TxnOp::Create(k, _) => k,
        }
    }
}

/// A key/value store. Every method that returns `Ok` after a write has made it durable
/// (for durable backends): callers acknowledge a request only after that.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError>;
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
    /// The immediate children of `prefix`, sorted: plain keys, and `name/` for every
    /// "folder" that has keys below it (Vault's list semantics).
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError>;
    /// Up to `limit` full keys under `prefix` (recursively), in key order, strictly after
    /// `after` when given. Used to walk ordered indexes without loading them whole.
    async fn scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError>;
    /// Applies every operation or none of them.
    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<(), StorageError>;
    /// A short name for `sys/seal-status`'s `storage_type`.
    fn kind(&self) -> &'static str;

    /// Keys that other nodes sharing this store changed, for dropping cached copies.
    /// `None` for single-node backends.
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        None
    }

    /// Whether this node runs the once-only background work (lease expiry, rotations).
    /// Always true on single-node backends; on HA backends, the holder of the leader lock.
    fn is_leader(&self) -> bool {
        true
    }

    /// The live nodes sharing this store (`sys/ha-status`); `None` when not HA.
    async fn ha_nodes(&self) -> Result<Option<Vec<HaNode>>, StorageError> {
        Ok(None)
    }
}

/// A change another node made to a shared store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// This key was written or deleted.
    Key(String),
    /// Changes may have been missed (a lost connection): drop every cache.
    Resync,
}

/// A node of an HA cluster, as `sys/ha-status` lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HaNode {
    pub node_id: String,
    pub api_addr: String,
    /// Holds the leader lock.
    pub leader: bool,
    /// RFC 3339 time of its last heartbeat.
    pub last_seen: String,
    /// This node.
    pub is_self: bool,
}

/// Collapses sorted full keys under `prefix` into Vault-style immediate children.
/// Shared by backends that can only iterate keys in order.
pub(crate) fn immediate_child(prefix: &str, key: &str) -> Option<String> {
    let rest = key.strip_prefix(prefix)?;
    match rest.find('/') {
        Some(i) => Some(rest[..=i].to_string()),
        None if rest.is_empty() => None,
        None => Some(rest.to_string()),
    }
}

/// The first key after every key of the folder `prefix + child` (where `child` ends in
/// '/'): '0' is the byte after '/', so iteration can jump past a whole subtree.
pub(crate) fn skip_folder(prefix: &str, child: &str) -> String {
    let mut next = String::with_capacity(prefix.len() + child.len());
    next.push_str(prefix);
    next.push_str(&child[..child.len() - 1]);
    next.push('0');
    next
}

#[cfg(test)]
pub(crate) mod conformance {
    //! Behaviour every backend must share; each backend's tests call these.
    use super::*;

    pub async fn run_all(b: &dyn Backend) {
        basic(b).await;
        listing(b).await;
        scanning(b).await;
        transactions(b).await;
    }

    async fn basic(b: &dyn Backend) {
        assert_eq!(b.get("a").await.unwrap(), None);
        b.put("a", b"1".to_vec()).await.unwrap();
        assert_eq!(b.get("a").await.unwrap(), Some(b"1".to_vec()));
        b.put("a", b"2".to_vec()).await.unwrap();
        assert_eq!(b.get("a").await.unwrap(), Some(b"2".to_vec()));
        b.delete("a").await.unwrap();
        assert_eq!(b.get("a").await.unwrap(), None);
        b.delete("never-there").await.unwrap();
    }

    async fn listing(b: &dyn Backend) {
        for k in ["l/a", "l/b/c", "l/b/d", "l/b0", "l/c/x/y", "l.x", "m/z"] {
            b.put(k, vec![1]).await.unwrap();
        }
        assert_eq!(b.list("l/").await.unwrap(), vec!["a", "b/", "b0", "c/"]);
        assert_eq!(b.list("l/b/").await.unwrap(), vec!["c", "d"]);
        assert!(b.list("nothing/").await.unwrap().is_empty());
        let top = b.list("").await.unwrap();
        assert_eq!(top, vec!["l.x", "l/", "m/"]);
    }

    async fn scanning(b: &dyn Backend) {
        for i in 0..10 {
            b.put(&format!("s/{i:02}"), vec![]).await.unwrap();
        }
        let first = b.scan("s/", None, 4).await.unwrap();
        assert_eq!(first, vec!["s/00", "s/01", "s/02", "s/03"]);
        let next = b.scan("s/", Some("s/03"), 100).await.unwrap();
        assert_eq!(next.len(), 6);
        assert_eq!(next[0], "s/04");
    }

    async fn transactions(b: &dyn Backend) {
        b.put("t/old", vec![1]).await.unwrap();
        b.transaction(vec![
            TxnOp::Put("t/new".into(), vec![2]),
            TxnOp::Delete("t/old".into()),
        ])
        .await
        .unwrap();
        assert_eq!(b.get("t/new").await.unwrap(), Some(vec![2]));
        // A create over an existing key fails the whole transaction.
        let clash = b
            .transaction(vec![
                TxnOp::Put("t/other".into(), vec![3]),
                TxnOp::Create("t/new".into(), vec![4]),
            ])
            .await;
        assert!(
            matches!(clash, Err(StorageError::Conflict { .. })),
            "{clash:?}"
        );
        assert_eq!(b.get("t/new").await.unwrap(), Some(vec![2]));
        assert_eq!(b.get("t/other").await.unwrap(), None);
        b.transaction(vec![TxnOp::Create("t/fresh".into(), vec![5])])
            .await
            .unwrap();
        assert_eq!(b.get("t/fresh").await.unwrap(), Some(vec![5]));
        assert_eq!(b.get("t/old").await.unwrap(), None);
    }
}
