//! `data/<path>`: read a version, write a new one (with check-and-set), patch the latest
//! (JSON merge patch), and soft-delete the latest.

use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use super::store::{
    self, load_config, load_meta, load_version, meta_key, to_json, version_key, KeyMetadata,
    VersionMeta,
};
use super::KvV2;
use crate::barrier::StorageView;
use crate::core::{Operation, Request, RequestError, Response};
use crate::duration::rfc3339_nanos;
use crate::storage::TxnOp;

pub async fn handle(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    match req.operation {
        Operation::Read => read(storage, path, req).await,
        Operation::Create | Operation::Update => write(engine, storage, path, req, false).await,
        Operation::Patch => write(engine, storage, path, req, true).await,
        Operation::Delete => delete_latest(engine, storage, path).await,
        Operation::List => Err(RequestError::UnsupportedOperation),
    }
}

/// The `version` query parameter; 0 or absent = latest.
fn requested_version(req: &Request) -> Result<u64, RequestError> {
    match req.data.get("version") {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| RequestError::invalid("version must be a non-negative integer")),
        Some(Value::String(s)) if s.is_empty() => Ok(0),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| RequestError::invalid("version must be a non-negative integer")),
        Some(_) => Err(RequestError::invalid(
            "version must be a non-negative integer",
        )),
    }
}

async fn read(storage: &StorageView, path: &str, req: &Request) -> Result<Response, RequestError> {
    let wanted = requested_version(req)?;
    let meta = load_meta(storage, path)
        .await?
        .ok_or(RequestError::NotFound)?;
    let version = if wanted == 0 {
        meta.current_version
    } else {
        wanted
    };
    let version_meta = meta.versions.get(&version).ok_or(RequestError::NotFound)?;
    let data = if version_meta.is_gone(SystemTime::now()) {
        None
    } else {
        load_version(storage, path, version).await?
    };
    let mut body = Map::new();
    body.insert("metadata".into(), meta.version_view(version));
    match data {
        Some(data) => {
            body.insert("data".into(), Value::Object(data));
            Ok(Response::data(body))
        }
        None => {
            // Vault answers a deleted or destroyed version with 404 and the envelope.
            body.insert("data".into(), Value::Null);
            Ok(Response {
                status: Some(404),
                ..Response::data(body)
            })
        }
    }
}

/// The `options.cas` value, if given.
fn cas_option(req: &Request) -> Result<Option<u64>, RequestError> {
    let bad = || RequestError::invalid("check-and-set parameter must be a non-negative integer");
    match req.data.get("options") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(options)) => match options.get("cas") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) => s.parse().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        },
        Some(_) => Err(RequestError::invalid("options must be an object")),
    }
}

fn data_field(req: &Request) -> Result<Map<String, Value>, RequestError> {
    match req.data.get("data") {
        Some(Value::Object(data)) => Ok(data.clone()),
        None | Some(Value::Null) => Err(RequestError::invalid("no data provided")),
        Some(_) => Err(RequestError::invalid("data must be a JSON object")),
    }
}

async fn write(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
    req: &Request,
    patch: bool,
) -> Result<Response, RequestError> {
    let input = data_field(req)?;
    let cas = cas_option(req)?;
    let _turn = engine.lock_for(path).lock().await;
    let config = load_config(storage).await?;
    let now = store::now_string();
    let existing = load_meta(storage, path).await?;
    if patch && existing.as_ref().is_none_or(|m| m.current_version == 0) {
        return Err(RequestError::NotFound);
    }
    let mut meta = existing.unwrap_or_else(|| KeyMetadata::new(&now));
    match cas {
        Some(cas) if cas != meta.current_version => {
            return Err(RequestError::invalid(
                "check-and-set parameter did not match the current version",
            ));
        }
        None if meta.cas_required || config.cas_required => {
            return Err(RequestError::invalid(
                "check-and-set parameter required for this call",
            ));
        }
        _ => {}
    }
    let data = if patch {
        let current = meta.current_version;
        let gone = meta
            .versions
            .get(&current)
            .is_none_or(|v| v.is_gone(SystemTime::now()));
        let base = if gone {
            None
        } else {
            load_version(storage, path, current).await?
        };
        let mut base = Value::Object(base.ok_or(RequestError::NotFound)?);
        merge_patch(&mut base, &Value::Object(input));
        match base {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    } else {
        input
    };
    let version = meta.current_version + 1;
    let delete_after = if meta.delete_version_after > 0 {
        meta.delete_version_after
    } else {
        config.delete_version_after
    };
    let deletion_time = if delete_after > 0 {
        rfc3339_nanos(SystemTime::now() + Duration::from_secs(delete_after))
    } else {
        String::new()
    };
    meta.versions.insert(
        version,
        VersionMeta {
            created_time: now.clone(),
            deletion_time,
            destroyed: false,
        },
    );
    meta.current_version = version;
    meta.updated_time = now;
    let mut ops = prune(&mut meta, path, config.max_versions);
    ops.push(TxnOp::Put(version_key(version, path), to_json(&data)));
    ops.push(TxnOp::Put(meta_key(path), to_json(&meta)));
    storage.transaction(ops).await?;
    match meta.version_view(version) {
        Value::Object(view) => Ok(Response::data(view)),
        _ => Ok(Response::empty()),
    }
}

/// Drops the oldest versions beyond the key's (or mount's, or default) limit.
fn prune(meta: &mut KeyMetadata, path: &str, mount_max: u64) -> Vec<TxnOp> {
    let max = [meta.max_versions, mount_max, store::DEFAULT_MAX_VERSIONS]
        .into_iter()
        .find(|m| *m > 0)
        .unwrap_or(store::DEFAULT_MAX_VERSIONS);
    let mut ops = Vec::new();
    while meta.versions.len() as u64 > max {
        let Some((&oldest, _)) = meta.versions.iter().next() else {
            break;
        };
        meta.versions.remove(&oldest);
        ops.push(TxnOp::Delete(version_key(oldest, path)));
        meta.oldest_version = meta.versions.keys().next().copied().unwrap_or(0);
    }
    ops
}

async fn delete_latest(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
) -> Result<Response, RequestError> {
    let _turn = engine.lock_for(path).lock().await;
    let Some(mut meta) = load_meta(storage, path).await? else {
        return Ok(Response::empty());
    };
    let now = SystemTime::now();
    let current = meta.current_version;
    if let Some(version) = meta.versions.get_mut(&current) {
        if !version.is_gone(now) {
            version.deletion_time = rfc3339_nanos(now);
            storage.put(&meta_key(path), &to_json(&meta)).await?;
        }
    }
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
        *target = json!({});
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}, "n": [1]}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}, "n": [1]}));
    }

    #[test]
    fn prune_keeps_the_newest() {
        let mut meta = KeyMetadata::new("t");
        for v in 1..=5 {
            meta.versions.insert(
                v,
                VersionMeta {
                    created_time: "t".into(),
                    deletion_time: String::new(),
                    destroyed: false,
                },
            );
        }
        meta.max_versions = 3;
        let ops = prune(&mut meta, "p", 0);
        assert_eq!(ops.len(), 2);
        assert_eq!(
            meta.versions.keys().copied().collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert_eq!(meta.oldest_version, 3);
    }
}
