//! Operations end to end: `sys/metrics` (Prometheus and JSON, its guard, nothing secret in
//! it), the per-request JSON log line and its request id, SIGHUP before the first unseal,
//! and the static seal (init without key shares, unsealed by itself after a restart).

mod common;

use std::time::Duration;

use serde_json::{json, Value};

use common::TestServer;

const SECRET_PATH: &str = "ops-kv/data/payroll-db-password-7f3a";

/// A KV v2 mount with one secret at [`SECRET_PATH`], read once.
async fn with_secret(server: &TestServer) {
    let api = &server.api;
    let (status, body) = api
        .post(
            "sys/mounts/ops-kv",
            json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = api
        .post(SECRET_PATH, json!({"data": {"password": "hunter2-xyz"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(api.get(SECRET_PATH).await.0, 200);
}

async fn scrape(server: &TestServer, token: &str, format: &str) -> (u16, String) {
    let mut request =
        reqwest::Client::new().get(format!("{}/v1/sys/metrics{format}", server.api.addr));
    if !token.is_empty() {
        request = request.header("X-Vault-Token", token);
    }
    let resp = request.send().await.expect("server reachable");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("a body"))
}

#[tokio::test]
async fn metrics_count_requests_per_mount_and_leak_nothing() {
    let server = TestServer::start().await;
    with_secret(&server).await;
    let root = server.api.token.clone();

    let (status, text) = scrape(&server, &root, "?format=prometheus").await;
    assert_eq!(status, 200, "{text}");
    for expected in [
        "# TYPE cofre_route_requests_total counter",
        "cofre_core_unsealed 1",
        "operation=\"read\",status=\"2xx\"",
        "cofre_route_request_duration_seconds_bucket{mount=\"ops-kv/\"",
        "cofre_storage_operation_duration_seconds_count{operation=\"get\"}",
        "cofre_expire_revocation_failures_total 0",
        "# TYPE cofre_expire_num_leases gauge",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    assert!(text.contains("cofre_route_requests_total{mount=\"ops-kv/\",accessor=\"kv_"));
    for secret in ["payroll-db-password", "hunter2", root.as_str(), SECRET_PATH] {
        assert!(!text.contains(secret), "{secret:?} leaked into metrics");
    }

    let (status, json_text) = scrape(&server, &root, "").await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&json_text).expect("JSON metrics");
    for key in ["Gauges", "Counters", "Samples"] {
        assert!(body[key].is_array(), "{key} missing: {body}");
    }
    assert!(!json_text.contains("payroll-db-password") && !json_text.contains(&root));

    assert_eq!(scrape(&server, "", "").await.0, 403, "a token is needed");
    server
        .api
        .write_policy(
            "metrics",
            "path \"sys/metrics\" { capabilities = [\"read\"] }",
        )
        .await;
    let reader = server.api.token_with_policies(&["metrics"]).await;
    assert_eq!(scrape(&server, &reader, "?format=prometheus").await.0, 200);
    let nobody = server.api.token_with_policies(&["default"]).await;
    assert_eq!(scrape(&server, &nobody, "").await.0, 403);
}

#[tokio::test]
async fn unauthenticated_metrics_are_served_even_while_sealed() {
    let mut server = TestServer::prepare();
    server.extra_config = "telemetry {\n  unauthenticated_metrics_access = true\n}\n".into();
    server.spawn().await;
    let (status, text) = scrape(&server, "", "?format=prometheus").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("cofre_core_unsealed 0"), "{text}");
    assert!(
        text.contains("cofre_route_requests_total{mount=\"none\""),
        "{text}"
    );
}

#[tokio::test]
async fn json_log_lines_carry_the_request_id_and_no_secrets() {
    let mut server = TestServer::prepare();
    let log = server.dir.join("server.log");
    server.log_file = Some(log.clone());
    server.log_level = "debug".into();
    server.extra_config = "log_format = \"json\"\n".into();
    server.spawn().await;
    server.initialize(1, 1).await;
    with_secret(&server).await;
    let (status, body) = server.api.get(SECRET_PATH).await;
    assert_eq!(status, 200);
    let request_id = body["request_id"]
        .as_str()
        .expect("a request id")
        .to_string();

    let mut line = None;
    for _ in 0..40 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        line = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["request_id"] == request_id.as_str());
        if line.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let line = line.expect("a JSON log line with the response's request_id");
    assert_eq!(line["mount"], "ops-kv/");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["status"], 200);
    assert!(line["duration_ms"].is_number(), "{line}");
    let text = std::fs::read_to_string(&log).unwrap();
    for secret in ["payroll-db-password", "hunter2", server.api.token.as_str()] {
        assert!(!text.contains(secret), "{secret:?} leaked into the log");
    }
}

#[tokio::test]
async fn sighup_before_the_first_unseal_does_not_stop_the_server() {
    let mut server = TestServer::start_uninitialized().await;
    server.hangup();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.is_running(), "SIGHUP killed the sealed server");
    let (status, body) = server.api.get("sys/seal-status").await;
    assert_eq!((status, body["initialized"].clone()), (200, json!(false)));
    server.initialize(1, 1).await;
    server.hangup();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.is_running(), "SIGHUP killed the unsealed server");
    assert_eq!(server.api.get("sys/health").await.0, 200);
}

#[tokio::test]
async fn a_static_seal_inits_without_shares_and_unseals_itself_after_restart() {
    let mut server = TestServer::prepare();
    let key_file = server.dir.join("unseal.key");
    let key: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    std::fs::write(&key_file, &key).unwrap();
    server.extra_config = format!(
        "seal \"static\" {{\n  current_key_id = \"k1\"\n  current_key = \"file://{}\"\n}}\n",
        key_file.display()
    );
    server.spawn().await;
    let (_, status) = server.api.get("sys/seal-status").await;
    assert_eq!(status["type"], "static");
    assert_eq!(status["recovery_seal"], true);

    let (code, body) = server.api.put("sys/init", json!({})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["keys"], json!([]));
    assert_eq!(body["recovery_keys"], json!([]));
    server.api.token = body["root_token"].as_str().expect("a root token").into();
    let (_, status) = server.api.get("sys/seal-status").await;
    assert_eq!(status["sealed"], false, "unsealed right after init");
    with_secret(&server).await;

    server.stop();
    server.spawn().await;
    let (_, status) = server.api.get("sys/seal-status").await;
    assert_eq!(
        status["sealed"], false,
        "unsealed by itself at start: {status}"
    );
    let (code, body) = server.api.get(SECRET_PATH).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["data"]["data"]["password"], "hunter2-xyz");
    let (code, body) = server.api.put("sys/unseal", json!({"key": "00"})).await;
    assert_eq!(code, 200, "already unsealed: {body}");

    // A wrong key leaves the server running and sealed, with the reason in its log.
    std::fs::write(&key_file, [9u8; 32]).unwrap();
    server.stop();
    server.spawn().await;
    let (_, status) = server.api.get("sys/seal-status").await;
    assert_eq!(status["sealed"], true);
}
