//! Unit tests of the userpass engine on an in-memory barrier.

use serde_json::json;

use crate::auth::testutil::{auth_mount, login};
use crate::core::{Operation, RequestError};
use crate::engines::kv::testutil::data_of;

#[tokio::test]
async fn users_are_written_read_listed_and_deleted_without_showing_passwords() {
    let m = auth_mount("userpass").await;
    assert_eq!(
        m.exists(Operation::Update, "users/Alice").await,
        Some(false)
    );
    m.ok(
        Operation::Update,
        "users/Alice",
        json!({"password": "pw", "token_policies": "p,q", "token_ttl": "1h"}),
    )
    .await;
    assert_eq!(m.exists(Operation::Update, "users/alice").await, Some(true));
    let read = data_of(&m.ok(Operation::Read, "users/alice", json!({})).await);
    assert_eq!(read["token_policies"], json!(["p", "q"]));
    assert_eq!(read["token_ttl"], 3600);
    assert!(!read.to_string().contains("pw\""), "no password in {read}");
    assert!(read.get("password").is_none());
    let list = data_of(&m.ok(Operation::List, "users/", json!({})).await);
    assert_eq!(list, json!({"keys": ["alice"]}));
    m.ok(Operation::Update, "users/alice", json!({"token_ttl": "2h"}))
        .await;
    let read = data_of(&m.ok(Operation::Read, "users/alice", json!({})).await);
    assert_eq!(
        (read["token_ttl"].clone(), read["token_policies"].clone()),
        (json!(7200), json!(["p", "q"]))
    );
    assert!(
        login(&m, "login/alice", json!({"password": "pw"}), None)
            .await
            .is_ok(),
        "password kept on update"
    );
    m.ok(Operation::Delete, "users/alice", json!({})).await;
    assert!(matches!(
        m.call(Operation::Read, "users/alice", json!({})).await,
        Err(RequestError::NotFound)
    ));
}

#[tokio::test]
async fn logins_grant_the_users_token_fields() {
    let m = auth_mount("userpass").await;
    m.ok(
        Operation::Update,
        "users/bob",
        json!({"password": "s3cret", "policies": ["app"], "token_num_uses": 4}),
    )
    .await;
    let grant = login(
        &m,
        "login/BOB",
        json!({"password": "s3cret"}),
        Some("127.0.0.1"),
    )
    .await
    .expect("logs in");
    assert_eq!(grant.policies, vec!["app".to_string()]);
    assert_eq!(grant.num_uses, 4);
    assert_eq!(grant.display_name, "bob");
    assert_eq!(grant.metadata.get("username"), Some(&json!("bob")));
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_answer() {
    let m = auth_mount("userpass").await;
    m.ok(Operation::Update, "users/bob", json!({"password": "right"}))
        .await;
    for (path, body) in [
        ("login/bob", json!({"password": "wrong"})),
        ("login/nobody", json!({"password": "right"})),
    ] {
        match login(&m, path, body, None).await {
            Err(RequestError::InvalidRequest(msg)) => {
                assert_eq!(msg, "invalid username or password")
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    let missing = m.invalid(Operation::Update, "login/bob", json!({})).await;
    assert_eq!(missing, "missing password");
}

#[tokio::test]
async fn password_changes_and_bound_cidrs() {
    let m = auth_mount("userpass").await;
    m.ok(
        Operation::Update,
        "users/eve",
        json!({"password": "old", "token_bound_cidrs": "10.0.0.0/8"}),
    )
    .await;
    m.ok(
        Operation::Update,
        "users/eve/password",
        json!({"password": "new"}),
    )
    .await;
    assert!(login(
        &m,
        "login/eve",
        json!({"password": "old"}),
        Some("10.0.0.1")
    )
    .await
    .is_err());
    assert!(login(
        &m,
        "login/eve",
        json!({"password": "new"}),
        Some("10.0.0.1")
    )
    .await
    .is_ok());
    let outside = login(
        &m,
        "login/eve",
        json!({"password": "new"}),
        Some("192.168.0.1"),
    )
    .await;
    assert!(
        matches!(outside, Err(RequestError::PermissionDenied)),
        "{outside:?}"
    );
    let unknown = m
        .invalid(
            Operation::Update,
            "users/ghost/password",
            json!({"password": "x"}),
        )
        .await;
    assert_eq!(unknown, "username does not exist");
    let no_pw = m
        .invalid(
            Operation::Update,
            "users/newbie",
            json!({"token_ttl": "1h"}),
        )
        .await;
    assert_eq!(no_pw, "missing password");
    let bad_name = m
        .invalid(Operation::Update, "users/-x", json!({"password": "x"}))
        .await;
    assert!(bad_name.contains("invalid name"), "{bad_name}");
}

#[tokio::test]
async fn repeated_failures_lock_the_user_and_the_address_out_until_a_success() {
    use crate::auth::testutil::auth_mount_with_options;
    let m = auth_mount_with_options(
        "userpass",
        &[("lockout_threshold", "2"), ("lockout_duration", "1s")],
    )
    .await;
    m.ok(Operation::Update, "users/bob", json!({"password": "right"}))
        .await;
    m.ok(Operation::Update, "users/amy", json!({"password": "right"}))
        .await;
    let attempt = |user: &'static str, password: &'static str, addr: &'static str| {
        login(&m, user, json!({ "password": password }), Some(addr))
    };
    for _ in 0..2 {
        assert!(attempt("login/bob", "wrong", "10.0.0.1").await.is_err());
    }
    for (user, addr) in [("login/bob", "10.0.0.2"), ("login/amy", "10.0.0.1")] {
        match attempt(user, "right", addr).await {
            Err(RequestError::QuotaExceeded { retry_after, .. }) => assert_eq!(retry_after, 1),
            other => panic!("{user} from {addr}: expected a 429, got {other:?}"),
        }
    }
    assert!(attempt("login/amy", "right", "10.0.0.3").await.is_ok());
    // Unknown users are locked out alike.
    for _ in 0..2 {
        assert!(attempt("login/ghost", "x", "10.0.0.4").await.is_err());
    }
    assert!(matches!(
        attempt("login/ghost", "x", "10.0.0.5").await,
        Err(RequestError::QuotaExceeded { .. })
    ));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(attempt("login/bob", "right", "10.0.0.1").await.is_ok());
    assert!(attempt("login/bob", "wrong", "10.0.0.1").await.is_err());
    assert!(
        attempt("login/bob", "right", "10.0.0.1").await.is_ok(),
        "the success reset the count"
    );
}
