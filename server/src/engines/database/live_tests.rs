//! Engine-level tests against the real PostgreSQL (`postgres@127.0.0.1:5432`, trust auth)
//! and MariaDB (`root@127.0.0.1:3306`, empty password) on this machine, calling the
//! `Engine` hooks (revoke, renew, tick) directly, without the HTTP layer. Each test makes
//! its own `cofre_root_<random>` connection user and removes what it creates. A database
//! that is down skips the test, or fails it with COFRE_REQUIRE_SERVICES=1.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use sqlx::{Connection, Executor};

use crate::barrier::StorageView;
use crate::core::mounts::MountEntry;
use crate::core::{now_unix, Operation, RequestError, Response};
use crate::engines::kv::testutil::{data_of, request, token};
use crate::engines::{Engine, LeasedSecret, MountContext};

use super::config::ConnectionConfig;
use super::password::scram_matches;

const PG_ADMIN: &str = "postgresql://postgres@127.0.0.1:5432/postgres";
const MY_ADMIN: &str = "mysql://root@127.0.0.1:3306/";

fn unavailable(what: &str, err: impl std::fmt::Display) {
    if std::env::var("COFRE_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("{what} is required (COFRE_REQUIRE_SERVICES=1): {err}");
    }
    eprintln!("\n*** SKIPPING: {what} unreachable: {err} ***\n");
}

async fn pg_admin() -> Option<sqlx::PgPool> {
    match sqlx::PgPool::connect(PG_ADMIN).await {
        Ok(pool) => Some(pool),
        Err(err) => (unavailable("PostgreSQL", err), None).1,
    }
}

async fn my_admin() -> Option<sqlx::MySqlPool> {
    match sqlx::MySqlPool::connect(MY_ADMIN).await {
        Ok(pool) => Some(pool),
        Err(err) => (unavailable("MariaDB", err), None).1,
    }
}

fn suffix() -> String {
    crate::crypto::random_base62(8).to_lowercase()
}

/// A `database` mount over a fresh in-memory barrier, used by a `token`-display-name token.
struct Mount {
    engine: Arc<dyn Engine>,
    ctx: MountContext,
}

impl Mount {
    async fn new() -> Self {
        let entry = MountEntry::new("database/", "database", "", false);
        let engine = crate::engines::create(&entry).expect("database mounts are valid");
        let barrier = crate::barrier::in_memory_for_tests().await;
        let mut token = (*token("t")).clone();
        token.display_name = "token".into();
        let ctx = MountContext {
            storage: StorageView::new(barrier, entry.storage_prefix()),
            mount: Arc::new(entry),
            token: Some(Arc::new(token)),
            system_default_ttl: 3600,
        };
        Self { engine, ctx }
    }

    async fn call(&self, op: Operation, path: &str, body: Value) -> Result<Response, RequestError> {
        self.engine
            .handle(&self.ctx, &request(op, path, body))
            .await
    }

    async fn ok(&self, op: Operation, path: &str, body: Value) -> Value {
        match self.call(op, path, body).await {
            Ok(resp) => data_of(&resp),
            Err(err) => panic!("{op:?} {path}: {err:?}"),
        }
    }

    /// Reads creds; returns (username, password, internal map of the lease).
    async fn creds(&self, role: &str) -> (String, String, Map<String, Value>) {
        let resp = self
            .call(Operation::Read, &format!("creds/{role}"), json!({}))
            .await
            .unwrap_or_else(|e| panic!("creds/{role}: {e:?}"));
        let data = data_of(&resp);
        let secret = resp.secret.expect("creds come with a lease");
        assert!(secret.renewable);
        assert!(!Value::Object(secret.internal.clone())
            .to_string()
            .contains(data["password"].as_str().unwrap_or("-")));
        (
            data["username"].as_str().unwrap_or_default().to_string(),
            data["password"].as_str().unwrap_or_default().to_string(),
            secret.internal,
        )
    }

    async fn revoke(&self, internal: &Map<String, Value>) -> Result<(), RequestError> {
        self.engine.revoke(&self.ctx, &lease(internal, 0)).await
    }

    async fn stored_config(&self, name: &str) -> ConnectionConfig {
        self.ctx
            .storage
            .get_json(&format!("config/{name}"))
            .await
            .ok()
            .flatten()
            .expect("config stored")
    }
}

fn lease<'a>(internal: &'a Map<String, Value>, expire_time: u64) -> LeasedSecret<'a> {
    LeasedSecret {
        lease_id: "database/creds/x/abc",
        path: "creds/x",
        internal,
        expire_time,
    }
}

async fn pg_role_exists(admin: &sqlx::PgPool, name: &str) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_roles WHERE rolname = $1")
        .bind(name)
        .fetch_one(admin)
        .await
        .expect("pg_roles readable")
        > 0
}

async fn pg_password_matches(admin: &sqlx::PgPool, name: &str, password: &str) -> bool {
    let verifier: Option<String> =
        sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = $1")
            .bind(name)
            .fetch_one(admin)
            .await
            .expect("pg_authid readable");
    verifier.is_some_and(|v| scram_matches(&v, password))
}

/// A dedicated superuser for the engine's connection; dropped by [`pg_cleanup`].
async fn pg_root(admin: &sqlx::PgPool, root: &str) {
    admin
        .execute(format!("CREATE ROLE {root} LOGIN SUPERUSER PASSWORD 'initial-Pw-1'").as_str())
        .await
        .expect("create root role");
}

/// A fresh [`pg_root`] and an empty schema, named with one random suffix.
async fn pg_root_and_schema(admin: &sqlx::PgPool) -> (String, String) {
    let id = suffix();
    let (root, schema) = (format!("cofre_root_{id}"), format!("cofre_s_{id}"));
    pg_root(admin, &root).await;
    admin
        .execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .expect("schema");
    (root, schema)
}

async fn pg_cleanup(admin: &sqlx::PgPool, roles: &[&str], schema: &str) {
    let _ = admin
        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
        .await;
    for role in roles {
        let _ = admin
            .execute(format!("DROP OWNED BY \"{role}\"").as_str())
            .await;
        let _ = admin
            .execute(format!("DROP ROLE IF EXISTS \"{role}\"").as_str())
            .await;
    }
}

fn pg_config(root: &str) -> Value {
    json!({
        "plugin_name": "postgresql-database-plugin",
        "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres",
        "username": root,
        "password": "initial-Pw-1",
        "allowed_roles": ["app", "other", "static"],
    })
}

#[tokio::test]
async fn postgres_dynamic_user_lifecycle_with_owned_objects_and_open_session() {
    let Some(admin) = pg_admin().await else {
        return;
    };
    let (root, schema) = pg_root_and_schema(&admin).await;
    let m = Mount::new().await;
    m.ok(Operation::Update, "config/pg", pg_config(&root)).await;
    let creation = format!(
        "CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' VALID UNTIL '{{{{expiration}}}}'; \
         GRANT USAGE, CREATE ON SCHEMA {schema} TO \"{{{{name}}}}\""
    );
    m.ok(Operation::Update, "roles/app", json!({"db_name": "pg", "creation_statements": creation, "default_ttl": "1h", "max_ttl": "2h"})).await;
    let (user, password, internal) = m.creds("app").await;
    assert!(user.starts_with("v-token-app-"), "{user}");
    assert!(super::password::meets_policy(&password));
    assert!(pg_password_matches(&admin, &user, &password).await);

    // The user owns a table and keeps a session with an open transaction on it.
    let url = format!("postgresql://{user}:{password}@127.0.0.1:5432/postgres");
    let mut session = sqlx::PgConnection::connect(&url)
        .await
        .expect("login as the new user");
    session
        .execute(format!("CREATE TABLE {schema}.owned (x int)").as_str())
        .await
        .expect("create table");
    session.execute("BEGIN").await.expect("begin");
    session
        .execute(format!("SELECT * FROM {schema}.owned").as_str())
        .await
        .expect("select");

    // Renewal moves VALID UNTIL to the lease's new expiry.
    let expiry = crate::core::now_unix() + 7200;
    m.engine
        .renew(&m.ctx, &lease(&internal, expiry))
        .await
        .expect("renew");
    let valid: Option<i64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM rolvaliduntil)::bigint FROM pg_roles WHERE rolname = $1",
    )
    .bind(&user)
    .fetch_one(&admin)
    .await
    .expect("valid until");
    assert_eq!(valid, Some(expiry as i64));

    m.revoke(&internal)
        .await
        .expect("revoke drops a user with objects and a session");
    assert!(!pg_role_exists(&admin, &user).await);
    assert!(
        session.execute("SELECT 1").await.is_err(),
        "the session was terminated"
    );
    m.revoke(&internal).await.expect("revoking again succeeds");
    m.ok(Operation::Delete, "roles/app", json!({})).await;
    m.revoke(&internal)
        .await
        .expect("revoking without the role uses the defaults");
    pg_cleanup(&admin, &[&root], &schema).await;
}

/// Revocations that run at once (a `revoke-prefix`, many leases due together) change the
/// same catalog rows: every user here holds a grant on one schema. PostgreSQL fails all but
/// one such transaction with "tuple concurrently updated"; the engine tries them again.
#[tokio::test]
async fn postgres_concurrent_revocations_all_succeed() {
    let Some(admin) = pg_admin().await else {
        return;
    };
    let (root, schema) = pg_root_and_schema(&admin).await;
    let m = Mount::new().await;
    let mut config = pg_config(&root);
    config["max_open_connections"] = json!(16);
    m.ok(Operation::Update, "config/pg", config).await;
    let creation = format!(
        "CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}'; \
         GRANT USAGE ON SCHEMA {schema} TO \"{{{{name}}}}\""
    );
    m.ok(
        Operation::Update,
        "roles/app",
        json!({"db_name": "pg", "creation_statements": creation}),
    )
    .await;
    let mut issued = Vec::new();
    for _ in 0..16 {
        let (user, _, internal) = m.creds("app").await;
        issued.push((user, internal));
    }

    let results =
        futures_util::future::join_all(issued.iter().map(|(_, internal)| m.revoke(internal))).await;
    for ((user, _), result) in issued.iter().zip(results) {
        assert!(result.is_ok(), "revoking {user}: {result:?}");
        assert!(!pg_role_exists(&admin, user).await, "{user} was dropped");
    }
    pg_cleanup(&admin, &[&root], &schema).await;
}

/// Sessions the engine holds open as `root` (its pool's connections).
async fn pg_sessions_of(admin: &sqlx::PgPool, root: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND application_name = 'cofre'",
    )
    .bind(root)
    .fetch_one(admin)
    .await
    .expect("pg_stat_activity readable")
}

#[tokio::test]
async fn postgres_pool_keeps_max_open_connections_and_closes_on_delete() {
    let Some(admin) = pg_admin().await else {
        return;
    };
    let (root, schema) = pg_root_and_schema(&admin).await;
    let m = Mount::new().await;
    let mut config = pg_config(&root);
    config["max_open_connections"] = json!(2);
    m.ok(Operation::Update, "config/pg", config).await;
    m.ok(
        Operation::Update,
        "roles/app",
        json!({"db_name": "pg", "creation_statements":
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}'; SELECT pg_sleep(0.2)"}),
    )
    .await;
    let issuing = futures_util::future::join_all((0..8).map(|_| m.creds("app")));
    let watching = async {
        let mut most = 0;
        for _ in 0..15 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            most = most.max(pg_sessions_of(&admin, &root).await);
        }
        most
    };
    let (issued, most) = tokio::join!(issuing, watching);
    assert_eq!(most, 2, "eight requests at once share two connections");
    for (_, _, internal) in &issued {
        m.revoke(internal).await.expect("revoke");
    }
    m.ok(Operation::Delete, "config/pg", json!({})).await;
    let mut left = pg_sessions_of(&admin, &root).await;
    for _ in 0..20 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = pg_sessions_of(&admin, &root).await;
    }
    assert_eq!(left, 0, "deleting the config closes its pool");
    pg_cleanup(&admin, &[&root], &schema).await;
}

#[tokio::test]
async fn postgres_failed_creation_leaves_no_user_and_allowed_roles_apply() {
    let Some(admin) = pg_admin().await else {
        return;
    };
    let id = suffix();
    let root = format!("cofre_root_{id}");
    pg_root(&admin, &root).await;
    let m = Mount::new().await;
    let mut config = pg_config(&root);
    config["username_template"] = json!(format!("cofre-f{id}-{{{{random 6}}}}"));
    config["allowed_roles"] = json!(["bad"]);
    m.ok(Operation::Update, "config/pg", config).await;
    m.ok(
        Operation::Update,
        "roles/bad",
        json!({"db_name": "pg", "creation_statements": [
            "CREATE ROLE \"{{name}}\" LOGIN PASSWORD '{{password}}'",
            "GRANT SELECT ON no_such_table_xyz TO \"{{name}}\"",
        ]}),
    )
    .await;
    let err = m.call(Operation::Read, "creds/bad", json!({})).await.err();
    assert!(
        matches!(&err, Some(RequestError::InvalidRequest(msg)) if msg.contains("no_such_table_xyz")),
        "{err:?}"
    );
    m.ok(
        Operation::Update,
        "roles/other",
        json!({"db_name": "pg", "creation_statements": "CREATE ROLE \"{{name}}\""}),
    )
    .await;
    let err = m
        .call(Operation::Read, "creds/other", json!({}))
        .await
        .err();
    assert!(
        matches!(&err, Some(RequestError::InvalidRequest(msg)) if msg == "\"other\" is not an allowed role"),
        "{err:?}"
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1")
        .bind(format!("cofre-f{id}-%"))
        .fetch_one(&admin)
        .await
        .expect("count");
    assert_eq!(left, 0);

    // A template longer than PostgreSQL's 63-character names is refused, not cut short
    // by the database (which would leave a user under another name than the lease's).
    m.ok(
        Operation::Update,
        "config/pg",
        json!({"username_template": format!("cofre-f{id}-{}-{{{{random 6}}}}", "x".repeat(50))}),
    )
    .await;
    let err = m.call(Operation::Read, "creds/bad", json!({})).await.err();
    assert!(
        matches!(&err, Some(RequestError::InvalidRequest(msg))
            if msg.contains("the database allows 1 to 63")),
        "{err:?}"
    );
    pg_cleanup(&admin, &[&root], "cofre_none").await;
}

#[tokio::test]
async fn postgres_static_roles_rotate_root_and_scram() {
    let Some(admin) = pg_admin().await else {
        return;
    };
    let id = suffix();
    let (root, app) = (format!("cofre_root_{id}"), format!("cofre_static_{id}"));
    pg_root(&admin, &root).await;
    admin
        .execute(format!("CREATE ROLE {app} LOGIN").as_str())
        .await
        .expect("static user");
    let m = Mount::new().await;
    let mut config = pg_config(&root);
    config["password_authentication"] = json!("scram-sha-256");
    m.ok(Operation::Update, "config/pg", config).await;

    m.ok(
        Operation::Update,
        "static-roles/static",
        json!({"db_name": "pg", "username": app, "rotation_period": "5s"}),
    )
    .await;
    let first = m
        .ok(Operation::Read, "static-creds/static", json!({}))
        .await;
    let first_pw = first["password"].as_str().unwrap_or_default().to_string();
    assert!(pg_password_matches(&admin, &app, &first_pw).await);
    assert_eq!(first["username"], json!(app));
    m.ok(Operation::Update, "rotate-role/static", json!({}))
        .await;
    let second = m
        .ok(Operation::Read, "static-creds/static", json!({}))
        .await;
    let second_pw = second["password"].as_str().unwrap_or_default().to_string();
    assert_ne!(first_pw, second_pw);
    assert!(pg_password_matches(&admin, &app, &second_pw).await);
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    m.engine.tick(&m.ctx).await.expect("tick");
    let third = m
        .ok(Operation::Read, "static-creds/static", json!({}))
        .await;
    assert_ne!(
        third["password"], second["password"],
        "tick rotated the due role"
    );
    let missing = m
        .call(
            Operation::Update,
            "static-roles/static2",
            json!({"db_name": "pg", "username": "cofre_nobody_x", "rotation_period": 60}),
        )
        .await;
    assert!(
        matches!(missing, Err(RequestError::InvalidRequest(_))),
        "{missing:?}"
    );
    let stored = m
        .call(Operation::Read, "static-roles/static2", json!({}))
        .await;
    assert!(
        matches!(stored, Err(RequestError::NotFound)),
        "a role whose first rotation failed is not kept: {stored:?}"
    );

    m.ok(Operation::Update, "rotate-root/pg", json!({})).await;
    let rotated = m.stored_config("pg").await;
    assert_ne!(rotated.password, "initial-Pw-1");
    assert!(pg_password_matches(&admin, &root, &rotated.password).await);
    m.ok(Operation::Update, "reset/pg", json!({})).await;
    m.ok(Operation::Update, "rotate-role/static", json!({}))
        .await;
    pg_cleanup(&admin, &[&app, &root], "cofre_none").await;
}

async fn my_root(admin: &sqlx::MySqlPool, root: &str) {
    for sql in [
        format!("CREATE USER '{root}'@'%' IDENTIFIED BY 'initial-Pw-1'"),
        format!("GRANT ALL PRIVILEGES ON *.* TO '{root}'@'%' WITH GRANT OPTION"),
    ] {
        admin
            .execute(sql.as_str())
            .await
            .expect("create MariaDB root");
    }
}

async fn my_user_exists(admin: &sqlx::MySqlPool, name: &str) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM mysql.user WHERE User = ?")
        .bind(name)
        .fetch_one(admin)
        .await
        .expect("mysql.user readable")
        > 0
}

#[tokio::test]
async fn mariadb_dynamic_static_and_root_rotation() {
    let Some(admin) = my_admin().await else {
        return;
    };
    let id = suffix();
    let (root, app, db) = (
        format!("cofre_root_{id}"),
        format!("cofre_st_{id}"),
        format!("cofre_db_{id}"),
    );
    my_root(&admin, &root).await;
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .expect("db");
    admin
        .execute(format!("CREATE USER '{app}'@'%'").as_str())
        .await
        .expect("static user");
    let m = Mount::new().await;
    m.ok(
        Operation::Update,
        "config/my",
        json!({
            "plugin_name": "mysql-database-plugin",
            "connection_url": "{{username}}:{{password}}@tcp(127.0.0.1:3306)/",
            "username": root, "password": "initial-Pw-1", "allowed_roles": "*",
        }),
    )
    .await;
    m.ok(Operation::Update, "roles/app", json!({"db_name": "my", "creation_statements": format!(
        "CREATE USER '{{{{name}}}}'@'%' IDENTIFIED BY '{{{{password}}}}'; GRANT ALL ON {db}.* TO '{{{{name}}}}'@'%'"
    )})).await;
    let (user, password, internal) = m.creds("app").await;
    assert!(
        user.len() <= 32 && user.starts_with("v-token-app-"),
        "{user}"
    );
    let mut session =
        sqlx::MySqlConnection::connect(&format!("mysql://{user}:{password}@127.0.0.1:3306/{db}"))
            .await
            .expect("login as the new user");
    session
        .execute("CREATE TABLE t (x int)")
        .await
        .expect("create table");
    m.engine
        .renew(&m.ctx, &lease(&internal, 0))
        .await
        .expect("renew is a no-op");
    m.revoke(&internal).await.expect("revoke");
    assert!(!my_user_exists(&admin, &user).await);
    assert!(
        session.execute("SELECT 1").await.is_err(),
        "the session was killed"
    );
    m.revoke(&internal).await.expect("revoking again succeeds");

    m.ok(
        Operation::Update,
        "roles/bad",
        json!({"db_name": "my", "creation_statements": [
            "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'",
            format!("GRANT SELECT ON {db}.no_such_table TO '{{{{name}}}}'@'%'"),
        ]}),
    )
    .await;
    let err = m.call(Operation::Read, "creds/bad", json!({})).await.err();
    assert!(
        matches!(&err, Some(RequestError::InvalidRequest(msg)) if msg.contains("no_such_table")),
        "{err:?}"
    );
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mysql.user WHERE User LIKE 'v-token-bad-%'")
            .fetch_one(&admin)
            .await
            .expect("count");
    assert_eq!(left, 0, "the half-made user was rolled back");

    // The role's own rollback, renew and revocation statements run instead of the
    // defaults: each leaves a mark in a table as well as doing its work.
    admin
        .execute(format!("CREATE TABLE {db}.marks (what varchar(64))").as_str())
        .await
        .expect("marks table");
    let mark =
        |what: &str| format!("INSERT INTO {db}.marks VALUES (CONCAT('{what}:', '{{{{name}}}}'))");
    m.ok(
        Operation::Update,
        "roles/custom",
        json!({"db_name": "my",
            "creation_statements": ["CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'"],
            "renew_statements": [mark("renew")],
            "revocation_statements": [mark("revoke"), "DROP USER '{{name}}'@'%'".to_string()],
            "rollback_statements": [mark("rollback"), "DROP USER '{{name}}'@'%'".to_string()],
        }),
    )
    .await;
    let (custom_user, _, custom_internal) = m.creds("custom").await;
    m.engine
        .renew(&m.ctx, &lease(&custom_internal, now_unix() + 600))
        .await
        .expect("custom renew");
    m.revoke(&custom_internal).await.expect("custom revoke");
    assert!(!my_user_exists(&admin, &custom_user).await);
    m.ok(
        Operation::Update,
        "roles/custom",
        json!({"creation_statements": [
            "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'",
            format!("GRANT SELECT ON {db}.no_such_table TO '{{{{name}}}}'@'%'"),
        ]}),
    )
    .await;
    assert!(m
        .call(Operation::Read, "creds/custom", json!({}))
        .await
        .is_err());
    let marks: Vec<String> = sqlx::query_scalar(&format!("SELECT what FROM {db}.marks"))
        .fetch_all(&admin)
        .await
        .expect("marks");
    let of = |what: &str| marks.iter().filter(|m| m.starts_with(what)).count();
    assert_eq!(
        (of("renew:"), of("revoke:"), of("rollback:")),
        (1, 1, 1),
        "{marks:?}"
    );
    assert!(
        marks.contains(&format!("revoke:{custom_user}")),
        "{marks:?}"
    );
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mysql.user WHERE User LIKE 'v-token-custom-%'")
            .fetch_one(&admin)
            .await
            .expect("count");
    assert_eq!(
        left, 0,
        "the rollback statements dropped the half-made user"
    );

    m.ok(
        Operation::Update,
        "static-roles/st",
        json!({"db_name": "my", "username": app, "rotation_period": "1h"}),
    )
    .await;
    let st = m.ok(Operation::Read, "static-creds/st", json!({})).await;
    let st_pw = st["password"].as_str().unwrap_or_default();
    sqlx::MySqlConnection::connect(&format!("mysql://{app}:{st_pw}@127.0.0.1:3306/"))
        .await
        .expect("static user logs in with the rotated password");
    assert!(st["ttl"].as_u64().is_some_and(|t| t > 3500));

    m.ok(Operation::Update, "rotate-root/my", json!({})).await;
    let rotated = m.stored_config("my").await;
    assert!(sqlx::MySqlConnection::connect(&format!(
        "mysql://{root}:initial-Pw-1@127.0.0.1:3306/"
    ))
    .await
    .is_err());
    sqlx::MySqlConnection::connect(&format!(
        "mysql://{root}:{}@127.0.0.1:3306/",
        rotated.password
    ))
    .await
    .expect("root logs in with the rotated password");
    let (user2, _, internal2) = m.creds("app").await;
    m.revoke(&internal2)
        .await
        .expect("revoke after root rotation");
    assert!(!my_user_exists(&admin, &user2).await);

    // A rotation cut short after its ALTER (crash before the new password was stored):
    // the tick finds which password the database accepts and keeps it.
    admin
        .execute(format!("ALTER USER '{root}'@'%' IDENTIFIED BY 'Crashed-Pw-9'").as_str())
        .await
        .expect("alter root");
    let mut interrupted = m.stored_config("my").await;
    interrupted.pending_password = Some("Crashed-Pw-9".into());
    m.ctx
        .storage
        .put_json("config/my", &interrupted)
        .await
        .expect("store");
    m.engine.tick(&m.ctx).await.expect("tick");
    let settled = m.stored_config("my").await;
    assert_eq!(settled.password, "Crashed-Pw-9");
    assert!(settled.pending_password.is_none());
    let (user3, _, internal3) = m.creds("app").await;
    m.revoke(&internal3)
        .await
        .expect("works with the settled password");
    assert!(!my_user_exists(&admin, &user3).await);

    let bad = m
        .call(
            Operation::Update,
            "config/wrong",
            json!({
                "plugin_name": "mysql-database-plugin",
                "connection_url": "{{username}}:{{password}}@tcp(127.0.0.1:3306)/",
                "username": root, "password": "wrong-password",
            }),
        )
        .await;
    assert!(
        matches!(&bad, Err(RequestError::InvalidRequest(msg)) if msg.contains("Access denied") && !msg.contains("wrong-password")),
        "{bad:?}"
    );
    assert!(matches!(
        m.call(Operation::Read, "config/wrong", json!({})).await,
        Err(RequestError::NotFound)
    ));

    for sql in [
        format!("DROP DATABASE {db}"),
        format!("DROP USER '{app}'@'%'"),
        format!("DROP USER '{root}'@'%'"),
    ] {
        let _ = admin.execute(sql.as_str()).await;
    }
}

#[tokio::test]
async fn config_reads_hide_the_password_and_bad_configs_store_nothing() {
    let m = Mount::new().await;
    let unreachable = m
        .call(
            Operation::Update,
            "config/down",
            json!({
                "plugin_name": "postgresql-database-plugin",
                "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres",
                "username": "u", "password": "secret-pw",
            }),
        )
        .await;
    assert!(
        matches!(&unreachable, Err(RequestError::InvalidRequest(msg)) if msg.contains("error connecting") && !msg.contains("secret-pw")),
        "{unreachable:?}"
    );
    assert!(matches!(
        m.call(Operation::Read, "config/down", json!({})).await,
        Err(RequestError::NotFound)
    ));
    for (body, needle) in [
        (
            json!({"plugin_name": "nosuch-database-plugin", "connection_url": "x"}),
            "nosuch-database-plugin",
        ),
        (
            json!({"plugin_name": "postgresql-database-plugin", "connection_url": "x", "bogus": 1}),
            "bogus",
        ),
        (
            json!({"plugin_name": "postgresql-database-plugin", "connection_url": "postgresql://h/db", "username_template": "{{nope}}"}),
            "nope",
        ),
    ] {
        let err = m.call(Operation::Update, "config/bad", body).await.err();
        assert!(
            matches!(&err, Some(RequestError::InvalidRequest(msg)) if msg.contains(needle)),
            "{err:?}"
        );
    }
    m.ok(
        Operation::Update,
        "config/lazy",
        json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres",
            "username": "u", "password": "secret-pw", "verify_connection": false,
        }),
    )
    .await;
    let read = m.ok(Operation::Read, "config/lazy", json!({})).await;
    assert!(!read.to_string().contains("secret-pw"), "{read}");
    assert_eq!(
        read["connection_details"]["connection_url"],
        "postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres"
    );
    assert_eq!(read["connection_details"]["max_open_connections"], 4);
    assert_eq!(
        m.ok(Operation::List, "config/", json!({})).await,
        json!({"keys": ["lazy"]})
    );
    m.ok(
        Operation::Update,
        "roles/r",
        json!({"db_name": "lazy", "creation_statements": "CREATE ROLE \"{{name}}\""}),
    )
    .await;
    let err = m.call(Operation::Read, "creds/r", json!({})).await.err();
    assert!(
        matches!(&err, Some(RequestError::InvalidRequest(msg)) if msg.contains("not an allowed role")),
        "{err:?}"
    );
    let missing_db = m
        .call(
            Operation::Update,
            "roles/r2",
            json!({"db_name": "nope", "creation_statements": "x"}),
        )
        .await;
    assert!(matches!(missing_db, Err(RequestError::InvalidRequest(_))));
}
