//! `data/<path>`: read a version, write a new one (with check-and-set), patch the latest
//! (JSON merge patch), and soft-delete the latest.

use std::time::SystemTime;

use serde_json::{Map, Value};

use super::history::append_version;
use super::store::{
    encode, load_record, meta_key, take_version_data, KeyMetadata, KeyRecord, MountConfig,
    StoredData, VersionView,
};
use super::{not_found_with, KvV2};
use crate::barrier::{BarrierError, StorageView};
use crate::core::fields;
use crate::core::{Operation, Request, RequestError, Response};
use crate::duration::rfc3339_nanos;
use crate::engines::kv::writable_path;
use crate::storage::StorageError;

pub async fn handle(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    match req.operation {
        Operation::Read => read(storage, path, req).await,
        Operation::Create | Operation::Update => write(engine, storage, path, req).await,
        Operation::Patch => patch(engine, storage, path, req).await,
        Operation::Delete => delete_latest(engine, storage, path).await,
        Operation::List => Err(RequestError::UnsupportedOperation),
    }
}

/// One version as a read finds it.
pub struct FoundVersion {
    /// The key's record (its current data taken out into `data` when that is the one).
    record: KeyRecord,
    version: u64,
    /// Its data; `None` when deleted or destroyed.
    pub data: Option<StoredData>,
}

impl FoundVersion {
    /// The version's metadata block (`created_time`, `deletion_time`, …).
    pub fn metadata(&self) -> VersionView<'_> {
        self.record.meta.version_view(self.version)
    }
}

/// The version `req` asks for (`version`; absent, zero or negative = the current one).
/// `None` when the key or that version does not exist.
pub async fn find_version(
    storage: &StorageView,
    path: &str,
    req: &Request,
) -> Result<Option<FoundVersion>, RequestError> {
    let wanted = fields::int(&req.data, "version")?.filter(|v| *v > 0);
    let Some(mut record) = load_record(storage, path).await? else {
        return Ok(None);
    };
    let version = wanted.map_or(record.meta.current_version, |v| v as u64);
    let Some(version_meta) = record.meta.versions.get(&version) else {
        return Ok(None);
    };
    let data = match version_meta.is_gone(SystemTime::now()) {
        true => None,
        false => take_version_data(storage, path, &mut record, version).await?,
    };
    Ok(Some(FoundVersion {
        record,
        version,
        data,
    }))
}

async fn read(storage: &StorageView, path: &str, req: &Request) -> Result<Response, RequestError> {
    let found = find_version(storage, path, req)
        .await?
        .ok_or(RequestError::NotFound)?;
    match &found.data {
        // The stored JSON goes into the answer as is: no tree is built, nothing re-escaped.
        Some(data) => {
            let body = ReadBody {
                data: data.as_raw(),
                metadata: found.metadata(),
            };
            let json = serde_json::value::to_raw_value(&body)
                .map_err(|e| RequestError::internal(format!("encoding a KV read: {e}")))?;
            Ok(Response::data_json(json))
        }
        None => {
            let mut body = Map::new();
            body.insert("data".into(), Value::Null);
            body.insert("metadata".into(), Value::Object(found.metadata().to_map()));
            Ok(not_found_with(body))
        }
    }
}

/// A read's `data`: the version's data and its metadata.
#[derive(serde::Serialize)]
struct ReadBody<'a> {
    data: &'a serde_json::value::RawValue,
    metadata: VersionView<'a>,
}

/// The `data` field of a write or patch: an object (or null, which Vault stores as is
/// on write).
fn data_field(req: &Request, allow_null: bool) -> Result<&Value, RequestError> {
    match req.data.get("data") {
        None => Err(RequestError::invalid("no data provided")),
        Some(Value::Null) if !allow_null => Err(RequestError::invalid("no data provided")),
        Some(value @ (Value::Object(_) | Value::Null)) => Ok(value),
        Some(other) => Err(fields::conversion_error(
            "data",
            format!("expected a JSON object, got {}", fields::type_name(other)),
        )),
    }
}

/// `options.cas`, if given.
fn cas_option(req: &Request) -> Result<Option<i64>, RequestError> {
    let Some(options) = fields::object(&req.data, "options")? else {
        return Ok(None);
    };
    let parsed = match options.get("cas") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) if s.trim().is_empty() => Some(0),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    parsed
        .map(Some)
        .ok_or_else(|| RequestError::invalid("error parsing check-and-set parameter"))
}

fn check_cas(
    cas: Option<i64>,
    config: &MountConfig,
    meta: &KeyMetadata,
) -> Result<(), RequestError> {
    match cas {
        Some(cas) if u64::try_from(cas).ok() != Some(meta.current_version) => Err(
            RequestError::invalid("check-and-set parameter did not match the current version"),
        ),
        None if config.cas_required || meta.cas_required => Err(RequestError::invalid(
            "check-and-set parameter required for this call",
        )),
        _ => Ok(()),
    }
}

async fn write(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let path = writable_path(path)?;
    let data = data_field(req, true)?;
    let cas = cas_option(req)?;
    let config = engine.config(storage).await?;
    let _key = engine.lock_key(path).await;
    for _ in 0..COMMIT_ATTEMPTS {
        let mut record = load_record(storage, path).await?.unwrap_or_default();
        check_cas(cas, &config, &record.meta)?;
        if let Some(done) =
            commit_version(storage, path, &mut record, data.clone(), &config).await?
        {
            return Ok(done);
        }
    }
    Err(concurrent_writes(path))
}

async fn patch(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let changes = data_field(req, false)?;
    let cas = cas_option(req)?;
    let config = engine.config(storage).await?;
    let _key = engine.lock_key(path).await;
    for _ in 0..COMMIT_ATTEMPTS {
        let record = load_record(storage, path)
            .await?
            .ok_or(RequestError::NotFound)?;
        if let Some(done) = patch_once(storage, path, record, changes, cas, &config).await? {
            return Ok(done);
        }
    }
    Err(concurrent_writes(path))
}

/// Times a write re-reads the key after another node committed a version first.
const COMMIT_ATTEMPTS: usize = 5;

fn concurrent_writes(path: &str) -> RequestError {
    RequestError::Unavailable(format!(
        "{path:?} is being written concurrently by other requests; retry"
    ))
}

/// One attempt of a patch; `None` when another writer committed first.
async fn patch_once(
    storage: &StorageView,
    path: &str,
    mut record: KeyRecord,
    changes: &Value,
    cas: Option<i64>,
    config: &MountConfig,
) -> Result<Option<Response>, RequestError> {
    check_cas(cas, config, &record.meta)?;
    let current = record.meta.current_version;
    let version_meta = record
        .meta
        .versions
        .get(&current)
        .ok_or(RequestError::NotFound)?;
    let latest = match &record.latest {
        Some(latest) if !version_meta.is_gone(SystemTime::now()) => latest,
        // Vault answers a patch of a deleted or destroyed version with its metadata.
        _ => {
            let metadata = record.meta.version_view(current).to_map();
            return Ok(Some(not_found_with(metadata)));
        }
    };
    if latest.is_null() {
        // Vault refuses too (with a 500); there is nothing to merge into.
        return Err(RequestError::invalid(
            "the current version's data is null: write the whole secret instead of patching it",
        ));
    }
    let mut patched = latest.to_value()?;
    merge_patch(&mut patched, changes);
    commit_version(storage, path, &mut record, patched, config).await
}

/// Stores `data` as the key's new version and answers with that version's metadata;
/// `None` when another writer (another node) committed a version first.
async fn commit_version(
    storage: &StorageView,
    path: &str,
    record: &mut KeyRecord,
    data: Value,
    config: &MountConfig,
) -> Result<Option<Response>, RequestError> {
    let ops = append_version(record, path, data, config, SystemTime::now());
    match storage.transaction(ops).await {
        Err(BarrierError::Storage(StorageError::Conflict { .. })) => return Ok(None),
        other => other?,
    }
    let version = record.meta.current_version;
    Ok(Some(Response::data(
        record.meta.version_view(version).to_map(),
    )))
}

async fn delete_latest(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
) -> Result<Response, RequestError> {
    let _key = engine.lock_key(path).await;
    let Some(mut record) = load_record(storage, path).await? else {
        return Ok(Response::empty());
    };
    let now = SystemTime::now();
    let current = record.meta.current_version;
    match record.meta.versions.get_mut(&current) {
        Some(version) if !version.is_gone(now) => version.deletion_time = rfc3339_nanos(now),
        _ => return Ok(Response::empty()),
    }
    storage.put(&meta_key(path), &encode(&record)).await?;
    Ok(Response::empty())
}

/// RFC 7396 JSON merge patch: objects merge recursively, `null` removes a key, anything
/// else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(
            &mut doc,
            &json!({"a": "z", "c": {"f": null}, "n": {"x": null, "y": 1}}),
        );
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}, "n": {"y": 1}}));
        let mut scalar = json!("text");
        merge_patch(&mut scalar, &json!({"k": [1]}));
        assert_eq!(scalar, json!({"k": [1]}));
    }
}
