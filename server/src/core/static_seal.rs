//! The static seal (`seal "static"`, as OpenBao's): the unseal key is a 32-byte key the
//! operator provides (a file, an environment variable or the config itself) instead of
//! Shamir shares, so the vault initialises without unseal keys and unseals itself at start.
//! A `previous_key` still opens a vault sealed under it; the root key is then resealed
//! under the current key, which is how the key is rotated.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use zeroize::Zeroizing;

use super::{Core, RequestError, Unsealed};
use crate::barrier::{Barrier, BarrierError};
use crate::config::{KeySource, StaticSeal};

/// The seal type stored in the seal configuration of a vault with a static seal.
pub const STATIC_SEAL_TYPE: &str = "static";

/// One resolved key and its id.
pub struct StaticKey {
    pub id: String,
    pub key: Zeroizing<[u8; 32]>,
}

/// The current key and, while rotating, the previous one.
pub struct StaticKeys {
    pub current: StaticKey,
    pub previous: Option<StaticKey>,
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeys")
            .field("current_key_id", &self.current.id)
            .field("previous_key_id", &self.previous.as_ref().map(|k| &k.id))
            .finish_non_exhaustive()
    }
}

impl StaticKeys {
    /// Reads and decodes the keys a `seal "static"` block names. Errors say which key and
    /// why, never the key.
    pub fn resolve(seal: &StaticSeal) -> Result<Self, String> {
        let current = StaticKey {
            id: seal.current_key_id.clone(),
            key: read_key(&seal.current_key).map_err(|e| format!("current_key: {e}"))?,
        };
        let previous = match (&seal.previous_key_id, &seal.previous_key) {
            (Some(id), Some(source)) => Some(StaticKey {
                id: id.clone(),
                key: read_key(source).map_err(|e| format!("previous_key: {e}"))?,
            }),
            _ => None,
        };
        Ok(StaticKeys { current, previous })
    }
}

/// A key source's 32 bytes: raw bytes (a file made with `openssl rand -out FILE 32`), or
/// hex or base64 text.
fn read_key(source: &KeySource) -> Result<Zeroizing<[u8; 32]>, String> {
    let bytes: Zeroizing<Vec<u8>> = match source {
        KeySource::File(path) => Zeroizing::new(
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        ),
        KeySource::Env(name) => Zeroizing::new(
            std::env::var(name)
                .map_err(|_| format!("the environment variable {name} is not set"))?
                .into_bytes(),
        ),
        KeySource::Inline(text) => Zeroizing::new(text.as_bytes().to_vec()),
    };
    let decoded = if bytes.len() == 32 {
        bytes
    } else {
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| "the key is neither 32 raw bytes nor hex or base64 text".to_owned())?
            .trim();
        let decoded = crate::crypto::unhex(text)
            .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
            .ok_or_else(|| "the key is neither 32 raw bytes nor hex or base64 text".to_owned())?;
        Zeroizing::new(decoded)
    };
    let mut key = Zeroizing::new([0u8; 32]);
    if decoded.len() != 32 {
        return Err(format!(
            "the key must be 32 bytes (AES-256), found {}",
            decoded.len()
        ));
    }
    key.copy_from_slice(&decoded);
    Ok(key)
}

impl Core {
    /// With a static seal and an initialised vault, unseals with the configured key (the
    /// previous key too, resealing under the current one). Does nothing otherwise.
    pub async fn auto_unseal(&self) -> Result<(), RequestError> {
        let Some(keys) = self.settings.static_seal.clone() else {
            return Ok(());
        };
        let Some(config) = self.seal_config().await? else {
            return Ok(());
        };
        if config.kind != STATIC_SEAL_TYPE {
            return Err(RequestError::invalid(
                "the vault was initialised with Shamir key shares but the config has a \
                 seal \"static\" block; seal migration is not supported: remove the block \
                 and unseal with the key shares",
            ));
        }
        let _guard = self.progress.lock().await;
        if !self.is_sealed() {
            return Ok(());
        }
        let barrier = self.open_barrier(&keys).await?;
        let unsealed = Arc::new(Unsealed::load(Arc::new(barrier), self.settings.clone()).await?);
        unsealed.start_background();
        self.set_state(Some(unsealed));
        tracing::info!(key_id = %keys.current.id, "vault unsealed with the static seal");
        Ok(())
    }

    async fn open_barrier(&self, keys: &StaticKeys) -> Result<Barrier, RequestError> {
        let wrong = |id: &str| {
            RequestError::invalid(format!(
                "the static seal key {id:?} does not open this vault"
            ))
        };
        match Barrier::unseal(self.backend.clone(), keys.current.key.as_ref()).await {
            Ok(barrier) => return Ok(barrier),
            Err(BarrierError::WrongUnsealKey) if keys.previous.is_some() => {}
            Err(BarrierError::WrongUnsealKey) => return Err(wrong(&keys.current.id)),
            Err(other) => return Err(other.into()),
        }
        let previous = keys.previous.as_ref().expect("checked just above");
        let barrier = Barrier::unseal(self.backend.clone(), previous.key.as_ref())
            .await
            .map_err(|e| match e {
                BarrierError::WrongUnsealKey => wrong(&previous.id),
                other => other.into(),
            })?;
        barrier.reseal_root_key(&keys.current.key).await?;
        tracing::info!(from = %previous.id, to = %keys.current.id,
            "the root key is now sealed under the current static seal key");
        Ok(barrier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_raw_hex_or_base64() {
        let raw = [7u8; 32];
        let dir = std::env::temp_dir().join(format!("cofre-static-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key");
        std::fs::write(&file, raw).unwrap();
        assert_eq!(*read_key(&KeySource::File(file)).unwrap(), raw);
        let hex = Zeroizing::new(crate::crypto::hex(&raw));
        assert_eq!(*read_key(&KeySource::Inline(hex)).unwrap(), raw);
        let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(raw));
        assert_eq!(*read_key(&KeySource::Inline(b64)).unwrap(), raw);
        let short = read_key(&KeySource::Inline(Zeroizing::new("c2hvcnQ=".into())));
        assert!(short.unwrap_err().contains("32 bytes"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_static_vault_unseals_itself_and_rotates_its_key() {
        let backend: Arc<dyn crate::storage::Backend> =
            Arc::new(crate::storage::inmem::Inmem::new());
        let key = |id: &str, byte: u8| StaticKey {
            id: id.into(),
            key: Zeroizing::new([byte; 32]),
        };
        let settings = |keys: StaticKeys| super::super::CoreSettings {
            static_seal: Some(Arc::new(keys)),
            ..Default::default()
        };
        let first = Core::new(
            backend.clone(),
            settings(StaticKeys {
                current: key("1", 1),
                previous: None,
            }),
        );
        first.initialize_static().await.unwrap();
        assert!(!first.is_sealed());
        first.seal().await;

        let rotated = StaticKeys {
            current: key("2", 2),
            previous: Some(key("1", 1)),
        };
        let second = Core::new(backend.clone(), settings(rotated));
        second.auto_unseal().await.unwrap();
        assert!(!second.is_sealed());
        second.seal().await;

        let only_new = Core::new(
            backend.clone(),
            settings(StaticKeys {
                current: key("2", 2),
                previous: None,
            }),
        );
        only_new.auto_unseal().await.unwrap();
        assert!(!only_new.is_sealed(), "resealed under the current key");
        only_new.seal().await;

        let wrong = Core::new(
            backend,
            settings(StaticKeys {
                current: key("3", 3),
                previous: None,
            }),
        );
        let err = wrong.auto_unseal().await.unwrap_err();
        assert!(err.to_string().contains("\"3\" does not open"), "{err}");
    }
}
