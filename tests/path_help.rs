//! Path help end to end: `GET /v1/<path>?help=1` on engines, auth methods and `sys/`,
//! printed by `cofre path-help` and by the real `bao path-help` against Cofre.

mod common;

use common::TestServer;

fn path_help(server: &TestServer, token: &str, path: &str) -> (Option<i32>, String, String) {
    let output = server
        .cofre(token)
        .args(["path-help", path])
        .output()
        .expect("cofre runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

#[tokio::test]
async fn cofre_path_help_prints_the_help() {
    let server = TestServer::start().await;
    server.api.enable_kv("secret", "2").await;
    let root = server.api.token.clone();

    let (code, out, _) = path_help(&server, &root, "secret/");
    assert_eq!(code, Some(0));
    assert!(
        out.contains("## PATHS") && out.contains("    data/<path*>"),
        "{out}"
    );

    let (_, out, _) = path_help(&server, &root, "secret/data/app");
    assert!(
        out.starts_with("Request:        data/app\nMatching Route: data/<path*>"),
        "{out}"
    );

    let (_, out, _) = path_help(&server, &root, "auth/token/create");
    assert!(out.contains("Create a child token."), "{out}");

    let (code, _, err) = path_help(&server, &root, "sys/no-such-thing");
    assert_eq!(code, Some(2));
    assert!(err.contains("unsupported path"), "{err}");
    let (code, _, err) = path_help(&server, &root, "nowhere/x");
    assert_eq!(code, Some(2));
    assert!(err.contains("no handler for route"), "{err}");
}

#[tokio::test]
async fn help_needs_a_token_but_no_capability() {
    let server = TestServer::start().await;
    server.api.enable_kv("secret", "2").await;
    server
        .api
        .write_policy(
            "nothing",
            r#"path "secret/data/d" { capabilities = ["deny"] }"#,
        )
        .await;
    let limited = server.api.token_with_policies(&["nothing"]).await;
    let as_limited = server.api.with_token(&limited);
    let (status, body) = as_limited.get("secret/data/d?help=1").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["help"]
        .as_str()
        .unwrap_or_default()
        .contains("Matching Route"));
    assert_eq!(body["openapi"]["openapi"], "3.0.2");
    assert!(
        body.get("request_id").is_none(),
        "help has no envelope: {body}"
    );
    // Without help the same request is denied, and an empty help value is no help.
    assert_eq!(as_limited.get("secret/data/d").await.0, 403);
    assert_eq!(as_limited.get("secret/data/d?help=").await.0, 403);

    let anonymous = server.api.with_token("");
    assert_eq!(anonymous.get("secret/data/d?help=1").await.0, 403);
    // Unauthenticated system paths answer help without a token, as they answer anyway.
    let (status, body) = anonymous.get("sys/health?help=1").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["help"].as_str().unwrap_or_default().contains("health"));
}

#[tokio::test]
async fn bao_path_help_against_cofre() {
    let server = TestServer::start().await;
    server.api.enable_kv("secret", "2").await;
    let root = server.api.token.clone();
    let Some((ok, out)) = server.bao(&root, &["path-help", "secret/data/app"]) else {
        return;
    };
    assert!(ok, "{out}");
    assert!(
        out.contains("Write, read, patch or delete a secret's data."),
        "{out}"
    );
    let Some((ok, out)) = server.bao(&root, &["path-help", "sys/mounts"]) else {
        return;
    };
    assert!(ok && out.contains("List the secrets engines."), "{out}");
    let Some((ok, out)) = server.bao(&root, &["path-help", "nowhere/"]) else {
        return;
    };
    assert!(!ok && out.contains("no handler for route"), "{out}");
}
