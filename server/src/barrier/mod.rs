//! The barrier: everything above it reads and writes plaintext; everything below it
//! (storage) sees only AES-256-GCM ciphertext bound to its path. A [`Barrier`] exists only
//! while unsealed: it is built from the unseal key by [`Barrier::unseal`] and its key
//! material is wiped when it is dropped at seal.
//!
//! Key hierarchy: Shamir shares → unseal key (KEK) → root key (stored at
//! [`ROOT_KEY_PATH`], sealed by the KEK) → keyring (stored at [`KEYRING_PATH`], sealed by the
//! root key) → data keys, one per term, that seal every value.

pub mod aead;
mod keyring;
mod view;

use std::sync::{Arc, RwLock};

pub use aead::AeadError;
pub use view::StorageView;
use zeroize::Zeroizing;

use crate::storage::{Backend, StorageError, TxnOp};
use aead::SealingKey;
use keyring::Keyring;

/// Where the root key, sealed by the unseal key, is stored.
pub const ROOT_KEY_PATH: &str = "core/root-key";
/// Where the keyring, sealed by the root key, is stored.
pub const KEYRING_PATH: &str = "core/keyring";

/// Barrier failures. None of them carries plaintext.
#[derive(Debug, thiserror::Error)]
pub enum BarrierError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("cannot decrypt {path:?}: {source}")]
    Decrypt { path: String, source: AeadError },
    #[error("value at {path:?} was sealed with unknown key term {term}")]
    UnknownTerm { path: String, term: u32 },
    #[error("the barrier is not initialised: no sealed root key in storage")]
    NotInitialized,
    #[error("the unseal key is wrong: cipher: message authentication failed")]
    WrongUnsealKey,
    #[error("the stored keyring is malformed")]
    MalformedKeyring,
}

/// Status of the active encryption key (`sys/key-status`).
pub struct KeyStatus {
    pub term: u32,
    pub install_time: String,
}

/// The unsealed barrier: encrypts on the way down, decrypts on the way up.
pub struct Barrier {
    backend: Arc<dyn Backend>,
    root_key: Zeroizing<[u8; 32]>,
    keyring: RwLock<Arc<Keyring>>,
}

impl Barrier {
    /// Creates a new root key and keyring, seals them under `unseal_key`, and returns the
    /// unsealed barrier.
    pub async fn initialize(
        backend: Arc<dyn Backend>,
        unseal_key: &[u8; 32],
        now: String,
    ) -> Result<Self, BarrierError> {
        let root_key = crate::crypto::random_key::<32>();
        let sealed_root = SealingKey::new(unseal_key).seal(0, ROOT_KEY_PATH, root_key.as_ref());
        let keyring = Keyring::generate(now);
        let sealed_ring = SealingKey::new(&root_key).seal(0, KEYRING_PATH, &keyring.to_bytes());
        backend
            .transaction(vec![
                TxnOp::Put(ROOT_KEY_PATH.into(), sealed_root),
                TxnOp::Put(KEYRING_PATH.into(), sealed_ring),
            ])
            .await?;
        Ok(Self::assemble(backend, root_key, keyring))
    }

    /// Opens the root key with `unseal_key` and loads the keyring.
    pub async fn unseal(
        backend: Arc<dyn Backend>,
        unseal_key: &[u8],
    ) -> Result<Self, BarrierError> {
        let unseal_key: &[u8; 32] = unseal_key
            .try_into()
            .map_err(|_| BarrierError::WrongUnsealKey)?;
        let sealed_root = backend
            .get(ROOT_KEY_PATH)
            .await?
            .ok_or(BarrierError::NotInitialized)?;
        let root = Zeroizing::new(
            SealingKey::new(unseal_key)
                .open(ROOT_KEY_PATH, &sealed_root)
                .map_err(|_| BarrierError::WrongUnsealKey)?,
        );
        let mut root_key = Zeroizing::new([0u8; 32]);
        if root.len() != 32 {
            return Err(BarrierError::MalformedKeyring);
        }
        root_key.copy_from_slice(&root);
        let keyring = read_keyring(backend.as_ref(), &root_key).await?;
        Ok(Self::assemble(backend, root_key, keyring))
    }

    /// Seals the root key under a new unseal key (static seal key rotation); the old key
    /// no longer opens the vault afterwards.
    pub async fn reseal_root_key(&self, unseal_key: &[u8; 32]) -> Result<(), BarrierError> {
        let sealed_root =
            SealingKey::new(unseal_key).seal(0, ROOT_KEY_PATH, self.root_key.as_ref());
        self.backend.put(ROOT_KEY_PATH, sealed_root).await?;
        Ok(())
    }

    fn assemble(
        backend: Arc<dyn Backend>,
        root_key: Zeroizing<[u8; 32]>,
        keyring: Keyring,
    ) -> Self {
        Self {
            backend,
            root_key,
            keyring: RwLock::new(Arc::new(keyring)),
        }
    }

    fn keyring(&self) -> Arc<Keyring> {
        self.keyring
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-reads the keyring (another node rotated it).
    pub async fn reload_keyring(&self) -> Result<(), BarrierError> {
        let keyring = read_keyring(self.backend.as_ref(), &self.root_key).await?;
        *self.keyring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keyring);
        Ok(())
    }

    /// The storage backend under the barrier (for HA state: leadership, changes).
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Adds a new key term, persists the keyring, and seals new writes with it.
    pub async fn rotate(&self, now: String) -> Result<u32, BarrierError> {
        let current = self.keyring();
        let mut next =
            Keyring::from_bytes(&current.to_bytes()).map_err(|_| BarrierError::MalformedKeyring)?;
        let term = next.rotate(now);
        let sealed = SealingKey::new(&self.root_key).seal(0, KEYRING_PATH, &next.to_bytes());
        self.backend.put(KEYRING_PATH, sealed).await?;
        *self.keyring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        Ok(term)
    }

    pub fn key_status(&self) -> KeyStatus {
        let ring = self.keyring();
        KeyStatus {
            term: ring.active,
            install_time: ring.active_term().install_time.clone(),
        }
    }

    fn seal_value(&self, path: &str, plaintext: &[u8]) -> Vec<u8> {
        let ring = self.keyring();
        ring.active_term().key.seal(ring.active, path, plaintext)
    }

    fn open_value(&self, path: &str, blob: &[u8]) -> Result<Vec<u8>, BarrierError> {
        let decrypt = |source| BarrierError::Decrypt {
            path: path.to_string(),
            source,
        };
        let term = aead::term_of(blob).map_err(decrypt)?;
        let ring = self.keyring();
        let entry = ring
            .terms
            .get(&term)
            .ok_or_else(|| BarrierError::UnknownTerm {
                path: path.to_string(),
                term,
            })?;
        entry.key.open(path, blob).map_err(decrypt)
    }

    pub async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, BarrierError> {
        match self.backend.get(path).await? {
            Some(blob) => Ok(Some(self.open_value(path, &blob)?)),
            None => Ok(None),
        }
    }

    pub async fn put(&self, path: &str, plaintext: &[u8]) -> Result<(), BarrierError> {
        let blob = self.seal_value(path, plaintext);
        Ok(self.backend.put(path, blob).await?)
    }

    pub async fn delete(&self, path: &str) -> Result<(), BarrierError> {
        Ok(self.backend.delete(path).await?)
    }

    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, BarrierError> {
        Ok(self.backend.list(prefix).await?)
    }

    pub async fn scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, BarrierError> {
        Ok(self.backend.scan(prefix, after, limit).await?)
    }

    /// Applies plaintext puts (sealed here) and deletes atomically.
    pub async fn transaction(&self, ops: Vec<TxnOp>) -> Result<(), BarrierError> {
        let sealed = ops
            .into_iter()
            .map(|op| match op {
                TxnOp::Put(path, plaintext) => {
                    let blob = self.seal_value(&path, &plaintext);
                    TxnOp::Put(path, blob)
                }
                TxnOp::Create(path, plaintext) => {
                    let blob = self.seal_value(&path, &plaintext);
                    TxnOp::Create(path, blob)
                }
                delete => delete,
            })
            .collect();
        Ok(self.backend.transaction(sealed).await?)
    }
}

/// The stored keyring, opened with the root key.
async fn read_keyring(backend: &dyn Backend, root_key: &[u8; 32]) -> Result<Keyring, BarrierError> {
    let sealed = backend
        .get(KEYRING_PATH)
        .await?
        .ok_or(BarrierError::NotInitialized)?;
    let bytes = Zeroizing::new(
        SealingKey::new(root_key)
            .open(KEYRING_PATH, &sealed)
            .map_err(|source| BarrierError::Decrypt {
                path: KEYRING_PATH.into(),
                source,
            })?,
    );
    Keyring::from_bytes(&bytes).map_err(|_| BarrierError::MalformedKeyring)
}

/// A fresh, unsealed barrier over in-memory storage, for unit tests of the layers above.
#[cfg(test)]
pub(crate) async fn in_memory_for_tests() -> Arc<Barrier> {
    let backend: Arc<dyn crate::storage::Backend> = Arc::new(crate::storage::inmem::Inmem::new());
    let barrier = Barrier::initialize(backend, &[7u8; 32], "now".into())
        .await
        .expect("a fresh in-memory barrier initialises");
    Arc::new(barrier)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::inmem::Inmem;

    #[tokio::test]
    async fn storage_sees_only_ciphertext_and_unseal_round_trips() {
        let backend: Arc<dyn Backend> = Arc::new(Inmem::new());
        let kek = [7u8; 32];
        let barrier = Barrier::initialize(backend.clone(), &kek, "now".into())
            .await
            .unwrap();
        barrier
            .put("logical/x", b"very-secret-value")
            .await
            .unwrap();
        let raw = backend.get("logical/x").await.unwrap().unwrap();
        assert!(!raw.windows(17).any(|w| w == b"very-secret-value"));
        drop(barrier);

        assert!(matches!(
            Barrier::unseal(backend.clone(), &[8u8; 32]).await,
            Err(BarrierError::WrongUnsealKey)
        ));
        let barrier = Barrier::unseal(backend.clone(), &kek).await.unwrap();
        assert_eq!(
            barrier.get("logical/x").await.unwrap().unwrap(),
            b"very-secret-value"
        );
    }

    #[tokio::test]
    async fn rotation_keeps_old_values_readable() {
        let backend: Arc<dyn Backend> = Arc::new(Inmem::new());
        let kek = [1u8; 32];
        let barrier = Barrier::initialize(backend.clone(), &kek, "t0".into())
            .await
            .unwrap();
        barrier.put("a", b"old").await.unwrap();
        assert_eq!(barrier.rotate("t1".into()).await.unwrap(), 2);
        barrier.put("b", b"new").await.unwrap();
        assert_eq!(
            aead::term_of(&backend.get("b").await.unwrap().unwrap()).unwrap(),
            2
        );
        drop(barrier);
        let barrier = Barrier::unseal(backend, &kek).await.unwrap();
        assert_eq!(barrier.key_status().term, 2);
        assert_eq!(barrier.get("a").await.unwrap().unwrap(), b"old");
        assert_eq!(barrier.get("b").await.unwrap().unwrap(), b"new");
    }

    #[tokio::test]
    async fn moved_ciphertext_does_not_open() {
        let backend: Arc<dyn Backend> = Arc::new(Inmem::new());
        let barrier = Barrier::initialize(backend.clone(), &[2u8; 32], "t".into())
            .await
            .unwrap();
        barrier.put("a", b"x").await.unwrap();
        let blob = backend.get("a").await.unwrap().unwrap();
        backend.put("b", blob).await.unwrap();
        assert!(matches!(
            barrier.get("b").await,
            Err(BarrierError::Decrypt { .. })
        ));
    }
}
