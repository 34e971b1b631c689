//! `delete/<path>`, `undelete/<path>`, `destroy/<path>`: soft-delete, restore, or
//! permanently remove chosen versions.

use std::time::SystemTime;

use super::store::{load_meta, meta_key, to_json, version_key};
use super::{version_list, KvV2};
use crate::barrier::StorageView;
use crate::core::{Request, RequestError, Response};
use crate::duration::rfc3339_nanos;
use crate::storage::TxnOp;

pub async fn handle(
    engine: &KvV2,
    storage: &StorageView,
    action: &str,
    path: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let versions = version_list(req)?;
    let _turn = engine.lock_for(path).lock().await;
    let Some(mut meta) = load_meta(storage, path).await? else {
        return Ok(Response::empty());
    };
    let now = SystemTime::now();
    let mut ops = Vec::new();
    for number in versions {
        let Some(version) = meta.versions.get_mut(&number) else {
            continue;
        };
        match action {
            "delete" if !version.is_gone(now) => version.deletion_time = rfc3339_nanos(now),
            "undelete" if !version.destroyed => version.deletion_time.clear(),
            "destroy" if !version.destroyed => {
                version.destroyed = true;
                ops.push(TxnOp::Delete(version_key(number, path)));
            }
            _ => {}
        }
    }
    ops.push(TxnOp::Put(meta_key(path), to_json(&meta)));
    storage.transaction(ops).await?;
    Ok(Response::empty())
}
