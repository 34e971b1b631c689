//! The mount's `config`, paths that are not endpoints, and the upgrade of a v1 mount.

use serde_json::{json, Value};

use super::{get, metadata, mount, stored};
use crate::core::mounts::MountEntry;
use crate::core::{Operation, RequestError};
use crate::engines::kv::testutil::{data_of, TestMount};

#[tokio::test]
async fn config_reads_defaults_and_keeps_writes() {
    let m = mount().await;
    let defaults = data_of(&m.ok(Operation::Read, "config", json!({})).await);
    assert_eq!(
        defaults,
        json!({
            "cas_required": false,
            "delete_version_after": "0s",
            "max_versions": 0,
            "metadata_cas_required": false,
        })
    );
    m.ok(Operation::Update, "config", json!({})).await;
    assert!(!stored(&m, "config").await, "an empty write stores nothing");

    let body = json!({"max_versions": "5", "cas_required": true, "delete_version_after": "-30s"});
    m.ok(Operation::Update, "config", body).await;
    let config = data_of(&m.ok(Operation::Read, "config", json!({})).await);
    assert_eq!(config["max_versions"], 5);
    assert_eq!(config["cas_required"], true);
    assert_eq!(config["delete_version_after"], "-1s");

    m.ok(
        Operation::Update,
        "config",
        json!({"delete_version_after": 0}),
    )
    .await;
    let config = data_of(&m.ok(Operation::Read, "config", json!({})).await);
    assert_eq!(
        (
            config["delete_version_after"].clone(),
            config["max_versions"].clone()
        ),
        (json!("0s"), json!(5))
    );

    let negative = m
        .invalid(Operation::Update, "config", json!({"max_versions": -2}))
        .await;
    assert!(negative.contains("\"max_versions\""));
    for op in [Operation::Delete, Operation::Patch] {
        let wrong = m.call(op, "config", json!({})).await;
        assert!(
            matches!(wrong, Err(RequestError::UnsupportedOperation)),
            "{op:?}"
        );
    }
}

#[tokio::test]
async fn config_survives_a_new_engine_on_the_same_storage() {
    let m = mount().await;
    m.ok(Operation::Update, "config", json!({"max_versions": 7}))
        .await;
    let again = m.remounted(m.ctx.mount.as_ref().clone());
    let config = data_of(&again.ok(Operation::Read, "config", json!({})).await);
    assert_eq!(config["max_versions"], 7);
}

#[tokio::test]
async fn paths_that_are_not_endpoints_answer_404_with_a_warning() {
    let m = mount().await;
    let cases = [
        (Operation::Read, "foo", "kv get"),
        (Operation::Update, "foo/bar", "kv put"),
        (Operation::List, "", "kv list"),
        (Operation::List, "config/", "kv list"),
        (Operation::Delete, "subkeys", "kv delete"),
        (Operation::Read, "data", "root of a K/V v2 mount"),
        (Operation::Update, "metadata", "root of a K/V v2 mount"),
        (Operation::Delete, "destroy", "root of a K/V v2 mount"),
    ];
    for (op, path, expected) in cases {
        let resp = m.ok(op, path, json!({"a": 1})).await;
        assert_eq!(resp.status, Some(404), "{op:?} {path}");
        assert!(resp.data.is_none());
        assert!(
            resp.warnings.iter().any(|w| w.contains(expected)),
            "{:?}",
            resp.warnings
        );
    }
}

#[tokio::test]
async fn a_v1_mount_tuned_to_version_2_is_upgraded() {
    let v1 = TestMount::kv(Some("1")).await;
    v1.ok(Operation::Update, "app/db", json!({"password": "p"}))
        .await;
    v1.ok(Operation::Update, "top", json!({"ttl": "1h", "n": 1}))
        .await;

    let mut entry: MountEntry = v1.ctx.mount.as_ref().clone();
    entry.options = Some([("version".to_string(), "2".to_string())].into());
    let v2 = v1.remounted(entry);
    let (status, read) = get(&v2, "app/db", json!({})).await;
    assert_eq!(status, None);
    assert_eq!(read["data"], json!({"password": "p"}));
    assert_eq!(read["metadata"]["version"], 1);
    assert_eq!(metadata(&v2, "top").await["current_version"], 1);
    let listed = data_of(&v2.ok(Operation::List, "metadata/", json!({})).await);
    assert_eq!(listed, json!({"keys": ["app/", "top"]}));
    assert!(!stored(&v2, "data/app/db").await, "the v1 entry is gone");
    let old_view = v1.call(Operation::Read, "app/db", Value::Null).await;
    assert!(matches!(old_view, Err(RequestError::NotFound)));
}
