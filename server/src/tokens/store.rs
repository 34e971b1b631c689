//! Token storage. Layout under the barrier prefix `sys/token/`:
//! `id/<hmac>` → [`TokenEntry`], `accessor/<hmac of accessor>` → `{"hash"}`,
//! `parent/<parent hmac>/<child hmac>` → empty, and the expiry index
//! `expire/<unix seconds, 12 digits>/<hmac>` that the sweeper walks in order, so nothing
//! is loaded at startup, and `path/<creation path>/<hmac>` → empty, the tokens a path
//! created (for lease-count quotas on auth mounts and `revoke-prefix` under `auth/`).
//! Entries are cached in memory after their first lookup.
//!
//! Batch tokens are not stored at all: the token string is `b.` + base64url of the entry
//! sealed with AES-256-GCM under the store's batch key (`batch-key`, created with the HMAC
//! key), so issuing one costs no write and using one costs no read (only its parent's,
//! when it has one: a batch token dies with its parent).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::TokenEntry;
use crate::barrier::aead::SealingKey;
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
    /// Seals and opens batch tokens (the key schedule is wiped on drop).
    batch_key: SealingKey,
    cache: RwLock<HashMap<String, Arc<TokenEntry>>>,
    use_lock: tokio::sync::Mutex<()>,
}

/// Key under the token view holding the HMAC key (created at init).
pub const HMAC_KEY_PATH: &str = "hmac-key";
/// Key under the token view holding the AES-256-GCM key of batch tokens (created at init).
pub const BATCH_KEY_PATH: &str = "batch-key";
/// What every batch token starts with.
pub const BATCH_PREFIX: &str = "b.";
/// Associated data of a sealed batch token, so no other sealed value passes for one.
const BATCH_AAD: &str = "sys/token/batch";

/// The 32-byte key at `path`, or a new random one stored there.
async fn load_or_create_key(
    view: &StorageView,
    path: &str,
) -> Result<Zeroizing<[u8; 32]>, BarrierError> {
    if let Some(stored) = view.get(path).await? {
        let stored = Zeroizing::new(stored);
        let mut key = Zeroizing::new([0u8; 32]);
        if stored.len() == key.len() {
            key.copy_from_slice(&stored);
            return Ok(key);
        }
        tracing::error!(%path, "stored token store key has the wrong length");
    }
    let key = crate::crypto::random_key::<32>();
    view.put(path, key.as_ref()).await?;
    Ok(key)
}

impl TokenStore {
    /// Opens the store, creating its HMAC and batch keys on first use.
    pub async fn open(view: StorageView) -> Result<Self, BarrierError> {
        let key_bytes = load_or_create_key(&view, HMAC_KEY_PATH).await?;
        let hmac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key_bytes.as_ref());
        let batch_key = SealingKey::new(&*load_or_create_key(&view, BATCH_KEY_PATH).await?);
        Ok(Self {
            view,
            hmac_key,
            batch_key,
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

    /// Drops a cached entry (another node changed it).
    pub fn invalidate(&self, hash: &str) {
        self.forget(hash);
    }

    /// Drops every cached entry (after changes may have been missed).
    pub fn invalidate_all(&self) {
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
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

    /// The live entry for a token, or `None` if unknown or expired. A batch token is
    /// opened, not looked up; it is live while unexpired and its parent (if any) is live.
    pub async fn lookup(
        &self,
        token: &str,
        now: u64,
    ) -> Result<Option<Arc<TokenEntry>>, BarrierError> {
        if let Some(entry) = self.open_batch(token) {
            if entry.is_expired(now) {
                return Ok(None);
            }
            if !entry.parent.is_empty() {
                let parent = self.get_by_hash(&entry.parent).await?;
                if parent.is_none_or(|p| p.is_expired(now)) {
                    return Ok(None);
                }
            }
            return Ok(Some(Arc::new(entry)));
        }
        let entry = self.get_by_hash(&self.hash(token)).await?;
        Ok(entry.filter(|e| !e.is_expired(now)))
    }

    /// Seals `entry` (a batch token's, with an empty accessor) into a batch token; returns
    /// the token and the entry as lookups will see it (`id_hash` set).
    pub fn seal_batch(&self, mut entry: TokenEntry) -> (Zeroizing<String>, Arc<TokenEntry>) {
        use base64::Engine as _;
        entry.id_hash.clear();
        let plaintext = Zeroizing::new(to_json(&entry));
        let sealed = self.batch_key.seal(0, BATCH_AAD, &plaintext);
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed);
        let token = Zeroizing::new(format!("{BATCH_PREFIX}{encoded}"));
        entry.id_hash = self.hash(&token);
        (token, Arc::new(entry))
    }

    /// The entry sealed in a batch token, or `None` for anything that is not a batch token
    /// this store sealed (checked by AES-GCM's tag). Expiry is the caller's to check.
    fn open_batch(&self, token: &str) -> Option<TokenEntry> {
        use base64::Engine as _;
        let encoded = token.strip_prefix(BATCH_PREFIX)?;
        let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .ok()?;
        let plaintext = Zeroizing::new(self.batch_key.open(BATCH_AAD, &sealed).ok()?);
        let mut entry: TokenEntry = serde_json::from_slice(&plaintext).ok()?;
        if !entry.is_batch() {
            return None;
        }
        entry.id_hash = self.hash(token);
        Some(entry)
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
        if !entry.path.is_empty() {
            ops.push(TxnOp::Put(
                path_key(&entry.path, &entry.id_hash),
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
        if !entry.path.is_empty() {
            ops.push(TxnOp::Delete(path_key(&entry.path, &entry.id_hash)));
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

    /// Hashes of the live tokens created under the path `prefix` (whole segments), up to
    /// `limit`: a key-only scan of the `path/` index.
    pub async fn created_under(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, BarrierError> {
        let prefix = match prefix.trim_matches('/') {
            "" => "path/".to_string(),
            p => format!("path/{p}/"),
        };
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        while out.len() < limit {
            let keys = self.view.scan(&prefix, after.as_deref(), 1024).await?;
            let Some(last) = keys.last().cloned() else {
                break;
            };
            out.extend(
                keys.iter()
                    .filter_map(|k| k.rsplit_once('/').map(|(_, hash)| hash.to_string())),
            );
            after = Some(last);
        }
        out.truncate(limit);
        Ok(out)
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

fn path_key(path: &str, hash: &str) -> String {
    format!("path/{}/{hash}", path.trim_matches('/'))
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
    /// `token_bound_cidrs`: copied onto every token the role creates.
    #[serde(default)]
    pub bound_cidrs: Vec<crate::cidr::Cidr>,
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
