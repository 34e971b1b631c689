//! Tests of the expiration manager through the real request pipeline, with a recording
//! engine mounted at `dyn/` that issues leased secrets (the database engine's own tests
//! cover real databases).

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::core::testutil::fixture;
use crate::core::{Operation, RequestError};

#[tokio::test]
async fn issue_lookup_renew_revoke() {
    let f = fixture().await;
    let id = f.issue("root", 30).await;
    assert!(
        id.starts_with("dyn/creds/30/") && id.len() == "dyn/creds/30/".len() + 24,
        "{id}"
    );
    let data = f.lookup(&id).await.unwrap();
    assert_eq!(data["path"], "dyn/creds/30");
    assert_eq!(data["renewable"], true);
    assert_eq!(data["last_renewal"], Value::Null);
    assert!((29..=30).contains(&data["ttl"].as_u64().unwrap()));

    let renewed = f
        .call(
            "root",
            Operation::Update,
            "sys/leases/renew",
            json!({"lease_id": id, "increment": "50s"}),
        )
        .await
        .unwrap();
    assert_eq!(renewed.lease.as_ref().unwrap().ttl_seconds, 50);
    assert!(renewed.warnings.is_empty());
    let capped = f
        .call(
            "root",
            Operation::Update,
            &format!("sys/leases/renew/{id}"),
            json!({"increment": 1000}),
        )
        .await
        .unwrap();
    let ttl = capped.lease.as_ref().unwrap().ttl_seconds;
    assert!(
        (99..=100).contains(&ttl),
        "capped at max_ttl 100, got {ttl}"
    );
    assert!(
        capped.warnings[0].contains("exceeded the effective max_ttl"),
        "{:?}",
        capped.warnings
    );
    assert_eq!(f.engine.renewed.lock().unwrap().len(), 2);
    assert_ne!(f.lookup(&id).await.unwrap()["last_renewal"], Value::Null);

    f.call(
        "root",
        Operation::Update,
        "sys/leases/revoke",
        json!({"lease_id": id}),
    )
    .await
    .unwrap();
    assert_eq!(f.revoked(), vec!["user1"]);
    assert!(
        matches!(f.lookup(&id).await, Err(RequestError::InvalidRequest(m)) if m == "invalid lease")
    );
    assert!(matches!(
        f.call("root", Operation::Update, "sys/leases/renew", json!({"lease_id": id})).await,
        Err(RequestError::InvalidRequest(m)) if m == "lease not found"
    ));
    assert!(matches!(
        f.call("root", Operation::Update, "sys/leases/lookup", json!({})).await,
        Err(RequestError::InvalidRequest(m)) if m == "lease_id must be specified"
    ));
}

#[tokio::test]
async fn expired_leases_are_revoked_by_the_sweeper() {
    let f = fixture().await;
    let short = f.issue("root", 1).await;
    let long = f.issue("root", 60).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    f.unsealed.sweep_due_leases().await.unwrap();
    assert_eq!(f.revoked(), vec!["user1"]);
    assert!(f.lookup(&short).await.is_err());
    assert!(f.lookup(&long).await.is_ok());
}

#[tokio::test]
async fn failed_revocations_stay_visible_and_are_retried() {
    let f = fixture().await;
    let id = f.issue("root", 60).await;
    f.engine.failing.store(true, Ordering::SeqCst);
    let err = f
        .call(
            "root",
            Operation::Update,
            "sys/leases/revoke",
            json!({"lease_id": id}),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("retried with backoff"), "{err}");
    let data = f.lookup(&id).await.unwrap();
    assert_eq!(data["revocation"]["attempts"], 1);
    assert_eq!(data["revocation"]["last_error"], "database unreachable");
    assert_eq!(
        f.unsealed
            .lease_metrics
            .revocation_failures
            .load(Ordering::Relaxed),
        1
    );

    f.engine.failing.store(false, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    f.unsealed.sweep_due_leases().await.unwrap();
    assert_eq!(f.revoked(), vec!["user1"]);
    assert!(f.lookup(&id).await.is_err(), "revoked on retry");
}

#[tokio::test]
async fn revoking_a_token_revokes_its_leases_and_its_childrens() {
    let f = fixture().await;
    let parent = f.create_token("root", json!({"policies": ["root"]})).await;
    let child = f.create_token(&parent, json!({})).await;
    let a = f.issue(&parent, 60).await;
    let b = f.issue(&child, 60).await;
    let keep = f.issue("root", 60).await;
    f.call(
        &parent,
        Operation::Update,
        "auth/token/revoke-self",
        Value::Null,
    )
    .await
    .unwrap();
    let mut revoked = f.revoked();
    revoked.sort();
    assert_eq!(revoked, vec!["user1", "user2"]);
    assert!(f.lookup(&a).await.is_err() && f.lookup(&b).await.is_err());
    assert!(f.lookup(&keep).await.is_ok());
}

#[tokio::test]
async fn prefix_revocation_force_and_counts() {
    let f = fixture().await;
    for ttl in [10, 10, 20] {
        f.issue("root", ttl).await;
    }
    let count = f
        .call("root", Operation::Read, "sys/leases/count", Value::Null)
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(count["lease_count"], 3);
    assert_eq!(count["counts"]["dyn/"], 3);
    assert_eq!(count["counts_by_path"]["dyn/creds/10"], 2);
    let keys = f
        .call(
            "root",
            Operation::List,
            "sys/leases/lookup/dyn/creds/",
            Value::Null,
        )
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(keys["keys"], json!(["10/", "20/"]));

    f.call(
        "root",
        Operation::Update,
        "sys/leases/revoke-prefix/dyn/creds/10",
        Value::Null,
    )
    .await
    .unwrap();
    assert_eq!(f.revoked().len(), 2);
    let forced = f
        .call(
            "root",
            Operation::Update,
            "sys/leases/revoke-force/dyn/",
            Value::Null,
        )
        .await
        .unwrap();
    assert_eq!(f.revoked().len(), 2, "force does not call the engine");
    assert!(
        forced.warnings[0].contains("without revoking"),
        "{:?}",
        forced.warnings
    );
    assert!(matches!(
        f.call(
            "root",
            Operation::List,
            "sys/leases/lookup/dyn/",
            Value::Null
        )
        .await,
        Err(RequestError::NotFound)
    ));
    assert!(matches!(
        f.call(
            "root",
            Operation::Update,
            "sys/leases/revoke-prefix/",
            Value::Null
        )
        .await,
        Err(RequestError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn prefix_revocation_needs_sudo() {
    let f = fixture().await;
    f.call(
        "root",
        Operation::Update,
        "sys/policies/acl/leases",
        json!({
            "policy": "path \"sys/leases/*\" { capabilities = [\"update\", \"list\"] }"
        }),
    )
    .await
    .unwrap();
    let token = f
        .create_token("root", json!({"policies": ["leases"]}))
        .await;
    for path in [
        "sys/leases/revoke-prefix/dyn",
        "sys/leases/revoke-force/dyn",
    ] {
        assert!(matches!(
            f.call(&token, Operation::Update, path, Value::Null).await,
            Err(RequestError::PermissionDenied)
        ));
    }
    assert!(matches!(
        f.call(
            &token,
            Operation::List,
            "sys/leases/lookup/dyn/",
            Value::Null
        )
        .await,
        Err(RequestError::PermissionDenied)
    ));
    assert!(matches!(
        f.call(
            &token,
            Operation::Update,
            "sys/leases/lookup",
            json!({"lease_id": "x/y"})
        )
        .await,
        Err(RequestError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn the_legacy_paths_renew_and_revoke_as_vault_keeps_them() {
    let f = fixture().await;
    let a = f.issue("root", 30).await;
    let b = f.issue("root", 30).await;
    let renewed = f
        .call(
            "root",
            Operation::Update,
            &format!("sys/renew/{a}"),
            json!({"increment": 40}),
        )
        .await
        .unwrap();
    assert_eq!(renewed.lease.as_ref().unwrap().ttl_seconds, 40);
    f.call(
        "root",
        Operation::Update,
        "sys/revoke",
        json!({"lease_id": a}),
    )
    .await
    .unwrap();
    assert_eq!(f.revoked(), vec!["user1"]);
    f.call(
        "root",
        Operation::Update,
        "sys/revoke-prefix/dyn/creds",
        Value::Null,
    )
    .await
    .unwrap();
    assert_eq!(f.revoked(), vec!["user1", "user2"]);
    assert!(f.lookup(&b).await.is_err());
}

#[tokio::test]
async fn tidy_revokes_leases_whose_token_is_gone() {
    let f = fixture().await;
    let token = f.create_token("root", json!({"policies": ["root"]})).await;
    let orphaned = f.issue(&token, 60).await;
    let kept = f.issue("root", 60).await;
    // The token disappears without its leases (as after a crash between the two).
    let entry = f
        .unsealed
        .tokens
        .get_by_hash(&f.unsealed.tokens.hash(&token))
        .await
        .unwrap()
        .unwrap();
    f.unsealed.tokens.remove(&entry).await.unwrap();

    let started = f
        .call("root", Operation::Update, "sys/leases/tidy", Value::Null)
        .await
        .unwrap();
    assert_eq!(started.status, Some(202));
    let (_, revoked) = f.unsealed.tidy_leases().await.unwrap();
    assert!(revoked <= 1, "the background tidy may have got there first");
    for _ in 0..50 {
        if f.lookup(&orphaned).await.is_err() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        f.lookup(&orphaned).await.is_err(),
        "the orphaned lease is revoked"
    );
    assert_eq!(f.revoked(), vec!["user1"]);
    assert!(
        f.lookup(&kept).await.is_ok(),
        "the root token's lease stays"
    );
}
