//! Token storage. Layout under the barrier prefix `sys/token/`:
//! `id/<hmac>` → [`TokenEntry`], `accessor/<hmac of accessor>` → `{"hash"}`,
//! `parent/<parent hmac>/<child hmac>` → empty, and the expiry index
//! `expire/<unix seconds, 12 digits>/<hmac>` that the sweeper walks in order, so nothing
//! is loaded at startup. Entries are cached in memory after their first lookup.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::TokenEntry;
use crate::barrier::{BarrierError, StorageView};
use crate::crypto::random_base62;
use crate::storage::TxnOp;

/// Above this many cached entries the cache is cleared and refilled on demand. Tokens in
/// active use stay cached; a store with 100,000 idle tokens does not hold them in memory.
const CACHE_LIMIT: usize = 16_384;

#[derive(Serialize, Deserialize)]
struct AccessorIndex {
    hash: String,
}

/// The token store of one unsealed core.
pub struct TokenStore {
    view: StorageView,
    /// Keyed HMAC-SHA256 for token and accessor identities (ring wipes it on drop).
    hmac_key: ring::hmac::Key,
    cache: RwLock<HashMap<String, Arc<TokenEntry>>>,
    use_lock: tokio::sync::Mutex<()>,
}

/// Key under the token view holding the HMAC key (created at init).
pub const HMAC_KEY_PATH: &str = "hmac-key";

impl TokenStore {
    /// Opens the store, creating its HMAC key on first use.
    pub async fn open(view: StorageView) -> Result<Self, BarrierError> {
        let key_bytes = match view.get(HMAC_KEY_PATH).await? {
            Some(key) => Zeroizing::new(key),
            None => {
                let key = crate::crypto::random_key::<32>();
                view.put(HMAC_KEY_PATH, key.as_ref()).await?;
                Zeroizing::new(key.to_vec())
            }
        };
        let hmac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key_bytes);
        Ok(Self {
            view,
            hmac_key,
            cache: RwLock::new(HashMap::new()),
            use_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The storage identity of a token or accessor.
    pub fn hash(&self, secret: &str) -> String {
        crate::crypto::hex(ring::hmac::sign(&self.hmac_key, secret.as_bytes()).as_ref())
    }

    /// A new random token in OpenBao's format (`s.` + 24 characters) and its accessor.
    pub fn generate_ids() -> (Zeroizing<String>, String) {
        (
            Zeroizing::new(format!("s.{}", random_base62(24))),
            random_base62(24),
        )
    }

    fn cached(&self, hash: &str) -> Option<Arc<TokenEntry>> {
        self.cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .cloned()
    }

    fn remember(&self, entry: Arc<TokenEntry>) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(entry.id_hash.clone(), entry);
    }

    fn forget(&self, hash: &str) {
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(hash);
    }

    /// The entry stored under `hash`, expired or not.
    pub async fn get_by_hash(&self, hash: &str) -> Result<Option<Arc<TokenEntry>>, BarrierError> {
        if let Some(entry) = self.cached(hash) {
            return Ok(Some(entry));
        }
        let Some(entry) = self
            .view
            .get_json::<TokenEntry>(&format!("id/{hash}"))
            .await?
        else {
            return Ok(None);
        };
        let entry = Arc::new(entry);
        self.remember(entry.clone());
        Ok(Some(entry))
    }

    /// The live entry for a token, or `None` if unknown or expired.
    pub async fn lookup(
        &self,
        token: &str,
        now: u64,
    ) -> Result<Option<Arc<TokenEntry>>, BarrierError> {
        let entry = self.get_by_hash(&self.hash(token)).await?;
        Ok(entry.filter(|e| !e.is_expired(now)))
    }

    /// The live entry for an accessor.
    pub async fn lookup_accessor(
        &self,
        accessor: &str,
        now: u64,
    ) -> Result<Option<Arc<TokenEntry>>, BarrierError> {
        let key = format!("accessor/{}", self.hash(accessor));
        let Some(index) = self.view.get_json::<AccessorIndex>(&key).await? else {
            return Ok(None);
        };
        let entry = self.get_by_hash(&index.hash).await?;
        Ok(entry.filter(|e| !e.is_expired(now)))
    }

    /// Stores a new entry with its indexes in one transaction.
    pub async fn create(&self, entry: TokenEntry) -> Result<Arc<TokenEntry>, BarrierError> {
        let mut ops = vec![
            TxnOp::Put(format!("id/{}", entry.id_hash), to_json(&entry)),
            TxnOp::Put(
                format!("accessor/{}", self.hash(&entry.accessor)),
                to_json(&AccessorIndex {
                    hash: entry.id_hash.clone(),
                }),
            ),
        ];
        if !entry.parent.is_empty() {
            ops.push(TxnOp::Put(
                format!("parent/{}/{}", entry.parent, entry.id_hash),
                Vec::new(),
            ));
        }
        if entry.expire_time != 0 {
            ops.push(TxnOp::Put(
                expire_key(entry.expire_time, &entry.id_hash),
                Vec::new(),
            ));
        }
        self.view.transaction(ops).await?;
        // Not cached here: a new token is cached on its first use.
        Ok(Arc::new(entry))
    }

    /// Replaces an entry (renewal, use counting), moving its expiry index entry.
    pub async fn update(
        &self,
        old: &TokenEntry,
        new: TokenEntry,
    ) -> Result<Arc<TokenEntry>, BarrierError> {
        let mut ops = vec![TxnOp::Put(format!("id/{}", new.id_hash), to_json(&new))];
        if old.expire_time != new.expire_time {
            if old.expire_time != 0 {
                ops.push(TxnOp::Delete(expire_key(old.expire_time, &old.id_hash)));
            }
            if new.expire_time != 0 {
                ops.push(TxnOp::Put(
                    expire_key(new.expire_time, &new.id_hash),
                    Vec::new(),
                ));
            }
        }
        if old.parent != new.parent && !old.parent.is_empty() {
            ops.push(TxnOp::Delete(format!(
                "parent/{}/{}",
                old.parent, old.id_hash
            )));
        }
        self.view.transaction(ops).await?;
        let new = Arc::new(new);
        self.remember(new.clone());
        Ok(new)
    }

    /// The hashes of a token's direct children.
    pub async fn children(&self, hash: &str) -> Result<Vec<String>, BarrierError> {
        self.view.list(&format!("parent/{hash}/")).await
    }

    /// Deletes one entry and its indexes (not its children).
    pub async fn remove(&self, entry: &TokenEntry) -> Result<(), BarrierError> {
        let mut ops = vec![
            TxnOp::Delete(format!("id/{}", entry.id_hash)),
            TxnOp::Delete(format!("accessor/{}", self.hash(&entry.accessor))),
        ];
        if !entry.parent.is_empty() {
            ops.push(TxnOp::Delete(format!(
                "parent/{}/{}",
                entry.parent, entry.id_hash
            )));
        }
        if entry.expire_time != 0 {
            ops.push(TxnOp::Delete(expire_key(entry.expire_time, &entry.id_hash)));
        }
        self.forget(&entry.id_hash);
        self.view.transaction(ops).await?;
        self.forget(&entry.id_hash);
        Ok(())
    }

    /// Up to `limit` (expiry time, token hash) pairs due at or before `now`, oldest first.
    pub async fn due(&self, now: u64, limit: usize) -> Result<Vec<(u64, String)>, BarrierError> {
        let keys = self.view.scan("expire/", None, limit).await?;
        Ok(keys
            .iter()
            .filter_map(|k| parse_expire_key(k))
            .take_while(|(time, _)| *time <= now)
            .collect())
    }

    /// Removes an expiry index entry that points at a token that no longer exists.
    pub async fn drop_expiry(&self, expire_time: u64, hash: &str) -> Result<(), BarrierError> {
        self.view.delete(&expire_key(expire_time, hash)).await
    }

    /// Every accessor (for `auth/token/accessors`).
    pub async fn accessors(&self) -> Result<Vec<String>, BarrierError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let keys = self.view.scan("id/", after.as_deref(), 1024).await?;
            let Some(last) = keys.last().cloned() else {
                break;
            };
            for key in keys {
                let hash = &key["id/".len()..];
                if let Some(entry) = self.get_by_hash(hash).await? {
                    out.push(entry.accessor.clone());
                }
            }
            after = Some(last);
        }
        Ok(out)
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("token store types always serialise")
}

fn expire_key(expire_time: u64, hash: &str) -> String {
    format!("expire/{expire_time:012}/{hash}")
}

fn parse_expire_key(key: &str) -> Option<(u64, String)> {
    let mut parts = key.strip_prefix("expire/")?.splitn(2, '/');
    let time = parts.next()?.parse().ok()?;
    Some((time, parts.next()?.to_string()))
}

/// A token role (`auth/token/roles/<name>`), stored under `roles/<name>`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TokenRole {
    pub name: String,
    #[serde(default)]
    pub allowed_policies: Vec<String>,
    #[serde(default)]
    pub disallowed_policies: Vec<String>,
    #[serde(default)]
    pub orphan: bool,
    #[serde(default)]
    pub period: u64,
    #[serde(default = "yes")]
    pub renewable: bool,
    #[serde(default)]
    pub path_suffix: String,
    #[serde(default)]
    pub explicit_max_ttl: u64,
    #[serde(default)]
    pub token_type: String,
}

fn yes() -> bool {
    true
}

impl TokenStore {
    pub async fn role(&self, name: &str) -> Result<Option<TokenRole>, BarrierError> {
        self.view.get_json(&format!("roles/{name}")).await
    }

    pub async fn put_role(&self, role: &TokenRole) -> Result<(), BarrierError> {
        self.view
            .put_json(&format!("roles/{}", role.name), role)
            .await
    }

    pub async fn delete_role(&self, name: &str) -> Result<(), BarrierError> {
        self.view.delete(&format!("roles/{name}")).await
    }

    pub async fn role_names(&self) -> Result<Vec<String>, BarrierError> {
        self.view.list("roles/").await
    }

    /// Spends one use of a limited-use token under a lock, so concurrent requests cannot
    /// both spend the last use. Returns the remaining uses, or `None` when the token is
    /// gone (its last use was spent by a concurrent request).
    pub async fn spend_use(&self, hash: &str) -> Result<Option<u64>, BarrierError> {
        let _turn = self.use_lock.lock().await;
        let Some(entry) = self.get_by_hash(hash).await? else {
            return Ok(None);
        };
        if entry.num_uses == 0 {
            // Already spent: the request that spent the last use is revoking it.
            return Ok(None);
        }
        let mut used = (*entry).clone();
        used.num_uses -= 1;
        let remaining = used.num_uses;
        if remaining == 0 {
            // Mark as used up: `num_uses` 0 now, and `orphan` bookkeeping unchanged; the
            // caller revokes it after the request. Until then lookups must fail.
            used.expire_time = 1;
        }
        self.update(&entry, used).await?;
        Ok(Some(remaining))
    }
}
