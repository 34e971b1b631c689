//! Revoking a dynamic user when its lease ends: the role's `revocation_statements`, or a
//! default that works even when the user owns objects or has open sessions (where Vault's
//! plain `DROP ROLE` fails). Idempotent: a user already gone is a success. An unreachable
//! database is an error, so the expiration manager retries.

use super::config;
use super::connection::{DbError, Pool};
use super::creds::render;
use super::plugin::{quote_literal, quote_pg_ident, Kind};
use super::{roles, Database};
use crate::core::RequestError;
use crate::engines::{LeasedSecret, MountContext};

/// `username`, `role` and `db_name` from a lease's internal data.
pub fn lease_fields<'a>(
    lease: &'a LeasedSecret<'_>,
) -> Result<(&'a str, &'a str, &'a str), RequestError> {
    let field = |name: &str| {
        lease
            .internal
            .get(name)
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                RequestError::internal(format!("lease has no {name:?} in its internal data"))
            })
    };
    Ok((field("username")?, field("role")?, field("db_name")?))
}

pub async fn revoke(
    engine: &Database,
    ctx: &MountContext,
    lease: &LeasedSecret<'_>,
) -> Result<(), RequestError> {
    let (username, role_name, db_name) = lease_fields(lease)?;
    let config = config::load(ctx, db_name).await?.ok_or_else(|| {
        RequestError::internal(format!(
            "cannot revoke: database config {db_name:?} no longer exists"
        ))
    })?;
    let pool = engine
        .pools
        .get(db_name, &config)
        .await
        .map_err(|e| e.into_request_error())?;
    let custom = roles::load(ctx, role_name)
        .await?
        .map(|r| r.revocation_statements)
        .unwrap_or_default();
    let plugin = config.plugin();
    let result = if custom.is_empty() {
        default_revocation(&pool, plugin.kind, username).await
    } else {
        let values = [("name", username), ("username", username)];
        pool.execute(&render(&custom, plugin, &values)).await
    };
    result.map_err(|e| {
        tracing::warn!(role = role_name, error = %e, "revoking a database user failed");
        e.into_request_error()
    })
}

/// Drops `username` with everything it holds. Succeeds when the user does not exist.
pub async fn default_revocation(pool: &Pool, kind: Kind, username: &str) -> Result<(), DbError> {
    match kind {
        Kind::Postgres => postgres_revocation(pool, username).await,
        Kind::MySql => mysql_revocation(pool, username).await,
    }
}

/// Ends the user's sessions, hands what it owns to the connection user (`CURRENT_USER`),
/// then drops its privileges, what is left and the role, in one transaction.
///
/// `DROP OWNED` revokes every privilege granted to the user in this database (and on
/// shared objects such as the database itself) by touching only the objects the user has
/// privileges on. A blanket `REVOKE ALL … ON ALL TABLES IN SCHEMA …` would rewrite the
/// catalog row of every table in every schema on each revocation, and concurrent
/// revocations would collide on those rows ("tuple concurrently updated").
async fn postgres_revocation(pool: &Pool, username: &str) -> Result<(), DbError> {
    let exists = pool
        .query_strings(
            "SELECT rolname::text FROM pg_roles WHERE rolname = $1",
            &[username],
        )
        .await?;
    if exists.is_empty() {
        return Ok(());
    }
    let literal = quote_literal(username, Kind::Postgres);
    let terminate = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE usename = {literal} AND pid <> pg_backend_pid()"
    );
    pool.execute(&[terminate]).await?;
    let user = quote_pg_ident(username);
    pool.execute(&[
        format!("REASSIGN OWNED BY {user} TO CURRENT_USER"),
        format!("DROP OWNED BY {user}"),
        format!("DROP ROLE IF EXISTS {user}"),
    ])
    .await
}

/// Kills the user's connections, then drops it on every host it exists for.
async fn mysql_revocation(pool: &Pool, username: &str) -> Result<(), DbError> {
    let hosts = pool
        .query_strings(
            "SELECT CAST(Host AS CHAR) FROM mysql.user WHERE User = ?",
            &[username],
        )
        .await?;
    let sessions = pool
        .query_strings(
            "SELECT CAST(ID AS CHAR) FROM information_schema.PROCESSLIST WHERE USER = ?",
            &[username],
        )
        .await?;
    let kills: Vec<String> = sessions
        .iter()
        .filter(|id| id.bytes().all(|b| b.is_ascii_digit()))
        .map(|id| format!("KILL {id}"))
        .collect();
    // A session may end on its own meanwhile; its KILL failing does not matter.
    pool.execute_each_ignoring_errors(&kills).await;
    let user = quote_literal(username, Kind::MySql);
    let drops: Vec<String> = hosts
        .iter()
        .map(|host| {
            format!(
                "DROP USER IF EXISTS {user}@{}",
                quote_literal(host, Kind::MySql)
            )
        })
        .collect();
    pool.execute(&drops).await
}
