//! Test helpers for the KV engines and cubbyhole: a real barrier over in-memory storage, a
//! mount built through [`crate::engines::create`], and short ways to send requests.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::barrier::{Barrier, StorageView};
use crate::core::mounts::MountEntry;
use crate::core::{Operation, Request, RequestError, Response};
use crate::engines::{Engine, MountContext};
use crate::tokens::TokenEntry;

/// A mounted engine with its own unsealed barrier.
pub(crate) struct TestMount {
    pub engine: Arc<dyn Engine>,
    pub ctx: MountContext,
}

impl TestMount {
    /// A `kv` mount; `version` is its `options.version` (None = no options).
    pub async fn kv(version: Option<&str>) -> Self {
        let mut entry = MountEntry::new("secret/", "kv", "", false);
        entry.options = version.map(|v| [("version".to_string(), v.to_string())].into());
        Self::mount(entry, Some(token("root-token"))).await
    }

    /// A `cubbyhole` mount used by `token` (None: a request without a token).
    pub async fn cubbyhole(token: Option<Arc<TokenEntry>>) -> Self {
        Self::mount(MountEntry::new("cubbyhole/", "cubbyhole", "", false), token).await
    }

    async fn mount(entry: MountEntry, token: Option<Arc<TokenEntry>>) -> Self {
        let engine = crate::engines::create(&entry).expect("test mounts are valid");
        let storage = StorageView::new(test_barrier().await, entry.storage_prefix());
        let ctx = MountContext {
            storage,
            mount: Arc::new(entry),
            token,
            system_default_ttl: crate::config::DEFAULT_LEASE_TTL.as_secs(),
        };
        Self { engine, ctx }
    }

    /// The same mount (same storage) seen by another token.
    pub fn with_token(&self, token: Option<Arc<TokenEntry>>) -> Self {
        Self {
            engine: self.engine.clone(),
            ctx: MountContext {
                storage: self.ctx.storage.clone(),
                mount: self.ctx.mount.clone(),
                token,
                system_default_ttl: self.ctx.system_default_ttl,
            },
        }
    }

    /// The same storage served by an engine built from `entry` (a tuned mount).
    pub fn remounted(&self, entry: MountEntry) -> Self {
        let engine = crate::engines::create(&entry).expect("test mounts are valid");
        Self {
            engine,
            ctx: MountContext {
                storage: self.ctx.storage.clone(),
                mount: Arc::new(entry),
                token: self.ctx.token.clone(),
                system_default_ttl: self.ctx.system_default_ttl,
            },
        }
    }

    pub async fn call(
        &self,
        operation: Operation,
        path: &str,
        body: Value,
    ) -> Result<Response, RequestError> {
        self.engine
            .handle(&self.ctx, &request(operation, path, body))
            .await
    }

    /// A call that must succeed.
    pub async fn ok(&self, operation: Operation, path: &str, body: Value) -> Response {
        match self.call(operation, path, body).await {
            Ok(resp) => resp,
            Err(err) => panic!("{operation:?} {path}: {err:?}"),
        }
    }

    /// A call that must fail with a 400; returns the message.
    pub async fn invalid(&self, operation: Operation, path: &str, body: Value) -> String {
        match self.call(operation, path, body).await {
            Err(RequestError::InvalidRequest(message)) => message,
            other => panic!("{operation:?} {path}: expected a 400, got {other:?}"),
        }
    }

    pub async fn exists(&self, operation: Operation, path: &str) -> Option<bool> {
        let req = request(operation, path, Value::Null);
        self.engine
            .exists(&self.ctx, &req)
            .await
            .expect("existence checks succeed in tests")
    }
}

/// A request as the HTTP layer builds it (the body's or query's fields in `data`).
pub(crate) fn request(operation: Operation, path: &str, body: Value) -> Request {
    let data = match body {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    Request::new(operation, path).with_data(data)
}

/// A token entry whose storage key is derived from `name`.
pub(crate) fn token(name: &str) -> Arc<TokenEntry> {
    Arc::new(TokenEntry::new(
        format!("hash-of-{name}"),
        format!("accessor-{name}"),
        vec!["default".into()],
        "auth/token/create",
    ))
}

/// A response's `data` as one JSON value (null when absent).
pub(crate) fn data_of(resp: &Response) -> Value {
    resp.data_value().unwrap_or(Value::Null)
}

async fn test_barrier() -> Arc<Barrier> {
    crate::barrier::in_memory_for_tests().await
}
