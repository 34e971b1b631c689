//! Resource quotas end to end over HTTP: a rate limit on a KV mount refuses the third read
//! with OpenBao's message and a `Retry-After` header while other paths pass; rules survive a
//! restart; lease-count rules and `sys/quotas/config` are written, read, listed and
//! validated; the quota endpoints need a policy like any sys path.

mod common;

use common::TestServer;
use serde_json::json;

/// A GET that also returns the `Retry-After` header.
async fn get_with_retry_after(server: &TestServer, path: &str) -> (u16, Option<String>, String) {
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/{path}", server.api.addr))
        .header("X-Vault-Token", &server.api.token)
        .send()
        .await
        .expect("server reachable");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, retry_after, resp.text().await.unwrap_or_default())
}

async fn setup_kv(server: &TestServer) {
    let api = &server.api;
    let (status, body) = api
        .post(
            "sys/mounts/secret",
            json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = api
        .post("secret/data/app", json!({"data": {"k": "v"}}))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Two reads pass, the third is refused with a Retry-After of a few seconds.
async fn assert_limited_after_two(server: &TestServer) {
    for n in 1..=2 {
        let (status, _, body) = get_with_retry_after(server, "secret/data/app").await;
        assert_eq!(status, 200, "read {n}: {body}");
    }
    let (status, retry_after, body) = get_with_retry_after(server, "secret/data/app").await;
    assert_eq!(status, 429, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(
        body,
        json!({"errors": ["request path \"secret/data/app\": rate limit quota exceeded"]})
    );
    let seconds: u64 = retry_after
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("a Retry-After header in whole seconds");
    assert!(
        (1..=5).contains(&seconds),
        "2 per 10 s: one back within 5 s, got {seconds}"
    );
}

#[tokio::test]
async fn rate_limit_refuses_with_retry_after_and_survives_restart() {
    let mut server = TestServer::start().await;
    setup_kv(&server).await;
    let api = server.api.clone();
    let rule = json!({"path": "secret/", "rate": 2, "interval": "10s"});
    assert_eq!(
        api.post("sys/quotas/rate-limit/rl", rule.clone()).await.0,
        204
    );
    let (status, body) = api.get("sys/quotas/rate-limit/rl").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({"block_interval": 0, "inheritable": false, "interval": 10, "name": "rl",
               "path": "secret/", "rate": 2, "role": "", "type": "rate-limit"})
    );
    let (status, body) = api.list("sys/quotas/rate-limit").await;
    assert_eq!((status, body["data"]["keys"].clone()), (200, json!(["rl"])));

    assert_limited_after_two(&server).await;
    assert_eq!(api.get("sys/mounts").await.0, 200, "other paths pass");
    assert_eq!(api.get("cubbyhole/none").await.0, 404, "other mounts pass");

    assert_eq!(api.delete("sys/quotas/rate-limit/rl").await.0, 204);
    assert_eq!(api.get("secret/data/app").await.0, 200, "allowed again");
    assert_eq!(api.list("sys/quotas/rate-limit").await.0, 404, "none left");
    assert_eq!(api.get("sys/quotas/rate-limit/rl").await.0, 404);

    assert_eq!(api.post("sys/quotas/rate-limit/rl", rule).await.0, 204);
    server.restart().await;
    let (status, body) = server.api.get("sys/quotas/rate-limit/rl").await;
    assert_eq!((status, body["data"]["rate"].clone()), (200, json!(2)));
    assert_limited_after_two(&server).await;
}

#[tokio::test]
async fn lease_count_rules_and_config_are_managed_and_validated() {
    let server = TestServer::start().await;
    setup_kv(&server).await;
    let api = &server.api;
    let (status, body) = api
        .post(
            "sys/quotas/lease-count/lc",
            json!({"path": "secret", "max_leases": 1}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = api.get("sys/quotas/lease-count/lc").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({"counts": 0, "inheritable": false, "max_leases": 1, "name": "lc",
               "path": "secret/", "role": "", "type": "lease-count"})
    );
    let (_, body) = api.list("sys/quotas/lease-count").await;
    assert_eq!(body["data"]["keys"], json!(["lc"]));
    for _ in 0..3 {
        assert_eq!(
            api.get("secret/data/app").await.0,
            200,
            "unleased reads never fill the quota"
        );
    }

    let invalid = [
        (
            json!({"path": "secret/", "max_leases": 0}),
            "'max_leases' is invalid",
        ),
        (
            json!({"path": "nomount/", "max_leases": 1}),
            "invalid mount path \"nomount/\"",
        ),
        (
            json!({"path": "secret/", "max_leases": 1, "bogus": true}),
            "\"bogus\"",
        ),
    ];
    for (body, expected) in invalid {
        let (status, answer) = api.post("sys/quotas/lease-count/bad", body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["errors"][0]
                .as_str()
                .unwrap_or("")
                .contains(expected),
            "{answer}"
        );
    }
    let (status, answer) = api
        .post(
            "sys/quotas/rate-limit/bad",
            json!({"rate": 1, "block_interval": "soon"}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(api.delete("sys/quotas/lease-count/lc").await.0, 204);
    assert_eq!(api.get("sys/quotas/lease-count/lc").await.0, 404);

    let (_, body) = api.get("sys/quotas/config").await;
    assert_eq!(body["data"]["enable_rate_limit_response_headers"], false);
    assert!(body["data"]["rate_limit_exempt_paths"]
        .as_array()
        .is_some_and(|p| p.contains(&json!("sys/health"))));
    let config = json!({"rate_limit_exempt_paths": ["sys/health"],
                        "enable_rate_limit_audit_logging": true});
    assert_eq!(api.post("sys/quotas/config", config).await.0, 204);
    let (_, body) = api.get("sys/quotas/config").await;
    assert_eq!(
        body["data"],
        json!({"enable_rate_limit_audit_logging": true,
               "enable_rate_limit_response_headers": false,
               "rate_limit_exempt_paths": ["sys/health"]})
    );

    let token = api.token_with_policies(&["default"]).await;
    let (status, _) = api
        .with_token(&token)
        .post("sys/quotas/rate-limit/x", json!({"rate": 1}))
        .await;
    assert_eq!(status, 403, "quota rules need a policy");
}

/// The lease explosion guard for logins: tokens are the leases of the path that created
/// them, so a lease-count quota on an auth mount caps its live tokens (429 past it), and
/// `sys/leases/revoke-prefix/auth/...` revokes the tokens its logins created.
#[tokio::test]
async fn a_lease_count_quota_on_an_auth_mount_caps_its_live_tokens() {
    let server = TestServer::start().await;
    let api = &server.api;
    let (status, body) = api
        .post("sys/auth/userpass", json!({"type": "userpass"}))
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = api
        .post(
            "auth/userpass/users/ci",
            json!({"password": "pw-for-ci", "token_ttl": "1h"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = api
        .post(
            "sys/quotas/lease-count/logins",
            json!({"path": "auth/userpass/", "max_leases": 2}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let login = || async {
        api.with_token("")
            .post("auth/userpass/login/ci", json!({"password": "pw-for-ci"}))
            .await
    };
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let (status, body) = login().await;
        assert_eq!(status, 200, "{body}");
        tokens.push(body["auth"]["client_token"].as_str().unwrap().to_string());
    }
    let (status, body) = login().await;
    assert_eq!(status, 429, "the third live token is refused: {body}");
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap_or("")
            .contains("lease count quota exceeded"),
        "{body}"
    );
    let (_, body) = api.get("sys/quotas/lease-count/logins").await;
    assert_eq!(body["data"]["counts"], 2, "{body}");

    // Revoking one token frees its slot.
    let (status, _) = api
        .with_token(&tokens[0])
        .post("auth/token/revoke-self", json!({}))
        .await;
    assert_eq!(status, 204);
    let (status, body) = login().await;
    assert_eq!(status, 200, "{body}");

    // revoke-prefix under auth/ revokes the tokens the mount's logins created.
    let (status, body) = api
        .post("sys/leases/revoke-prefix/auth/userpass/login", json!({}))
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = api
        .with_token(&tokens[1])
        .get("auth/token/lookup-self")
        .await;
    assert_eq!(status, 403, "revoked by the prefix");
    let (_, body) = api.get("sys/quotas/lease-count/logins").await;
    assert_eq!(body["data"]["counts"], 0, "{body}");
    assert_eq!(login().await.0, 200);

    let (status, body) = api
        .post(
            "sys/quotas/lease-count/by-role",
            json!({"path": "auth/userpass/", "role": "ci", "max_leases": 1}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap_or("")
            .contains("role-based"),
        "{body}"
    );
}
