//! The `approle` auth method end to end: enable it through `sys/auth`, create a role,
//! issue secret IDs, log in over HTTP and use the token against KV paths its policy allows
//! and denies; used-up, expired and unknown secret IDs get a 400 and no token; a
//! single-use secret ID wins exactly one of many concurrent logins; the example policy
//! `policies/approle-orchestrator.hcl` lets an orchestrator issue secret IDs and nothing
//! more; and the real `bao` CLI drives it (`bao write auth/approle/login ...`).

mod common;

use common::{Api, TestServer};
use serde_json::{json, Value};

/// A server with `auth/approle/`, a KV v1 mount at `kv/` with two secrets, a policy
/// `app-read` (read `kv/app/*` only) and a role `ci` granting it; returns the role ID.
async fn setup(role: Value) -> (TestServer, String) {
    let server = TestServer::start().await;
    let api = &server.api;
    let (status, body) = api
        .post("sys/auth/approle", json!({"type": "approle"}))
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        api.post("sys/mounts/kv", json!({"type": "kv"})).await.0,
        204
    );
    for path in ["kv/app/db", "kv/other/db"] {
        assert_eq!(api.post(path, json!({"password": "hunter2"})).await.0, 204);
    }
    api.write_policy(
        "app-read",
        "path \"kv/app/*\" { capabilities = [\"read\"] }",
    )
    .await;
    let (status, body) = api.post("auth/approle/role/ci", role).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = api.get("auth/approle/role/ci/role-id").await;
    assert_eq!(status, 200, "{body}");
    let role_id = body["data"]["role_id"]
        .as_str()
        .expect("a role ID")
        .to_string();
    (server, role_id)
}

async fn secret_id(api: &Api, body: Value) -> Value {
    let (status, resp) = api.post("auth/approle/role/ci/secret-id", body).await;
    assert_eq!(status, 200, "{resp}");
    resp["data"].clone()
}

async fn login(api: &Api, role_id: &str, secret_id: &Value) -> (u16, Value) {
    api.with_token("")
        .post(
            "auth/approle/login",
            json!({"role_id": role_id, "secret_id": secret_id}),
        )
        .await
}

async fn token_count(api: &Api) -> usize {
    let (_, body) = api.list("auth/token/accessors").await;
    body["data"]["keys"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn login_issues_a_token_with_the_roles_policies_and_metadata() {
    let (server, role_id) =
        setup(json!({"token_policies": "app-read", "token_ttl": "20m", "secret_id_num_uses": 1}))
            .await;
    let api = &server.api;
    let (_, role) = api.get("auth/approle/role/ci").await;
    assert_eq!(role["data"]["secret_id_num_uses"], 1);
    assert_eq!(role["data"]["bind_secret_id"], true);
    let generated = secret_id(api, json!({"metadata": "{\"pipeline\":\"42\"}"})).await;
    assert_eq!(generated["secret_id_num_uses"], 1);
    assert!(generated["secret_id_accessor"].is_string());

    let (status, body) = login(api, &role_id, &generated["secret_id"]).await;
    assert_eq!(status, 200, "{body}");
    let auth = &body["auth"];
    assert_eq!(auth["policies"], json!(["app-read", "default"]));
    assert_eq!(
        auth["metadata"],
        json!({"pipeline": "42", "role_name": "ci"})
    );
    assert_eq!(auth["lease_duration"], 1200);
    let token = auth["client_token"].as_str().expect("a token");
    let app = api.with_token(token);
    assert_eq!(app.get("kv/app/db").await.1["data"]["password"], "hunter2");
    assert_eq!(app.get("kv/other/db").await.0, 403);
    assert_eq!(
        app.get("auth/token/lookup-self").await.1["data"]["display_name"],
        "approle"
    );

    let before = token_count(api).await;
    let (status, body) = login(api, &role_id, &generated["secret_id"]).await;
    assert_eq!(
        (status, body["errors"].clone()),
        (400, json!(["invalid role or secret ID"])),
        "used up"
    );
    let (status, _) = login(api, &role_id, &json!("not-a-secret-id")).await;
    assert_eq!(status, 400);
    let (status, _) = login(api, "not-a-role-id", &json!("x")).await;
    assert_eq!(status, 400);
    assert_eq!(
        token_count(api).await,
        before,
        "failed logins created a token"
    );
}

#[tokio::test]
async fn expired_and_destroyed_secret_ids_are_refused() {
    let (server, role_id) = setup(json!({"token_policies": "app-read"})).await;
    let api = &server.api;
    let short = secret_id(api, json!({"ttl": "1s"})).await;
    let destroyed = secret_id(api, json!({})).await;
    let (status, body) = api
        .post(
            "auth/approle/role/ci/secret-id-accessor/lookup",
            json!({"secret_id_accessor": destroyed["secret_id_accessor"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["secret_id_num_uses"], 0);
    let (status, _) = api
        .post(
            "auth/approle/role/ci/secret-id/destroy",
            json!({"secret_id": destroyed["secret_id"]}),
        )
        .await;
    assert_eq!(status, 204);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    for gone in [&short, &destroyed] {
        let (status, body) = login(api, &role_id, &gone["secret_id"]).await;
        assert_eq!(
            (status, body["errors"].clone()),
            (400, json!(["invalid role or secret ID"]))
        );
    }
    assert_eq!(api.list("auth/approle/role/ci/secret-id").await.0, 404);
}

#[tokio::test]
async fn a_single_use_secret_id_wins_exactly_one_concurrent_login() {
    let (server, role_id) =
        setup(json!({"token_policies": "app-read", "secret_id_num_uses": 1})).await;
    let api = &server.api;
    let generated = secret_id(api, json!({})).await;
    let before = token_count(api).await;
    let logins: Vec<_> = (0..12)
        .map(|_| {
            let (api, role_id, secret) =
                (api.clone(), role_id.clone(), generated["secret_id"].clone());
            tokio::spawn(async move { login(&api, &role_id, &secret).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in logins {
        statuses.push(task.await.expect("login task finishes"));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        11,
        "{statuses:?}"
    );
    assert_eq!(token_count(api).await, before + 1);
}

#[tokio::test]
async fn the_example_orchestrator_policy_issues_secret_ids_and_nothing_more() {
    let (server, role_id) = setup(json!({"token_policies": "app-read"})).await;
    let api = &server.api;
    api.post(
        "auth/approle/role/other",
        json!({"token_policies": "admin"}),
    )
    .await;
    api.write_policy(
        "approle-orchestrator",
        include_str!("../policies/approle-orchestrator.hcl"),
    )
    .await;
    let orchestrator = api.with_token(&api.token_with_policies(&["approle-orchestrator"]).await);
    let (status, body) = orchestrator.get("auth/approle/role/ci/role-id").await;
    assert_eq!(
        (status, body["data"]["role_id"].clone()),
        (200, json!(role_id))
    );
    let (status, body) = orchestrator
        .post("auth/approle/role/ci/secret-id", json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        login(api, &role_id, &body["data"]["secret_id"]).await.0,
        200
    );
    assert_eq!(
        orchestrator
            .post("auth/approle/role/other/secret-id", json!({}))
            .await
            .0,
        403
    );
    assert_eq!(
        orchestrator
            .post("auth/approle/role/ci", json!({"token_policies": "root"}))
            .await
            .0,
        403
    );
    assert_eq!(orchestrator.get("auth/approle/role/ci").await.0, 403);
    assert_eq!(
        orchestrator.list("auth/approle/role/ci/secret-id").await.0,
        403
    );
}

fn json_of(out: &str) -> Value {
    let start = out.find('{').expect("JSON output");
    serde_json::Deserializer::from_str(&out[start..])
        .into_iter()
        .next()
        .and_then(Result::ok)
        .expect("bao prints JSON")
}

#[tokio::test]
async fn the_bao_cli_writes_roles_and_logs_in() {
    let server = TestServer::start().await;
    let root = server.api.token.clone();
    let Some((ok, out)) = server.bao(&root, &["auth", "enable", "approle"]) else {
        return;
    };
    assert!(ok, "{out}");
    let run = |token: &str, args: &[&str]| {
        let (ok, out) = server.bao(token, args).expect("bao ran before");
        assert!(ok, "bao {args:?}: {out}");
        out
    };
    run(
        &root,
        &[
            "write",
            "auth/approle/role/deploy",
            "token_policies=default",
            "secret_id_num_uses=1",
            "secret_id_ttl=10m",
        ],
    );
    let role_id = json_of(&run(
        &root,
        &["read", "-format=json", "auth/approle/role/deploy/role-id"],
    ));
    let role_id = role_id["data"]["role_id"]
        .as_str()
        .expect("a role ID")
        .to_string();
    let generated = json_of(&run(
        &root,
        &[
            "write",
            "-format=json",
            "-f",
            "auth/approle/role/deploy/secret-id",
        ],
    ));
    let secret = generated["data"]["secret_id"]
        .as_str()
        .expect("a secret ID")
        .to_string();
    assert_eq!(generated["data"]["secret_id_ttl"], 600);
    let role_arg = format!("role_id={role_id}");
    let secret_arg = format!("secret_id={secret}");
    let login = [
        "write",
        "-format=json",
        "auth/approle/login",
        role_arg.as_str(),
        secret_arg.as_str(),
    ];
    let body = json_of(&run("", &login));
    assert_eq!(body["auth"]["metadata"]["role_name"], "deploy");
    assert!(body["auth"]["client_token"].is_string());
    let (ok, out) = server.bao("", &login).expect("bao ran before");
    assert!(
        !ok && out.contains("invalid role or secret ID"),
        "a single-use secret ID worked twice: {out}"
    );
}

#[tokio::test]
async fn tidy_removes_expired_secret_ids_and_their_accessors() {
    let (server, role_id) =
        setup(json!({"secret_id_ttl": "1s", "token_policies": "default"})).await;
    let api = &server.api;
    let expired = secret_id(api, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = api.post("auth/approle/tidy/secret-id", json!({})).await;
    assert_eq!(status, 202, "{body}");
    assert!(
        body["warnings"][0]
            .as_str()
            .is_some_and(|w| w.starts_with("Tidy operation successfully started")),
        "{body}"
    );
    let lookup = json!({"secret_id_accessor": expired["secret_id_accessor"]});
    let mut gone = false;
    for _ in 0..100 {
        let (status, _) = api
            .post(
                "auth/approle/role/ci/secret-id-accessor/lookup",
                lookup.clone(),
            )
            .await;
        if status == 400 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "the expired secret ID's accessor is gone");
    assert_eq!(login(api, &role_id, &expired["secret_id"]).await.0, 400);
}
