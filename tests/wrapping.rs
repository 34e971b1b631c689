//! Response wrapping end to end against a real server: a KV read wrapped over raw HTTP
//! (`X-Vault-Wrap-TTL`), by `cofre read -wrap-ttl` and by the `bao` CLI; unwrapping once
//! and being refused the second time, lookup without spending the use, an expired
//! wrapping token refused, `cofre unwrap` with and without a token argument, and the SDK.

mod common;

use std::process::Output;
use std::time::Duration;

use cofre_client::Client;
use common::TestServer;
use serde_json::{json, Value};

const INVALID: &str = "wrapping token is not valid or does not exist";

/// A server with `secret/` (KV v2) holding `secret/app` = {password: s3cret}.
async fn server_with_secret() -> TestServer {
    let server = TestServer::start().await;
    server.api.enable_kv("secret", "2").await;
    let (status, body) = server
        .api
        .post("secret/data/app", json!({"data": {"password": "s3cret"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    server
}

/// `GET /v1/<path>` as root with `X-Vault-Wrap-TTL: <ttl>`: (status, body).
async fn wrapped_get(server: &TestServer, path: &str, ttl: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/{path}", server.api.addr))
        .header("X-Vault-Token", &server.api.token)
        .header("X-Vault-Wrap-TTL", ttl)
        .send()
        .await
        .expect("server reachable");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Unwraps `token` with itself as the client token.
async fn unwrap(server: &TestServer, token: &str) -> (u16, Value) {
    server
        .api
        .with_token(token)
        .post("sys/wrapping/unwrap", json!({}))
        .await
}

/// Asserts that `sys/wrapping/<action>` refuses `token` as OpenBao does.
async fn assert_refused(server: &TestServer, action: &str, token: &str) {
    let path = format!("sys/wrapping/{action}");
    let (status, body) = server.api.post(&path, json!({"token": token})).await;
    assert_eq!(
        (status, body),
        (400, json!({"errors": [INVALID]})),
        "{action}"
    );
}

/// `cofre ARGS` against `server` with `token`.
fn cofre(server: &TestServer, token: &str, args: &[&str]) -> Output {
    server.cofre_output(token, args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_wrapped_kv_read_unwraps_exactly_once() {
    let server = server_with_secret().await;
    let (status, body) = wrapped_get(&server, "secret/data/app", "60").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], Value::Null, "the secret is not in the answer");
    assert_eq!(body["auth"], Value::Null);
    assert_eq!(
        body["request_id"], "",
        "as OpenBao: a wrapped answer has no request id"
    );
    let info = &body["wrap_info"];
    assert_eq!(info["ttl"], 60);
    assert_eq!(info["creation_path"], "secret/data/app");
    assert!(info["creation_time"].as_str().unwrap().ends_with('Z'));
    let token = info["token"]
        .as_str()
        .expect("a wrapping token")
        .to_string();
    assert!(token.starts_with("s."));

    // The token is a response-wrapping token: one use, the wrap TTL, nothing else.
    let (_, looked_up) = server
        .api
        .post("auth/token/lookup", json!({"token": token}))
        .await;
    assert_eq!(looked_up["data"]["policies"], json!(["response-wrapping"]));
    assert_eq!(looked_up["data"]["num_uses"], 1);
    assert_eq!(looked_up["data"]["ttl"], 60);
    let (status, _) = server.api.with_token(&token).get("secret/data/app").await;
    assert_eq!(
        status, 403,
        "a wrapping token cannot read the secret itself"
    );

    // Lookup needs no token and spends no use.
    for _ in 0..2 {
        let (status, body) = server
            .api
            .with_token("")
            .post("sys/wrapping/lookup", json!({"token": token}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["creation_ttl"], 60);
        assert_eq!(body["data"]["creation_path"], "secret/data/app");
    }

    let (status, body) = unwrap(&server, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["data"], json!({"password": "s3cret"}));
    assert_eq!(body["data"]["metadata"]["version"], 1);

    // Twice: refused, by the token itself (now revoked) or in the body.
    let (status, _) = unwrap(&server, &token).await;
    assert_eq!(status, 403);
    assert_refused(&server, "unwrap", &token).await;
    assert_refused(&server, "lookup", &token).await;
}

#[tokio::test]
async fn wrap_ttl_bounds_and_expiry_follow_openbao() {
    let server = server_with_secret().await;
    let (status, body) = wrapped_get(&server, "secret/data/app", "0").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["wrap_info"],
        Value::Null,
        "a zero TTL asks for no wrapping"
    );
    assert_eq!(body["data"]["data"]["password"], "s3cret");
    let (status, body) = wrapped_get(&server, "secret/data/app", "-5").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"][0],
        "error parsing X-Vault-Wrap-TTL header: requested wrap ttl cannot be negative"
    );
    let (status, _) = wrapped_get(&server, "secret/data/app", "abc").await;
    assert_eq!(status, 400);
    let (status, body) = wrapped_get(&server, "secret/data/app", "10000h").await;
    assert_eq!(
        (status, &body["wrap_info"]["ttl"]),
        (200, &json!(36_000_000))
    );

    let (_, body) = wrapped_get(&server, "secret/data/app", "1s").await;
    let token = body["wrap_info"]["token"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_refused(&server, "unwrap", &token).await;
}

#[tokio::test]
async fn cofre_cli_wraps_and_unwraps() {
    let server = server_with_secret().await;
    let root = server.api.token.clone();

    let table = cofre(&server, &root, &["read", "-wrap-ttl=60", "secret/data/app"]);
    assert!(table.status.success(), "{table:?}");
    let text = stdout(&table);
    for key in [
        "wrapping_token:",
        "wrapping_accessor:",
        "wrapping_token_ttl:              1m",
        "wrapping_token_creation_time:",
        "wrapping_token_creation_path:    secret/data/app",
    ] {
        assert!(text.contains(key), "{key} missing from\n{text}");
    }
    assert!(!text.contains("s3cret"));

    let field = cofre(
        &server,
        &root,
        &[
            "kv",
            "get",
            "-wrap-ttl=2m",
            "-field=wrapping_token",
            "secret/app",
        ],
    );
    assert!(field.status.success(), "{field:?}");
    let token = stdout(&field).trim().to_string();
    assert!(token.starts_with("s."), "{token}");
    let unwrapped = cofre(&server, &root, &["unwrap", "-format=json", &token]);
    assert!(unwrapped.status.success(), "{unwrapped:?}");
    let body: Value = serde_json::from_slice(&unwrapped.stdout).expect("JSON");
    assert_eq!(body["data"]["data"]["password"], "s3cret");
    let again = cofre(&server, &root, &["unwrap", &token]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains(INVALID));

    // Without an argument the current token is the wrapping token (as `vault unwrap`).
    let json = cofre(
        &server,
        &root,
        &["read", "-format=json", "-wrap-ttl=60", "secret/data/app"],
    );
    let wrapped: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let token = wrapped["wrap_info"]["token"].as_str().expect("a token");
    let own = cofre(&server, token, &["unwrap", "-field=data"]);
    assert!(own.status.success(), "{own:?}");
    assert!(stdout(&own).contains("s3cret"));

    let created = cofre(
        &server,
        &root,
        &["token", "create", "-wrap-ttl=60", "-format=json"],
    );
    let created: Value = serde_json::from_slice(&created.stdout).expect("JSON");
    let accessor = created["wrap_info"]["wrapped_accessor"].as_str().unwrap();
    assert!(!accessor.is_empty() && created["auth"].is_null());
}

#[tokio::test]
async fn bao_cli_wraps_and_unwraps_against_cofre() {
    let server = server_with_secret().await;
    let root = server.api.token.clone();
    let Some((ok, text)) = server.bao(&root, &["read", "-wrap-ttl=60", "secret/data/app"]) else {
        return;
    };
    assert!(ok, "{text}");
    assert!(
        text.contains("wrapping_token_creation_path:    secret/data/app"),
        "{text}"
    );
    // (`bao kv get -field=wrapping_token` fails against OpenBao itself: "No data found".)
    let (ok, token) = server
        .bao(
            &root,
            &[
                "read",
                "-wrap-ttl=60",
                "-field=wrapping_token",
                "secret/data/app",
            ],
        )
        .expect("bao ran before");
    assert!(ok, "{token}");
    let (ok, text) = server.bao(&root, &["unwrap", token.trim()]).expect("bao");
    assert!(ok, "{text}");
    assert!(text.contains("map[password:s3cret]"), "{text}");
    let (ok, text) = server.bao(&root, &["unwrap", token.trim()]).expect("bao");
    assert!(!ok && text.contains(INVALID), "{text}");

    // `bao unwrap` without an argument uses its token as the wrapping token.
    let (_, token) = server
        .bao(
            &root,
            &[
                "read",
                "-field=wrapping_token",
                "-wrap-ttl=60",
                "secret/data/app",
            ],
        )
        .expect("bao");
    let (ok, text) = server
        .bao(token.trim(), &["unwrap", "-field=data"])
        .expect("bao");
    assert!(ok && text.contains("password:s3cret"), "{text}");
}

#[tokio::test]
async fn the_sdk_wraps_looks_up_and_unwraps() {
    let server = server_with_secret().await;
    let client = Client::builder()
        .address(&server.api.addr)
        .token(&server.api.token)
        .build()
        .expect("a client");
    let wrapped = client
        .with_wrap_ttl("90")
        .read("secret/data/app")
        .await
        .expect("read")
        .expect("an answer");
    assert!(wrapped.data.is_none());
    let wrap = wrapped.wrap_info.expect("wrap_info");
    assert_eq!(wrap.ttl, 90);

    let lookup = client.sys().wrap_lookup(&wrap.token).await.expect("lookup");
    assert_eq!(
        (lookup.creation_ttl, lookup.creation_path.as_str()),
        (90, "secret/data/app")
    );

    #[derive(Debug, serde::Deserialize)]
    struct Kv2 {
        data: std::collections::BTreeMap<String, String>,
    }
    let secret: Kv2 = client.sys().unwrap(&wrap.token).await.expect("unwrap");
    assert_eq!(secret.data["password"], "s3cret");
    let again = client.sys().unwrap::<Kv2>(&wrap.token).await.unwrap_err();
    assert_eq!(again.status(), Some(400));

    let mine = client
        .sys()
        .wrap(&json!({"note": "hi"}), "5m")
        .await
        .expect("wrap");
    assert_eq!(mine.creation_path, "sys/wrapping/wrap");
    let rewrapped = client.sys().rewrap(&mine.token).await.expect("rewrap");
    assert_eq!(rewrapped.ttl, 300);
    let data: Value = client.sys().unwrap(&rewrapped.token).await.expect("unwrap");
    assert_eq!(data, json!({"note": "hi"}));
    assert!(client.sys().unwrap::<Value>(&mine.token).await.is_err());
}
