//! KV version 1: each path holds one JSON object, replaced whole on write. The logic runs
//! on any storage view ([`handle_on`], [`exists_on`]), so `cubbyhole/` reuses it on a
//! per-token view. Secrets live at `data/<path>` below the view.
//!
//! As in Vault, a `ttl` (or `lease`) field in a secret is a hint to readers: a read answers
//! with that `lease_duration` (the mount's default TTL otherwise) but no lease is created.

use crate::engines::help::{BackendHelp, PathHelp};
use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{list_prefix, writable_path};
use crate::barrier::StorageView;
use crate::core::request::LeaseInfo;
use crate::core::{Operation, Request, RequestError, Response};
use crate::engines::{Engine, MountContext};

/// Where the secrets live below the view.
const DATA_PREFIX: &str = "data/";

/// The KV v1 engine.
pub struct KvV1;

static HELP: BackendHelp = BackendHelp {
    description: "A key/value store (KV version 1): each path holds one JSON object of secrets, encrypted by the barrier; writing replaces it, no versions are kept.",
    paths: &[
        PathHelp {
            pattern: "<path*>",
            synopsis: "Read, write, list or delete the secret at a path.",
            description: "GET reads the secret, POST/PUT replaces it with the request body, DELETE removes it, LIST names the keys below a path ending in /. A \"ttl\" field sets the refresh interval reported on reads.",
        },
    ],
};

#[async_trait]
impl Engine for KvV1 {
    fn help(&self) -> &'static BackendHelp {
        &HELP
    }

    async fn handle(&self, ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
        let mut resp = handle_on(&ctx.storage, req).await?;
        if req.operation == Operation::Read {
            if let Some(data) = &resp.data {
                resp.lease = Some(lease_hint(data, default_ttl_seconds(ctx)));
            }
        }
        Ok(resp)
    }

    async fn exists(
        &self,
        ctx: &MountContext,
        req: &Request,
    ) -> Result<Option<bool>, RequestError> {
        exists_on(&ctx.storage, req).await
    }
}

/// KV v1 semantics on `storage` (the mount's view, or a token's cubbyhole).
pub(crate) async fn handle_on(
    storage: &StorageView,
    req: &Request,
) -> Result<Response, RequestError> {
    match req.operation {
        Operation::Read => {
            let data: Map<String, Value> = storage
                .get_json(&data_key(&req.path))
                .await?
                .ok_or(RequestError::NotFound)?;
            Ok(Response::data(data))
        }
        Operation::Create | Operation::Update => {
            let path = writable_path(&req.path)?;
            if req.data.is_empty() {
                return Err(RequestError::invalid("missing data fields"));
            }
            storage.put_json(&data_key(path), &req.data).await?;
            Ok(Response::empty())
        }
        Operation::Delete => {
            storage.delete(&data_key(&req.path)).await?;
            Ok(Response::empty())
        }
        Operation::List => {
            let prefix = format!("{DATA_PREFIX}{}", list_prefix(&req.path));
            Response::list(storage.list(&prefix).await?)
        }
        Operation::Patch => Err(RequestError::UnsupportedOperation),
    }
}

/// Whether the secret a write names exists already (the ACL's create vs update).
pub(crate) async fn exists_on(
    storage: &StorageView,
    req: &Request,
) -> Result<Option<bool>, RequestError> {
    if req.path.is_empty() || req.path.ends_with('/') {
        return Ok(None);
    }
    Ok(Some(storage.get(&data_key(&req.path)).await?.is_some()))
}

/// The storage key of a v1 secret below its view.
pub(crate) fn data_key(path: &str) -> String {
    format!("{DATA_PREFIX}{path}")
}

/// The storage prefix the v2 upgrade walks.
pub(crate) const fn data_prefix() -> &'static str {
    DATA_PREFIX
}

/// The mount's default lease TTL, or the system default when the mount does not set one.
fn default_ttl_seconds(ctx: &MountContext) -> u64 {
    match ctx.mount.config.default_lease_ttl {
        0 => ctx.system_default_ttl,
        ttl => ttl,
    }
}

/// The lease duration a read reports: the secret's `ttl` (or `lease`) field when it parses
/// as a duration, else the default. Never a lease id: KV v1 secrets are not revocable.
fn lease_hint(data: &Map<String, Value>, default_ttl: u64) -> LeaseInfo {
    let field = data.get("ttl").or_else(|| data.get("lease"));
    let ttl = match field {
        Some(Value::String(s)) => crate::duration::parse_duration(s)
            .map(|d| d.as_secs())
            .unwrap_or(default_ttl),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(default_ttl),
        _ => default_ttl,
    };
    LeaseInfo {
        lease_id: String::new(),
        ttl_seconds: ttl,
        renewable: false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engines::kv::testutil::{data_of, TestMount};

    #[tokio::test]
    async fn write_read_list_delete() {
        let m = TestMount::kv(None).await;
        let written = m
            .call(
                Operation::Update,
                "app/db",
                json!({"user": "u", "n": [1, {"a": null}]}),
            )
            .await;
        assert_eq!(written.ok().map(|r| r.data.is_none()), Some(true));
        let read = m.ok(Operation::Read, "app/db", json!({})).await;
        assert_eq!(data_of(&read), json!({"user": "u", "n": [1, {"a": null}]}));
        assert_eq!(read.lease.as_ref().map(|l| l.ttl_seconds), Some(2_764_800));
        assert_eq!(read.lease.as_ref().map(|l| l.lease_id.as_str()), Some(""));

        m.ok(Operation::Update, "top", json!({"x": 1})).await;
        let root = m.ok(Operation::List, "", json!({})).await;
        assert_eq!(data_of(&root), json!({"keys": ["app/", "top"]}));
        let folder = m.ok(Operation::List, "app/", json!({})).await;
        assert_eq!(data_of(&folder), json!({"keys": ["db"]}));
        let empty = m.call(Operation::List, "nothing/", json!({})).await;
        assert!(matches!(empty, Err(RequestError::NotFound)));

        m.ok(Operation::Delete, "app/db", json!({})).await;
        let gone = m.call(Operation::Read, "app/db", json!({})).await;
        assert!(matches!(gone, Err(RequestError::NotFound)));
        m.ok(Operation::Delete, "never-there", json!({})).await;
    }

    #[tokio::test]
    async fn writes_replace_the_whole_object() {
        let m = TestMount::kv(Some("1")).await;
        m.ok(Operation::Update, "k", json!({"a": 1, "b": 2})).await;
        m.ok(Operation::Update, "k", json!({"c": 3})).await;
        let read = m.ok(Operation::Read, "k", json!({})).await;
        assert_eq!(data_of(&read), json!({"c": 3}));
    }

    #[tokio::test]
    async fn bad_writes_are_rejected_and_store_nothing() {
        let m = TestMount::kv(None).await;
        let cases = [
            ("k", json!({}), "missing data fields"),
            ("", json!({"a": 1}), "missing path"),
            (
                "dir/",
                json!({"a": 1}),
                "cannot write to a path ending in '/'",
            ),
            ("a//b", json!({"a": 1}), "empty path segments"),
        ];
        for (path, body, message) in cases {
            let err = m.call(Operation::Update, path, body).await.err();
            assert!(
                matches!(&err, Some(RequestError::InvalidRequest(m)) if m.contains(message)),
                "{path:?}: {err:?}"
            );
        }
        assert!(matches!(
            m.call(Operation::List, "", json!({})).await,
            Err(RequestError::NotFound)
        ));
        let patch = m.call(Operation::Patch, "k", json!({"a": 1})).await;
        assert!(matches!(patch, Err(RequestError::UnsupportedOperation)));
    }

    #[tokio::test]
    async fn ttl_field_sets_the_reported_lease_duration() {
        let m = TestMount::kv(None).await;
        let cases = [
            (json!({"ttl": "1h"}), 3600),
            (json!({"ttl": 30}), 30),
            (json!({"ttl": "0"}), 0),
            (json!({"lease": "2m"}), 120),
            (json!({"ttl": "bogus"}), 2_764_800),
            (json!({"ttl": 1.7}), 2_764_800),
        ];
        for (body, expected) in cases {
            m.ok(Operation::Update, "t", body.clone()).await;
            let read = m.ok(Operation::Read, "t", json!({})).await;
            assert_eq!(
                read.lease.as_ref().map(|l| l.ttl_seconds),
                Some(expected),
                "{body}"
            );
            assert_eq!(data_of(&read), body);
        }
    }

    #[tokio::test]
    async fn existence_decides_create_or_update() {
        let m = TestMount::kv(None).await;
        assert_eq!(m.exists(Operation::Update, "k").await, Some(false));
        m.ok(Operation::Update, "k", json!({"a": 1})).await;
        assert_eq!(m.exists(Operation::Update, "k").await, Some(true));
        assert_eq!(m.exists(Operation::Update, "dir/").await, None);
    }
}
