//! `metadata/<path>` (read, write, patch, delete, list) and `subkeys/<path>`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{json, Map, Value};

use super::store::{self, load_meta, meta_key, to_json, version_key, KeyMetadata};
use super::KvV2;
use crate::barrier::StorageView;
use crate::core::{Operation, Request, RequestError, Response};
use crate::engines::kv::list_prefix;
use crate::storage::TxnOp;

pub async fn handle(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    match req.operation {
        Operation::Read => {
            let meta = load_meta(storage, path)
                .await?
                .ok_or(RequestError::NotFound)?;
            Ok(Response::data(meta.full_view()))
        }
        Operation::Create | Operation::Update | Operation::Patch => {
            write(engine, storage, path, req).await
        }
        Operation::Delete => delete_all(engine, storage, path).await,
        Operation::List => Err(RequestError::UnsupportedOperation),
    }
}

/// Keys (and folders) below a metadata prefix; 404 when there are none.
pub async fn list(storage: &StorageView, prefix: &str) -> Result<Response, RequestError> {
    let prefix = list_prefix(prefix)?;
    Response::list(storage.list(&format!("meta/{prefix}")).await?)
}

fn custom_metadata(req: &Request) -> Result<Option<BTreeMap<String, String>>, RequestError> {
    match req.data.get("custom_metadata") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(BTreeMap::new())),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(RequestError::invalid(format!(
                    "custom_metadata value for {k:?} must be a string"
                ))),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(RequestError::invalid(
            "custom_metadata must be a map of strings",
        )),
    }
}

async fn write(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let max_versions = req.uint_field("max_versions")?;
    let cas_required = req.bool_field("cas_required")?;
    let delete_after = req.duration_field("delete_version_after")?;
    let custom = custom_metadata(req)?;
    let _turn = engine.lock_for(path).lock().await;
    let existing = load_meta(storage, path).await?;
    if req.operation == Operation::Patch && existing.is_none() {
        return Err(RequestError::NotFound);
    }
    let now = store::now_string();
    let mut meta = existing.unwrap_or_else(|| KeyMetadata::new(&now));
    if let Some(max) = max_versions {
        meta.max_versions = max;
    }
    if let Some(cas) = cas_required {
        meta.cas_required = cas;
    }
    if let Some(after) = delete_after {
        meta.delete_version_after = after;
    }
    if let Some(custom) = custom {
        if req.operation == Operation::Patch {
            let mut merged = meta.custom_metadata.take().unwrap_or_default();
            merged.extend(custom);
            meta.custom_metadata = Some(merged);
        } else {
            meta.custom_metadata = Some(custom);
        }
    }
    meta.updated_time = now;
    storage.put(&meta_key(path), &to_json(&meta)).await?;
    Ok(Response::empty())
}

async fn delete_all(
    engine: &KvV2,
    storage: &StorageView,
    path: &str,
) -> Result<Response, RequestError> {
    let _turn = engine.lock_for(path).lock().await;
    let Some(meta) = load_meta(storage, path).await? else {
        return Ok(Response::empty());
    };
    let mut ops: Vec<TxnOp> = meta
        .versions
        .keys()
        .map(|v| TxnOp::Delete(version_key(*v, path)))
        .collect();
    ops.push(TxnOp::Delete(meta_key(path)));
    storage.transaction(ops).await?;
    Ok(Response::empty())
}

/// `subkeys/<path>`: the structure of a version's data with every leaf as `null`, down
/// to `depth` levels (0 = all).
pub async fn subkeys(
    storage: &StorageView,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let depth = req.uint_field("depth")?.unwrap_or(0);
    let wanted = req.uint_field("version")?.unwrap_or(0);
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
        store::load_version(storage, path, version).await?
    };
    let Some(data) = data else {
        return Ok(Response {
            status: Some(404),
            ..Response::json(json!({"subkeys": null, "metadata": meta.version_view(version)}))
        });
    };
    let keys = skeleton(&Value::Object(data), depth, 1);
    Ok(Response::json(
        json!({"subkeys": keys, "metadata": meta.version_view(version)}),
    ))
}

fn skeleton(value: &Value, depth: u64, level: u64) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let child = if v.is_object() && (depth == 0 || level < depth) {
                        skeleton(v, depth, level + 1)
                    } else {
                        Value::Null
                    };
                    (k.clone(), child)
                })
                .collect::<Map<String, Value>>(),
        ),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeleton_respects_depth() {
        let data = json!({"a": {"b": {"c": 1}}, "d": 2});
        assert_eq!(
            skeleton(&data, 0, 1),
            json!({"a": {"b": {"c": null}}, "d": null})
        );
        assert_eq!(skeleton(&data, 1, 1), json!({"a": null, "d": null}));
        assert_eq!(skeleton(&data, 2, 1), json!({"a": {"b": null}, "d": null}));
    }
}
