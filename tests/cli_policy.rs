//! `cofre policy explain` end to end: the real binary against a real server, with real
//! policies and tokens. The explanation must name the deciding policy and rule, agree
//! with what the server enforces, and exit 0 whether the request is allowed or not.

mod common;

use std::process::Output;

use common::TestServer;
use serde_json::Value;

const APP: &str = r#"
path "secret/data/*" {
  capabilities = ["read", "list"]
}
path "secret/data/app/+" {
  capabilities = ["create", "read", "update"]
}
path "secret/data/app/locked" {
  capabilities = ["deny"]
}
"#;

const OPS: &str = r#"path "secret/data/app/locked" {
  capabilities = ["read"]
}
"#;

/// Runs `cofre policy explain ARGS` with `token` as the caller's token.
fn explain(server: &TestServer, token: &str, args: &[&str]) -> Output {
    server
        .cofre(token)
        .args(["policy", "explain"])
        .args(args)
        .output()
        .expect("cofre runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn server_with_token() -> (TestServer, String) {
    let server = TestServer::start().await;
    server.api.enable_kv("secret", "2").await;
    server.api.write_policy("app", APP).await;
    server.api.write_policy("ops", OPS).await;
    let token = server
        .api
        .token_with_policies(&["app", "ops", "default"])
        .await;
    (server, token)
}

#[tokio::test]
async fn names_the_deciding_policy_and_rule() {
    let (server, token) = server_with_token().await;
    let root = server.api.token.clone();
    let flag = format!("-token={token}");

    let glob = explain(&server, &root, &[&flag, "-op=update", "secret/data/app/db"]);
    let text = stdout(&glob);
    assert!(glob.status.success(), "{text}");
    assert!(text.contains("Decision          allowed"), "{text}");
    assert!(
        text.contains("rule \"secret/data/app/+\" (policy app) grants update"),
        "{text}"
    );
    assert!(text.contains("segment glob (+)"), "{text}");
    assert!(text.contains("app line 5"), "{text}");

    // Denied: still exit 0, and the merged deny is explained with both policies.
    let locked = explain(&server, &root, &[&flag, "secret/data/app/locked"]);
    let text = stdout(&locked);
    assert_eq!(locked.status.code(), Some(0), "{text}");
    assert!(text.contains("Decision          denied"), "{text}");
    assert!(text.contains("(policies app, ops) denies"), "{text}");
    assert!(text.contains("the deny of policy app overrides"), "{text}");

    let nothing = explain(&server, &root, &[&flag, "sys/mounts"]);
    assert!(
        stdout(&nothing).contains("implicit deny"),
        "{}",
        stdout(&nothing)
    );
}

#[tokio::test]
async fn json_agrees_with_the_server() {
    let (server, token) = server_with_token().await;
    let flag = format!("-token={token}");
    let root = server.api.token.clone();
    let output = explain(
        &server,
        &root,
        &[&flag, "-op=write", "-format=json", "secret/data/x"],
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    assert_eq!(report["allowed"], false, "{report}");
    assert_eq!(report["decisions"][0]["capability"], "create");
    assert_eq!(report["decisions"][0]["allowed"], false);
    assert_eq!(
        report["explanation"]["deciding"]["pattern"],
        "secret/data/*"
    );
    assert_eq!(report["explanation"]["deciding"]["kind"], "prefix");
    assert_eq!(
        report["explanation"]["deciding"]["sources"][0]["policy"],
        "app"
    );
    assert_eq!(report["server_agrees"], true, "{report}");

    // What explain says is what the server does.
    let as_token = server.api.with_token(&token);
    let (status, _) = as_token.get("secret/data/app/locked").await;
    assert_eq!(status, 403);
    let (status, _) = as_token.get("secret/data/x").await;
    assert_ne!(status, 403);

    // A token that may not read its own policies' text cannot explain itself: exit 2
    // with what to do.
    let own = explain(&server, &token, &["secret/data/x"]);
    assert_eq!(own.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&own.stderr);
    assert!(stderr.contains("may read sys/policies/acl/app"), "{stderr}");
}

#[tokio::test]
async fn root_token_and_sudo_paths() {
    let (server, token) = server_with_token().await;
    let root = server.api.token.clone();
    let as_root = explain(&server, &root, &["sys/seal"]);
    assert!(stdout(&as_root).contains("the token has the root policy"));
    let flag = format!("-token={token}");
    let seal = explain(&server, &root, &[&flag, "-op=update", "sys/seal"]);
    assert!(
        stdout(&seal).contains("Needs update + sudo"),
        "{}",
        stdout(&seal)
    );
    let bad = explain(&server, &root, &[&flag, "-op=fly", "sys/seal"]);
    assert_eq!(bad.status.code(), Some(1));
}
