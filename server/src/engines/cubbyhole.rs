//! `cubbyhole/`: KV v1 semantics in a private space per token. Each token sees only its
//! own storage (`<token hmac>/` under the mount), which is deleted when the token is
//! revoked.

use async_trait::async_trait;

use super::kv::v1;
use super::{Engine, MountContext};
use crate::barrier::StorageView;
use crate::core::{Request, RequestError, Response};

/// The cubbyhole engine.
pub struct Cubbyhole;

fn token_storage(ctx: &MountContext) -> Result<StorageView, RequestError> {
    let token = ctx.token.as_ref().ok_or(RequestError::PermissionDenied)?;
    Ok(ctx.storage.sub(&format!("{}/", token.id_hash)))
}

#[async_trait]
impl Engine for Cubbyhole {
    async fn handle(&self, ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
        v1::handle_on(&token_storage(ctx)?, req).await
    }

    async fn exists(
        &self,
        ctx: &MountContext,
        req: &Request,
    ) -> Result<Option<bool>, RequestError> {
        v1::exists_on(&token_storage(ctx)?, req).await
    }
}
