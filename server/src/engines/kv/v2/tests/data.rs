//! `data/<path>`: writes, reads by version, check-and-set, patch, soft delete, and
//! `delete_version_after`.

use std::time::Duration;

use serde_json::{json, Value};

use super::{get, keys, metadata, mount, put, stored};
use crate::core::{Operation, RequestError};
use crate::engines::kv::testutil::data_of;

const VERSION_FIELDS: [&str; 5] = [
    "created_time",
    "custom_metadata",
    "deletion_time",
    "destroyed",
    "version",
];

#[tokio::test]
async fn write_answers_with_the_version_metadata_and_reads_find_every_version() {
    let m = mount().await;
    let first = put(&m, "app/db", json!({"password": "one"})).await;
    assert_eq!(keys(&first), VERSION_FIELDS);
    assert_eq!(first["version"], 1);
    assert_eq!(first["custom_metadata"], Value::Null);
    assert_eq!(first["deletion_time"], "");
    assert_eq!(first["destroyed"], false);
    assert!(first["created_time"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    put(
        &m,
        "app/db",
        json!({"password": "two", "n": {"deep": [1, 2]}}),
    )
    .await;

    let (status, latest) = get(&m, "app/db", json!({})).await;
    assert_eq!(status, None);
    assert_eq!(keys(&latest), ["data", "metadata"]);
    assert_eq!(
        latest["data"],
        json!({"password": "two", "n": {"deep": [1, 2]}})
    );
    assert_eq!(keys(&latest["metadata"]), VERSION_FIELDS);
    assert_eq!(latest["metadata"]["version"], 2);

    let (_, older) = get(&m, "app/db", json!({"version": "1"})).await;
    assert_eq!(older["data"], json!({"password": "one"}));
    assert_eq!(older["metadata"]["created_time"], first["created_time"]);
    for current in [json!({"version": "0"}), json!({"version": -1})] {
        assert_eq!(get(&m, "app/db", current).await.1["metadata"]["version"], 2);
    }
    let missing = m
        .call(Operation::Read, "data/app/db", json!({"version": 9}))
        .await;
    assert!(matches!(missing, Err(RequestError::NotFound)));
    let message = m
        .invalid(Operation::Read, "data/app/db", json!({"version": "abc"}))
        .await;
    assert!(message.contains("\"version\""), "{message}");
    for absent in ["data/nope", "data/", "data/app"] {
        let read = m.call(Operation::Read, absent, json!({})).await;
        assert!(matches!(read, Err(RequestError::NotFound)), "{absent}");
    }
}

#[tokio::test]
async fn the_latest_version_lives_in_the_key_record() {
    let m = mount().await;
    put(&m, "k", json!({"v": 1})).await;
    assert!(stored(&m, "meta/k").await);
    assert!(
        !stored(&m, "ver/1/k").await,
        "one get serves the latest version"
    );
    put(&m, "k", json!({"v": 2})).await;
    assert!(stored(&m, "ver/1/k").await);
    assert!(!stored(&m, "ver/2/k").await);
}

#[tokio::test]
async fn null_data_is_stored_as_null_like_vault() {
    let m = mount().await;
    let written = m
        .ok(Operation::Update, "data/n", json!({"data": null}))
        .await;
    assert!(written.data.is_some());
    let (status, read) = get(&m, "n", json!({})).await;
    assert_eq!((status, read["data"].clone()), (None, Value::Null));
    let patch = m
        .invalid(Operation::Patch, "data/n", json!({"data": {"a": 1}}))
        .await;
    assert!(patch.contains("null"), "{patch}");
}

#[tokio::test]
async fn check_and_set() {
    let m = mount().await;
    let create = json!({"data": {"a": 1}, "options": {"cas": 0}});
    m.ok(Operation::Update, "data/c", create.clone()).await;
    let mismatch = m.invalid(Operation::Update, "data/c", create).await;
    assert_eq!(
        mismatch,
        "check-and-set parameter did not match the current version"
    );
    let negative = json!({"data": {"a": 2}, "options": {"cas": -1}});
    assert_eq!(
        m.invalid(Operation::Update, "data/c", negative).await,
        mismatch
    );
    let garbage = json!({"data": {"a": 2}, "options": {"cas": "abc"}});
    let message = m.invalid(Operation::Update, "data/c", garbage).await;
    assert_eq!(message, "error parsing check-and-set parameter");
    let fraction = json!({"data": {"a": 2}, "options": {"cas": 1.5}});
    assert_eq!(
        m.invalid(Operation::Update, "data/c", fraction).await,
        message
    );
    let as_text = json!({"data": {"a": 2}, "options": {"cas": "1"}});
    m.ok(Operation::Update, "data/c", as_text).await;
    assert_eq!(metadata(&m, "c").await["current_version"], 2);
}

#[tokio::test]
async fn cas_required_by_the_key_or_the_mount() {
    let m = mount().await;
    m.ok(
        Operation::Update,
        "metadata/k",
        json!({"cas_required": true}),
    )
    .await;
    let required = "check-and-set parameter required for this call";
    assert_eq!(
        m.invalid(Operation::Update, "data/k", json!({"data": {"a": 1}}))
            .await,
        required
    );
    let with_cas = json!({"data": {"a": 1}, "options": {"cas": 0}});
    m.ok(Operation::Update, "data/k", with_cas).await;

    m.ok(Operation::Update, "config", json!({"cas_required": true}))
        .await;
    assert_eq!(
        m.invalid(Operation::Update, "data/other", json!({"data": {"a": 1}}))
            .await,
        required
    );
    let patch = json!({"data": {"b": 1}});
    assert_eq!(m.invalid(Operation::Patch, "data/k", patch).await, required);
}

#[tokio::test]
async fn bad_writes_are_rejected_and_store_nothing() {
    let m = mount().await;
    let cases = [
        ("data/k", json!({"foo": 1}), "no data provided"),
        ("data/k", json!({"data": "text"}), "\"data\""),
        ("data/k", json!({"data": [1]}), "\"data\""),
        ("data/k", json!({"data": {}, "options": "x"}), "\"options\""),
        ("data/", json!({"data": {}}), "missing path"),
        ("data/dir/", json!({"data": {}}), "path ending in '/'"),
    ];
    for (path, body, expected) in cases {
        let message = m.invalid(Operation::Update, path, body.clone()).await;
        assert!(message.contains(expected), "{path} {body}: {message}");
    }
    let listed = m.call(Operation::List, "metadata/", json!({})).await;
    assert!(matches!(listed, Err(RequestError::NotFound)));
}

#[tokio::test]
async fn patch_merges_into_the_latest_version() {
    let m = mount().await;
    put(&m, "p", json!({"a": 1, "b": {"c": 2}})).await;
    let patch = json!({"data": {"b": {"c": null, "d": 3}, "e": null, "f": [1]}});
    let written = m.ok(Operation::Patch, "data/p", patch).await;
    assert_eq!(data_of(&written)["version"], json!(2));
    let (_, read) = get(&m, "p", json!({})).await;
    assert_eq!(read["data"], json!({"a": 1, "b": {"d": 3}, "f": [1]}));
    let (_, first) = get(&m, "p", json!({"version": 1})).await;
    assert_eq!(first["data"], json!({"a": 1, "b": {"c": 2}}));

    let wrong_cas = json!({"data": {"z": 1}, "options": {"cas": 1}});
    let message = m.invalid(Operation::Patch, "data/p", wrong_cas).await;
    assert_eq!(
        message,
        "check-and-set parameter did not match the current version"
    );
    let right_cas = json!({"data": {"z": 1}, "options": {"cas": 2}});
    m.ok(Operation::Patch, "data/p", right_cas).await;
    assert_eq!(
        m.invalid(Operation::Patch, "data/p", json!({"options": {}}))
            .await,
        "no data provided"
    );
    assert!(m
        .invalid(Operation::Patch, "data/p", json!({"data": "x"}))
        .await
        .contains("data"));
    let missing = m
        .call(Operation::Patch, "data/none", json!({"data": {"a": 1}}))
        .await;
    assert!(matches!(missing, Err(RequestError::NotFound)));
}

#[tokio::test]
async fn patching_a_deleted_version_is_a_404_with_its_metadata() {
    let m = mount().await;
    put(&m, "p", json!({"a": 1})).await;
    m.ok(Operation::Delete, "data/p", json!({})).await;
    let resp = m
        .ok(Operation::Patch, "data/p", json!({"data": {"b": 1}}))
        .await;
    assert_eq!(resp.status, Some(404));
    let body = data_of(&resp);
    assert_eq!(keys(&body), VERSION_FIELDS);
    assert_eq!(body["version"], 1);
    assert_eq!(metadata(&m, "p").await["current_version"], 1);
}

#[tokio::test]
async fn delete_soft_deletes_the_latest_version() {
    let m = mount().await;
    put(&m, "d", json!({"a": 1})).await;
    put(&m, "d", json!({"a": 2})).await;
    assert!(m
        .ok(Operation::Delete, "data/d", json!({}))
        .await
        .data
        .is_none());
    let (status, read) = get(&m, "d", json!({})).await;
    assert_eq!(status, Some(404));
    assert_eq!(read["data"], Value::Null);
    assert_eq!(read["metadata"]["version"], 2);
    assert_eq!(read["metadata"]["destroyed"], false);
    let deleted_at = read["metadata"]["deletion_time"].clone();
    assert!(deleted_at.as_str().is_some_and(|t| !t.is_empty()));

    m.ok(Operation::Delete, "data/d", json!({})).await;
    let (_, again) = get(&m, "d", json!({})).await;
    assert_eq!(
        again["metadata"]["deletion_time"], deleted_at,
        "already deleted"
    );
    assert_eq!(get(&m, "d", json!({"version": 1})).await.0, None);
    m.ok(Operation::Delete, "data/never", json!({})).await;
}

#[tokio::test]
async fn delete_version_after_deletes_versions_when_their_time_comes() {
    let m = mount().await;
    m.ok(
        Operation::Update,
        "metadata/t",
        json!({"delete_version_after": "1s"}),
    )
    .await;
    let written = put(&m, "t", json!({"a": 1})).await;
    let deletion = written["deletion_time"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let created = written["created_time"].as_str().unwrap_or_default();
    assert!(deletion.as_str() > created, "{deletion} after {created}");
    assert_eq!(get(&m, "t", json!({})).await.0, None);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, read) = get(&m, "t", json!({})).await;
    assert_eq!(status, Some(404));
    assert_eq!(read["metadata"]["deletion_time"], deletion.as_str());

    m.ok(
        Operation::Update,
        "config",
        json!({"delete_version_after": "-1s"}),
    )
    .await;
    assert_eq!(put(&m, "t", json!({"a": 2})).await["deletion_time"], "");
    m.ok(
        Operation::Update,
        "config",
        json!({"delete_version_after": "1h"}),
    )
    .await;
    let capped = put(&m, "t", json!({"a": 3})).await;
    assert!(capped["deletion_time"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn existence_is_the_keys_metadata() {
    let m = mount().await;
    assert_eq!(m.exists(Operation::Update, "data/k").await, Some(false));
    assert_eq!(m.exists(Operation::Update, "metadata/k").await, Some(false));
    m.ok(Operation::Update, "metadata/k", json!({"max_versions": 2}))
        .await;
    assert_eq!(m.exists(Operation::Update, "data/k").await, Some(true));
    assert_eq!(m.exists(Operation::Update, "metadata/k").await, Some(true));
    assert_eq!(m.exists(Operation::Update, "config").await, None);
    assert_eq!(m.exists(Operation::Update, "destroy/k").await, None);
}
