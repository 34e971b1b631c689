//! Leases end to end, with the database engine against the real PostgreSQL
//! (127.0.0.1:5432, trust auth) and MariaDB (127.0.0.1:3306, root without password) of
//! this machine: issue, log in, renew (capped at max_ttl), revoke (the user is gone even
//! when it owns objects and has an open session), expiry, revoke-prefix, token
//! revocation, restart, and revocation retried while the database is unreachable (a TCP
//! relay in front of PostgreSQL that the test cuts and restores). Without the databases
//! the tests skip loudly, except with COFRE_REQUIRE_SERVICES=1, where they fail.

mod common;

use std::time::Duration;

use common::db::{my_admin, pg_admin, pg_count, pg_drop, suffix};
use common::relay::Relay;
use common::{free_port, Api, TestServer};
use serde_json::{json, Value};
use sqlx::{Connection, Executor};

/// A dedicated PostgreSQL superuser for one test (so nothing touches `postgres`),
/// dropped at the end.
struct PgRoot {
    admin: sqlx::PgPool,
    user: String,
    password: String,
}

impl PgRoot {
    async fn create() -> Option<Self> {
        let admin = pg_admin().await?;
        let user = format!("cofre_lt_{}", suffix());
        let password = format!("pw-{}", suffix());
        admin
            .execute(
                format!("CREATE ROLE \"{user}\" SUPERUSER LOGIN PASSWORD '{password}'").as_str(),
            )
            .await
            .unwrap();
        Some(Self {
            admin,
            user,
            password,
        })
    }

    async fn role_exists(&self, name: &str) -> bool {
        pg_count(&self.admin, name).await == 1
    }

    /// Polls until the role is gone; false if it is still there after `seconds`.
    async fn wait_gone(&self, name: &str, seconds: u64) -> bool {
        for _ in 0..seconds * 10 {
            if !self.role_exists(name).await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Drops the test's superuser and what revoked users' objects it was given.
    async fn drop_all(self) {
        pg_drop(&self.admin, std::slice::from_ref(&self.user)).await;
    }
}

async fn pg_login(
    user: &str,
    password: &str,
    port: u16,
) -> Result<sqlx::PgConnection, sqlx::Error> {
    sqlx::PgConnection::connect_with(
        &sqlx::postgres::PgConnectOptions::new()
            .host("127.0.0.1")
            .port(port)
            .username(user)
            .password(password)
            .database("postgres"),
    )
    .await
}

const PG_CREATE: &str = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' \
     VALID UNTIL '{{expiration}}'; GRANT CREATE ON SCHEMA public TO \"{{name}}\";";

/// Mounts `database/` with a PostgreSQL connection `pg` (through `port`) and a role `ro`.
async fn setup_pg(api: &Api, root: &PgRoot, port: u16, ttl: &str, max_ttl: &str) {
    let (s, b) = api
        .post("sys/mounts/database", json!({"type": "database"}))
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = api
        .post(
            "database/config/pg",
            json!({
                "plugin_name": "postgresql-database-plugin",
                "connection_url": format!("postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{port}/postgres?sslmode=disable"),
                "username": root.user,
                "password": root.password,
                "allowed_roles": "*",
            }),
        )
        .await;
    assert!(s == 200 || s == 204, "config: {s} {b}");
    write_pg_role(api, "ro", ttl, max_ttl).await;
}

async fn write_pg_role(api: &Api, name: &str, ttl: &str, max_ttl: &str) {
    let (s, b) = api
        .post(
            &format!("database/roles/{name}"),
            json!({"db_name": "pg", "creation_statements": PG_CREATE,
                   "default_ttl": ttl, "max_ttl": max_ttl}),
        )
        .await;
    assert!(s == 200 || s == 204, "role: {s} {b}");
}

/// (lease id, username, password) of a fresh credential.
async fn creds(api: &Api, role: &str) -> (String, String, String) {
    let (s, b) = api.get(&format!("database/creds/{role}")).await;
    assert_eq!(s, 200, "creds: {b}");
    (
        b["lease_id"].as_str().unwrap().to_string(),
        b["data"]["username"].as_str().unwrap().to_string(),
        b["data"]["password"].as_str().unwrap().to_string(),
    )
}

async fn lookup(api: &Api, id: &str) -> (u16, Value) {
    api.put("sys/leases/lookup", json!({ "lease_id": id }))
        .await
}

#[tokio::test]
async fn postgres_credentials_are_leased_renewed_and_revoked() {
    let Some(root) = PgRoot::create().await else {
        return;
    };
    let server = TestServer::start().await;
    let api = &server.api;
    setup_pg(api, &root, 5432, "1h", "2h").await;

    let (s, b) = api.get("database/creds/ro").await;
    assert_eq!(s, 200, "{b}");
    let id = b["lease_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("database/creds/ro/"), "{id}");
    assert_eq!(b["lease_duration"], 3600);
    assert_eq!(b["renewable"], true);
    let user = b["data"]["username"].as_str().unwrap().to_string();
    let password = b["data"]["password"].as_str().unwrap().to_string();
    let (s, metrics) = api.get("sys/metrics?format=prometheus").await;
    assert_eq!(s, 200);
    let live = metrics
        .as_str()
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            line.strip_prefix("cofre_expire_num_leases{mount=\"database/\"} ")
                .and_then(|v| v.trim().parse::<f64>().ok())
        });
    assert_eq!(live, Some(1.0), "the lease shows in the metrics: {metrics}");

    // A real login; the user creates a table and keeps its session open.
    let mut session = pg_login(&user, &password, 5432)
        .await
        .expect("the new user logs in");
    let me: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut session)
        .await
        .unwrap();
    assert_eq!(me, user);
    session
        .execute(format!("CREATE TABLE \"owned_{}\" (id int)", suffix()).as_str())
        .await
        .expect("the user may create a table it then owns");

    let (s, b) = lookup(api, &id).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["path"], "database/creds/ro");
    assert!(
        (3590..=3600).contains(&b["data"]["ttl"].as_u64().unwrap()),
        "{b}"
    );

    let (s, b) = api
        .put(
            "sys/leases/renew",
            json!({"lease_id": id, "increment": "10h"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let ttl = b["lease_duration"].as_u64().unwrap();
    assert!((7190..=7200).contains(&ttl), "capped at max_ttl 2h: {b}");
    assert!(b["warnings"][0].as_str().unwrap().contains("capped"), "{b}");

    let (s, b) = api
        .put("sys/leases/revoke", json!({ "lease_id": id }))
        .await;
    assert_eq!(s, 204, "{b}");
    assert!(!root.role_exists(&user).await, "the user is dropped");
    assert!(
        pg_login(&user, &password, 5432).await.is_err(),
        "login fails after revoke"
    );
    let (s, b) = lookup(api, &id).await;
    assert_eq!((s, b["errors"][0].as_str()), (400, Some("invalid lease")));
    drop(session);
    root.drop_all().await;
}

#[tokio::test]
async fn short_leases_expire_and_renewals_stop_at_max_ttl() {
    let Some(root) = PgRoot::create().await else {
        return;
    };
    let server = TestServer::start().await;
    let api = &server.api;
    setup_pg(api, &root, 5432, "3s", "5s").await;
    let (id, user, _) = creds(api, "ro").await;
    let (s, b) = api
        .put(
            "sys/leases/renew",
            json!({"lease_id": id, "increment": "1h"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["lease_duration"].as_u64().unwrap() <= 5, "{b}");
    assert!(root.role_exists(&user).await);
    assert!(
        root.wait_gone(&user, 10).await,
        "the expired user is dropped within a few seconds"
    );
    let (s, _) = lookup(api, &id).await;
    assert_eq!(s, 400, "the lease is gone");
    let (s, b) = api.put("sys/leases/renew", json!({ "lease_id": id })).await;
    assert_eq!((s, b["errors"][0].as_str()), (400, Some("lease not found")));
    root.drop_all().await;
}

#[tokio::test]
async fn token_and_prefix_revocation_revoke_their_leases() {
    let Some(root) = PgRoot::create().await else {
        return;
    };
    let server = TestServer::start().await;
    let api = &server.api;
    setup_pg(api, &root, 5432, "1h", "2h").await;
    write_pg_role(api, "other", "1h", "2h").await;
    api.write_policy(
        "creds",
        "path \"database/creds/*\" { capabilities = [\"read\"] }",
    )
    .await;
    let token = api.token_with_policies(&["creds", "default"]).await;
    let app = api.with_token(&token);
    let (_, a, _) = creds(&app, "ro").await;
    let (_, b_user, _) = creds(&app, "other").await;
    let (_, c, _) = creds(api, "ro").await;
    let (_, d, _) = creds(api, "other").await;

    let (s, count) = api.get("sys/leases/count").await;
    assert_eq!(s, 200, "{count}");
    assert_eq!(count["data"]["lease_count"], 4);
    assert_eq!(count["data"]["counts"]["database/"], 4);

    let (s, _) = app.post("auth/token/revoke-self", json!({})).await;
    assert_eq!(s, 204);
    assert!(!root.role_exists(&a).await && !root.role_exists(&b_user).await);
    assert!(root.role_exists(&c).await && root.role_exists(&d).await);

    // A limited token cannot revoke by prefix (sudo path).
    let limited = api.with_token(&api.token_with_policies(&["creds"]).await);
    let (s, _) = limited
        .put("sys/leases/revoke-prefix/database/creds/ro", json!({}))
        .await;
    assert_eq!(s, 403);
    let (s, keys) = api.list("sys/leases/lookup/database/creds/").await;
    assert_eq!((s, &keys["data"]["keys"]), (200, &json!(["other/", "ro/"])));

    let (s, b) = api
        .put("sys/leases/revoke-prefix/database/creds/ro", json!({}))
        .await;
    assert_eq!(s, 204, "{b}");
    assert!(!root.role_exists(&c).await && root.role_exists(&d).await);
    // Disabling the mount revokes what is left.
    let (s, b) = api.delete("sys/mounts/database").await;
    assert_eq!(s, 204, "{b}");
    assert!(!root.role_exists(&d).await);
    let (s, _) = api.list("sys/leases/lookup/database/creds/").await;
    assert_eq!(s, 404);
    root.drop_all().await;
}

#[tokio::test]
async fn leases_survive_a_restart_and_expire_afterwards() {
    let Some(root) = PgRoot::create().await else {
        return;
    };
    let mut server = TestServer::start().await;
    setup_pg(&server.api, &root, 5432, "1h", "2h").await;
    write_pg_role(&server.api, "short", "6s", "6s").await;
    let (long_id, long_user, _) = creds(&server.api, "ro").await;
    let (short_id, short_user, _) = creds(&server.api, "short").await;
    server.restart().await;
    let api = &server.api;
    let (s, b) = lookup(api, &long_id).await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = lookup(api, &short_id).await;
    assert_eq!(
        s, 200,
        "the short lease is still there right after the restart"
    );
    assert!(
        root.wait_gone(&short_user, 15).await,
        "the short lease is revoked after the restart"
    );
    assert!(root.role_exists(&long_user).await);
    let (s, _) = api
        .put("sys/leases/revoke", json!({ "lease_id": long_id }))
        .await;
    assert_eq!(s, 204);
    assert!(!root.role_exists(&long_user).await);
    root.drop_all().await;
}

#[tokio::test]
async fn revocation_is_retried_until_the_database_is_back() {
    let Some(root) = PgRoot::create().await else {
        return;
    };
    let relay = Relay::start(free_port(), "127.0.0.1:5432").await;
    let mut server = TestServer::start().await;
    let api = &server.api;
    setup_pg(api, &root, relay.port, "1h", "2h").await;
    let (id, user, _) = creds(api, "ro").await;

    relay.down();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (s, b) = api
        .put("sys/leases/revoke", json!({ "lease_id": id }))
        .await;
    assert_eq!(
        s, 500,
        "revocation fails while the database is unreachable: {b}"
    );
    assert!(b["errors"][0].as_str().unwrap().contains("retried"), "{b}");
    let (s, b) = lookup(api, &id).await;
    assert_eq!(s, 200, "the lease stays visible: {b}");
    assert!(
        b["data"]["revocation"]["attempts"].as_u64().unwrap() >= 1,
        "{b}"
    );
    assert!(root.role_exists(&user).await);
    let (_, count) = api.get("sys/leases/count").await;
    assert!(
        count["data"]["revocation_failures"].as_u64().unwrap() >= 1,
        "{count}"
    );

    // A restart keeps the pending revocation and resumes its retries.
    server.restart().await;
    let api = &server.api;
    let (s, b) = lookup(api, &id).await;
    assert_eq!(s, 200, "the lease is still there after the restart: {b}");
    assert!(
        b["data"]["revocation"]["attempts"].as_u64().unwrap() >= 1,
        "{b}"
    );
    assert!(root.role_exists(&user).await);

    relay.up().await;
    assert!(
        root.wait_gone(&user, 40).await,
        "the retry drops the user once the database is back"
    );
    let (s, _) = lookup(api, &id).await;
    assert_eq!(s, 400, "and the lease is gone");
    relay.down();
    root.drop_all().await;
}

#[tokio::test]
async fn mariadb_credentials_are_dropped_on_revoke() {
    let Some(admin) = my_admin().await else {
        return;
    };
    let root_user = format!("cofre_lt_{}", &suffix()[..12]);
    let root_pw = format!("pw{}", suffix());
    admin
        .execute(format!("CREATE USER '{root_user}'@'%' IDENTIFIED BY '{root_pw}'").as_str())
        .await
        .unwrap();
    admin
        .execute(
            format!("GRANT ALL PRIVILEGES ON *.* TO '{root_user}'@'%' WITH GRANT OPTION").as_str(),
        )
        .await
        .unwrap();
    let server = TestServer::start().await;
    let api = &server.api;
    let (s, _) = api
        .post("sys/mounts/database", json!({"type": "database"}))
        .await;
    assert_eq!(s, 204);
    let (s, b) = api
        .post(
            "database/config/maria",
            json!({
                "plugin_name": "mysql-database-plugin",
                "connection_url": "{{username}}:{{password}}@tcp(127.0.0.1:3306)/",
                "username": root_user, "password": root_pw, "allowed_roles": ["app"],
            }),
        )
        .await;
    assert!(s == 200 || s == 204, "{b}");
    let (s, b) = api
        .post(
            "database/roles/app",
            json!({"db_name": "maria", "default_ttl": "1h", "max_ttl": "1h",
                   "creation_statements": "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON *.* TO '{{name}}'@'%';"}),
        )
        .await;
    assert!(s == 200 || s == 204, "{b}");
    let (id, user, password) = creds(api, "app").await;
    assert!(user.len() <= 32, "{user}");
    let url = format!("mysql://{user}:{password}@127.0.0.1:3306/");
    let mut session = sqlx::MySqlConnection::connect(&url)
        .await
        .expect("the new user logs in");
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut session)
        .await
        .unwrap();
    assert_eq!(one, 1);

    let (s, b) = api
        .put("sys/leases/revoke", json!({ "lease_id": id }))
        .await;
    assert_eq!(s, 204, "{b}");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mysql.user WHERE User = ?")
        .bind(&user)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(n, 0, "the user is dropped despite its open session");
    assert!(sqlx::MySqlConnection::connect(&url).await.is_err());
    let _ = admin
        .execute(format!("DROP USER IF EXISTS '{root_user}'@'%'").as_str())
        .await;
}

#[tokio::test]
async fn the_bao_cli_manages_leases() {
    let Some(root) = PgRoot::create().await else {
        return;
    };
    let server = TestServer::start().await;
    setup_pg(&server.api, &root, 5432, "1h", "2h").await;
    let token = server.api.token.clone();
    let Some((ok, out)) = server.bao(&token, &["read", "-format=json", "database/creds/ro"]) else {
        return;
    };
    assert!(ok, "{out}");
    let issued: Value = serde_json::from_str(&out).expect("JSON output");
    let id = issued["lease_id"].as_str().unwrap();
    let user = issued["data"]["username"].as_str().unwrap();

    let (ok, out) = server.bao(&token, &["lease", "lookup", id]).unwrap();
    assert!(
        ok && out.contains("expire_time") && out.contains("database/creds/ro"),
        "{out}"
    );
    let (ok, out) = server
        .bao(&token, &["lease", "renew", "-increment=30m", id])
        .unwrap();
    assert!(ok && out.contains("30m"), "{out}");
    let (ok, out) = server
        .bao(&token, &["list", "sys/leases/lookup/database/creds/ro/"])
        .unwrap();
    assert!(ok && out.contains(id.rsplit('/').next().unwrap()), "{out}");
    let (ok, out) = server
        .bao(&token, &["lease", "revoke", "-sync", id])
        .unwrap();
    assert!(ok && out.contains("Success! Revoked lease"), "{out}");
    assert!(!root.role_exists(user).await);

    let (_, second, _) = creds(&server.api, "ro").await;
    let (ok, out) = server
        .bao(&token, &["lease", "revoke", "-prefix", "database/creds/ro"])
        .unwrap();
    assert!(ok && out.contains("queued"), "{out}");
    assert!(
        root.wait_gone(&second, 5).await,
        "the queued prefix revocation ran"
    );
    let (ok, out) = server.bao(&token, &["lease", "lookup", "nope/x"]).unwrap();
    assert!(!ok && out.contains("invalid lease"), "{out}");
    root.drop_all().await;
}

#[tokio::test]
async fn the_cofre_cli_revokes_a_prefix_and_reports_progress() {
    let Some(root) = PgRoot::create().await else {
        return;
    };
    let server = TestServer::start().await;
    let api = &server.api;
    setup_pg(api, &root, 5432, "1h", "2h").await;
    // Its own roles without PG_CREATE's `GRANT … ON SCHEMA public`: twelve grants on the
    // schema race the other tests' grants ("tuple concurrently updated").
    for role in ["bulk", "other"] {
        let (s, b) = api
            .post(
                &format!("database/roles/{role}"),
                json!({"db_name": "pg", "default_ttl": "1h", "max_ttl": "2h",
                       "creation_statements": "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';"}),
            )
            .await;
        assert_eq!(s, 204, "{b}");
    }
    let mut users = Vec::new();
    for _ in 0..12 {
        users.push(creds(api, "bulk").await.1);
    }
    let (_, kept, _) = creds(api, "other").await;

    let out = server
        .cofre(&api.token)
        .args(["lease", "revoke", "-prefix", "database/creds/bulk"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        "Success! Revoked any leases with prefix: database/creds/bulk\n"
    );
    assert!(
        stderr.starts_with("Revoking 12 leases with prefix database/creds/bulk..."),
        "{stderr}"
    );
    for user in &users {
        assert!(!root.role_exists(user).await, "{user} was revoked");
    }
    assert!(
        root.role_exists(&kept).await,
        "leases outside the prefix stay"
    );

    // Nothing under the prefix: no progress line, same success.
    let out = server
        .cofre(&api.token)
        .args(["lease", "revoke", "-prefix", "database/creds/bulk"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    api.delete("sys/mounts/database").await;
    root.drop_all().await;
}

#[tokio::test]
async fn lease_count_quota_refuses_new_credentials_past_the_limit() {
    let Some(root) = PgRoot::create().await else {
        return;
    };
    let server = TestServer::start().await;
    let api = &server.api;
    setup_pg(api, &root, 5432, "1h", "2h").await;
    write_pg_role(api, "qlimit", "1h", "2h").await;
    let (s, b) = api
        .post(
            "sys/quotas/lease-count/two",
            json!({"path": "database/creds/qlimit", "max_leases": 2}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (first, _, _) = creds(api, "qlimit").await;
    creds(api, "qlimit").await;
    let before = qlimit_users(&root).await;
    let (s, b) = api.get("database/creds/qlimit").await;
    assert_eq!(s, 429, "{b}");
    assert!(
        b["errors"][0]
            .as_str()
            .unwrap()
            .contains("lease count quota exceeded"),
        "{b}"
    );
    assert_eq!(
        qlimit_users(&root).await,
        before,
        "the refused request created no user"
    );
    let (s, _) = api
        .put("sys/leases/revoke", json!({ "lease_id": first }))
        .await;
    assert_eq!(s, 204);
    creds(api, "qlimit").await;
    assert_eq!(qlimit_users(&root).await, before, "one revoked, one issued");
    let (s, b) = api.get("sys/quotas/lease-count/two").await;
    assert_eq!((s, &b["data"]["counts"]), (200, &json!(2)), "{b}");
    let (s, _) = api
        .put("sys/leases/revoke-prefix/database/creds/qlimit", json!({}))
        .await;
    assert_eq!(s, 204);
    root.drop_all().await;
}

async fn qlimit_users(root: &PgRoot) -> i64 {
    pg_count(&root.admin, "%-qlimit-%").await
}

#[tokio::test]
async fn a_lease_that_expires_while_sealed_is_revoked_at_unseal() {
    let Some(root) = PgRoot::create().await else {
        return;
    };
    let server = TestServer::start().await;
    let api = &server.api;
    setup_pg(api, &root, 5432, "2s", "2s").await;
    let (id, user, _) = creds(api, "ro").await;
    let (s, _) = api.put("sys/seal", json!({})).await;
    assert_eq!(s, 204);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        root.role_exists(&user).await,
        "nothing runs while sealed: the user is still there"
    );
    server.unseal().await;
    assert!(
        root.wait_gone(&user, 10).await,
        "the first sweep after unseal revokes it"
    );
    let (s, _) = lookup(api, &id).await;
    assert_eq!(s, 400);
    root.drop_all().await;
}
