//! KV v2 storage layout and records. Under the mount's view:
//!
//! - `config` → [`MountConfig`], the mount-wide settings;
//! - `meta/<path>` → [`KeyRecord`]: the key's [`KeyMetadata`] (every version's bookkeeping)
//!   and the data of its current version, so reading the latest version is one get;
//! - `ver/<n>/<path>` → the data of an older version `n` (a JSON value).
//!
//! Writing a version moves the previous current data to `ver/` and stores the new record in
//! one transaction, so a crash never loses an acknowledged version. Lists walk `meta/`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::barrier::StorageView;
use crate::core::RequestError;
use crate::duration::{format_go, parse_rfc3339, rfc3339_nanos};

/// Versions kept per key when neither the key nor the mount sets `max_versions`.
pub const DEFAULT_MAX_VERSIONS: u64 = 10;

/// The mount-wide settings (`<mount>/config`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MountConfig {
    #[serde(default)]
    pub max_versions: u64,
    #[serde(default)]
    pub cas_required: bool,
    #[serde(default)]
    pub metadata_cas_required: bool,
    /// Seconds; 0 = unset; negative = disabled for every key (Vault shows "-1s").
    #[serde(default)]
    pub delete_version_after: i64,
}

/// One version's bookkeeping. Times are RFC 3339 as Vault prints them; empty = unset.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct VersionMeta {
    pub created_time: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deletion_time: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroyed: bool,
}

impl VersionMeta {
    /// The deletion time has passed. An unreadable time counts as passed (fail closed).
    pub fn is_deleted(&self, now: SystemTime) -> bool {
        !self.deletion_time.is_empty()
            && parse_rfc3339(&self.deletion_time)
                .ok()
                .is_none_or(|t| t <= now)
    }

    /// Deleted or destroyed: its data is not served.
    pub fn is_gone(&self, now: SystemTime) -> bool {
        self.destroyed || self.is_deleted(now)
    }
}

/// Everything Vault shows as a key's metadata.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct KeyMetadata {
    #[serde(default)]
    pub created_time: String,
    #[serde(default)]
    pub updated_time: String,
    #[serde(default)]
    pub current_version: u64,
    #[serde(default)]
    pub oldest_version: u64,
    /// Bumped by every metadata write or patch (the `metadata_cas` counter).
    #[serde(default)]
    pub current_metadata_version: u64,
    #[serde(default)]
    pub max_versions: u64,
    #[serde(default)]
    pub cas_required: bool,
    #[serde(default)]
    pub metadata_cas_required: bool,
    /// Seconds; 0 = the mount's setting.
    #[serde(default)]
    pub delete_version_after: u64,
    #[serde(default)]
    pub custom_metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub versions: BTreeMap<u64, VersionMeta>,
}

impl KeyMetadata {
    /// `custom_metadata` as Vault renders it: absent (null) when empty.
    fn shown_custom_metadata(&self) -> Option<&BTreeMap<String, String>> {
        Some(&self.custom_metadata).filter(|c| !c.is_empty())
    }

    /// The metadata of one version as data responses show it.
    pub fn version_view(&self, version: u64) -> VersionView<'_> {
        let meta = self.versions.get(&version);
        VersionView {
            created_time: meta.map_or("", |m| &m.created_time),
            custom_metadata: self.shown_custom_metadata(),
            deletion_time: meta.map_or("", |m| &m.deletion_time),
            destroyed: meta.is_some_and(|m| m.destroyed),
            version,
        }
    }

    /// The `metadata/<path>` read response.
    pub fn full_view(&self) -> Map<String, Value> {
        let versions: Map<String, Value> = self
            .versions
            .iter()
            .map(|(n, v)| {
                let view = json!({
                    "created_time": v.created_time,
                    "deletion_time": v.deletion_time,
                    "destroyed": v.destroyed,
                });
                (n.to_string(), view)
            })
            .collect();
        let delete_after = format_go(Duration::from_secs(self.delete_version_after));
        let mut view = Map::new();
        view.insert("cas_required".into(), self.cas_required.into());
        view.insert("created_time".into(), self.created_time.clone().into());
        view.insert(
            "current_metadata_version".into(),
            self.current_metadata_version.into(),
        );
        view.insert("current_version".into(), self.current_version.into());
        view.insert(
            "custom_metadata".into(),
            json!(self.shown_custom_metadata()),
        );
        view.insert("delete_version_after".into(), delete_after.into());
        view.insert("max_versions".into(), self.max_versions.into());
        view.insert(
            "metadata_cas_required".into(),
            self.metadata_cas_required.into(),
        );
        view.insert("oldest_version".into(), self.oldest_version.into());
        view.insert("updated_time".into(), self.updated_time.clone().into());
        view.insert("versions".into(), Value::Object(versions));
        view
    }

    /// The versions kept: the larger of the key's and the mount's setting, else 10.
    pub fn max_versions(&self, config: &MountConfig) -> u64 {
        match self.max_versions.max(config.max_versions) {
            0 => DEFAULT_MAX_VERSIONS,
            max => max,
        }
    }

    /// When a version written or undeleted at `now` will be deleted: after the smaller
    /// non-zero `delete_version_after` of the key and the mount; never if both are zero or
    /// the mount disables it. Empty = never.
    pub fn deletion_time(&self, config: &MountConfig, now: SystemTime) -> String {
        let mount = match config.delete_version_after {
            after if after < 0 => return String::new(),
            after => after as u64,
        };
        let after = match (mount, self.delete_version_after) {
            (0, 0) => return String::new(),
            (0, key) => key,
            (mount, 0) => mount,
            (mount, key) => mount.min(key),
        };
        now.checked_add(Duration::from_secs(after))
            .map(rfc3339_nanos)
            .unwrap_or_default()
    }
}

/// One version's metadata block in a data response, borrowed from the record: a KV read
/// serialises it straight into the answer. Fields in Vault's (alphabetical) order;
/// `custom_metadata` is null when empty.
#[derive(Debug, Serialize)]
pub struct VersionView<'a> {
    created_time: &'a str,
    custom_metadata: Option<&'a BTreeMap<String, String>>,
    deletion_time: &'a str,
    destroyed: bool,
    version: u64,
}

impl VersionView<'_> {
    /// As a JSON object, for answers built as a map.
    pub fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => unreachable!("a struct of strings, a string map and numbers is a JSON object"),
        }
    }
}

/// What `meta/<path>` holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct KeyRecord {
    pub meta: KeyMetadata,
    /// The data of `meta.current_version`; absent for a key with no versions or once the
    /// current version is destroyed. (Present and null: the version's data is null.)
    #[serde(
        default,
        deserialize_with = "present_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub latest: Option<StoredData>,
}

/// A field that is present is `Some`, even when it is JSON null.
fn present_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StoredData>, D::Error> {
    StoredData::deserialize(d).map(Some)
}

/// A version's data as stored: JSON text, checked when read but not parsed into a tree,
/// so a read can splice it into the answer as is. Writes and patches convert.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StoredData(Box<RawValue>);

impl StoredData {
    pub fn from_value(value: &Value) -> Self {
        Self(serde_json::value::to_raw_value(value).expect("JSON values always serialise"))
    }

    pub fn to_value(&self) -> Result<Value, RequestError> {
        serde_json::from_str(self.0.get())
            .map_err(|e| RequestError::internal(format!("stored KV data does not parse: {e}")))
    }

    pub fn as_raw(&self) -> &RawValue {
        &self.0
    }

    pub fn is_null(&self) -> bool {
        self.0.get() == "null"
    }
}

/// Equal when the JSON text is (records compare in tests).
impl PartialEq for StoredData {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

/// The metadata part of a record, without decoding the data.
#[derive(Deserialize)]
struct MetadataOnly {
    meta: KeyMetadata,
}

pub fn meta_key(path: &str) -> String {
    ["meta/", path].concat()
}

pub fn version_key(version: u64, path: &str) -> String {
    format!("ver/{version}/{path}")
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("KV records and JSON values always serialise")
}

pub async fn load_record(
    storage: &StorageView,
    path: &str,
) -> Result<Option<KeyRecord>, RequestError> {
    Ok(storage.get_json(&meta_key(path)).await?)
}

pub async fn load_metadata(
    storage: &StorageView,
    path: &str,
) -> Result<Option<KeyMetadata>, RequestError> {
    let record: Option<MetadataOnly> = storage.get_json(&meta_key(path)).await?;
    Ok(record.map(|r| r.meta))
}

/// The data of `version`: the record's own for the current version, else `ver/`.
/// `None` when it is not stored (destroyed, pruned, or never written).
pub async fn take_version_data(
    storage: &StorageView,
    path: &str,
    record: &mut KeyRecord,
    version: u64,
) -> Result<Option<StoredData>, RequestError> {
    if version == record.meta.current_version {
        return Ok(record.latest.take());
    }
    Ok(storage.get_json(&version_key(version, path)).await?)
}

pub async fn load_config(storage: &StorageView) -> Result<MountConfig, RequestError> {
    Ok(storage.get_json("config").await?.unwrap_or_default())
}
