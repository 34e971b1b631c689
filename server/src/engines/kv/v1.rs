//! KV version 1: each path holds one JSON object, replaced on write. Also the logic behind
//! `cubbyhole/`, which runs it on a per-token storage view.

use async_trait::async_trait;

use super::{body_as_data, list_prefix, secret_path};
use crate::barrier::StorageView;
use crate::core::{Operation, Request, RequestError, Response};
use crate::engines::{Engine, MountContext};

/// The KV v1 engine.
pub struct KvV1;

#[async_trait]
impl Engine for KvV1 {
    async fn handle(&self, ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
        handle_on(&ctx.storage, req).await
    }

    async fn exists(
        &self,
        ctx: &MountContext,
        req: &Request,
    ) -> Result<Option<bool>, RequestError> {
        exists_on(&ctx.storage, req).await
    }
}

/// KV v1 semantics on any storage view.
pub async fn handle_on(storage: &StorageView, req: &Request) -> Result<Response, RequestError> {
    match req.operation {
        Operation::List => {
            let prefix = list_prefix(&req.path)?;
            Response::list(storage.list(&format!("data/{prefix}")).await?)
        }
        Operation::Read => {
            let path = secret_path(&req.path)?;
            let data = storage
                .get_json(&format!("data/{path}"))
                .await?
                .ok_or(RequestError::NotFound)?;
            Ok(Response::data(data))
        }
        Operation::Create | Operation::Update => {
            let path = secret_path(&req.path)?;
            let data = body_as_data(req)?;
            storage.put_json(&format!("data/{path}"), &data).await?;
            Ok(Response::empty())
        }
        Operation::Delete => {
            let path = secret_path(&req.path)?;
            storage.delete(&format!("data/{path}")).await?;
            Ok(Response::empty())
        }
        Operation::Patch => Err(RequestError::UnsupportedOperation),
    }
}

/// Whether the secret at the request path exists (create vs update).
pub async fn exists_on(storage: &StorageView, req: &Request) -> Result<Option<bool>, RequestError> {
    let Ok(path) = secret_path(&req.path) else {
        return Ok(None);
    };
    Ok(Some(storage.get(&format!("data/{path}")).await?.is_some()))
}
