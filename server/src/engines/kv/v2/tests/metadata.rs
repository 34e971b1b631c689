//! `metadata/<path>` reads, writes, patches, deletes and lists, with `metadata_cas`.

use serde_json::{json, Value};

use super::{keys, metadata, mount, put, stored};
use crate::core::{Operation, RequestError};
use crate::engines::kv::testutil::data_of;

#[tokio::test]
async fn metadata_read_has_vaults_shape() {
    let m = mount().await;
    let written = put(&m, "k", json!({"a": 1})).await;
    put(&m, "k", json!({"a": 2})).await;
    let meta = metadata(&m, "k").await;
    let expected = [
        "cas_required",
        "created_time",
        "current_metadata_version",
        "current_version",
        "custom_metadata",
        "delete_version_after",
        "max_versions",
        "metadata_cas_required",
        "oldest_version",
        "updated_time",
        "versions",
    ];
    assert_eq!(keys(&meta), expected);
    assert_eq!(meta["created_time"], written["created_time"]);
    assert_ne!(meta["updated_time"], meta["created_time"]);
    assert_eq!(meta["current_version"], 2);
    assert_eq!(meta["current_metadata_version"], 0);
    assert_eq!(meta["oldest_version"], 0);
    assert_eq!(meta["max_versions"], 0);
    assert_eq!(meta["delete_version_after"], "0s");
    assert_eq!(meta["custom_metadata"], Value::Null);
    assert_eq!(
        meta["versions"]["1"],
        json!({"created_time": written["created_time"], "deletion_time": "", "destroyed": false})
    );
    let missing = m.call(Operation::Read, "metadata/none", json!({})).await;
    assert!(matches!(missing, Err(RequestError::NotFound)));
}

#[tokio::test]
async fn metadata_writes_create_update_and_ignore_empty_bodies() {
    let m = mount().await;
    m.ok(Operation::Update, "metadata/k", json!({})).await;
    m.ok(Operation::Update, "metadata/k", json!({"unknown": 1}))
        .await;
    assert!(
        !stored(&m, "meta/k").await,
        "nothing to set: nothing stored"
    );

    let body = json!({
        "max_versions": 3,
        "cas_required": "true",
        "delete_version_after": "1h30m",
        "custom_metadata": {"owner": "ops", "n": 5},
    });
    assert!(m
        .ok(Operation::Update, "metadata/k", body)
        .await
        .data
        .is_none());
    let meta = metadata(&m, "k").await;
    assert_eq!(meta["max_versions"], 3);
    assert_eq!(meta["cas_required"], true);
    assert_eq!(meta["delete_version_after"], "1h30m0s");
    assert_eq!(meta["custom_metadata"], json!({"owner": "ops", "n": "5"}));
    assert_eq!(meta["current_version"], 0);
    assert_eq!(meta["current_metadata_version"], 1);
    assert_eq!(meta["versions"], json!({}));
    let no_data = m.call(Operation::Read, "data/k", json!({})).await;
    assert!(matches!(no_data, Err(RequestError::NotFound)));

    m.ok(
        Operation::Update,
        "metadata/k",
        json!({"custom_metadata": null}),
    )
    .await;
    let meta = metadata(&m, "k").await;
    assert_eq!(meta["custom_metadata"], Value::Null);
    assert_eq!(meta["max_versions"], 3, "fields not given are kept");
    assert_eq!(meta["current_metadata_version"], 2);

    let body = json!({"data": {"a": 1}, "options": {"cas": 0}});
    m.ok(
        Operation::Update,
        "metadata/k",
        json!({"custom_metadata": {"t": "x"}}),
    )
    .await;
    let written = data_of(&m.ok(Operation::Update, "data/k", body).await);
    assert_eq!(written["custom_metadata"], json!({"t": "x"}));
}

#[tokio::test]
async fn bad_metadata_is_rejected_and_stores_nothing() {
    let m = mount().await;
    let cases = [
        (json!({"max_versions": -1}), "\"max_versions\""),
        (json!({"max_versions": "abc"}), "\"max_versions\""),
        (json!({"delete_version_after": "-1h"}), "negative"),
        (
            json!({"delete_version_after": "soon"}),
            "\"delete_version_after\"",
        ),
        (json!({"cas_required": "maybe"}), "\"cas_required\""),
        (json!({"custom_metadata": "x"}), "\"custom_metadata\""),
        (json!({"custom_metadata": {"k": ""}}), "length of value"),
        (json!({"custom_metadata": {"k": [1]}}), "must be a string"),
    ];
    for (body, expected) in cases {
        let message = m
            .invalid(Operation::Update, "metadata/k", body.clone())
            .await;
        assert!(message.contains(expected), "{body}: {message}");
    }
    assert!(!stored(&m, "meta/k").await);
}

#[tokio::test]
async fn metadata_patch_merges() {
    let m = mount().await;
    let missing = m
        .call(Operation::Patch, "metadata/k", json!({"max_versions": 5}))
        .await;
    assert!(matches!(missing, Err(RequestError::NotFound)));
    m.ok(Operation::Patch, "metadata/k", json!({})).await;

    let body = json!({"max_versions": 2, "custom_metadata": {"a": "1", "b": "2"}});
    m.ok(Operation::Update, "metadata/k", body).await;
    let patch = json!({"custom_metadata": {"a": null, "c": "3"}, "cas_required": true});
    m.ok(Operation::Patch, "metadata/k", patch).await;
    let meta = metadata(&m, "k").await;
    assert_eq!(meta["custom_metadata"], json!({"b": "2", "c": "3"}));
    assert_eq!(meta["max_versions"], 2);
    assert_eq!(meta["cas_required"], true);
    assert_eq!(meta["current_metadata_version"], 2);
}

#[tokio::test]
async fn metadata_check_and_set() {
    let m = mount().await;
    let first = json!({"metadata_cas_required": true, "metadata_cas": 3});
    let message = m.invalid(Operation::Update, "metadata/k", first).await;
    assert_eq!(message, "metadata_cas must be 0 when creating new metadata");
    m.ok(
        Operation::Update,
        "metadata/k",
        json!({"metadata_cas_required": true}),
    )
    .await;
    let required = m
        .invalid(Operation::Update, "metadata/k", json!({"max_versions": 1}))
        .await;
    assert_eq!(
        required,
        "metadata check-and-set parameter required for this call"
    );
    let stale = json!({"max_versions": 1, "metadata_cas": 5});
    let message = m.invalid(Operation::Patch, "metadata/k", stale).await;
    assert_eq!(
        message,
        "metadata check-and-set parameter does not match the current version"
    );
    m.ok(
        Operation::Update,
        "metadata/k",
        json!({"max_versions": 1, "metadata_cas": 1}),
    )
    .await;
    let meta = metadata(&m, "k").await;
    assert_eq!(
        (
            meta["max_versions"].clone(),
            meta["current_metadata_version"].clone()
        ),
        (json!(1), json!(2))
    );
}

#[tokio::test]
async fn settings_the_mount_overrides_are_ignored_with_a_warning() {
    let m = mount().await;
    m.ok(Operation::Update, "config", json!({"cas_required": true}))
        .await;
    let resp = m
        .ok(
            Operation::Update,
            "metadata/k",
            json!({"cas_required": false}),
        )
        .await;
    assert_eq!(
        resp.warnings,
        ["\"cas_required\" set to false, but is mandated by backend config. This value will be ignored."]
    );
    assert!(resp.data.is_none());
}

#[tokio::test]
async fn metadata_delete_removes_every_version() {
    let m = mount().await;
    for v in 1..=3 {
        put(&m, "dir/k", json!({ "v": v })).await;
    }
    assert!(m
        .ok(Operation::Delete, "metadata/dir/k", json!({}))
        .await
        .data
        .is_none());
    for key in ["meta/dir/k", "ver/1/dir/k", "ver/2/dir/k"] {
        assert!(!stored(&m, key).await, "{key}");
    }
    let read = m.call(Operation::Read, "data/dir/k", json!({})).await;
    assert!(matches!(read, Err(RequestError::NotFound)));
    let listed = m.call(Operation::List, "metadata/", json!({})).await;
    assert!(matches!(listed, Err(RequestError::NotFound)));
    m.ok(Operation::Delete, "metadata/dir/k", json!({})).await;
    let again = put(&m, "dir/k", json!({"v": 1})).await;
    assert_eq!(again["version"], 1, "a deleted key starts over");
}

#[tokio::test]
async fn lists_show_keys_and_folders() {
    let m = mount().await;
    for path in ["a", "b/c", "b/d/e", "f"] {
        put(&m, path, json!({"x": 1})).await;
    }
    let list = |path: &'static str, query: Value| {
        let m = &m;
        async move { data_of(&m.ok(Operation::List, path, query).await) }
    };
    assert_eq!(
        list("metadata/", json!({})).await,
        json!({"keys": ["a", "b/", "f"]})
    );
    assert_eq!(
        list("metadata/b/", json!({})).await,
        json!({"keys": ["c", "d/"]})
    );
    let paged = list("metadata/", json!({"after": "a", "limit": "1"})).await;
    assert_eq!(paged, json!({"keys": ["b/"]}));
    let empty = m.call(Operation::List, "metadata/zz/", json!({})).await;
    assert!(matches!(empty, Err(RequestError::NotFound)));
    let data_list = m.call(Operation::List, "data/", json!({})).await;
    assert!(matches!(data_list, Err(RequestError::UnsupportedOperation)));

    let detailed = list("detailed-metadata/b/", json!({})).await;
    assert_eq!(detailed["keys"], json!(["c", "d/"]));
    assert_eq!(detailed["key_info"]["d/"], json!({}));
    assert_eq!(detailed["key_info"]["c"]["current_version"], 1);
    let read = m
        .call(Operation::Read, "detailed-metadata/b/c", json!({}))
        .await;
    assert!(matches!(read, Err(RequestError::UnsupportedOperation)));
}
