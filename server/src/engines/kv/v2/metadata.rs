//! `metadata/<path>`: read, write, patch and delete a key's metadata (delete removes every
//! version), and list keys under `metadata/` or `detailed-metadata/` (with each key's
//! metadata). Writes honour `metadata_cas` like OpenBao.

use std::time::SystemTime;

use serde_json::{Map, Value};

use super::store::{encode, load_metadata, load_record, meta_key, version_key, KeyRecord};
use super::{KvV2, MountConfig};
use crate::barrier::StorageView;
use crate::core::fields;
use crate::core::{Operation, Request, RequestError, Response};
use crate::duration::rfc3339_nanos;
use crate::engines::kv::{list_prefix, writable_path};
use crate::storage::TxnOp;

mod custom;

use custom::CustomMetadataChange;

pub async fn handle(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    match req.operation {
        Operation::Read => {
            let meta = load_metadata(storage, path)
                .await?
                .ok_or(RequestError::NotFound)?;
            Ok(Response::data(meta.full_view()))
        }
        Operation::Create | Operation::Update => write(engine, storage, path, req, false).await,
        Operation::Patch => write(engine, storage, path, req, true).await,
        Operation::Delete => delete_all(engine, storage, path).await,
        Operation::List => Err(RequestError::UnsupportedOperation),
    }
}

/// The settable fields of a metadata write or patch.
struct MetadataInput {
    max_versions: Option<u64>,
    cas_required: Option<bool>,
    metadata_cas_required: Option<bool>,
    delete_version_after: Option<u64>,
    custom_metadata: Option<CustomMetadataChange>,
    metadata_cas: Option<i64>,
}

impl MetadataInput {
    fn parse(req: &Request, patch: bool) -> Result<Self, RequestError> {
        Ok(Self {
            max_versions: fields::count(&req.data, "max_versions")?,
            cas_required: fields::boolean(&req.data, "cas_required")?,
            metadata_cas_required: fields::boolean(&req.data, "metadata_cas_required")?,
            delete_version_after: fields::seconds(&req.data, "delete_version_after")?,
            custom_metadata: CustomMetadataChange::parse(&req.data, patch)?,
            metadata_cas: fields::int(&req.data, "metadata_cas")?,
        })
    }

    /// Nothing to change: Vault answers 204 without touching storage.
    fn is_empty(&self) -> bool {
        self.max_versions.is_none()
            && self.cas_required.is_none()
            && self.metadata_cas_required.is_none()
            && self.delete_version_after.is_none()
            && self.custom_metadata.is_none()
    }

    /// Warnings for settings the mount's config overrides.
    fn warnings(&self, config: &MountConfig) -> Vec<String> {
        let ignored = |name: &str| {
            format!(
                "\"{name}\" set to false, but is mandated by backend config. This value will be \
                 ignored."
            )
        };
        let mut warnings = Vec::new();
        if self.cas_required == Some(false) && config.cas_required {
            warnings.push(ignored("cas_required"));
        }
        if self.metadata_cas_required == Some(false) && config.metadata_cas_required {
            warnings.push(ignored("metadata_cas_required"));
        }
        warnings
    }

    fn apply(self, record: &mut KeyRecord, patch: bool) -> Result<(), RequestError> {
        let meta = &mut record.meta;
        if let Some(max) = self.max_versions {
            meta.max_versions = max;
        }
        if let Some(required) = self.cas_required {
            meta.cas_required = required;
        }
        if let Some(required) = self.metadata_cas_required {
            meta.metadata_cas_required = required;
        }
        if let Some(after) = self.delete_version_after {
            meta.delete_version_after = after;
        }
        if let Some(change) = self.custom_metadata {
            change.apply(&mut meta.custom_metadata, patch)?;
        }
        Ok(())
    }
}

async fn write(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
    req: &Request,
    patch: bool,
) -> Result<Response, RequestError> {
    let input = MetadataInput::parse(req, patch)?;
    if input.is_empty() {
        return Ok(Response::empty());
    }
    let path = writable_path(path)?;
    let config = engine.config(storage).await?;
    let warnings = input.warnings(&config);
    let _key = engine.lock_key(path).await;
    let existing = load_record(storage, path).await?;
    if patch && existing.is_none() {
        return Err(RequestError::NotFound);
    }
    let mut record = next_metadata_version(existing, &input, &config)?;
    input.apply(&mut record, patch)?;
    storage.put(&meta_key(path), &encode(&record)).await?;
    Ok(Response {
        warnings,
        ..Response::default()
    })
}

/// Checks `metadata_cas` against the stored record (or its absence) and returns the record
/// to update: a new one, or the existing one with its metadata version bumped.
fn next_metadata_version(
    existing: Option<KeyRecord>,
    input: &MetadataInput,
    config: &MountConfig,
) -> Result<KeyRecord, RequestError> {
    let required = config.metadata_cas_required
        || existing
            .as_ref()
            .is_some_and(|r| r.meta.metadata_cas_required);
    if required && input.metadata_cas.is_none() {
        return Err(RequestError::invalid(
            "metadata check-and-set parameter required for this call",
        ));
    }
    let now = rfc3339_nanos(SystemTime::now());
    let Some(mut record) = existing else {
        if input.metadata_cas.is_some_and(|cas| cas != 0) {
            return Err(RequestError::invalid(
                "metadata_cas must be 0 when creating new metadata",
            ));
        }
        let mut record = KeyRecord::default();
        record.meta.created_time = now.clone();
        record.meta.updated_time = now;
        record.meta.current_metadata_version = 1;
        return Ok(record);
    };
    let current = record.meta.current_metadata_version;
    if input
        .metadata_cas
        .is_some_and(|cas| u64::try_from(cas).ok() != Some(current))
    {
        return Err(RequestError::invalid(
            "metadata check-and-set parameter does not match the current version",
        ));
    }
    record.meta.current_metadata_version += 1;
    record.meta.updated_time = now;
    Ok(record)
}

async fn delete_all(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
) -> Result<Response, RequestError> {
    let _key = engine.lock_key(path).await;
    let Some(record) = load_record(storage, path).await? else {
        return Ok(Response::empty());
    };
    let current = record.meta.current_version;
    let mut ops: Vec<TxnOp> = record
        .meta
        .versions
        .keys()
        .filter(|&&version| version != current)
        .map(|&version| TxnOp::Delete(version_key(version, path)))
        .collect();
    ops.push(TxnOp::Delete(meta_key(path)));
    storage.transaction(ops).await?;
    Ok(Response::empty())
}

/// Keys and folders below `path` (`after` and `limit` page through them), with each key's
/// metadata in `key_info` when `detailed`. 404 when there are none.
pub async fn list(
    storage: &StorageView,
    path: &str,
    req: &Request,
    detailed: bool,
) -> Result<Response, RequestError> {
    let after = match req.data.get("after") {
        None | Some(Value::Null) => None,
        Some(Value::String(after)) => Some(after.as_str()),
        Some(other) => {
            let detail = format!("expected a string, got {}", fields::type_name(other));
            return Err(fields::conversion_error("after", detail));
        }
    };
    let limit = fields::int(&req.data, "limit")?
        .filter(|&limit| limit > 0)
        .map_or(usize::MAX, |limit| {
            usize::try_from(limit).unwrap_or(usize::MAX)
        });
    let prefix = list_prefix(path);
    let keys: Vec<String> = storage
        .list(&meta_key(&prefix))
        .await?
        .into_iter()
        .filter(|key| after.is_none_or(|after| key.as_str() > after))
        .take(limit)
        .collect();
    if !detailed || keys.is_empty() {
        return Response::list(keys);
    }
    let mut key_info = Map::new();
    for key in &keys {
        let info = match key.ends_with('/') {
            true => None,
            false => load_metadata(storage, &format!("{prefix}{key}")).await?,
        };
        let info = info.map(|meta| meta.full_view()).unwrap_or_default();
        key_info.insert(key.clone(), Value::Object(info));
    }
    let mut data = Map::new();
    data.insert("key_info".into(), Value::Object(key_info));
    data.insert("keys".into(), keys.into());
    Ok(Response::data(data))
}
