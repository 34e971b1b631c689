//! Tests of resource quotas: token-bucket arithmetic with injected time, most-specific rule
//! selection, blocking, pruning, lease-count reservations, and both quotas through the real
//! request pipeline (the recording engine at `dyn/` issues the leases).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::*;
use crate::core::testutil::{fixture, Fixture};
use crate::core::{Operation, Request, Response};
use crate::leases::LeaseStore;

fn rule(name: &str, path: &str, rate: f64, interval: u64) -> RateLimitRule {
    RateLimitRule {
        name: name.into(),
        path: path.into(),
        role: String::new(),
        rate,
        interval,
        block_interval: 0,
        inheritable: false,
    }
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn bucket_spends_its_rate_then_refills_over_the_interval() {
    let r = rule("rl", "secret/", 2.0, 10);
    let t0 = Instant::now();
    let mut b = Bucket::full(&r, t0);
    assert!(b.take(&r, t0).is_ok());
    assert!(b.take(&r, t0).is_ok());
    // Two tokens per 10 s: the next one is back after 5 s.
    assert_eq!(b.take(&r, t0), Err(secs(5.0)));
    assert_eq!(
        b.take(&r, t0 + secs(4.0)).map_err(retry_after_seconds),
        Err(1)
    );
    assert!(b.take(&r, t0 + secs(5.0)).is_ok());
    assert!(b.take(&r, t0 + secs(5.0)).is_err());
    // A long pause refills to the rate, never beyond it.
    let later = t0 + secs(1000.0);
    assert!(b.take(&r, later).is_ok() && b.take(&r, later).is_ok());
    assert!(b.take(&r, later).is_err());
}

#[test]
fn retry_after_rounds_up_to_whole_seconds() {
    assert_eq!(retry_after_seconds(secs(0.0)), 1);
    assert_eq!(retry_after_seconds(secs(0.2)), 1);
    assert_eq!(retry_after_seconds(secs(1.0)), 1);
    assert_eq!(retry_after_seconds(secs(1.001)), 2);
    assert_eq!(retry_after_seconds(secs(9.5)), 10);
}

#[test]
fn fractional_rates_let_one_request_through() {
    let r = rule("slow", "", 0.5, 60);
    let t0 = Instant::now();
    let mut b = Bucket::full(&r, t0);
    assert!(b.take(&r, t0).is_ok());
    assert_eq!(
        b.take(&r, t0),
        Err(secs(120.0)),
        "0.5 per minute: one per 2 min"
    );
}

#[test]
fn block_interval_refuses_for_its_whole_length() {
    let mut r = rule("rl", "secret/", 1.0, 1);
    r.block_interval = 30;
    let t0 = Instant::now();
    let mut b = Bucket::full(&r, t0);
    assert!(b.take(&r, t0).is_ok());
    assert_eq!(b.take(&r, t0), Err(secs(30.0)));
    // Tokens are back after 1 s, but the client stays blocked.
    assert_eq!(b.take(&r, t0 + secs(10.0)), Err(secs(20.0)));
    assert!(b.take(&r, t0 + secs(30.0)).is_ok());
}

#[test]
fn the_most_specific_rule_applies() {
    let rules = vec![
        rule("global", "", 100.0, 1),
        rule("mount", "database/", 10.0, 1),
        rule("creds", "database/creds/ro", 2.0, 1),
    ];
    let pick = |path: &str| most_specific(&rules, path, None).map(|r| r.name.as_str());
    assert_eq!(pick("database/creds/ro"), Some("creds"));
    assert_eq!(pick("database/creds/ro/extra"), Some("creds"));
    assert_eq!(
        pick("database/creds/rotate"),
        Some("mount"),
        "segments, not bytes"
    );
    assert_eq!(pick("database/config/x"), Some("mount"));
    assert_eq!(pick("database"), Some("mount"));
    assert_eq!(pick("secret/data/x"), Some("global"));
    assert_eq!(most_specific(&rules[1..], "secret/data/x", None), None);
}

#[test]
fn a_role_rule_applies_only_to_logins_with_that_role() {
    let mut by_role = rule("role", "auth/approle/", 1.0, 1);
    by_role.role = "web".into();
    let rules = vec![rule("mount", "auth/approle/", 5.0, 1), by_role];
    let pick = |role| most_specific(&rules, "auth/approle/login", role).map(|r| r.name.clone());
    assert_eq!(pick(Some("web")).as_deref(), Some("role"));
    assert_eq!(pick(Some("db")).as_deref(), Some("mount"));
    assert_eq!(pick(None).as_deref(), Some("mount"));
}

#[test]
fn exempt_paths_match_exactly_or_by_star_prefix() {
    assert!(exempt("sys/health", "sys/health"));
    assert!(exempt("sys/health", "/sys/health/"));
    assert!(!exempt("sys/healthy", "sys/health"));
    assert!(exempt("sys/generate-root/attempt", "sys/generate-root/*"));
}

#[test]
fn idle_buckets_are_pruned_and_gone_rules_forgotten() {
    let r = rule("rl", "", 2.0, 10);
    let other = rule("other", "", 2.0, 10);
    let rules = vec![r.clone(), other.clone()];
    let t0 = Instant::now();
    let mut buckets = Buckets::default();
    assert!(buckets.take(&r, &rules, ip(1), t0).is_ok());
    assert!(buckets.take(&r, &rules, ip(2), t0).is_ok());
    assert!(buckets.take(&other, &rules, ip(1), t0).is_ok());
    buckets.prune(&rules, t0 + secs(1.0));
    assert_eq!(buckets.len(), 3, "half-spent buckets are kept");
    buckets.prune(&rules, t0 + secs(5.0));
    assert!(buckets.is_empty(), "full again = same as new");

    assert!(buckets.take(&r, &rules, ip(1), t0).is_ok());
    assert!(buckets.take(&other, &rules, ip(1), t0).is_ok());
    buckets.prune(&rules[1..], t0);
    assert_eq!(buckets.len(), 1, "the deleted rule's buckets go");
    buckets.forget("other");
    assert!(buckets.is_empty());
}

#[test]
fn the_bucket_map_stays_bounded_under_many_clients() {
    let r = rule("rl", "", 1.0, 3600);
    let rules = vec![r.clone()];
    let t0 = Instant::now();
    let mut buckets = Buckets::default();
    for n in 0..3000u32 {
        let client = IpAddr::V4(Ipv4Addr::from(n));
        // Spread over time: the early clients' buckets are full again by the end.
        let now = t0 + secs(f64::from(n) * 2.0);
        assert!(buckets.take(&r, &rules, client, now).is_ok());
    }
    assert!(
        buckets.len() < 3000,
        "idle buckets were pruned: {}",
        buckets.len()
    );
}

#[test]
fn busy_clients_beyond_the_cap_evict_those_closest_to_full() {
    let r = rule("rl", "", 10.0, 3600);
    let rules = vec![r.clone()];
    let t0 = Instant::now();
    let mut buckets = Buckets::default();
    for n in 0..=(MAX_BUCKETS as u32) {
        assert!(buckets
            .take(&r, &rules, IpAddr::V4(Ipv4Addr::from(n)), t0)
            .is_ok());
    }
    assert!(buckets.len() <= MAX_BUCKETS, "{}", buckets.len());
}

async fn quotas() -> (Quotas, LeaseStore, StorageView) {
    let barrier = crate::barrier::in_memory_for_tests().await;
    let view = StorageView::new(barrier.clone(), "sys/quotas/");
    let quotas = Quotas::load(view.clone()).await.unwrap();
    let leases = LeaseStore::new(StorageView::new(barrier, "sys/expire/"));
    (quotas, leases, view)
}

#[tokio::test]
async fn without_rules_every_check_passes_and_rules_survive_reload() {
    let (q, leases, view) = quotas().await;
    let now = Instant::now();
    for _ in 0..100 {
        assert!(q
            .check_rate_limit_at("secret/x", None, Some(ip(1)), now)
            .is_ok());
    }
    assert!(reserve(&q, &leases, "db/creds/ro").await.unwrap().is_none());

    q.put_rate_limit(rule("rl", "secret/", 1.0, 60))
        .await
        .unwrap();
    q.put_config(QuotaConfig {
        enable_rate_limit_audit_logging: true,
        ..QuotaConfig::default()
    })
    .await
    .unwrap();
    assert!(q
        .check_rate_limit_at("secret/x", None, Some(ip(1)), now)
        .is_ok());
    let err = q.check_rate_limit_at("secret/x", None, Some(ip(1)), now);
    assert!(
        matches!(&err, Err(RequestError::QuotaExceeded { message, retry_after: 60 })
            if message == "request path \"secret/x\": rate limit quota exceeded"),
        "{err:?}"
    );
    assert!(
        q.check_rate_limit_at("secret/x", None, Some(ip(2)), now)
            .is_ok(),
        "per client"
    );
    assert!(q
        .check_rate_limit_at("sys/health", None, Some(ip(1)), now)
        .is_ok());

    let reloaded = Quotas::load(view).await.unwrap();
    assert_eq!(reloaded.rate_limits(), q.rate_limits());
    assert!(reloaded.config().enable_rate_limit_audit_logging);
    q.delete_rate_limit("rl").await.unwrap();
    assert!(q
        .check_rate_limit_at("secret/x", None, Some(ip(1)), now)
        .is_ok());
}

#[tokio::test]
async fn lease_reservations_count_against_the_quota_until_dropped() {
    let (q, leases, _) = quotas().await;
    q.put_lease_count(LeaseCountRule {
        name: "lc".into(),
        path: "db/creds/ro".into(),
        role: String::new(),
        max_leases: 2,
        inheritable: false,
    })
    .await
    .unwrap();
    let first = reserve(&q, &leases, "db/creds/ro").await.unwrap();
    let second = reserve(&q, &leases, "db/creds/ro").await.unwrap();
    assert!(first.is_some() && second.is_some());
    let third = reserve(&q, &leases, "db/creds/ro").await;
    assert!(
        matches!(&third, Err(RequestError::QuotaExceeded { message, retry_after: 1 })
            if message == "request path \"db/creds/ro\": lease count quota exceeded"),
        "two requests in flight fill the quota"
    );
    assert!(reserve(&q, &leases, "db/creds/rw").await.unwrap().is_none());
    drop(first);
    assert!(reserve(&q, &leases, "db/creds/ro").await.unwrap().is_some());
}

fn request(op: Operation, path: &str, data: Value, client: u8) -> Request {
    let data: Map<String, Value> = match data {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut req = Request::new(op, path).with_data(data).with_token("root");
    req.remote_addr = Some(ip(client));
    req
}

async fn sys(
    f: &Fixture,
    op: Operation,
    path: &str,
    data: Value,
) -> Result<Response, RequestError> {
    f.core.handle(request(op, path, data, 99)).await
}

#[tokio::test]
async fn rate_limits_apply_in_the_pipeline_before_authentication() {
    let f = fixture().await;
    sys(
        &f,
        Operation::Update,
        "sys/quotas/rate-limit/rl",
        json!({"path": "dyn/", "rate": 2, "interval": "10s"}),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        assert!(f
            .core
            .handle(request(Operation::Read, "dyn/creds/60", Value::Null, 1))
            .await
            .is_ok());
    }
    let mut bad_token = request(Operation::Read, "dyn/creds/60", Value::Null, 1);
    bad_token.client_token = Some("nope".into());
    let refused = f.core.handle(bad_token).await;
    assert!(
        matches!(&refused, Err(RequestError::QuotaExceeded { message, retry_after: 5 })
            if message == "request path \"dyn/creds/60\": rate limit quota exceeded"),
        "{refused:?}"
    );
    assert!(f
        .core
        .handle(request(Operation::Read, "dyn/creds/60", Value::Null, 2))
        .await
        .is_ok());
    assert!(
        sys(&f, Operation::Read, "sys/quotas/rate-limit/rl", Value::Null)
            .await
            .is_ok()
    );
    sys(
        &f,
        Operation::Delete,
        "sys/quotas/rate-limit/rl",
        Value::Null,
    )
    .await
    .unwrap();
    assert!(f
        .core
        .handle(request(Operation::Read, "dyn/creds/60", Value::Null, 1))
        .await
        .is_ok());
}

#[tokio::test]
async fn lease_count_quota_refuses_new_leases_until_one_is_revoked() {
    let f = fixture().await;
    sys(
        &f,
        Operation::Update,
        "sys/quotas/lease-count/lc",
        json!({"path": "dyn/creds/60", "max_leases": 2}),
    )
    .await
    .unwrap();
    let first = f.issue("root", 60).await;
    f.issue("root", 60).await;
    let refused = f
        .call("root", Operation::Read, "dyn/creds/60", Value::Null)
        .await;
    assert!(
        matches!(&refused, Err(RequestError::QuotaExceeded { message, .. })
            if message == "request path \"dyn/creds/60\": lease count quota exceeded"),
        "{refused:?}"
    );
    assert_eq!(f.engine.revoked.lock().unwrap().len(), 0);
    f.issue("root", 30).await; // another path under the mount is not covered
    let read = sys(
        &f,
        Operation::Read,
        "sys/quotas/lease-count/lc",
        Value::Null,
    )
    .await
    .unwrap();
    let data = read.data.unwrap_or_default();
    assert_eq!(
        (data["counts"].clone(), data["max_leases"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(data["type"], "lease-count");

    sys(
        &f,
        Operation::Update,
        "sys/leases/revoke",
        json!({"lease_id": first}),
    )
    .await
    .unwrap();
    f.issue("root", 60).await;
}

#[tokio::test]
async fn rules_are_validated_like_openbao() {
    let f = fixture().await;
    let write = |path: &'static str, body: Value| sys(&f, Operation::Update, path, body);
    let message = |r: Result<Response, RequestError>| match r {
        Err(RequestError::InvalidRequest(m)) => m,
        other => format!("not a 400: {:?}", other.map(|r| r.data)),
    };
    assert_eq!(
        message(
            write(
                "sys/quotas/rate-limit/a",
                json!({"path": "nomount/", "rate": 1})
            )
            .await
        ),
        "invalid mount path \"nomount/\""
    );
    assert_eq!(
        message(write("sys/quotas/rate-limit/a", json!({"rate": 0})).await),
        "'rate' is invalid"
    );
    assert!(
        message(write("sys/quotas/rate-limit/a", json!({"rate": 1, "bogus": 1})).await)
            .contains("\"bogus\"")
    );
    assert!(message(
        write(
            "sys/quotas/rate-limit/a",
            json!({"rate": 1, "interval": "xx"})
        )
        .await
    )
    .contains("\"interval\""));
    assert!(message(
        write(
            "sys/quotas/rate-limit/a",
            json!({"path": "dyn/", "rate": 1, "role": "r"})
        )
        .await
    )
    .contains("not a valid auth method"));
    assert_eq!(
        message(write("sys/quotas/lease-count/a", json!({"path": "dyn"})).await),
        "'max_leases' is invalid"
    );

    write(
        "sys/quotas/rate-limit/a",
        json!({"path": "dyn", "rate": 1.5}),
    )
    .await
    .unwrap();
    assert_eq!(
        message(
            write(
                "sys/quotas/rate-limit/b",
                json!({"path": "dyn/", "rate": 3})
            )
            .await
        ),
        "quota rule with similar properties exists under the name \"a\""
    );
    let read = sys(&f, Operation::Read, "sys/quotas/rate-limit/a", Value::Null)
        .await
        .unwrap();
    assert_eq!(
        Value::Object(read.data.unwrap_or_default()),
        json!({"block_interval": 0, "inheritable": false, "interval": 1, "name": "a",
               "path": "dyn/", "rate": 1.5, "role": "", "type": "rate-limit"})
    );
}

/// A reservation counting the lease store's live leases, as the pipeline does for engines.
async fn reserve(
    q: &Quotas,
    leases: &LeaseStore,
    path: &str,
) -> Result<Option<Reservation>, RequestError> {
    q.reserve_lease(
        path,
        None,
        |p, _| async move { leases.count_under(&p).await },
    )
    .await
}
