//! The SDK against a real Vault-API server: the OpenBao dev server named by
//! `BAO_TEST_ADDR` (token `BAO_TEST_TOKEN`, default `root`). Cofre speaks the same API, so
//! pointing `BAO_TEST_ADDR` at a Cofre dev server runs the same checks against it.
//!
//! Without `BAO_TEST_ADDR` each test prints a loud notice and passes. When it is set but the
//! server cannot be reached, the tests skip the same way, or fail under
//! `COFRE_REQUIRE_SERVICES=1`.
//!
//! ```text
//! BAO_TEST_ADDR=http://127.0.0.1:8200 cargo test -p cofre-client --test against_openbao
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use cofre_client::kv2::MetadataUpdate;
use cofre_client::sys::{MountConfigInput, MountRequest};
use cofre_client::token::CreateRequest;
use cofre_client::{Client, Error};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A client for the test server, or `None` (after saying why) when there is none.
async fn server() -> Option<Client> {
    let required = std::env::var("COFRE_REQUIRE_SERVICES").as_deref() == Ok("1");
    let skip = |why: String| {
        assert!(!required, "{why} (COFRE_REQUIRE_SERVICES=1)");
        eprintln!("\n!!!!! SKIPPING cofre-client integration test: {why} !!!!!\n");
        None
    };
    let Ok(address) = std::env::var("BAO_TEST_ADDR") else {
        eprintln!("\n!!!!! SKIPPING cofre-client integration test: BAO_TEST_ADDR is not set (e.g. http://127.0.0.1:8200) !!!!!\n");
        return None;
    };
    let token = std::env::var("BAO_TEST_TOKEN").unwrap_or_else(|_| "root".into());
    let client = Client::builder()
        .address(&address)
        .token(token)
        .build()
        .expect("BAO_TEST_ADDR is a valid URL");
    match client.sys().health().await {
        Ok(health) if health.initialized && !health.sealed => Some(client),
        Ok(health) => skip(format!("the server at {address} is not ready: {health:?}")),
        Err(e) => skip(format!("no server at {address}: {e}")),
    }
}

/// A name no other test run uses.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Db {
    username: String,
    password: String,
}

#[tokio::test]
async fn kv2_round_trip_with_versions_and_metadata() {
    let Some(client) = server().await else { return };
    let kv = client.kv2("secret");
    let path = unique("sdk-test/db");
    let first = Db {
        username: "app".into(),
        password: "one".into(),
    };
    let v1 = kv.put(&path, &first, Some(0)).await.unwrap();
    assert_eq!(v1.version, 1);
    let read: Option<Db> = kv.read(&path).await.unwrap();
    assert_eq!(read.as_ref(), Some(&first));

    let err = kv.put(&path, &first, Some(0)).await.unwrap_err();
    assert_eq!(
        err.status(),
        Some(400),
        "cas=0 on an existing secret: {err}"
    );

    let v2 = kv
        .patch(&path, &json!({"password": "two"}), None)
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    let latest: Db = kv.read(&path).await.unwrap().unwrap();
    assert_eq!(latest.password, "two");
    assert_eq!(latest.username, "app");
    let old: Db = kv.read_version(&path, 1).await.unwrap().unwrap();
    assert_eq!(old.password, "one");

    kv.delete(&path).await.unwrap();
    assert_eq!(kv.read::<Db>(&path).await.unwrap(), None);
    let deleted = kv
        .get(&path)
        .await
        .unwrap()
        .expect("metadata survives deletion");
    assert!(deleted.field("metadata").is_some());
    kv.undelete(&path, &[2]).await.unwrap();
    assert!(kv.read::<Db>(&path).await.unwrap().is_some());
    kv.destroy(&path, &[1]).await.unwrap();

    let update = MetadataUpdate {
        max_versions: Some(5),
        custom_metadata: Some([("owner".to_string(), "sdk".to_string())].into()),
        ..Default::default()
    };
    kv.write_metadata(&path, &update).await.unwrap();
    let meta = kv.read_metadata(&path).await.unwrap().unwrap();
    assert_eq!(meta.current_version, 2);
    assert_eq!(meta.max_versions, 5);
    assert!(meta.versions["1"].destroyed);
    assert_eq!(meta.custom_metadata.unwrap()["owner"], "sdk");

    let folder = path.rsplit_once('/').map(|(f, _)| f).unwrap_or_default();
    let keys = kv.list(folder).await.unwrap();
    let name = path.rsplit('/').next().unwrap_or_default();
    assert!(keys.iter().any(|k| k == name), "{keys:?}");

    kv.delete_metadata(&path).await.unwrap();
    assert!(kv.read_metadata(&path).await.unwrap().is_none());
    assert!(kv.list(&unique("sdk-test/none")).await.unwrap().is_empty());
}

#[tokio::test]
async fn generic_calls_and_not_found() {
    let Some(client) = server().await else { return };
    assert!(client
        .read(&format!("secret/data/{}", unique("missing")))
        .await
        .unwrap()
        .is_none());
    assert!(client
        .list(&format!("secret/metadata/{}/", unique("missing")))
        .await
        .unwrap()
        .is_none());
    let secret = client.read("sys/seal-status").await.unwrap().unwrap();
    assert_eq!(secret.field("initialized"), Some(&json!(true)));
    let err = client
        .with_token("not-a-token")
        .read("secret/data/x")
        .await
        .unwrap_err();
    match &err {
        Error::Api { status, errors, .. } => {
            assert_eq!(*status, 403);
            assert!(
                errors.iter().any(|e| e.contains("permission denied")),
                "{errors:?}"
            );
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert!(err.to_string().starts_with("Error making API request."));
}

#[tokio::test]
async fn sys_mounts_policies_and_seal_status() {
    let Some(client) = server().await else { return };
    let sys = client.sys();
    let status = sys.seal_status().await.unwrap();
    assert!(status.initialized && !status.sealed);
    assert!(sys.key_status().await.unwrap().term >= 1);

    let mount = unique("sdk-kv");
    let mut request = MountRequest::new("kv");
    request.description = "sdk test".into();
    request.options = Some([("version".to_string(), "2".to_string())].into());
    sys.enable_mount(&mount, &request).await.unwrap();
    let mounts = sys.mounts().await.unwrap();
    let info = &mounts[&format!("{mount}/")];
    assert_eq!(info.mount_type, "kv");
    assert_eq!(info.description, "sdk test");
    assert_eq!(
        info.options
            .as_ref()
            .and_then(|o| o.get("version"))
            .map(String::as_str),
        Some("2")
    );
    let tune = MountConfigInput {
        default_lease_ttl: Some("1h".into()),
        ..Default::default()
    };
    sys.tune_mount(&mount, &tune).await.unwrap();
    assert_eq!(
        sys.mount_tune(&mount).await.unwrap().default_lease_ttl,
        3600
    );
    sys.disable_mount(&mount).await.unwrap();
    assert!(!sys
        .mounts()
        .await
        .unwrap()
        .contains_key(&format!("{mount}/")));

    let name = unique("sdk-policy");
    let text = "path \"secret/data/sdk/*\" {\n  capabilities = [\"read\"]\n}\n";
    sys.write_policy(&name, text).await.unwrap();
    assert_eq!(sys.read_policy(&name).await.unwrap().as_deref(), Some(text));
    assert!(sys.list_policies().await.unwrap().contains(&name));
    sys.delete_policy(&name).await.unwrap();
    assert_eq!(sys.read_policy(&name).await.unwrap(), None);

    let caps = sys.capabilities_self("secret/data/anything").await.unwrap();
    assert_eq!(caps, vec!["root"]);
}

#[tokio::test]
async fn token_lifecycle() {
    let Some(client) = server().await else { return };
    let policy = unique("sdk-token-policy");
    client
        .sys()
        .write_policy(
            &policy,
            "path \"secret/data/sdk/*\" { capabilities = [\"read\"] }",
        )
        .await
        .unwrap();
    let request = CreateRequest {
        policies: vec![policy.clone()],
        ttl: Some("1h".into()),
        metadata: [("purpose".to_string(), "sdk-test".to_string())].into(),
        display_name: Some("sdk".into()),
        ..Default::default()
    };
    let created = client.token().create(&request).await.unwrap();
    let auth = created.auth.expect("create returns auth");
    assert!(auth.policies.unwrap_or_default().contains(&policy));
    assert_eq!(auth.lease_duration, 3600);

    let child = client.with_token(auth.client_token.clone());
    let me = child.token().lookup_self().await.unwrap();
    assert_eq!(
        me.field("accessor").and_then(|a| a.as_str()),
        Some(auth.accessor.as_str())
    );
    let by_accessor = client
        .token()
        .lookup_accessor(&auth.accessor)
        .await
        .unwrap();
    assert_eq!(by_accessor.field("display_name"), Some(&json!("token-sdk")));
    let caps = client
        .token()
        .capabilities(Some(&auth.client_token), "secret/data/sdk/x")
        .await
        .unwrap();
    assert_eq!(caps, vec!["read"]);
    let renewed = child.token().renew_self(Some("30m")).await.unwrap();
    assert!(renewed.auth.is_some());

    client.token().revoke(&auth.client_token).await.unwrap();
    let err = child.token().lookup_self().await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    client.sys().delete_policy(&policy).await.unwrap();
}
