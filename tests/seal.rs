//! Seal lifecycle end to end: init with 5 shares / threshold 3, unseal progress, reset,
//! wrong and duplicate keys, seal, health codes, key rotation, restart with data kept, and
//! no plaintext at rest.

mod common;

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn uninitialised_server_reports_itself() {
    let server = TestServer::start_uninitialized().await;
    let api = &server.api;
    let (status, body) = api.get("sys/health").await;
    assert_eq!(status, 501);
    assert_eq!(body["initialized"], false);
    let (status, body) = api.get("sys/init").await;
    assert_eq!((status, body["initialized"].clone()), (200, json!(false)));
    let (status, body) = api.get("sys/seal-status").await;
    assert_eq!(status, 200);
    assert_eq!(body["initialized"], false);
    assert_eq!(body["sealed"], true);
    let (status, _) = api.get("secret/data/x").await;
    assert_eq!(status, 503);
    let (status, _) = api.get("sys/health?uninitcode=299").await;
    assert_eq!(status, 299);
}

#[tokio::test]
async fn shamir_five_shares_threshold_three() {
    let mut server = TestServer::start_with_shares(5, 3).await;
    assert_eq!(server.keys.len(), 5);
    let api = server.api.clone();
    let (status, body) = api.get("sys/seal-status").await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["t"].clone(), body["n"].clone(), body["sealed"].clone()),
        (json!(3), json!(5), json!(false))
    );

    let (status, _) = api.put("sys/seal", json!({})).await;
    assert_eq!(status, 204);
    let (status, body) = api.get("sys/mounts").await;
    assert_eq!(status, 503, "sealed vault must refuse: {body}");
    assert_eq!(body["errors"][0], "Vault is sealed");
    let (status, _) = api.get("sys/health").await;
    assert_eq!(status, 503);
    let (status, _) = api.get("sys/health?sealedcode=200").await;
    assert_eq!(status, 200);

    // Two shares: progress, still sealed. The same share twice is refused.
    let (_, body) = api.put("sys/unseal", json!({"key": server.keys[4]})).await;
    assert_eq!(
        (body["progress"].clone(), body["sealed"].clone()),
        (json!(1), json!(true))
    );
    let nonce = body["nonce"].as_str().unwrap().to_string();
    assert!(!nonce.is_empty());
    let (status, body) = api.put("sys/unseal", json!({"key": server.keys[4]})).await;
    assert_eq!(status, 400, "duplicate share must be refused: {body}");
    let (_, body) = api.put("sys/unseal", json!({"key": server.keys[1]})).await;
    assert_eq!(body["progress"], 2);
    // Reset forgets progress.
    let (_, body) = api.put("sys/unseal", json!({"reset": true})).await;
    assert_eq!(
        (body["progress"].clone(), body["sealed"].clone()),
        (json!(0), json!(true))
    );

    // Any three shares unseal (base64 form accepted too).
    let (_, body) = api.put("sys/unseal", json!({"key": server.keys[0]})).await;
    assert_eq!(body["sealed"], true);
    let (_, body) = api.put("sys/unseal", json!({"key": server.keys[2]})).await;
    assert_eq!(body["sealed"], true);
    let (status, body) = api.put("sys/unseal", json!({"key": server.keys[3]})).await;
    assert_eq!(status, 200);
    assert_eq!(body["sealed"], false);
    let (status, _) = api.get("sys/mounts").await;
    assert_eq!(status, 200);

    // Restart: sealed again, the shares still work, data kept.
    server.restart().await;
    let (status, _) = server.api.get("sys/mounts").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn wrong_key_is_rejected_and_vault_stays_sealed() {
    let server = TestServer::start_with_shares(3, 2).await;
    let api = &server.api;
    api.put("sys/seal", json!({})).await;
    let (_, body) = api.put("sys/unseal", json!({"key": server.keys[0]})).await;
    assert_eq!(body["progress"], 1);
    // A well-formed share that belongs to no vault.
    let bogus = "11".repeat(33);
    let (status, body) = api.put("sys/unseal", json!({"key": bogus})).await;
    assert_eq!(status, 400, "{body}");
    let (_, body) = api.get("sys/seal-status").await;
    assert_eq!(
        (body["sealed"].clone(), body["progress"].clone()),
        (json!(true), json!(0))
    );
    // Malformed keys are a 400 and change nothing.
    let (status, _) = api
        .put("sys/unseal", json!({"key": "not base64 or hex!"}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = api.put("sys/unseal", json!({})).await;
    assert_eq!(status, 400);
    // The right keys still work.
    api.put("sys/unseal", json!({"key": server.keys[2]})).await;
    let (_, body) = api.put("sys/unseal", json!({"key": server.keys[1]})).await;
    assert_eq!(body["sealed"], false);
}

#[tokio::test]
async fn init_twice_and_bad_shares_are_refused() {
    let server = TestServer::start_uninitialized().await;
    let api = &server.api;
    for (shares, threshold) in [(3, 5), (0, 0), (3, 1), (300, 2)] {
        let (status, body) = api
            .put(
                "sys/init",
                json!({"secret_shares": shares, "secret_threshold": threshold}),
            )
            .await;
        assert_eq!(status, 400, "{shares}/{threshold}: {body}");
    }
    let (_, body) = api.get("sys/init").await;
    assert_eq!(
        body["initialized"], false,
        "a refused init must change nothing"
    );
    let (status, _) = api
        .put(
            "sys/init",
            json!({"secret_shares": 1, "secret_threshold": 1}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = api
        .put(
            "sys/init",
            json!({"secret_shares": 1, "secret_threshold": 1}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0], "Vault is already initialized");
}

#[tokio::test]
async fn seal_needs_a_privileged_token() {
    let server = TestServer::start().await;
    let (status, _) = server.api.with_token("").put("sys/seal", json!({})).await;
    assert_eq!(status, 403);
    let (status, _) = server
        .api
        .with_token("s.bogus")
        .put("sys/seal", json!({}))
        .await;
    assert_eq!(status, 403);
    let (_, body) = server.api.get("sys/seal-status").await;
    assert_eq!(body["sealed"], false);
}

#[tokio::test]
async fn rotation_adds_a_term_and_keeps_data() {
    let mut server = TestServer::start().await;
    let api = server.api.clone();
    api.write_policy(
        "before-rotation",
        "path \"a/*\" { capabilities = [\"read\"] }",
    )
    .await;
    let (status, body) = api.get("sys/key-status").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["term"], 1);
    let (status, _) = api.put("sys/rotate", json!({})).await;
    assert_eq!(status, 204);
    let (_, body) = api.get("sys/key-status").await;
    assert_eq!(body["data"]["term"], 2);
    assert_eq!(body["term"], 2, "key-status repeats data at the top level");
    server.restart().await;
    let (status, body) = server.api.get("sys/policies/acl/before-rotation").await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = server.api.get("sys/key-status").await;
    assert_eq!(body["data"]["term"], 2);
}

#[tokio::test]
async fn storage_holds_no_plaintext() {
    let mut server = TestServer::start().await;
    let marker = "plaintext-marker-7f3a9c";
    server
        .api
        .write_policy(
            "marker",
            &format!("# {marker}\npath \"x/*\" {{ capabilities = [\"read\"] }}"),
        )
        .await;
    let (_, body) = server
        .api
        .post(
            "auth/token/create",
            json!({"display_name": marker, "meta": {"m": marker}}),
        )
        .await;
    let token = body["auth"]["client_token"].as_str().unwrap().to_string();
    let kv_secret = "kv-secret-value-5d1e77";
    server
        .api
        .post(
            "sys/mounts/kv",
            json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await;
    let (status, _) = server
        .api
        .post("kv/data/app", json!({"data": {"password": kv_secret}}))
        .await;
    assert_eq!(status, 200);
    server.stop();
    let mut found = Vec::new();
    for entry in walk(&server.dir.join("data")) {
        let bytes = std::fs::read(&entry).unwrap();
        for needle in [
            marker.as_bytes(),
            token.as_bytes(),
            server.api.token.as_bytes(),
        ] {
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(entry.display().to_string());
            }
        }
    }
    assert!(found.is_empty(), "plaintext found in {found:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn a_snapshot_restores_the_store_and_the_server_unseals_with_its_keys() {
    let mut server = TestServer::start().await;
    let api = server.api.clone();
    let (s, _) = api
        .post("sys/mounts/kv", serde_json::json!({"type": "kv"}))
        .await;
    assert_eq!(s, 204);
    let (s, _) = api
        .post("kv/app", serde_json::json!({"password": "before"}))
        .await;
    assert_eq!(s, 204);
    let file = server.data_dir().join("cofre.snap");
    let cofre = |args: &[&str]| server.cofre_output(&api.token, args);
    let saved = cofre(&["operator", "snapshot", "save", file.to_str().unwrap()]);
    assert!(saved.status.success(), "{saved:?}");
    let blob = std::fs::read(&file).unwrap();
    assert!(
        !String::from_utf8_lossy(&blob).contains("before"),
        "the snapshot holds ciphertext only"
    );
    let (s, _) = api
        .post("kv/app", serde_json::json!({"password": "after"}))
        .await;
    assert_eq!(s, 204);
    // A limited token may not take snapshots (sudo path).
    let limited = api.with_token(&api.token_with_policies(&["default"]).await);
    let (s, _) = limited.get("sys/storage/snapshot").await;
    assert_eq!(s, 403);
    // A damaged snapshot changes nothing.
    let mut damaged = blob.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    std::fs::write(&file, &damaged).unwrap();
    let refused = cofre(&["operator", "snapshot", "restore", file.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("checksum"));
    let (_, still) = api.get("kv/app").await;
    assert_eq!(still["data"]["password"], "after");

    std::fs::write(&file, &blob).unwrap();
    let restored = cofre(&["operator", "snapshot", "restore", file.to_str().unwrap()]);
    assert!(restored.status.success(), "{restored:?}");
    let (s, _) = api.get("kv/app").await;
    assert_eq!(s, 503, "sealed after a restore");
    server.unseal().await;
    let (_, back) = api.get("kv/app").await;
    assert_eq!(back["data"]["password"], "before", "{back}");
    // And it survives a restart.
    server.restart().await;
    let (_, again) = server.api.get("kv/app").await;
    assert_eq!(again["data"]["password"], "before");
}
