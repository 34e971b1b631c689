//! The database secrets engine end to end over HTTP and through the real `bao` CLI, against
//! the PostgreSQL (`postgres@127.0.0.1:5432`, trust auth) and MariaDB (`root@127.0.0.1:3306`)
//! on this machine: configs, roles, creds that really log in, static roles, rotate-root,
//! reset, and bad input that must store and leave nothing. Revocation, renewal and
//! expiry are in `tests/leases.rs`. A database that is down
//! skips a test, or fails it with COFRE_REQUIRE_SERVICES=1.

mod common;

use common::db::{my_admin, pg_admin, pg_count, pg_drop, suffix};
use common::{Api, TestServer};
use serde_json::{json, Value};
use sqlx::{Connection, Executor};

/// A creds answer carries its lease: `database/creds/<role>/<random>`, the role's TTL,
/// renewable.
fn assert_lease(creds: &Value, role: &str, ttl: u64) {
    let id = creds["lease_id"].as_str().unwrap_or_default();
    assert!(
        id.starts_with(&format!("database/creds/{role}/")),
        "{creds}"
    );
    assert_eq!(creds["lease_duration"], ttl, "{creds}");
    assert_eq!(creds["renewable"], true, "{creds}");
}

/// Live leases on the server (`sys/leases/count`).
async fn lease_count(api: &Api) -> u64 {
    let (status, body) = api.get("sys/leases/count").await;
    assert_eq!(status, 200, "{body}");
    body["data"]["lease_count"].as_u64().unwrap_or(u64::MAX)
}

async fn enable(api: &Api) {
    let (status, body) = api
        .post("sys/mounts/database", json!({"type": "database"}))
        .await;
    assert_eq!(status, 204, "{body}");
}

async fn ok(api: &Api, path: &str, body: Value) {
    let (status, resp) = api.post(path, body).await;
    assert_eq!(status, 204, "{path}: {resp}");
}

async fn bad(api: &Api, path: &str, body: Value, needle: &str) {
    let (status, resp) = api.post(path, body).await;
    assert_eq!(status, 400, "{path}: {resp}");
    assert!(resp.to_string().contains(needle), "{path}: {resp}");
}

fn pg_config(root: &str, port: u16, password: &str) -> Value {
    json!({
        "plugin_name": "postgresql-database-plugin",
        "connection_url": format!("postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{port}/postgres"),
        "username": root,
        "password": password,
        "allowed_roles": "app,static",
        "username_template": format!("e2e-{root}-{{{{random 8}}}}"),
    })
}

#[tokio::test]
async fn postgres_over_http() {
    let Some(admin) = pg_admin().await else {
        return;
    };
    let id = suffix();
    let (root, static_user) = (format!("cofre_root_{id}"), format!("cofre_static_{id}"));
    admin
        .execute(format!("CREATE ROLE {root} LOGIN SUPERUSER PASSWORD 'pw-Initial-1'").as_str())
        .await
        .expect("root role");
    admin
        .execute(format!("CREATE ROLE {static_user} LOGIN").as_str())
        .await
        .expect("static role");
    let server = TestServer::start().await;
    let api = &server.api;
    enable(api).await;

    // Bad configs: 400 and nothing stored.
    let mut unknown = pg_config(&root, 5432, "pw-Initial-1");
    unknown["plugin_name"] = json!("oracle-database-plugin");
    bad(api, "database/config/pg", unknown, "oracle-database-plugin").await;
    bad(
        api,
        "database/config/pg",
        pg_config(&root, 1, "pw-Initial-1"),
        "error connecting",
    )
    .await;
    let nobody = pg_config("cofre_nobody_x", 5432, "pw");
    bad(api, "database/config/pg", nobody, "cofre_nobody_x").await;
    assert_eq!(api.get("database/config/pg").await.0, 404);

    ok(
        api,
        "database/config/pg",
        pg_config(&root, 5432, "pw-Initial-1"),
    )
    .await;
    let (status, body) = api.get("database/config/pg").await;
    assert_eq!(status, 200);
    assert!(!body.to_string().contains("pw-Initial-1"), "{body}");
    assert_eq!(body["data"]["connection_details"]["username"], json!(root));
    assert_eq!(body["data"]["plugin_name"], "postgresql-database-plugin");

    ok(api, "database/roles/app", json!({
        "db_name": "pg",
        "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'"],
        "default_ttl": "1h",
    })).await;
    let (status, creds) = api.get("database/creds/app").await;
    assert_eq!(status, 200, "{creds}");
    assert_lease(&creds, "app", 3600);
    let user = creds["data"]["username"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let password = creds["data"]["password"].as_str().unwrap_or_default();
    let mut conn = sqlx::PgConnection::connect(&format!(
        "postgresql://{user}:{password}@127.0.0.1:5432/postgres"
    ))
    .await
    .expect("log in with the issued credentials");
    let me: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut conn)
        .await
        .expect("query as the new user");
    assert_eq!(me, user);
    let _ = conn.close().await;
    let (_, roles) = api.list("database/roles").await;
    assert_eq!(roles["data"]["keys"], json!(["app"]));

    // A SQL error in creation_statements: 400 with the driver's message, no user left.
    ok(
        api,
        "database/roles/app",
        json!({"creation_statements": [
            "CREATE ROLE \"{{name}}\" LOGIN", "GRANT SELECT ON no_such_table_e2e TO \"{{name}}\"",
        ]}),
    )
    .await;
    let before = pg_count(&admin, &format!("e2e-{root}-%")).await;
    let leases_before = lease_count(api).await;
    let (status, body) = api.get("database/creds/app").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("no_such_table_e2e"), "{body}");
    assert_eq!(pg_count(&admin, &format!("e2e-{root}-%")).await, before);
    // A role the config does not allow.
    ok(
        api,
        "database/roles/other",
        json!({"db_name": "pg", "creation_statements": "CREATE ROLE \"{{name}}\""}),
    )
    .await;
    let (status, body) = api.get("database/creds/other").await;
    assert_eq!(
        (status, body["errors"][0].clone()),
        (400, json!("\"other\" is not an allowed role"))
    );
    assert_eq!(pg_count(&admin, &format!("e2e-{root}-%")).await, before);
    assert_eq!(
        lease_count(api).await,
        leases_before,
        "no lease for a failed issue"
    );
    bad(
        api,
        "database/roles/x",
        json!({"db_name": "pg", "creation_statements": "x", "nope": 1}),
        "nope",
    )
    .await;

    // Static role, rotate-role, rotate-root, reset.
    ok(
        api,
        "database/static-roles/static",
        json!({"db_name": "pg", "username": static_user, "rotation_period": "1h"}),
    )
    .await;
    let (status, first) = api.get("database/static-creds/static").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["data"]["username"], json!(static_user));
    assert!(first["data"]["ttl"].as_u64().is_some_and(|t| t > 3500));
    ok(api, "database/rotate-role/static", json!({})).await;
    let (_, second) = api.get("database/static-creds/static").await;
    assert_ne!(first["data"]["password"], second["data"]["password"]);
    ok(api, "database/rotate-root/pg", json!({})).await;
    ok(api, "database/reset/pg", json!({})).await;
    ok(
        api,
        "database/roles/app",
        json!({"creation_statements": "CREATE ROLE \"{{name}}\" LOGIN"}),
    )
    .await;
    let (status, body) = api.get("database/creds/app").await;
    assert_eq!(status, 200, "the rotated root still works: {body}");

    let issued: Vec<String> =
        sqlx::query_scalar("SELECT rolname::text FROM pg_roles WHERE rolname LIKE $1")
            .bind(format!("e2e-{root}-%"))
            .fetch_all(&admin)
            .await
            .unwrap_or_default();
    pg_drop(&admin, &issued).await;
    pg_drop(&admin, &[static_user, root]).await;
}

#[tokio::test]
async fn mariadb_over_http() {
    let Some(admin) = my_admin().await else {
        return;
    };
    let root = format!("cofre_root_{}", suffix());
    for sql in [
        format!("CREATE USER '{root}'@'%' IDENTIFIED BY 'pw-Initial-1'"),
        format!("GRANT ALL PRIVILEGES ON *.* TO '{root}'@'%' WITH GRANT OPTION"),
    ] {
        admin
            .execute(sql.as_str())
            .await
            .expect("MariaDB root user");
    }
    let server = TestServer::start().await;
    let api = &server.api;
    enable(api).await;
    let config = |password: &str| {
        json!({
            "plugin_name": "mysql-database-plugin",
            "connection_url": "{{username}}:{{password}}@tcp(127.0.0.1:3306)/",
            "username": root, "password": password, "allowed_roles": ["app"],
        })
    };
    bad(
        api,
        "database/config/my",
        config("wrong-pw-x"),
        "Access denied",
    )
    .await;
    assert_eq!(api.get("database/config/my").await.0, 404);
    ok(api, "database/config/my", config("pw-Initial-1")).await;
    ok(api, "database/roles/app", json!({
        "db_name": "my",
        "creation_statements": "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON mysql.db TO '{{name}}'@'%'",
    })).await;
    let (status, creds) = api.get("database/creds/app").await;
    assert_eq!(status, 200, "{creds}");
    let user = creds["data"]["username"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let password = creds["data"]["password"].as_str().unwrap_or_default();
    assert!(user.len() <= 32, "{user}");
    let mut conn =
        sqlx::MySqlConnection::connect(&format!("mysql://{user}:{password}@127.0.0.1:3306/"))
            .await
            .expect("log in with the issued credentials");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM mysql.db")
        .fetch_one(&mut conn)
        .await
        .expect("query as the new user");
    assert!(n >= 0);
    let _ = conn.close().await;
    ok(api, "database/rotate-root/my", json!({})).await;
    let login =
        sqlx::MySqlConnection::connect(&format!("mysql://{root}:pw-Initial-1@127.0.0.1:3306/"))
            .await;
    assert!(login.is_err(), "the old root password no longer works");
    for sql in [
        format!("DROP USER IF EXISTS '{user}'@'%'"),
        format!("DROP USER IF EXISTS '{root}'@'%'"),
    ] {
        let _ = admin.execute(sql.as_str()).await;
    }
}

#[tokio::test]
async fn bao_cli_drives_the_engine() {
    let Some(admin) = pg_admin().await else {
        return;
    };
    let root = format!("cofre_root_{}", suffix());
    admin
        .execute(format!("CREATE ROLE {root} LOGIN SUPERUSER PASSWORD 'pw-Initial-1'").as_str())
        .await
        .expect("root role");
    let server = TestServer::start().await;
    let token = server.api.token.clone();
    let run = |args: &[&str]| server.bao(&token, args);
    let Some((ok, out)) = run(&["secrets", "enable", "database"]) else {
        return;
    };
    assert!(ok, "{out}");
    let url = "connection_url=postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres";
    let user_arg = format!("username={root}");
    let template = format!("username_template=e2e-{root}-{{{{random 8}}}}");
    let (ok, out) = run(&[
        "write",
        "database/config/pg",
        "plugin_name=postgresql-database-plugin",
        url,
        &user_arg,
        "password=pw-Initial-1",
        "allowed_roles=ro",
        &template,
    ])
    .unwrap_or_default();
    assert!(ok, "{out}");
    let (ok, out) = run(&[
        "write", "database/roles/ro", "db_name=pg",
        "creation_statements=CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}'; GRANT pg_read_all_data TO \"{{name}}\"",
        "default_ttl=10m",
    ])
    .unwrap_or_default();
    assert!(ok, "{out}");
    let (ok, out) = run(&["read", "-format=json", "database/creds/ro"]).unwrap_or_default();
    assert!(ok, "{out}");
    let creds: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    assert_lease(&creds, "ro", 600);
    let user = creds["data"]["username"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(user.starts_with(&format!("e2e-{root}-")), "{out}");
    let (ok, out) = run(&["read", "database/config/pg"]).unwrap_or_default();
    assert!(ok && !out.contains("pw-Initial-1"), "{out}");
    let (ok, out) = run(&[
        "write",
        "database/config/bad",
        "plugin_name=nosuch-plugin",
        url,
    ])
    .unwrap_or_default();
    assert!(!ok && out.contains("nosuch-plugin"), "{out}");
    pg_drop(&admin, &[user, root]).await;
}
