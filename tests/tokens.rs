//! Tokens end to end: create, lookup (self, token, accessor), renew, revoke (tree, orphan,
//! accessor), use limits, expiry, roles, and fail-closed authorization.

mod common;

use std::time::Duration;

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn create_lookup_renew_revoke() {
    let server = TestServer::start().await;
    let api = &server.api;
    let (status, body) = api
        .post(
            "auth/token/create",
            json!({"policies": ["app"], "ttl": "1h", "display_name": "ci job", "meta": {"team": "a"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let auth = &body["auth"];
    let token = auth["client_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("s."), "{token}");
    assert_eq!(auth["policies"], json!(["app", "default"]));
    assert_eq!(auth["lease_duration"], 3600);
    assert_eq!(auth["renewable"], true);
    assert_eq!(auth["orphan"], false);
    let accessor = auth["accessor"].as_str().unwrap().to_string();

    let user = api.with_token(&token);
    let (status, body) = user.get("auth/token/lookup-self").await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["id"], token.as_str());
    assert_eq!(data["display_name"], "token-ci-job");
    assert_eq!(data["meta"]["team"], "a");
    assert_eq!(data["path"], "auth/token/create");
    assert!(data["ttl"].as_u64().unwrap() > 3590);
    assert!(data["expire_time"].is_string());

    let (status, body) = api.post("auth/token/lookup", json!({"token": token})).await;
    assert_eq!(
        (status, body["data"]["accessor"].clone()),
        (200, json!(accessor))
    );
    let (status, body) = api
        .post("auth/token/lookup-accessor", json!({"accessor": accessor}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["id"], "",
        "accessor lookups never reveal the token"
    );

    let (status, body) = user
        .post("auth/token/renew-self", json!({"increment": "2h"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["auth"]["lease_duration"], 7200);

    let (status, _) = api
        .post("auth/token/revoke-accessor", json!({"accessor": accessor}))
        .await;
    assert_eq!(status, 204);
    let (status, _) = user.get("auth/token/lookup-self").await;
    assert_eq!(status, 403);
    let (status, body) = api.post("auth/token/lookup", json!({"token": token})).await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn revoking_a_parent_revokes_children_but_not_orphans() {
    let server = TestServer::start().await;
    let api = &server.api;
    api.write_policy(
        "p",
        "path \"auth/token/create\" { capabilities = [\"update\"] }",
    )
    .await;
    let parent = api.token_with_policies(&["default", "p"]).await;
    let parent_api = api.with_token(&parent);
    let (status, body) = parent_api
        .post("auth/token/create", json!({"policies": ["p"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let child = body["auth"]["client_token"].as_str().unwrap().to_string();
    let (_, body) = api
        .with_token(&child)
        .post("auth/token/create", json!({}))
        .await;
    let grandchild = body["auth"]["client_token"].as_str().unwrap().to_string();
    let (status, body) = api
        .post("auth/token/create-orphan", json!({"policies": ["p"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let orphan = body["auth"]["client_token"].as_str().unwrap().to_string();
    assert_eq!(body["auth"]["orphan"], true);

    let (status, _) = api
        .post("auth/token/revoke", json!({"token": parent}))
        .await;
    assert_eq!(status, 204);
    for t in [&parent, &child, &grandchild] {
        let (status, _) = api.with_token(t).get("auth/token/lookup-self").await;
        assert_eq!(status, 403, "descendant still valid");
    }
    let (status, _) = api.with_token(&orphan).get("auth/token/lookup-self").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn revoke_orphan_keeps_children() {
    let server = TestServer::start().await;
    let api = &server.api;
    api.write_policy(
        "creator",
        "path \"auth/token/create\" { capabilities = [\"update\"] }",
    )
    .await;
    let parent = api.token_with_policies(&["default", "creator"]).await;
    let (_, body) = api
        .with_token(&parent)
        .post("auth/token/create", json!({}))
        .await;
    let child = body["auth"]["client_token"].as_str().unwrap().to_string();
    let (status, _) = api
        .post("auth/token/revoke-orphan", json!({"token": parent}))
        .await;
    assert_eq!(status, 204);
    let (status, body) = api.with_token(&child).get("auth/token/lookup-self").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["orphan"], true);
}

#[tokio::test]
async fn children_cannot_escalate_policies() {
    let server = TestServer::start().await;
    let api = &server.api;
    api.write_policy(
        "a",
        "path \"auth/token/create\" { capabilities = [\"update\"] }",
    )
    .await;
    let limited = api.token_with_policies(&["default", "a"]).await;
    let (status, body) = api
        .with_token(&limited)
        .post("auth/token/create", json!({"policies": ["b"]}))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = api
        .with_token(&limited)
        .post("auth/token/create", json!({"policies": ["root"]}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = api
        .with_token(&limited)
        .post("auth/token/create", json!({"no_parent": true}))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn use_limit_is_enforced() {
    let server = TestServer::start().await;
    let api = &server.api;
    let (_, body) = api
        .post(
            "auth/token/create",
            json!({"policies": ["default"], "num_uses": 2}),
        )
        .await;
    let token = body["auth"]["client_token"].as_str().unwrap().to_string();
    let user = api.with_token(&token);
    assert_eq!(user.get("auth/token/lookup-self").await.0, 200);
    assert_eq!(user.get("auth/token/lookup-self").await.0, 200);
    assert_eq!(user.get("auth/token/lookup-self").await.0, 403);
}

#[tokio::test]
async fn expired_tokens_are_rejected_at_once() {
    let server = TestServer::start().await;
    let api = &server.api;
    let (_, body) = api
        .post(
            "auth/token/create",
            json!({"policies": ["default"], "ttl": "1s"}),
        )
        .await;
    let token = body["auth"]["client_token"].as_str().unwrap().to_string();
    let accessor = body["auth"]["accessor"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, _) = api.with_token(&token).get("auth/token/lookup-self").await;
    assert_eq!(status, 403);
    // The sweeper removes it from storage too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, _) = api
        .post("auth/token/lookup-accessor", json!({"accessor": accessor}))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn renew_is_capped_by_explicit_max_ttl() {
    let server = TestServer::start().await;
    let api = &server.api;
    let (_, body) = api
        .post(
            "auth/token/create",
            json!({"policies": ["default"], "ttl": "10m", "explicit_max_ttl": "20m"}),
        )
        .await;
    let token = body["auth"]["client_token"].as_str().unwrap().to_string();
    let (status, body) = api
        .with_token(&token)
        .post("auth/token/renew-self", json!({"increment": "1h"}))
        .await;
    assert_eq!(status, 200);
    let ttl = body["auth"]["lease_duration"].as_u64().unwrap();
    assert!((1190..=1200).contains(&ttl), "ttl {ttl}");
    assert!(body["warnings"].as_array().is_some_and(|w| !w.is_empty()));
}

#[tokio::test]
async fn a_token_without_policies_gets_nothing() {
    let server = TestServer::start().await;
    let api = &server.api;
    // A policy name that does not exist contributes nothing.
    let token = api.token_with_policies(&["no-such-policy"]).await;
    let user = api.with_token(&token);
    for path in [
        "sys/mounts",
        "secret/data/x",
        "sys/policies/acl/default",
        "auth/token/lookup-self",
    ] {
        let (status, body) = user.get(path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["errors"][0], "permission denied");
    }
}

#[tokio::test]
async fn token_roles_shape_tokens() {
    let server = TestServer::start().await;
    let api = &server.api;
    let (status, _) = api
        .post(
            "auth/token/roles/deployer",
            json!({"allowed_policies": ["deploy"], "orphan": true, "token_period": "1h"}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = api.get("auth/token/roles/deployer").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["allowed_policies"], json!(["deploy"]));
    let (status, body) = api.list("auth/token/roles").await;
    assert_eq!(
        (status, body["data"]["keys"].clone()),
        (200, json!(["deployer"]))
    );
    let (status, body) = api.post("auth/token/create/deployer", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["auth"]["policies"], json!(["default", "deploy"]));
    assert_eq!(body["auth"]["orphan"], true);
    assert_eq!(body["auth"]["lease_duration"], 3600);
    let (status, _) = api
        .post("auth/token/create/deployer", json!({"policies": ["admin"]}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = api.delete("auth/token/roles/deployer").await;
    assert_eq!(status, 204);
    let (status, _) = api.get("auth/token/roles/deployer").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn tokens_survive_restart() {
    let mut server = TestServer::start().await;
    let token = server.api.token_with_policies(&["default"]).await;
    server.restart().await;
    let (status, _) = server
        .api
        .with_token(&token)
        .get("auth/token/lookup-self")
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bearer_header_works_like_x_vault_token() {
    let server = TestServer::start().await;
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/auth/token/lookup-self", server.api.addr))
        .header("Authorization", format!("Bearer {}", server.api.token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn cidr_bound_tokens_are_refused_from_outside_their_blocks() {
    let server = TestServer::start().await;
    let api = &server.api;
    let create = |cidrs: &'static str| {
        api.post(
            "auth/token/create",
            json!({"policies": ["default"], "bound_cidrs": cidrs}),
        )
    };
    let (status, body) = create("10.0.0.0/8").await;
    assert_eq!(status, 200, "{body}");
    let far = body["auth"]["client_token"].as_str().unwrap().to_string();
    let (status, body) = api.with_token(&far).get("auth/token/lookup-self").await;
    assert_eq!(
        (status, body["errors"].clone()),
        (403, json!(["permission denied"]))
    );
    let (status, body) = api.post("auth/token/lookup", json!({"token": far})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["bound_cidrs"], json!(["10.0.0.0/8"]));

    let (_, body) = create("127.0.0.1/32").await;
    let near = body["auth"]["client_token"].as_str().unwrap().to_string();
    let (status, body) = api.with_token(&near).get("auth/token/lookup-self").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["bound_cidrs"], json!(["127.0.0.1"]));
}

#[tokio::test]
async fn batch_tokens_work_until_they_expire_and_cannot_be_revoked() {
    let server = TestServer::start().await;
    let api = &server.api;
    let (status, body) = api
        .post(
            "auth/token/create",
            json!({"type": "batch", "policies": ["default"], "ttl": "2s"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let auth = &body["auth"];
    let token = auth["client_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("b."), "{token}");
    assert_eq!(
        (
            auth["token_type"].clone(),
            auth["accessor"].clone(),
            auth["renewable"].clone()
        ),
        (json!("batch"), json!(""), json!(false))
    );
    let user = api.with_token(&token);
    let (status, body) = user.get("auth/token/lookup-self").await;
    assert_eq!(
        (status, body["data"]["type"].clone()),
        (200, json!("batch"))
    );
    let (status, body) = api.post("auth/token/revoke", json!({"token": token})).await;
    assert_eq!(
        (status, body["errors"].clone()),
        (400, json!(["batch tokens cannot be revoked"]))
    );
    let (status, body) = user.post("auth/token/renew-self", json!({})).await;
    assert_eq!(
        (status, body["errors"].clone()),
        (400, json!(["batch tokens cannot be renewed"]))
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(user.get("auth/token/lookup-self").await.0, 403, "expired");
}

#[tokio::test]
async fn the_bao_cli_creates_and_looks_up_batch_tokens() {
    let server = TestServer::start().await;
    let root = server.api.token.clone();
    let create = [
        "token",
        "create",
        "-type=batch",
        "-policy=default",
        "-ttl=1h",
        "-field=token",
    ];
    let Some((ok, out)) = server.bao(&root, &create) else {
        return;
    };
    assert!(ok, "{out}");
    let token = out.trim().to_string();
    assert!(token.starts_with("b."), "{token}");
    let (ok, out) = server
        .bao(&root, &["token", "lookup", "-format=json", &token])
        .expect("bao ran before");
    assert!(ok, "{out}");
    let body: serde_json::Value =
        serde_json::from_str(&out[out.find('{').expect("JSON")..]).expect("bao prints JSON");
    assert_eq!(body["data"]["type"], "batch");
    assert_eq!(body["data"]["policies"], json!(["default"]));
    let (ok, out) = server
        .bao(&token, &["token", "lookup", "-format=json"])
        .expect("bao ran before");
    assert!(ok && out.contains("\"batch\""), "{out}");
    let (ok, out) = server
        .bao(&root, &["token", "revoke", &token])
        .expect("bao ran before");
    assert!(
        !ok && out.contains("batch tokens cannot be revoked"),
        "{out}"
    );
}
