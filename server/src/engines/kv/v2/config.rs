//! `<mount>/config`: the mount-wide `max_versions`, `cas_required`,
//! `metadata_cas_required` and `delete_version_after` (negative disables deletion times
//! for every key, zero clears the setting).

use std::time::Duration;

use serde_json::Map;

use super::store::{encode, load_config, MountConfig};
use super::KvV2;
use crate::barrier::StorageView;
use crate::core::fields;
use crate::core::{Operation, Request, RequestError, Response};
use crate::duration::format_go;

pub async fn handle(
    engine: &KvV2,
    storage: &StorageView,
    req: &Request,
) -> Result<Response, RequestError> {
    match req.operation {
        Operation::Read => Ok(Response::data(view(&engine.config(storage).await?))),
        Operation::Create | Operation::Update => write(engine, storage, req).await,
        _ => Err(RequestError::UnsupportedOperation),
    }
}

fn view(config: &MountConfig) -> Map<String, serde_json::Value> {
    let mut view = Map::new();
    view.insert("cas_required".into(), config.cas_required.into());
    view.insert(
        "delete_version_after".into(),
        signed_go_duration(config.delete_version_after).into(),
    );
    view.insert("max_versions".into(), config.max_versions.into());
    view.insert(
        "metadata_cas_required".into(),
        config.metadata_cas_required.into(),
    );
    view
}

/// Go's `Duration.String()` of a whole number of seconds, sign included.
fn signed_go_duration(seconds: i64) -> String {
    let magnitude = format_go(Duration::from_secs(seconds.unsigned_abs()));
    if seconds < 0 {
        format!("-{magnitude}")
    } else {
        magnitude
    }
}

async fn write(
    engine: &KvV2,
    storage: &StorageView,
    req: &Request,
) -> Result<Response, RequestError> {
    let max_versions = fields::count(&req.data, "max_versions")?;
    let cas_required = fields::boolean(&req.data, "cas_required")?;
    let metadata_cas_required = fields::boolean(&req.data, "metadata_cas_required")?;
    let delete_after = fields::signed_seconds(&req.data, "delete_version_after")?;
    if max_versions.is_none()
        && cas_required.is_none()
        && metadata_cas_required.is_none()
        && delete_after.is_none()
    {
        return Ok(Response::empty());
    }

    let _update = engine.config_update.lock().await;
    let mut config = load_config(storage).await?;
    if let Some(max) = max_versions {
        config.max_versions = max;
    }
    if let Some(required) = cas_required {
        config.cas_required = required;
    }
    if let Some(required) = metadata_cas_required {
        config.metadata_cas_required = required;
    }
    if let Some(after) = delete_after {
        // Vault keeps a single "disabled" value for every negative duration.
        config.delete_version_after = after.max(-1);
    }
    storage.put("config", &encode(&config)).await?;
    engine.set_cached_config(config);
    Ok(Response::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_durations_print_like_go() {
        assert_eq!(signed_go_duration(0), "0s");
        assert_eq!(signed_go_duration(-1), "-1s");
        assert_eq!(signed_go_duration(5400), "1h30m0s");
    }
}
