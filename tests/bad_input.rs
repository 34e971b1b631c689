//! Bad input anywhere gets a clear 4xx with `{"errors": [...]}`, changes nothing, and
//! never takes the server down.

mod common;

use common::TestServer;
use serde_json::json;

async fn raw(
    server: &TestServer,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}/v1/{path}", server.api.addr),
        )
        .header("X-Vault-Token", &server.api.token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

fn has_error_message(body: &serde_json::Value) -> bool {
    body["errors"].as_array().is_some_and(|e| {
        e.iter().all(|m| m.as_str().is_some_and(|s| !s.is_empty())) && !e.is_empty()
    })
}

#[tokio::test]
async fn malformed_and_wrongly_typed_bodies() {
    let server = TestServer::start().await;
    for body in [
        &b"{not json"[..],
        b"[1,2,3]",
        b"\"string\"",
        b"{\"policy\": 5}",
    ] {
        let (status, resp) = raw(
            &server,
            "PUT",
            "sys/policies/acl/p",
            "application/json",
            body.to_vec(),
        )
        .await;
        assert_eq!(status, 400, "{}: {resp}", String::from_utf8_lossy(body));
        assert!(has_error_message(&resp), "{resp}");
    }
    let (status, _) = server.api.get("sys/policies/acl/p").await;
    assert_eq!(status, 404, "nothing stored");
    let (status, resp) = server
        .api
        .post("auth/token/create", json!({"ttl": "forever"}))
        .await;
    assert_eq!(status, 400, "{resp}");
    let (status, _) = server
        .api
        .post("auth/token/create", json!({"num_uses": -1}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .api
        .post("auth/token/create", json!({"policies": {"a": 1}}))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let server = TestServer::start().await;
    let big = vec![b' '; 33 * 1024 * 1024];
    let (status, resp) = raw(
        &server,
        "PUT",
        "sys/policies/acl/big",
        "application/json",
        big,
    )
    .await;
    assert_eq!(status, 413, "{resp}");
    let (status, _) = server.api.get("sys/health").await;
    assert_eq!(status, 200, "server still up");
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let server = TestServer::start().await;
    let (status, body) = server.api.get("nope/x").await;
    assert_eq!(status, 404);
    assert!(has_error_message(&body));
    let (status, _) = server.api.get("sys/no-such-endpoint").await;
    assert_eq!(status, 404);
    let (status, _) = server.api.call("TRACE", "sys/mounts", None).await;
    assert!(status == 405 || status == 400, "{status}");
    let (status, _) = server.api.delete("sys/health").await;
    assert_eq!(status, 405);
    let resp = reqwest::get(format!("{}/not-v1", server.api.addr))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn path_traversal_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    // Raw HTTP: clients normalise `..` away before sending, an attacker does not.
    for path in ["secret/../sys/mounts", "secret/%2e%2e/sys/mounts", "a/./b"] {
        let mut stream =
            tokio::net::TcpStream::connect(server.api.addr.trim_start_matches("http://"))
                .await
                .unwrap();
        let request = format!(
            "GET /v1/{path} HTTP/1.1\r\nHost: x\r\nX-Vault-Token: {}\r\nConnection: close\r\n\r\n",
            server.api.token
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 400"), "{path}: {response}");
        assert!(response.contains("errors"), "{response}");
    }
}

#[tokio::test]
async fn patch_needs_merge_patch_content_type() {
    let server = TestServer::start().await;
    let (status, body) = raw(
        &server,
        "PATCH",
        "secret/data/x",
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 415, "{body}");
}

#[tokio::test]
async fn form_bodies_are_accepted() {
    let server = TestServer::start().await;
    let (status, body) = raw(
        &server,
        "POST",
        "auth/token/create",
        "application/x-www-form-urlencoded",
        b"ttl=1h&display_name=form".to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["auth"]["lease_duration"], 3600);
}
