//! Mount management end to end: list, enable (kv v1/v2), tune, move, disable, conflicts,
//! the CLI's `sys/internal/ui/mounts` preflight, and `sys/auth`.

mod common;

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn default_mounts_are_listed_like_vault() {
    let server = TestServer::start().await;
    let (status, body) = server.api.get("sys/mounts").await;
    assert_eq!(status, 200);
    for mount in ["sys/", "cubbyhole/"] {
        assert!(body["data"][mount].is_object(), "{mount} missing: {body}");
        assert!(body[mount].is_object(), "{mount} not repeated at top level");
    }
    assert_eq!(body["data"]["sys/"]["type"], "system");
    assert_eq!(body["data"]["cubbyhole/"]["options"], json!(null));
    let (status, body) = server.api.get("sys/auth").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["token/"]["type"], "token");
}

#[tokio::test]
async fn enable_tune_move_disable() {
    let server = TestServer::start().await;
    let api = &server.api;
    let (status, body) = api
        .post("sys/mounts/team/kv", json!({"type": "kv", "description": "team secrets", "options": {"version": "2"}, "config": {"max_lease_ttl": "2h"}}))
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, body) = api.get("sys/mounts").await;
    let entry = &body["data"]["team/kv/"];
    assert_eq!(entry["type"], "kv");
    assert_eq!(entry["options"]["version"], "2");
    assert_eq!(entry["description"], "team secrets");
    assert_eq!(entry["config"]["max_lease_ttl"], 7200);
    assert!(entry["accessor"].as_str().unwrap().starts_with("kv_"));

    let (status, body) = api.get("sys/mounts/team/kv/tune").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["max_lease_ttl"], 7200);
    let (status, _) = api
        .post(
            "sys/mounts/team/kv/tune",
            json!({"default_lease_ttl": "30m", "description": "tuned"}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, body) = api.get("sys/mounts/team/kv/tune").await;
    assert_eq!(body["data"]["default_lease_ttl"], 1800);
    assert_eq!(body["data"]["description"], "tuned");
    let (status, _) = api
        .post(
            "sys/mounts/team/kv/tune",
            json!({"default_lease_ttl": "3h"}),
        )
        .await;
    assert_eq!(status, 400, "default above max");

    let (status, body) = api
        .post("sys/remount", json!({"from": "team/kv", "to": "team/kv2"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["migration_id"].is_string());
    let (_, body) = api.get("sys/mounts").await;
    assert!(body["data"]["team/kv/"].is_null());
    assert_eq!(body["data"]["team/kv2/"]["description"], "tuned");

    let (status, _) = api.delete("sys/mounts/team/kv2").await;
    assert_eq!(status, 204);
    let (_, body) = api.get("sys/mounts").await;
    assert!(body["data"]["team/kv2/"].is_null());
}

#[tokio::test]
async fn conflicts_and_reserved_paths_are_refused() {
    let server = TestServer::start().await;
    let api = &server.api;
    assert_eq!(
        api.post("sys/mounts/kv", json!({"type": "kv"})).await.0,
        204
    );
    let (status, body) = api.post("sys/mounts/kv", json!({"type": "kv"})).await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("path is already in use"),
        "{body}"
    );
    assert_eq!(
        api.post("sys/mounts/kv/nested", json!({"type": "kv"}))
            .await
            .0,
        400
    );
    assert_eq!(
        api.post("sys/mounts/sys/x", json!({"type": "kv"})).await.0,
        400
    );
    assert_eq!(
        api.post("sys/mounts/other", json!({"type": "no-such-engine"}))
            .await
            .0,
        400
    );
    assert_eq!(api.post("sys/mounts/other", json!({})).await.0, 400);
    assert_eq!(
        api.post(
            "sys/mounts/other",
            json!({"type": "kv", "options": {"version": "7"}})
        )
        .await
        .0,
        400
    );
    assert_eq!(api.delete("sys/mounts/sys").await.0, 400);
    assert_eq!(api.delete("sys/mounts/cubbyhole").await.0, 400);
    let (_, body) = api.get("sys/mounts").await;
    assert!(
        body["data"]["other/"].is_null(),
        "a refused enable stores nothing"
    );
}

#[tokio::test]
async fn ui_mounts_preflight() {
    let server = TestServer::start().await;
    let api = &server.api;
    api.post(
        "sys/mounts/kv2",
        json!({"type": "kv", "options": {"version": "2"}}),
    )
    .await;
    let (status, body) = api.get("sys/internal/ui/mounts/kv2/app/db").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["path"], "kv2/");
    assert_eq!(body["data"]["options"]["version"], "2");
    assert_eq!(body["data"]["type"], "kv");
    let (status, body) = api.get("sys/internal/ui/mounts/nomount/x").await;
    assert_eq!(
        status, 403,
        "no mount must be 403 so the CLI does not assume kv v1: {body}"
    );
    let (status, body) = api.get("sys/internal/ui/mounts").await;
    assert_eq!(status, 200);
    assert!(body["data"]["secret"]["kv2/"].is_object());
    assert!(body["data"]["auth"]["token/"].is_object());
}

#[tokio::test]
async fn mounts_survive_restart() {
    let mut server = TestServer::start().await;
    server
        .api
        .post(
            "sys/mounts/persist",
            json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await;
    server.restart().await;
    let (_, body) = server.api.get("sys/mounts").await;
    assert_eq!(body["data"]["persist/"]["options"]["version"], "2");
}
