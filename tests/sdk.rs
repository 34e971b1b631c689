//! The SDK against a real server: logins through `client.auth()`, the lifetime watcher
//! renewing a short-lived token until its max TTL caps it and then re-authenticating,
//! the watcher on a PostgreSQL lease from `client.database()` (skipped loudly without
//! PostgreSQL unless COFRE_REQUIRE_SERVICES=1), and retries: a rate-limited read waits
//! for `Retry-After` and succeeds, while writes and a no-retry client get the 429.

mod common;

use std::time::{Duration, Instant};

use cofre_client::database::{ConnectionConfig, Credentials, Role};
use cofre_client::watcher::{Event, Lifetime, Watcher};
use cofre_client::{Client, RetryPolicy};
use common::TestServer;
use serde_json::json;
use sqlx::{Connection, Executor};
use tokio::sync::mpsc::UnboundedReceiver;

fn client(server: &TestServer) -> Client {
    Client::builder()
        .address(&server.api.addr)
        .token(&server.api.token)
        .build()
        .expect("a client")
}

/// The next event within `seconds`.
async fn next(events: &mut UnboundedReceiver<Event>, seconds: u64) -> Event {
    tokio::time::timeout(Duration::from_secs(seconds), events.recv())
        .await
        .expect("an event in time")
        .expect("the watcher is running")
}

#[tokio::test]
async fn userpass_login_returns_a_client_with_the_new_token() {
    let server = TestServer::start().await;
    let api = &server.api;
    assert_eq!(
        api.post("sys/auth/userpass", json!({"type": "userpass"}))
            .await
            .0,
        204
    );
    api.post("auth/userpass/users/bob", json!({"password": "hunter2"}))
        .await;
    let root = client(&server);
    let login = root
        .auth()
        .userpass("")
        .login("bob", "hunter2")
        .await
        .expect("login");
    assert_eq!(
        login.client.client_token(),
        Some(login.auth.client_token.as_str())
    );
    assert_eq!(
        root.client_token(),
        Some(api.token.as_str()),
        "the original is unchanged"
    );
    let me = login
        .client
        .token()
        .lookup_self()
        .await
        .expect("lookup-self");
    assert_eq!(me.field("display_name"), Some(&json!("userpass-bob")));
    let refused = root
        .auth()
        .userpass("")
        .login("bob", "wrong")
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(400));
}

#[tokio::test]
async fn the_watcher_renews_a_token_until_capped_then_reauthenticates() {
    let server = TestServer::start().await;
    let root = client(&server);
    let create = |root: Client| async move {
        let request = cofre_client::token::CreateRequest {
            ttl: Some("6s".into()),
            explicit_max_ttl: Some("10s".into()),
            ..Default::default()
        };
        let auth = root
            .token()
            .create(&request)
            .await?
            .auth
            .expect("an auth block");
        Ok::<_, cofre_client::Error>((
            root.with_token(auth.client_token.clone()),
            Lifetime::of_token(&auth),
        ))
    };
    let (app, lifetime) = create(root.clone()).await.expect("a token");
    let first_token = app.client_token().map(str::to_string);
    let reauth_root = root.clone();
    let (watcher, mut events) = Watcher::builder(app, lifetime)
        .reauthenticate(move || create(reauth_root.clone()))
        .start();

    // t≈4 s: renewed to a full 6 s; t≈8 s: only ~2 s are left before the 10 s max.
    // (Generous timings: a loaded CI machine must not make this flaky.)
    match next(&mut events, 7).await {
        Event::Renewed { ttl } => assert!(ttl.as_secs() >= 5, "full: {ttl:?}"),
        other => panic!("expected a renewal, got {other:?}"),
    }
    match next(&mut events, 7).await {
        Event::Renewed { ttl } => assert!(ttl.as_secs() < 5, "capped: {ttl:?}"),
        other => panic!("expected a capped renewal, got {other:?}"),
    }
    assert!(matches!(next(&mut events, 4).await, Event::Expiring { .. }));
    assert!(matches!(next(&mut events, 4).await, Event::Reauthenticated));
    // The new token is watched in turn.
    match next(&mut events, 7).await {
        Event::Renewed { ttl } => assert!(ttl.as_secs() >= 5, "{ttl:?}"),
        other => panic!("expected the new token's renewal, got {other:?}"),
    }
    watcher.stop().await;
    assert!(first_token.is_some());
}

#[tokio::test]
async fn the_watcher_reports_a_revoked_lease_as_expiring() {
    let admin_url = "postgres://postgres@127.0.0.1:5432/postgres";
    let mut admin = match sqlx::PgConnection::connect(admin_url).await {
        Ok(c) => c,
        Err(e) if std::env::var("COFRE_REQUIRE_SERVICES").is_ok_and(|v| v == "1") => {
            panic!("PostgreSQL is required: {e}")
        }
        Err(e) => {
            eprintln!("\n*** SKIPPING: no PostgreSQL at 127.0.0.1:5432 ({e}) ***\n");
            return;
        }
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let (user, password) = (format!("cofre_sdk_{nanos:x}"), format!("pw-{nanos:x}"));
    admin
        .execute(format!("CREATE ROLE \"{user}\" SUPERUSER LOGIN PASSWORD '{password}'").as_str())
        .await
        .expect("a superuser for the engine");

    let server = TestServer::start().await;
    assert_eq!(
        server
            .api
            .post("sys/mounts/database", json!({"type": "database"}))
            .await
            .0,
        204
    );
    let root = client(&server);
    let db = root.database("database");
    db.write_connection(
        "pg",
        &ConnectionConfig {
            plugin_name: "postgresql-database-plugin".into(),
            connection_url:
                "postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres?sslmode=disable"
                    .into(),
            username: user.clone(),
            password: password.clone(),
            allowed_roles: vec!["*".into()],
            ..Default::default()
        },
    )
    .await
    .expect("connection written");
    db.write_role(
        "ro",
        &Role {
            db_name: "pg".into(),
            creation_statements: vec!["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';".into()],
            default_ttl: Some("3s".into()),
            max_ttl: Some("1h".into()),
            ..Default::default()
        },
    )
    .await
    .expect("role written");

    let creds = db.creds::<Credentials>("ro").await.expect("credentials");
    assert!(creds.lease_id.starts_with("database/creds/ro/"));
    assert_eq!(
        (creds.lease_duration, creds.renewable),
        (Duration::from_secs(3), true)
    );
    assert!(!format!("{creds:?}").contains(creds.data.password.expose()));

    let (watcher, mut events) = Watcher::builder(root.clone(), Lifetime::of_lease(&creds)).start();
    assert!(matches!(next(&mut events, 4).await, Event::Renewed { .. }));
    root.leases()
        .revoke(&creds.lease_id)
        .await
        .expect("revoked");
    match next(&mut events, 4).await {
        Event::Error(e) => assert_eq!(e.status(), Some(400), "{e}"),
        other => panic!("expected the refused renewal, got {other:?}"),
    }
    assert!(matches!(next(&mut events, 1).await, Event::Expiring { .. }));
    assert!(
        events.recv().await.is_none(),
        "no closure: the watcher ends"
    );
    watcher.stop().await;

    drop(server);
    let _ = admin
        .execute(format!("DROP OWNED BY \"{user}\"; DROP ROLE IF EXISTS \"{user}\"").as_str())
        .await;
}

#[tokio::test]
async fn rate_limited_reads_are_retried_after_retry_after_but_writes_are_not() {
    let server = TestServer::start().await;
    let api = &server.api;
    assert_eq!(
        api.post(
            "sys/mounts/secret",
            json!({"type": "kv", "options": {"version": "2"}})
        )
        .await
        .0,
        204
    );
    assert_eq!(
        api.post("secret/data/app", json!({"data": {"k": "v"}}))
            .await
            .0,
        200
    );
    let rule = json!({"path": "secret/", "rate": 1, "interval": "2s"});
    assert_eq!(api.post("sys/quotas/rate-limit/rl", rule).await.0, 204);

    let retrying = client(&server);
    let kv = retrying.kv2("secret");
    assert!(kv.get("app").await.expect("first read").is_some());
    let started = Instant::now();
    assert!(kv.get("app").await.expect("the 429 is retried").is_some());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited for Retry-After"
    );

    let impatient = retrying.with_retry_policy(RetryPolicy::none());
    let refused = impatient.kv2("secret").get("app").await.unwrap_err();
    assert_eq!(refused.status(), Some(429));

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(kv.get("app").await.is_ok());
    let started = Instant::now();
    let write = kv.put("app", &json!({"k": "w"}), None).await.unwrap_err();
    assert_eq!(write.status(), Some(429), "a write is not retried");
    assert!(started.elapsed() < Duration::from_millis(500));
}
