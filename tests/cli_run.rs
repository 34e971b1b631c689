//! `cofre run` end to end with the real binary: KV v1/v2 secrets injected as variables
//! (derived and explicit names), the child's exit code passed through, SIGTERM
//! forwarded, PostgreSQL credentials leased, renewed while the child runs and revoked
//! when it exits, and a missing secret refused before any child starts. The database
//! test skips loudly without PostgreSQL at 127.0.0.1:5432, unless COFRE_REQUIRE_SERVICES=1.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::TestServer;
use serde_json::json;
use sqlx::{Connection, Executor};

/// The `cofre` command, pointed at `server` with its root token and a private HOME.
fn cofre(server: &TestServer) -> Command {
    server.cofre(&server.api.token)
}

fn run(server: &TestServer, args: &[&str]) -> Output {
    cofre(server).args(args).output().expect("cofre runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn kv_secrets_become_the_childs_environment() {
    let server = TestServer::start().await;
    let api = &server.api;
    api.enable_kv("secret", "2").await;
    api.enable_kv("kv", "1").await;
    let (status, body) = api
        .post(
            "secret/data/app",
            json!({"data": {"password": "s3cret", "api-key": "k1"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(api.post("kv/legacy", json!({"token": "t-1"})).await.0, 204);

    let out = run(
        &server,
        &[
            "run",
            "-secret=secret/app",
            "-env-prefix=DB_",
            "--",
            "sh",
            "-c",
            "echo $DB_PASSWORD; echo $DB_API_KEY",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "s3cret\nk1\n");

    let out = run(
        &server,
        &[
            "run",
            "-secret=secret/app#password=PGPASSWORD",
            "-secret=kv/legacy",
            "-upper=false",
            "--",
            "sh",
            "-c",
            "echo $PGPASSWORD $token; echo ${password:-unset}",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "s3cret t-1\nunset\n");
}

#[tokio::test]
async fn the_childs_exit_code_is_passed_through() {
    let server = TestServer::start().await;
    server.api.enable_kv("secret", "2").await;
    server
        .api
        .post("secret/data/app", json!({"data": {"k": "v"}}))
        .await;
    let out = run(
        &server,
        &["run", "-secret=secret/app", "--", "sh", "-c", "exit 42"],
    );
    assert_eq!(out.status.code(), Some(42));
    let out = run(
        &server,
        &[
            "run",
            "-secret=secret/app",
            "--",
            "sh",
            "-c",
            "kill -KILL $$",
        ],
    );
    assert_eq!(out.status.code(), Some(128 + 9));
    let out = run(
        &server,
        &["run", "-secret=secret/app", "--", "/nonexistent/program"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot start /nonexistent/program"));
}

#[tokio::test]
async fn sigterm_is_forwarded_to_the_child() {
    let server = TestServer::start().await;
    server.api.enable_kv("secret", "2").await;
    server
        .api
        .post("secret/data/app", json!({"data": {"k": "v"}}))
        .await;
    let mut child = cofre(&server)
        .args([
            "run",
            "-secret=secret/app",
            "--",
            "sh",
            "-c",
            "trap 'exit 7' TERM; echo ready; while true; do sleep 0.1; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("cofre starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the child says it is ready");
    assert_eq!(line, "ready\n");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("cofre exits");
    assert_eq!(
        status.code(),
        Some(7),
        "the child's trap ran and its code came back"
    );
}

#[tokio::test]
async fn a_missing_secret_fails_before_any_child_starts() {
    let server = TestServer::start().await;
    server.api.enable_kv("secret", "2").await;
    let marker = server.dir.join("started");
    let out = run(
        &server,
        &[
            "run",
            "-secret=secret/missing",
            "--",
            "touch",
            marker.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "No value found at secret/data/missing\n");
    assert!(!marker.exists(), "no child was started");

    let out = run(&server, &["run", "-secret=secret/x#k=1BAD", "--", "true"]);
    assert_eq!(out.status.code(), Some(1), "a bad spec is a usage error");
    let out = run(&server, &["run", "-secret=secret/x", "true"]);
    assert_eq!(out.status.code(), Some(1), "the command must follow --");
}

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

async fn pg_admin() -> Option<sqlx::PgConnection> {
    match sqlx::PgConnection::connect(PG_ADMIN).await {
        Ok(c) => Some(c),
        Err(e) if std::env::var("COFRE_REQUIRE_SERVICES").is_ok_and(|v| v == "1") => {
            panic!("PostgreSQL is required: {e}")
        }
        Err(e) => {
            eprintln!("\n*** SKIPPING: no PostgreSQL at 127.0.0.1:5432 ({e}) ***\n");
            None
        }
    }
}

async fn role_exists(admin: &mut sqlx::PgConnection, name: &str) -> bool {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_roles WHERE rolname = $1")
        .bind(name)
        .fetch_one(admin)
        .await
        .expect("pg_roles query");
    count == 1
}

#[tokio::test]
async fn database_credentials_are_renewed_while_the_child_runs_and_revoked_after() {
    let Some(mut admin) = pg_admin().await else {
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let (root_user, root_password) = (format!("cofre_run_{nanos:x}"), format!("pw-{nanos:x}"));
    admin
        .execute(
            format!("CREATE ROLE \"{root_user}\" SUPERUSER LOGIN PASSWORD '{root_password}'")
                .as_str(),
        )
        .await
        .expect("a superuser for the engine");

    let server = TestServer::start().await;
    let api = &server.api;
    assert_eq!(
        api.post("sys/mounts/database", json!({"type": "database"}))
            .await
            .0,
        204
    );
    let (status, body) = api
        .post(
            "database/config/pg",
            json!({"plugin_name": "postgresql-database-plugin",
                   "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres?sslmode=disable",
                   "username": root_user, "password": root_password, "allowed_roles": "*"}),
        )
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");
    let (status, body) = api
        .post(
            "database/roles/ro",
            json!({"db_name": "pg", "default_ttl": "3s", "max_ttl": "1h",
                   "creation_statements": "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"}),
        )
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");

    let mut child = cofre(&server)
        .args([
            "run",
            "-secret=database/creds/ro",
            "-env-prefix=PG",
            "-secret=database/creds/ro#password=PGPASSWORD",
            "--",
            "sh",
            "-c",
            "echo $PGUSERNAME; test -n \"$PGPASSWORD\" || exit 3; read _",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cofre starts");
    let mut user = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut user)
        .expect("the child prints its user");
    let user = user.trim().to_string();
    assert!(!user.is_empty());
    assert!(
        role_exists(&mut admin, &user).await,
        "the credential is live"
    );

    let (status, body) = api.list("sys/leases/lookup/database/creds/ro/").await;
    assert_eq!(status, 200, "{body}");
    let keys = body["data"]["keys"].as_array().expect("lease keys").clone();
    assert_eq!(keys.len(), 1, "one path given twice is read once: {keys:?}");
    let lease_id = format!("database/creds/ro/{}", keys[0].as_str().unwrap());

    // Past the 3 s TTL: only renewal keeps the lease (and the user) alive.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let (status, body) = api
        .put("sys/leases/lookup", json!({"lease_id": lease_id}))
        .await;
    assert_eq!(status, 200, "renewed while the child runs: {body}");
    assert!(body["data"]["last_renewal"].is_string(), "{body}");
    assert!(role_exists(&mut admin, &user).await);

    drop(
        child
            .stdin
            .take()
            .map(|mut stdin| stdin.write_all(b"done\n")),
    );
    let status = child.wait().expect("cofre exits");
    assert!(status.success(), "{status:?}");
    let (status, _) = api
        .put("sys/leases/lookup", json!({"lease_id": lease_id}))
        .await;
    assert_eq!(status, 400, "the lease is revoked when the child exits");
    assert!(
        !role_exists(&mut admin, &user).await,
        "the database user is gone"
    );

    drop(server);
    let _ = admin
        .execute(
            format!("DROP OWNED BY \"{root_user}\"; DROP ROLE IF EXISTS \"{root_user}\"").as_str(),
        )
        .await;
}
