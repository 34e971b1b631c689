//! ACL policies end to end: CRUD on both APIs, built-in policies, capabilities endpoints,
//! and real authorization decisions (allowed, denied, priority, deny winning, parameters),
//! plus the example policies in `policies/`.

mod common;

use common::{Api, TestServer};
use serde_json::json;

#[tokio::test]
async fn crud_on_both_apis() {
    let server = TestServer::start().await;
    let api = &server.api;
    let hcl = "path \"secret/data/app/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n";
    api.write_policy("App-Reader", hcl).await;
    let (status, body) = api.get("sys/policies/acl/app-reader").await;
    assert_eq!(status, 200, "names are lower-cased: {body}");
    assert_eq!(body["data"]["name"], "app-reader");
    assert_eq!(body["data"]["policy"], hcl);
    let (status, body) = api.get("sys/policy/app-reader").await;
    assert_eq!((status, body["rules"].clone()), (200, json!(hcl)));
    let (status, body) = api.list("sys/policies/acl").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["keys"],
        json!(["app-reader", "default", "root"])
    );
    let (_, body) = api.get("sys/policy").await;
    assert_eq!(body["policies"], json!(["app-reader", "default", "root"]));
    let (status, _) = api.put("sys/policy/legacy", json!({"rules": hcl})).await;
    assert_eq!(status, 204);
    let (status, _) = api.delete("sys/policies/acl/app-reader").await;
    assert_eq!(status, 204);
    let (status, _) = api.get("sys/policies/acl/app-reader").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn builtin_policies_are_protected() {
    let server = TestServer::start().await;
    let api = &server.api;
    let (status, _) = api
        .put(
            "sys/policies/acl/root",
            json!({"policy": "path \"*\" {capabilities=[\"read\"]}"}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = api.delete("sys/policies/acl/default").await;
    assert_eq!(status, 400);
    let (status, _) = api.delete("sys/policies/acl/root").await;
    assert_eq!(status, 400);
    let (status, body) = api.get("sys/policies/acl/default").await;
    assert_eq!(status, 200);
    assert!(body["data"]["policy"]
        .as_str()
        .unwrap()
        .contains("auth/token/lookup-self"));
}

#[tokio::test]
async fn invalid_policies_are_rejected_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let api = &server.api;
    for bad in [
        "path \"a\" { capabilities = [\"fly\"] }",
        "path \"a\" { capabilities = [\"read\"] ",
        "this is not hcl",
    ] {
        let (status, body) = api
            .put("sys/policies/acl/bad", json!({"policy": bad}))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["errors"][0].as_str().unwrap().contains("policy"),
            "{body}"
        );
    }
    let (status, _) = api.put("sys/policies/acl/bad", json!({})).await;
    assert_eq!(status, 400);
    let (status, _) = api.get("sys/policies/acl/bad").await;
    assert_eq!(status, 404);
}

async fn token_for(api: &Api, name: &str, hcl: &str) -> Api {
    api.write_policy(name, hcl).await;
    let token = api.token_with_policies(&[name, "default"]).await;
    api.with_token(&token)
}

#[tokio::test]
async fn capabilities_endpoints() {
    let server = TestServer::start().await;
    let api = &server.api;
    let user = token_for(
        api,
        "caps",
        r#"
path "secret/data/app/*" { capabilities = ["read", "update"] }
path "secret/data/app/admin" { capabilities = ["deny"] }
"#,
    )
    .await;
    let (status, body) = user
        .post(
            "sys/capabilities-self",
            json!({"paths": ["secret/data/app/db", "secret/data/app/admin", "other"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["secret/data/app/db"],
        json!(["read", "update"])
    );
    assert_eq!(body["data"]["secret/data/app/admin"], json!(["deny"]));
    assert_eq!(body["data"]["other"], json!(["deny"]));
    assert_eq!(
        body["secret/data/app/db"],
        json!(["read", "update"]),
        "repeated at top level"
    );
    let (_, body) = api
        .post(
            "sys/capabilities",
            json!({"token": user.token, "path": "secret/data/app/x"}),
        )
        .await;
    assert_eq!(body["data"]["capabilities"], json!(["read", "update"]));
    let (_, body) = api
        .post("sys/capabilities-self", json!({"path": "anything"}))
        .await;
    assert_eq!(body["data"]["capabilities"], json!(["root"]));
}

#[tokio::test]
async fn priority_rules_and_deny_decide() {
    let server = TestServer::start().await;
    let api = &server.api;
    let user = token_for(
        api,
        "prio",
        r#"
path "sys/policies/acl/*" { capabilities = ["read"] }
path "sys/policies/acl/secret-*" { capabilities = ["deny"] }
path "sys/policies/acl/default" { capabilities = ["deny"] }
path "sys/mounts" { capabilities = ["read"] }
path "sys/+/acl/prio" { capabilities = ["deny"] }
"#,
    )
    .await;
    api.write_policy("open", "path \"x\" { capabilities = [\"read\"] }")
        .await;
    api.write_policy("secret-one", "path \"x\" { capabilities = [\"read\"] }")
        .await;
    assert_eq!(
        user.get("sys/policies/acl/open").await.0,
        200,
        "glob grants"
    );
    assert_eq!(
        user.get("sys/policies/acl/secret-one").await.0,
        403,
        "longer glob denies"
    );
    assert_eq!(
        user.get("sys/policies/acl/default").await.0,
        403,
        "exact path wins"
    );
    assert_eq!(user.get("sys/mounts").await.0, 200);
    assert_eq!(user.get("sys/auth").await.0, 403, "no rule, no access");
    assert_eq!(
        user.put(
            "sys/policies/acl/open",
            json!({"policy": "path \"y\" {capabilities=[\"read\"]}"})
        )
        .await
        .0,
        403
    );
}

#[tokio::test]
async fn deny_in_any_policy_wins() {
    let server = TestServer::start().await;
    let api = &server.api;
    api.write_policy("grant", "path \"sys/mounts\" { capabilities = [\"read\"] }")
        .await;
    api.write_policy("deny", "path \"sys/mounts\" { capabilities = [\"deny\"] }")
        .await;
    let both = api.token_with_policies(&["grant", "deny"]).await;
    let grant = api.token_with_policies(&["grant"]).await;
    assert_eq!(api.with_token(&grant).get("sys/mounts").await.0, 200);
    assert_eq!(api.with_token(&both).get("sys/mounts").await.0, 403);
}

#[tokio::test]
async fn sudo_paths_need_sudo() {
    let server = TestServer::start().await;
    let api = &server.api;
    let plain = token_for(
        api,
        "rot",
        "path \"sys/rotate\" { capabilities = [\"update\"] }",
    )
    .await;
    assert_eq!(plain.put("sys/rotate", json!({})).await.0, 403);
    let sudo = token_for(
        api,
        "rot-sudo",
        "path \"sys/rotate\" { capabilities = [\"update\", \"sudo\"] }",
    )
    .await;
    assert_eq!(sudo.put("sys/rotate", json!({})).await.0, 204);
}

#[tokio::test]
async fn parameter_constraints_apply() {
    let server = TestServer::start().await;
    let api = &server.api;
    let user = token_for(
        api,
        "params",
        r#"
path "auth/token/create" {
  capabilities = ["update"]
  allowed_parameters = {
    "policies" = []
    "ttl" = ["1h", "2h"]
  }
  denied_parameters = {
    "num_uses" = []
  }
}
"#,
    )
    .await;
    let (status, body) = user.post("auth/token/create", json!({"ttl": "1h"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = user.post("auth/token/create", json!({"ttl": "5h"})).await;
    assert_eq!(status, 403, "value not in the allowed list");
    let (status, _) = user
        .post("auth/token/create", json!({"ttl": "1h", "num_uses": 3}))
        .await;
    assert_eq!(status, 403, "denied parameter");
    let (status, _) = user
        .post("auth/token/create", json!({"display_name": "x"}))
        .await;
    assert_eq!(status, 403, "parameter not in allowed_parameters");
}

#[tokio::test]
async fn example_policies_load_and_decide() {
    let server = TestServer::start().await;
    let api = &server.api;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let mut loaded = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("hcl") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        api.write_policy(&name, &text).await;
        loaded += 1;
    }
    assert!(loaded >= 3, "expected the example policies in {dir:?}");
    let app = api.token_with_policies(&["app-reader"]).await;
    let (_, body) = api
        .post("sys/capabilities", json!({"token": app, "paths": ["secret/data/myapp/db", "secret/data/other/db", "sys/mounts"]}))
        .await;
    assert_eq!(body["data"]["secret/data/myapp/db"], json!(["read"]));
    assert_eq!(body["data"]["secret/data/other/db"], json!(["deny"]));
    assert_eq!(body["data"]["sys/mounts"], json!(["deny"]));
    let ci = api.token_with_policies(&["ci-deployer"]).await;
    let (_, body) = api
        .post("sys/capabilities", json!({"token": ci, "paths": ["secret/data/ci/deploy-key", "secret/data/ci/prod/root", "auth/token/create"]}))
        .await;
    assert_eq!(body["data"]["secret/data/ci/deploy-key"], json!(["read"]));
    assert_eq!(body["data"]["secret/data/ci/prod/root"], json!(["deny"]));
    assert_eq!(body["data"]["auth/token/create"], json!(["update"]));
    let admin = api.token_with_policies(&["admin"]).await;
    let (_, body) = api
        .post(
            "sys/capabilities",
            json!({"token": admin, "paths": ["sys/policies/acl/x", "sys/mounts/kv"]}),
        )
        .await;
    assert!(body["data"]["sys/policies/acl/x"]
        .as_array()
        .unwrap()
        .contains(&json!("update")));
    assert!(body["data"]["sys/mounts/kv"]
        .as_array()
        .unwrap()
        .contains(&json!("create")));
}
