//! KV v2 storage layout and the records kept per key. Under the mount's view:
//! `config` → [`MountConfig`], `meta/<path>` → [`KeyMetadata`] (all versions' bookkeeping),
//! `ver/<n>/<path>` → the data of version `n`. Listing walks `meta/`, so folders work as
//! Vault's. A write stores the new version and the metadata in one transaction.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::barrier::StorageView;
use crate::core::RequestError;
use crate::duration::{format_go, parse_rfc3339, rfc3339_nanos};

/// Versions kept per key when neither the key nor the mount says otherwise.
pub const DEFAULT_MAX_VERSIONS: u64 = 10;

/// The mount-wide settings (`<mount>/config`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MountConfig {
    #[serde(default)]
    pub max_versions: u64,
    #[serde(default)]
    pub cas_required: bool,
    /// Seconds; 0 = never.
    #[serde(default)]
    pub delete_version_after: u64,
}

/// One version's bookkeeping.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VersionMeta {
    pub created_time: String,
    /// RFC 3339, or empty when not (soft-)deleted.
    #[serde(default)]
    pub deletion_time: String,
    #[serde(default)]
    pub destroyed: bool,
}

impl VersionMeta {
    /// Soft-deleted now (deletion time reached) or destroyed.
    pub fn is_gone(&self, now: SystemTime) -> bool {
        self.destroyed
            || (!self.deletion_time.is_empty()
                && parse_rfc3339(&self.deletion_time).is_ok_and(|t| t <= now))
    }
}

/// Everything Vault shows as a key's metadata.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KeyMetadata {
    pub created_time: String,
    pub updated_time: String,
    #[serde(default)]
    pub current_version: u64,
    #[serde(default)]
    pub oldest_version: u64,
    #[serde(default)]
    pub max_versions: u64,
    #[serde(default)]
    pub cas_required: bool,
    #[serde(default)]
    pub delete_version_after: u64,
    #[serde(default)]
    pub custom_metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub versions: BTreeMap<u64, VersionMeta>,
}

impl KeyMetadata {
    pub fn new(now: &str) -> Self {
        Self {
            created_time: now.to_string(),
            updated_time: now.to_string(),
            ..Self::default()
        }
    }

    /// The metadata block of a data read/write response for `version`.
    pub fn version_view(&self, version: u64) -> Value {
        let meta = self.versions.get(&version);
        json!({
            "created_time": meta.map(|m| m.created_time.as_str()).unwrap_or(""),
            "custom_metadata": self.custom_metadata,
            "deletion_time": meta.map(|m| m.deletion_time.as_str()).unwrap_or(""),
            "destroyed": meta.is_some_and(|m| m.destroyed),
            "version": version,
        })
    }

    /// The `metadata/<path>` read response.
    pub fn full_view(&self) -> Map<String, Value> {
        let versions: Map<String, Value> = self
            .versions
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    json!({"created_time": v.created_time, "deletion_time": v.deletion_time, "destroyed": v.destroyed}),
                )
            })
            .collect();
        let view = json!({
            "cas_required": self.cas_required,
            "created_time": self.created_time,
            "current_version": self.current_version,
            "custom_metadata": self.custom_metadata,
            "delete_version_after": format_go(Duration::from_secs(self.delete_version_after)),
            "max_versions": self.max_versions,
            "oldest_version": self.oldest_version,
            "updated_time": self.updated_time,
            "versions": versions,
        });
        match view {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// Current time as Vault prints it.
pub fn now_string() -> String {
    rfc3339_nanos(SystemTime::now())
}

pub fn meta_key(path: &str) -> String {
    format!("meta/{path}")
}

pub fn version_key(version: u64, path: &str) -> String {
    format!("ver/{version}/{path}")
}

pub async fn load_meta(
    storage: &StorageView,
    path: &str,
) -> Result<Option<KeyMetadata>, RequestError> {
    Ok(storage.get_json(&meta_key(path)).await?)
}

pub async fn load_config(storage: &StorageView) -> Result<MountConfig, RequestError> {
    Ok(storage.get_json("config").await?.unwrap_or_default())
}

pub async fn load_version(
    storage: &StorageView,
    path: &str,
    version: u64,
) -> Result<Option<Map<String, Value>>, RequestError> {
    Ok(storage.get_json(&version_key(version, path)).await?)
}

pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("KV records always serialise")
}
