//! `<mount>/config`: mount-wide `max_versions`, `cas_required`, `delete_version_after`.

use std::time::Duration;

use serde_json::json;

use super::store::{load_config, to_json};
use crate::barrier::StorageView;
use crate::core::{Operation, Request, RequestError, Response};
use crate::duration::format_go;

pub async fn handle(storage: &StorageView, req: &Request) -> Result<Response, RequestError> {
    match req.operation {
        Operation::Read => {
            let config = load_config(storage).await?;
            Ok(Response::json(json!({
                "cas_required": config.cas_required,
                "delete_version_after": format_go(Duration::from_secs(config.delete_version_after)),
                "max_versions": config.max_versions,
            })))
        }
        Operation::Create | Operation::Update => {
            let mut config = load_config(storage).await?;
            if let Some(max) = req.uint_field("max_versions")? {
                config.max_versions = max;
            }
            if let Some(cas) = req.bool_field("cas_required")? {
                config.cas_required = cas;
            }
            if let Some(after) = req.duration_field("delete_version_after")? {
                config.delete_version_after = after;
            }
            storage.put("config", &to_json(&config)).await?;
            Ok(Response::empty())
        }
        _ => Err(RequestError::UnsupportedOperation),
    }
}
