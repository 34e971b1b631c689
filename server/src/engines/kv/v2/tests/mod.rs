//! KV v2 behaviour through the engine, request by request, against a real barrier over
//! in-memory storage. One file per area; the expected shapes are OpenBao 2.7's.

mod config_and_routing;
mod data;
mod metadata;
mod versions;

use serde_json::{json, Value};

use crate::core::{Operation, Response};
use crate::engines::kv::testutil::{data_of, TestMount};

/// A fresh `kv` mount with `options.version = "2"`.
async fn mount() -> TestMount {
    TestMount::kv(Some("2")).await
}

/// Writes `data` as a new version of `path` and returns the response's data.
async fn put(m: &TestMount, path: &str, data: Value) -> Value {
    let body = json!({ "data": data });
    data_of(&m.ok(Operation::Update, &format!("data/{path}"), body).await)
}

/// Reads `data/<path>` with query `query`; the response's status (None = 200) and data.
async fn get(m: &TestMount, path: &str, query: Value) -> (Option<u16>, Value) {
    let resp: Response = m.ok(Operation::Read, &format!("data/{path}"), query).await;
    (resp.status, data_of(&resp))
}

/// The current metadata of `path`.
async fn metadata(m: &TestMount, path: &str) -> Value {
    data_of(
        &m.ok(Operation::Read, &format!("metadata/{path}"), json!({}))
            .await,
    )
}

/// Whether the storage key (relative to the mount) holds a value.
async fn stored(m: &TestMount, key: &str) -> bool {
    m.ctx
        .storage
        .get(key)
        .await
        .expect("in-memory storage reads work")
        .is_some()
}

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<String> {
    value
        .as_object()
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default()
}
