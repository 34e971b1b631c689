//! `delete/`, `undelete/`, `destroy/` and `subkeys/`, and pruning beyond `max_versions`.

use serde_json::{json, Value};

use super::{get, metadata, mount, put, stored};
use crate::core::{Operation, RequestError};
use crate::engines::kv::testutil::data_of;

#[tokio::test]
async fn delete_and_undelete_chosen_versions() {
    let m = mount().await;
    for v in 1..=3 {
        put(&m, "k", json!({ "v": v })).await;
    }
    m.ok(
        Operation::Update,
        "delete/k",
        json!({"versions": [1, 3, 7, -2]}),
    )
    .await;
    assert_eq!(get(&m, "k", json!({"version": 1})).await.0, Some(404));
    assert_eq!(get(&m, "k", json!({"version": 2})).await.0, None);
    assert_eq!(get(&m, "k", json!({})).await.0, Some(404));

    m.ok(Operation::Update, "undelete/k", json!({"versions": "1, 3"}))
        .await;
    let (status, read) = get(&m, "k", json!({})).await;
    assert_eq!((status, read["data"].clone()), (None, json!({"v": 3})));
    assert_eq!(read["metadata"]["deletion_time"], "");
    assert_eq!(
        get(&m, "k", json!({"version": 1})).await.1["data"],
        json!({"v": 1})
    );
}

#[tokio::test]
async fn destroy_removes_the_data_for_good() {
    let m = mount().await;
    put(&m, "k", json!({"v": 1})).await;
    put(&m, "k", json!({"v": 2})).await;
    assert!(stored(&m, "ver/1/k").await);
    m.ok(Operation::Update, "destroy/k", json!({"versions": [1, 2]}))
        .await;
    assert!(!stored(&m, "ver/1/k").await);
    for version in [1, 2] {
        let (status, read) = get(&m, "k", json!({ "version": version })).await;
        assert_eq!(status, Some(404));
        assert_eq!(read["data"], Value::Null);
        assert_eq!(read["metadata"]["destroyed"], true);
    }
    m.ok(Operation::Update, "undelete/k", json!({"versions": [2]}))
        .await;
    assert_eq!(
        get(&m, "k", json!({})).await.0,
        Some(404),
        "destroyed stays destroyed"
    );
    let versions = &metadata(&m, "k").await["versions"];
    assert_eq!(versions["1"]["destroyed"], true);

    let next = put(&m, "k", json!({"v": 3})).await;
    assert_eq!(next["version"], 3);
    assert!(
        !stored(&m, "ver/2/k").await,
        "a destroyed current version is not moved"
    );
}

#[tokio::test]
async fn version_lists_are_checked() {
    let m = mount().await;
    put(&m, "k", json!({"v": 1})).await;
    let empty = [
        ("delete/k", "No version number provided"),
        ("undelete/k", "No version number provided"),
        ("destroy/k", "no version number provided"),
    ];
    for (path, expected) in empty {
        assert_eq!(
            m.invalid(Operation::Update, path, json!({})).await,
            expected
        );
    }
    for bad in [
        json!({"versions": ["x"]}),
        json!({"versions": {"a": 1}}),
        json!({"versions": "1,y"}),
    ] {
        let message = m.invalid(Operation::Update, "delete/k", bad.clone()).await;
        assert!(message.contains("\"versions\""), "{bad}: {message}");
    }
    assert_eq!(get(&m, "k", json!({})).await.0, None, "nothing was deleted");
    m.ok(
        Operation::Update,
        "delete/missing",
        json!({"versions": [1]}),
    )
    .await;
    m.ok(Operation::Update, "destroy/k", json!({"versions": 5}))
        .await;
    for op in [Operation::Read, Operation::Delete, Operation::Patch] {
        let wrong = m.call(op, "destroy/k", json!({"versions": [1]})).await;
        assert!(
            matches!(wrong, Err(RequestError::UnsupportedOperation)),
            "{op:?}"
        );
    }
}

#[tokio::test]
async fn max_versions_prunes_the_oldest_versions() {
    let m = mount().await;
    m.ok(Operation::Update, "metadata/k", json!({"max_versions": 2}))
        .await;
    for v in 1..=4 {
        put(&m, "k", json!({ "v": v })).await;
    }
    let meta = metadata(&m, "k").await;
    assert_eq!(meta["current_version"], 4);
    assert_eq!(meta["oldest_version"], 3);
    assert_eq!(super::keys(&meta["versions"]), ["3", "4"]);
    let pruned = m
        .call(Operation::Read, "data/k", json!({"version": 2}))
        .await;
    assert!(matches!(pruned, Err(RequestError::NotFound)));
    assert!(!stored(&m, "ver/1/k").await);
    assert!(!stored(&m, "ver/2/k").await);
    assert!(stored(&m, "ver/3/k").await);
    assert_eq!(
        get(&m, "k", json!({"version": 3})).await.1["data"],
        json!({"v": 3})
    );

    m.ok(Operation::Update, "config", json!({"max_versions": 3}))
        .await;
    put(&m, "k", json!({"v": 5})).await;
    let meta = metadata(&m, "k").await;
    assert_eq!(
        super::keys(&meta["versions"]),
        ["3", "4", "5"],
        "the larger limit wins"
    );
}

#[tokio::test]
async fn ten_versions_are_kept_by_default() {
    let m = mount().await;
    for v in 1..=12 {
        put(&m, "k", json!({ "v": v })).await;
    }
    let meta = metadata(&m, "k").await;
    assert_eq!(meta["oldest_version"], 3);
    assert_eq!(meta["versions"].as_object().map(|v| v.len()), Some(10));
    assert!(!stored(&m, "ver/2/k").await);
    assert!(stored(&m, "ver/3/k").await);
}

#[tokio::test]
async fn subkeys_show_the_shape_without_values() {
    let m = mount().await;
    put(
        &m,
        "s",
        json!({"a": {"b": {"c": 1}, "e": {}}, "f": [1], "g": "x"}),
    )
    .await;
    put(&m, "s", json!({"only": 1})).await;
    let read = |query: Value| {
        let m = &m;
        async move { data_of(&m.ok(Operation::Read, "subkeys/s", query).await) }
    };
    let all = read(json!({"version": "1"})).await;
    assert_eq!(super::keys(&all), ["metadata", "subkeys"]);
    assert_eq!(
        all["subkeys"],
        json!({"a": {"b": {"c": null}, "e": null}, "f": null, "g": null})
    );
    assert_eq!(all["metadata"]["version"], 1);
    let shallow = read(json!({"version": 1, "depth": "1"})).await;
    assert_eq!(shallow["subkeys"], json!({"a": null, "f": null, "g": null}));
    assert_eq!(read(json!({})).await["subkeys"], json!({"only": null}));

    m.ok(Operation::Update, "delete/s", json!({"versions": [2]}))
        .await;
    let deleted = m.ok(Operation::Read, "subkeys/s", json!({})).await;
    assert_eq!(deleted.status, Some(404));
    assert_eq!(data_of(&deleted)["subkeys"], Value::Null);
    let bad = m
        .invalid(Operation::Read, "subkeys/s", json!({"depth": "x"}))
        .await;
    assert!(bad.contains("\"depth\""));
    let missing = m.call(Operation::Read, "subkeys/none", json!({})).await;
    assert!(matches!(missing, Err(RequestError::NotFound)));
    let write = m.call(Operation::Update, "subkeys/s", json!({})).await;
    assert!(matches!(write, Err(RequestError::UnsupportedOperation)));
}
