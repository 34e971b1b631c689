//! Unit tests of the approle engine on an in-memory barrier: roles, role IDs, secret-ID
//! generation, lookup, destruction, use counting (also under concurrent logins) and expiry.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::auth::testutil::{auth_mount, login};
use crate::core::{Operation, RequestError};
use crate::engines::kv::testutil::{data_of, TestMount};

async fn role_with(body: Value) -> (TestMount, String) {
    let m = auth_mount("approle").await;
    m.ok(Operation::Update, "role/ci", body).await;
    let role_id = data_of(&m.ok(Operation::Read, "role/ci/role-id", json!({})).await)["role_id"]
        .as_str()
        .map(str::to_string)
        .expect("a role has a role ID");
    (m, role_id)
}

async fn new_secret_id(m: &TestMount, body: Value) -> Value {
    data_of(&m.ok(Operation::Update, "role/ci/secret-id", body).await)
}

fn invalid(result: Result<crate::core::LoginGrant, RequestError>) -> String {
    match result {
        Err(RequestError::InvalidRequest(message)) => message,
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[tokio::test]
async fn roles_read_back_in_vaults_shape() {
    let (m, role_id) = role_with(
        json!({"token_policies": "deploy", "secret_id_ttl": "10m", "secret_id_num_uses": 2}),
    )
    .await;
    let read = data_of(&m.ok(Operation::Read, "role/ci", json!({})).await);
    assert_eq!(read["bind_secret_id"], true);
    assert_eq!(read["secret_id_ttl"], 600);
    assert_eq!(read["secret_id_num_uses"], 2);
    assert_eq!(read["secret_id_bound_cidrs"], Value::Null);
    assert_eq!(read["token_policies"], json!(["deploy"]));
    assert_eq!(read["token_type"], "default");
    assert_eq!(role_id.len(), 36);
    assert_eq!(
        data_of(&m.ok(Operation::List, "role/", json!({})).await),
        json!({"keys": ["ci"]})
    );
    let msg = m
        .invalid(
            Operation::Update,
            "role/open",
            json!({"bind_secret_id": false}),
        )
        .await;
    assert_eq!(msg, "at least one constraint should be enabled on the role");
    m.ok(Operation::Delete, "role/ci", json!({})).await;
    assert!(matches!(
        m.call(Operation::Read, "role/ci", json!({})).await,
        Err(RequestError::NotFound)
    ));
    let gone = login(
        &m,
        "login",
        json!({"role_id": role_id, "secret_id": "x"}),
        None,
    )
    .await;
    assert_eq!(invalid(gone), "invalid role or secret ID");
}

#[tokio::test]
async fn login_spends_uses_and_carries_metadata() {
    let (m, role_id) =
        role_with(json!({"token_policies": "deploy", "secret_id_num_uses": 2})).await;
    let generated = new_secret_id(&m, json!({"metadata": "{\"env\":\"prod\"}"})).await;
    assert_eq!(generated["secret_id_num_uses"], 2);
    let secret_id = generated["secret_id"]
        .as_str()
        .expect("a secret ID")
        .to_string();
    let body = json!({"role_id": role_id, "secret_id": secret_id});
    let grant = login(&m, "login", body.clone(), None)
        .await
        .expect("first use");
    assert_eq!(grant.policies, vec!["deploy".to_string()]);
    assert_eq!(
        Value::Object(grant.metadata),
        json!({"env": "prod", "role_name": "ci"})
    );
    let lookup = data_of(
        &m.ok(
            Operation::Update,
            "role/ci/secret-id/lookup",
            json!({"secret_id": secret_id}),
        )
        .await,
    );
    assert_eq!(lookup["secret_id_num_uses"], 1);
    assert_eq!(
        lookup["secret_id_accessor"],
        generated["secret_id_accessor"]
    );
    assert!(
        login(&m, "login", body.clone(), None).await.is_ok(),
        "second use"
    );
    assert_eq!(
        invalid(login(&m, "login", body, None).await),
        "invalid role or secret ID"
    );
    let gone = m
        .ok(
            Operation::Update,
            "role/ci/secret-id/lookup",
            json!({"secret_id": secret_id}),
        )
        .await;
    assert!(gone.data.is_none());
    let bad = json!({"role_id": role_id, "secret_id": "guess"});
    assert_eq!(
        invalid(login(&m, "login", bad, None).await),
        "invalid role or secret ID"
    );
    assert_eq!(
        invalid(login(&m, "login", json!({"role_id": role_id}), None).await),
        "missing secret_id"
    );
    assert_eq!(
        invalid(login(&m, "login", json!({}), None).await),
        "missing role_id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_single_use_secret_id_logs_in_once_under_concurrency() {
    let (m, role_id) = role_with(json!({"secret_id_num_uses": 1})).await;
    let secret_id = new_secret_id(&m, json!({})).await["secret_id"].clone();
    let m = Arc::new(m);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let m = m.clone();
            let body = json!({"role_id": role_id, "secret_id": secret_id});
            tokio::spawn(async move { login(&m, "login", body, None).await.is_ok() })
        })
        .collect();
    let mut successes = 0;
    for task in tasks {
        successes += usize::from(task.await.expect("login task finishes"));
    }
    assert_eq!(successes, 1);
}

#[tokio::test]
async fn expired_secret_ids_are_refused() {
    let (m, role_id) = role_with(json!({})).await;
    let secret_id = new_secret_id(&m, json!({"ttl": "1s"})).await["secret_id"].clone();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let body = json!({"role_id": role_id, "secret_id": secret_id});
    assert_eq!(
        invalid(login(&m, "login", body, None).await),
        "invalid role or secret ID"
    );
    assert!(matches!(
        m.call(Operation::List, "role/ci/secret-id", json!({}))
            .await,
        Err(RequestError::NotFound)
    ));
}

#[tokio::test]
async fn custom_ids_accessors_and_destruction() {
    let (m, _) = role_with(json!({"secret_id_ttl": "1h"})).await;
    m.ok(
        Operation::Update,
        "role/ci/role-id",
        json!({"role_id": "my-role"}),
    )
    .await;
    let custom = new_secret_id_at(
        &m,
        "role/ci/custom-secret-id",
        json!({"secret_id": "s3cret"}),
    )
    .await;
    assert_eq!(custom["secret_id"], "s3cret");
    assert_eq!(custom["secret_id_ttl"], 3600);
    let again = m
        .invalid(
            Operation::Update,
            "role/ci/custom-secret-id",
            json!({"secret_id": "s3cret"}),
        )
        .await;
    assert_eq!(again, "SecretID is already registered");
    let accessor = custom["secret_id_accessor"].clone();
    let listed = data_of(&m.ok(Operation::List, "role/ci/secret-id/", json!({})).await);
    assert_eq!(listed, json!({"keys": [accessor]}));
    let by_accessor = json!({"secret_id_accessor": accessor});
    let looked = data_of(
        &m.ok(
            Operation::Update,
            "role/ci/secret-id-accessor/lookup",
            by_accessor.clone(),
        )
        .await,
    );
    assert_eq!(looked["secret_id_ttl"], 3600);
    let grant = login(
        &m,
        "login",
        json!({"role_id": "my-role", "secret_id": "s3cret"}),
        None,
    )
    .await;
    assert!(
        grant.is_ok(),
        "custom role ID and secret ID log in: {grant:?}"
    );
    m.ok(
        Operation::Update,
        "role/ci/secret-id-accessor/destroy",
        by_accessor.clone(),
    )
    .await;
    let missing = m
        .invalid(
            Operation::Update,
            "role/ci/secret-id-accessor/lookup",
            by_accessor,
        )
        .await;
    assert!(
        missing.contains("failed to find accessor entry"),
        "{missing}"
    );
    let long = m
        .invalid(Operation::Update, "role/ci/secret-id", json!({"ttl": "2h"}))
        .await;
    assert_eq!(long, "ttl cannot be longer than the role's secret_id_ttl");
    let meta = m
        .invalid(
            Operation::Update,
            "role/ci/secret-id",
            json!({"metadata": "nope"}),
        )
        .await;
    assert!(meta.starts_with("failed to parse metadata"), "{meta}");
    let stored: Vec<String> = m.ctx.storage.list("secret_id/ci/").await.expect("lists");
    assert!(stored.iter().all(|k| !k.contains("s3cret")));
}

#[tokio::test]
async fn address_bindings_are_enforced() {
    let (m, role_id) = role_with(
        json!({"secret_id_bound_cidrs": "10.0.0.0/8", "token_bound_cidrs": "10.1.0.0/16"}),
    )
    .await;
    let secret_id =
        new_secret_id(&m, json!({"cidr_list": "10.1.2.0/24"})).await["secret_id"].clone();
    let body = json!({"role_id": role_id, "secret_id": secret_id});
    let outside_role = invalid(login(&m, "login", body.clone(), Some("192.168.1.1")).await);
    assert!(
        outside_role.contains("CIDR restrictions on the role"),
        "{outside_role}"
    );
    let outside_token = login(&m, "login", body.clone(), Some("10.2.0.1")).await;
    assert!(
        matches!(outside_token, Err(RequestError::PermissionDenied)),
        "{outside_token:?}"
    );
    let outside_secret = invalid(login(&m, "login", body.clone(), Some("10.1.9.9")).await);
    assert!(
        outside_secret.contains("CIDR restrictions on the secret ID"),
        "{outside_secret}"
    );
    assert!(login(&m, "login", body, Some("10.1.2.3")).await.is_ok());
    let wider = m
        .invalid(
            Operation::Update,
            "role/ci/secret-id",
            json!({"cidr_list": "0.0.0.0/0"}),
        )
        .await;
    assert!(
        wider.contains("failed to verify the CIDR restrictions"),
        "{wider}"
    );
}

async fn new_secret_id_at(m: &TestMount, path: &str, body: Value) -> Value {
    data_of(&m.ok(Operation::Update, path, body).await)
}

#[tokio::test]
async fn tidy_removes_expired_secret_ids_their_accessors_and_dangling_accessors() {
    use super::secret_id::{AccessorEntry, SecretIdEntry};
    let (m, _) = role_with(json!({"secret_id_ttl": "1h"})).await;
    let expired = new_secret_id(&m, json!({})).await;
    let live = new_secret_id(&m, json!({})).await;
    let storage = &m.ctx.storage;
    let hashes: Vec<String> = storage.list("secret_id/ci/").await.expect("lists");
    assert_eq!(hashes.len(), 2);
    let mut expired_hash = String::new();
    for hash in &hashes {
        let key = format!("secret_id/ci/{hash}");
        let mut entry: SecretIdEntry = storage.get_json(&key).await.expect("reads").expect("entry");
        if entry.accessor == expired["secret_id_accessor"] {
            entry.expires_at = 1;
            storage.put_json(&key, &entry).await.expect("writes");
            expired_hash = hash.clone();
        }
    }
    let dangling = AccessorEntry {
        role_name: "ci".into(),
        secret_id_hash: "gone".into(),
    };
    storage
        .put_json("accessor/dangling", &dangling)
        .await
        .expect("writes");
    assert_eq!(storage.list("accessor/").await.expect("lists").len(), 3);

    let resp = m
        .call(Operation::Update, "tidy/secret-id", json!({}))
        .await
        .expect("tidy starts");
    assert_eq!(resp.status, Some(202));
    assert!(resp.warnings[0].starts_with("Tidy operation successfully started"));
    for _ in 0..100 {
        if storage.list("accessor/").await.expect("lists").len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(storage.list("accessor/").await.expect("lists").len(), 1);
    let left: Vec<String> = storage.list("secret_id/ci/").await.expect("lists");
    assert!(!left.contains(&expired_hash) && left.len() == 1, "{left:?}");
    let lookup = m
        .ok(
            Operation::Update,
            "role/ci/secret-id-accessor/lookup",
            json!({"secret_id_accessor": live["secret_id_accessor"]}),
        )
        .await;
    assert_eq!(
        data_of(&lookup)["secret_id_accessor"],
        live["secret_id_accessor"]
    );
}
