//! Shared by the tests that use the machine's real databases: admin connections to
//! PostgreSQL (`postgres@127.0.0.1:5432`, trust auth) and MariaDB (`root@127.0.0.1:3306`),
//! which skip the test loudly when the database is down, or fail it with
//! COFRE_REQUIRE_SERVICES=1 (as CI sets).

use sqlx::Executor;

/// Reports a missing database: a panic under COFRE_REQUIRE_SERVICES=1, else a skip notice.
pub fn unavailable(what: &str, err: impl std::fmt::Display) {
    if std::env::var("COFRE_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("{what} is required (COFRE_REQUIRE_SERVICES=1): {err}");
    }
    eprintln!("\n*** SKIPPING: {what} unreachable: {err} ***\n");
}

/// An admin pool on PostgreSQL, or `None` (skip) when it is down.
pub async fn pg_admin() -> Option<sqlx::PgPool> {
    match sqlx::PgPool::connect("postgresql://postgres@127.0.0.1:5432/postgres").await {
        Ok(pool) => Some(pool),
        Err(err) => (unavailable("PostgreSQL", err), None).1,
    }
}

/// An admin pool on MariaDB, or `None` (skip) when it is down.
pub async fn my_admin() -> Option<sqlx::MySqlPool> {
    match sqlx::MySqlPool::connect("mysql://root@127.0.0.1:3306/").await {
        Ok(pool) => Some(pool),
        Err(err) => (unavailable("MariaDB", err), None).1,
    }
}

/// A suffix that makes role and user names unique per test.
pub fn suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}{nanos}", std::process::id())
}

/// How many PostgreSQL roles match a LIKE pattern.
pub async fn pg_count(admin: &sqlx::PgPool, like: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_roles WHERE rolname LIKE $1")
        .bind(like)
        .fetch_one(admin)
        .await
        .expect("pg_roles readable")
}

/// Drops PostgreSQL roles and everything they own.
pub async fn pg_drop(admin: &sqlx::PgPool, roles: &[String]) {
    for role in roles {
        let _ = admin
            .execute(format!("DROP OWNED BY \"{role}\"").as_str())
            .await;
        let _ = admin
            .execute(format!("DROP ROLE IF EXISTS \"{role}\"").as_str())
            .await;
    }
}
