//! Upgrading a KV v1 mount tuned to version 2: each v1 secret (`data/<path>`) becomes
//! version 1 of a v2 key (or the next version, if the key exists) and its v1 entry is
//! removed, in one transaction per secret, so an interrupted upgrade resumes where it
//! stopped. Runs before the first request the v2 engine serves; a mount with no v1
//! secrets costs one scan.

use std::time::SystemTime;

use serde_json::Value;

use super::history::append_version;
use super::store::load_record;
use super::KvV2;
use crate::barrier::StorageView;
use crate::core::RequestError;
use crate::engines::kv::v1;
use crate::storage::TxnOp;

/// Secrets read per scan.
const BATCH: usize = 128;

pub async fn run(engine: &KvV2, storage: &StorageView) -> Result<(), RequestError> {
    let prefix = v1::data_prefix();
    let mut after: Option<String> = None;
    let mut upgraded = 0usize;
    loop {
        let keys = storage.scan(prefix, after.as_deref(), BATCH).await?;
        let Some(last) = keys.last().cloned() else {
            break;
        };
        for key in keys {
            upgrade_one(engine, storage, &key).await?;
            upgraded += 1;
        }
        after = Some(last);
    }
    if upgraded > 0 {
        tracing::info!(upgraded, "upgraded KV v1 secrets to KV v2");
    }
    Ok(())
}

async fn upgrade_one(
    engine: &KvV2,
    storage: &StorageView,
    v1_key: &str,
) -> Result<(), RequestError> {
    let Some(path) = v1_key.strip_prefix(v1::data_prefix()) else {
        return Ok(());
    };
    let Some(data) = storage.get_json::<Value>(v1_key).await? else {
        return Ok(());
    };
    let config = engine.config(storage).await?;
    let _key = engine.lock_key(path).await;
    let mut record = load_record(storage, path).await?.unwrap_or_default();
    let mut ops = append_version(&mut record, path, data, &config, SystemTime::now());
    ops.push(TxnOp::Delete(v1_key.to_string()));
    storage.transaction(ops).await?;
    Ok(())
}
