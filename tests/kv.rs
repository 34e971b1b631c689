//! KV engines end to end over HTTP: v2 versions, CAS, soft delete with the 404-plus-envelope
//! answer, metadata, v1, cubbyhole isolation, create-versus-update ACL decisions, and data
//! kept across a restart.

mod common;

use common::TestServer;
use serde_json::json;

async fn kv2(server: &TestServer, path: &str) {
    let (status, body) = server
        .api
        .post(
            &format!("sys/mounts/{path}"),
            json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
}

#[tokio::test]
async fn v2_versions_cas_and_soft_delete() {
    let server = TestServer::start().await;
    kv2(&server, "secret").await;
    let api = &server.api;
    let (status, body) = api
        .post("secret/data/app", json!({"data": {"k": "v1"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["version"], 1);
    assert_eq!(body["data"]["deletion_time"], "");
    let (status, body) = api
        .post(
            "secret/data/app",
            json!({"data": {"k": "v2"}, "options": {"cas": 0}}),
        )
        .await;
    assert_eq!(status, 400, "cas 0 on an existing key: {body}");
    let (status, body) = api
        .post(
            "secret/data/app",
            json!({"data": {"k": "v2"}, "options": {"cas": 1}}),
        )
        .await;
    assert_eq!((status, body["data"]["version"].clone()), (200, json!(2)));

    let (status, body) = api.get("secret/data/app").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["data"]["k"], "v2");
    assert_eq!(body["data"]["metadata"]["version"], 2);
    let (_, body) = api.get("secret/data/app?version=1").await;
    assert_eq!(body["data"]["data"]["k"], "v1");

    let (status, body) = api
        .patch("secret/data/app", json!({"data": {"extra": "x"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = api.get("secret/data/app").await;
    assert_eq!(body["data"]["data"], json!({"k": "v2", "extra": "x"}));

    assert_eq!(api.delete("secret/data/app").await.0, 204);
    let (status, body) = api.get("secret/data/app").await;
    assert_eq!(status, 404, "deleted version: {body}");
    assert!(
        body["data"]["metadata"]["deletion_time"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "404 carries the envelope: {body}"
    );
    assert_eq!(
        api.post("secret/undelete/app", json!({"versions": [3]}))
            .await
            .0,
        204
    );
    assert_eq!(api.get("secret/data/app").await.0, 200);
    assert_eq!(
        api.post("secret/destroy/app", json!({"versions": [1]}))
            .await
            .0,
        204
    );
    let (_, body) = api.get("secret/metadata/app").await;
    assert_eq!(body["data"]["versions"]["1"]["destroyed"], true);
    assert_eq!(body["data"]["current_version"], 3);

    let (status, body) = api.list("secret/metadata/").await;
    assert_eq!(
        (status, body["data"]["keys"].clone()),
        (200, json!(["app"]))
    );
    assert_eq!(api.delete("secret/metadata/app").await.0, 204);
    assert_eq!(api.get("secret/data/app").await.0, 404);
    assert_eq!(
        api.list("secret/metadata/").await.0,
        404,
        "an empty list is a 404"
    );
}

#[tokio::test]
async fn v2_create_versus_update_is_decided_by_existence() {
    let server = TestServer::start().await;
    kv2(&server, "secret").await;
    let api = &server.api;
    api.write_policy(
        "create-only",
        "path \"secret/data/*\" { capabilities = [\"create\", \"read\"] }",
    )
    .await;
    let user = api.with_token(&api.token_with_policies(&["create-only"]).await);
    let (status, body) = user
        .post("secret/data/new", json!({"data": {"a": "1"}}))
        .await;
    assert_eq!(status, 200, "creating is allowed: {body}");
    let (status, _) = user
        .post("secret/data/new", json!({"data": {"a": "2"}}))
        .await;
    assert_eq!(status, 403, "updating an existing secret needs update");
    let (_, body) = user.get("secret/data/new").await;
    assert_eq!(body["data"]["data"]["a"], "1");
}

#[tokio::test]
async fn v1_and_cubbyhole() {
    let server = TestServer::start().await;
    let api = &server.api;
    assert_eq!(
        api.post("sys/mounts/kv1", json!({"type": "kv"})).await.0,
        204
    );
    assert_eq!(api.post("kv1/a/b", json!({"x": 1, "y": "z"})).await.0, 204);
    let (status, body) = api.get("kv1/a/b").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!({"x": 1, "y": "z"}));
    let (_, body) = api.list("kv1/a").await;
    assert_eq!(body["data"]["keys"], json!(["b"]));
    assert_eq!(api.delete("kv1/a/b").await.0, 204);
    assert_eq!(api.get("kv1/a/b").await.0, 404);

    let one = api.with_token(&api.token_with_policies(&["default"]).await);
    let two = api.with_token(&api.token_with_policies(&["default"]).await);
    assert_eq!(one.post("cubbyhole/mine", json!({"s": "1"})).await.0, 204);
    assert_eq!(one.get("cubbyhole/mine").await.1["data"]["s"], "1");
    assert_eq!(
        two.get("cubbyhole/mine").await.0,
        404,
        "cubbyholes are per token"
    );
}

#[tokio::test]
async fn secrets_survive_restart() {
    let mut server = TestServer::start().await;
    kv2(&server, "secret").await;
    server
        .api
        .post("secret/data/keep", json!({"data": {"k": "v"}}))
        .await;
    server.restart().await;
    let (status, body) = server.api.get("secret/data/keep").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["data"]["k"], "v");
}

#[tokio::test]
async fn v2_config_max_versions_cas_required_and_metadata_patch() {
    let server = TestServer::start().await;
    kv2(&server, "secret").await;
    let api = &server.api;
    assert_eq!(
        api.post(
            "secret/config",
            json!({"max_versions": 3, "cas_required": false})
        )
        .await
        .0,
        204
    );
    let (_, body) = api.get("secret/config").await;
    assert_eq!(
        body["data"],
        json!({"cas_required": false, "delete_version_after": "0s", "max_versions": 3, "metadata_cas_required": false})
    );
    for i in 1..=5 {
        api.post("secret/data/k", json!({"data": {"i": i}})).await;
    }
    let (_, body) = api.get("secret/metadata/k").await;
    let versions: Vec<&String> = body["data"]["versions"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        versions,
        vec!["3", "4", "5"],
        "only the newest max_versions are kept"
    );
    assert_eq!(body["data"]["oldest_version"], 3);
    assert_eq!(api.get("secret/data/k?version=1").await.0, 404);

    let (status, _) = api
        .post(
            "secret/metadata/k",
            json!({"cas_required": true, "custom_metadata": {"owner": "a"}}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = api.post("secret/data/k", json!({"data": {"i": 6}})).await;
    assert_eq!(status, 400, "cas required: {body}");
    assert_eq!(
        body["errors"][0],
        "check-and-set parameter required for this call"
    );
    assert_eq!(
        api.post(
            "secret/data/k",
            json!({"data": {"i": 6}, "options": {"cas": 5}})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        api.patch(
            "secret/metadata/k",
            json!({"custom_metadata": {"team": "b"}})
        )
        .await
        .0,
        204
    );
    let (_, body) = api.get("secret/metadata/k").await;
    assert_eq!(
        body["data"]["custom_metadata"],
        json!({"owner": "a", "team": "b"})
    );
    assert_eq!(body["data"]["cas_required"], true);
}

#[tokio::test]
async fn v2_subkeys_and_delete_version_after() {
    let server = TestServer::start().await;
    kv2(&server, "secret").await;
    let api = &server.api;
    api.post(
        "secret/data/nested",
        json!({"data": {"a": {"b": {"c": "secret"}}, "d": "x"}}),
    )
    .await;
    let (status, body) = api.get("secret/subkeys/nested").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["subkeys"],
        json!({"a": {"b": {"c": null}}, "d": null})
    );
    let (_, body) = api.get("secret/subkeys/nested?depth=1").await;
    assert_eq!(body["data"]["subkeys"], json!({"a": null, "d": null}));

    api.post(
        "secret/metadata/short",
        json!({"delete_version_after": "1s"}),
    )
    .await;
    let (_, body) = api
        .post("secret/data/short", json!({"data": {"k": "v"}}))
        .await;
    assert!(!body["data"]["deletion_time"].as_str().unwrap().is_empty());
    assert_eq!(api.get("secret/data/short").await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_eq!(
        api.get("secret/data/short").await.0,
        404,
        "expired version reads as deleted"
    );
}

#[tokio::test]
async fn v2_bad_input_writes_nothing() {
    let server = TestServer::start().await;
    kv2(&server, "secret").await;
    let api = &server.api;
    for body in [
        json!({}),
        json!({"data": "str"}),
        json!({"data": {"a": 1}, "options": {"cas": -1}}),
        json!({"data": {"a": 1}, "options": "x"}),
    ] {
        let (status, resp) = api.post("secret/data/bad", body.clone()).await;
        assert_eq!(status, 400, "{body}: {resp}");
    }
    assert_eq!(api.get("secret/metadata/bad").await.0, 404);
    assert_eq!(
        api.post("secret/delete/x", json!({"versions": "a,b"}))
            .await
            .0,
        400
    );
    assert_eq!(api.post("secret/destroy/x", json!({})).await.0, 400);
    assert_eq!(api.get("secret/nonsense/x").await.0, 404);
    assert_eq!(
        api.patch("secret/data/never", json!({"data": {"a": 1}}))
            .await
            .0,
        404
    );
}
