//! `cubbyhole/`: KV v1 semantics in a private space per token. Each token sees only its
//! own view, `<token hmac>/` under the mount ([`token_view`]); the token store clears that
//! view when the token is revoked. Unlike KV v1, reads report no lease duration.

use crate::engines::help::{BackendHelp, PathHelp};
use async_trait::async_trait;

use super::kv::v1;
use super::{Engine, MountContext};
use crate::barrier::StorageView;
use crate::core::{Request, RequestError, Response};
use crate::tokens::TokenEntry;

/// The cubbyhole engine.
pub struct Cubbyhole;

/// The private storage of `token` below the cubbyhole mount's view. Revocation clears it.
pub fn token_view(mount_view: &StorageView, token: &TokenEntry) -> StorageView {
    view_of(mount_view, &token.id_hash)
}

/// The private storage of the token stored under `hash` (its HMAC).
pub fn view_of(mount_view: &StorageView, hash: &str) -> StorageView {
    mount_view.sub(&format!("{hash}/"))
}

fn request_view(ctx: &MountContext) -> Result<StorageView, RequestError> {
    let token = ctx.token.as_ref().ok_or(RequestError::PermissionDenied)?;
    // Nothing would clear a batch token's cubbyhole: it is never revoked.
    if token.is_batch() {
        return Err(RequestError::invalid(
            "cubbyhole operations are only supported by 'service' type tokens",
        ));
    }
    Ok(token_view(&ctx.storage, token))
}

static HELP: BackendHelp = BackendHelp {
    description: "A private key/value store per token: each token sees only its own cubbyhole, and its contents are destroyed when the token is revoked.",
    paths: &[
        PathHelp {
            pattern: "<path*>",
            synopsis: "Read, write, list or delete a secret in this token's cubbyhole.",
            description: "GET reads, POST/PUT replaces, DELETE removes, LIST names the keys below a path ending in /. Other tokens, root included, cannot see these entries.",
        },
    ],
};

#[async_trait]
impl Engine for Cubbyhole {
    fn help(&self) -> &'static BackendHelp {
        &HELP
    }

    async fn handle(&self, ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
        v1::handle_on(&request_view(ctx)?, req).await
    }

    async fn exists(
        &self,
        ctx: &MountContext,
        req: &Request,
    ) -> Result<Option<bool>, RequestError> {
        v1::exists_on(&request_view(ctx)?, req).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::core::Operation;
    use crate::engines::kv::testutil::{data_of, token, TestMount};

    #[tokio::test]
    async fn each_token_sees_only_its_own_secrets() {
        let alice = TestMount::cubbyhole(Some(token("alice"))).await;
        let bob = alice.with_token(Some(token("bob")));
        alice
            .ok(Operation::Update, "k", json!({"who": "alice"}))
            .await;
        alice
            .ok(Operation::Update, "dir/x", json!({"ttl": "1h"}))
            .await;

        let read = alice.ok(Operation::Read, "k", json!({})).await;
        assert_eq!(data_of(&read), json!({"who": "alice"}));
        assert!(read.lease.is_none(), "cubbyhole reports no lease duration");
        assert!(matches!(
            bob.call(Operation::Read, "k", json!({})).await,
            Err(RequestError::NotFound)
        ));
        assert!(matches!(
            bob.call(Operation::List, "", json!({})).await,
            Err(RequestError::NotFound)
        ));
        assert_eq!(bob.exists(Operation::Update, "k").await, Some(false));
        assert_eq!(alice.exists(Operation::Update, "k").await, Some(true));

        bob.ok(Operation::Update, "k", json!({"who": "bob"})).await;
        let listed = alice.ok(Operation::List, "", json!({})).await;
        assert_eq!(data_of(&listed), json!({"keys": ["dir/", "k"]}));
        let read = alice.ok(Operation::Read, "k", json!({})).await;
        assert_eq!(data_of(&read), json!({"who": "alice"}));

        bob.ok(Operation::Delete, "k", json!({})).await;
        assert!(alice.call(Operation::Read, "k", json!({})).await.is_ok());
    }

    #[tokio::test]
    async fn revoking_clears_only_that_tokens_view() {
        let alice = TestMount::cubbyhole(Some(token("alice"))).await;
        let bob = alice.with_token(Some(token("bob")));
        alice.ok(Operation::Update, "k", json!({"a": 1})).await;
        bob.ok(Operation::Update, "k", json!({"b": 1})).await;
        token_view(&alice.ctx.storage, &token("alice"))
            .clear()
            .await
            .expect("clearing in-memory storage works");
        assert!(alice.call(Operation::Read, "k", json!({})).await.is_err());
        assert!(bob.call(Operation::Read, "k", json!({})).await.is_ok());
    }

    #[tokio::test]
    async fn no_token_means_permission_denied() {
        let anonymous = TestMount::cubbyhole(None).await;
        let denied = anonymous.call(Operation::Read, "k", json!({})).await;
        assert!(matches!(denied, Err(RequestError::PermissionDenied)));
        let req = crate::engines::kv::testutil::request(Operation::Update, "k", json!({}));
        let exists = anonymous.engine.exists(&anonymous.ctx, &req).await;
        assert!(matches!(exists, Err(RequestError::PermissionDenied)));
    }

    #[tokio::test]
    async fn v1_rules_apply() {
        let m = TestMount::cubbyhole(Some(token("t"))).await;
        assert_eq!(
            m.invalid(Operation::Update, "k", json!({})).await,
            "missing data fields"
        );
        let patch = m.call(Operation::Patch, "k", json!({"a": 1})).await;
        assert!(matches!(patch, Err(RequestError::UnsupportedOperation)));
    }
}
