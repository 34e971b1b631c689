//! `creds/<role>`: a new database user per read, handed out with a lease; and the lease's
//! renewal. Revocation is in [`super::revoke`].
//!
//! The creation statements run in one transaction on PostgreSQL and one by one on MySQL
//! (its DDL commits implicitly). When they fail, the rollback statements (or the default
//! revocation) run so no half-made user stays behind; a statement the database rejects is
//! a 400 with its message, an unreachable database a 500.

use serde_json::{json, Map, Value};

use super::config::{self, ConnectionConfig};
use super::plugin::{Kind, Plugin};
use super::roles::{self, Role};
use super::template::{format_go_time, Metadata};
use super::{password, revoke, statements, Database};
use crate::core::{now_unix, RequestError, Response, SecretLease};
use crate::engines::{LeasedSecret, MountContext};

/// The `{{expiration}}` format of Vault's SQL plugins.
const EXPIRATION_LAYOUT: &str = "2006-01-02 15:04:05-0700";

pub async fn issue(
    engine: &Database,
    ctx: &MountContext,
    role_name: &str,
) -> Result<Response, RequestError> {
    let role = roles::load(ctx, role_name)
        .await?
        .ok_or_else(|| RequestError::invalid(format!("unknown role: {role_name}")))?;
    let config = config::load(ctx, &role.db_name)
        .await?
        .ok_or_else(|| RequestError::invalid(format!("database {:?} not found", role.db_name)))?;
    if !config.allows(role_name) {
        return Err(RequestError::invalid(format!(
            "{role_name:?} is not an allowed role"
        )));
    }
    let username = generate_username(ctx, &config, role_name)?;
    let password = password::generate();
    let expiration = format_go_time(
        i64::try_from(now_unix() + effective_ttl(ctx, &role)).unwrap_or(i64::MAX),
        EXPIRATION_LAYOUT,
    );
    let sql_password = config.password_for_sql(&password);
    let plugin = config.plugin();
    let values = [
        ("name", username.as_str()),
        ("username", username.as_str()),
        ("password", sql_password.as_str()),
        ("expiration", expiration.as_str()),
    ];
    let creation = render(&role.creation_statements, plugin, &values);
    let pool = engine
        .pools
        .get(&role.db_name, &config)
        .await
        .map_err(|e| e.into_request_error())?;
    if let Err(err) = pool.execute(&creation).await {
        tracing::warn!(role = role_name, error = %err, "creating a database user failed; rolling back");
        roll_back(&pool, &config, &role, &username).await;
        return Err(err.into_request_error());
    }
    let mut internal = Map::new();
    internal.insert("username".into(), Value::from(username.as_str()));
    internal.insert("role".into(), Value::from(role_name));
    internal.insert("db_name".into(), Value::from(role.db_name.as_str()));
    Ok(Response {
        secret: Some(Box::new(SecretLease {
            ttl: role.default_ttl,
            max_ttl: role.max_ttl,
            renewable: true,
            internal,
        })),
        ..Response::json(json!({"username": username, "password": password.as_str()}))
    })
}

/// The role's TTL, else the mount's default, else the server's; capped by the role's max.
fn effective_ttl(ctx: &MountContext, role: &Role) -> u64 {
    let ttl = [
        role.default_ttl,
        ctx.mount.config.default_lease_ttl,
        ctx.system_default_ttl,
    ]
    .into_iter()
    .find(|&t| t > 0)
    .unwrap_or(0);
    match role.max_ttl {
        0 => ttl,
        max => ttl.min(max),
    }
}

/// A user name from the config's template, checked to fit the database and to be safe
/// inside the quotes of `{{name}}` in operator SQL.
fn generate_username(
    ctx: &MountContext,
    config: &ConnectionConfig,
    role_name: &str,
) -> Result<String, RequestError> {
    let meta = Metadata {
        display_name: ctx
            .token
            .as_ref()
            .map(|t| t.display_name.clone())
            .unwrap_or_default(),
        role_name: role_name.to_string(),
    };
    let username = config
        .username_template()?
        .render(&meta)
        .map_err(|e| RequestError::invalid(format!("unable to generate username: {e}")))?;
    let max = config.plugin().max_username_len();
    if username.is_empty() || username.chars().count() > max {
        return Err(RequestError::invalid(format!(
            "generated username has {} characters; the database allows 1 to {max}",
            username.chars().count()
        )));
    }
    if username
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "'\"`\\;".contains(c))
    {
        return Err(RequestError::invalid(
            "generated username contains quotes, backslashes, semicolons or spaces",
        ));
    }
    Ok(username)
}

/// Templates split into single statements with the placeholders filled.
pub fn render(templates: &[String], plugin: Plugin, values: &[(&str, &str)]) -> Vec<String> {
    statements::split_all(templates, plugin.kind == Kind::Postgres)
        .iter()
        .map(|s| statements::fill(s, values))
        .collect()
}

/// Undoes a failed creation: the role's rollback statements, else the default revocation.
/// Best effort; failures are logged.
async fn roll_back(
    pool: &super::connection::Pool,
    config: &ConnectionConfig,
    role: &Role,
    username: &str,
) {
    if role.rollback_statements.is_empty() {
        if let Err(err) = revoke::default_revocation(pool, config.plugin().kind, username).await {
            tracing::warn!(error = %err, "rollback after a failed creation failed");
        }
        return;
    }
    let values = [("name", username), ("username", username)];
    let sql = render(&role.rollback_statements, config.plugin(), &values);
    pool.execute_each_ignoring_errors(&sql).await;
}

/// Extends the user's validity to the lease's new expiry (`renew_statements`, else
/// PostgreSQL's `VALID UNTIL`; nothing for MySQL).
pub async fn renew(
    engine: &Database,
    ctx: &MountContext,
    lease: &LeasedSecret<'_>,
) -> Result<(), RequestError> {
    let (username, role_name, db_name) = revoke::lease_fields(lease)?;
    let config = config::load(ctx, db_name)
        .await?
        .ok_or_else(|| RequestError::invalid(format!("database {db_name:?} not found")))?;
    let plugin = config.plugin();
    let custom = roles::load(ctx, role_name)
        .await?
        .map(|r| r.renew_statements)
        .unwrap_or_default();
    let templates = match (custom.is_empty(), plugin.default_renew_statement()) {
        (false, _) => custom,
        (true, Some(default)) => vec![default.to_string()],
        (true, None) => return Ok(()),
    };
    let expiration = format_go_time(
        i64::try_from(lease.expire_time).unwrap_or(i64::MAX),
        EXPIRATION_LAYOUT,
    );
    let values = [
        ("name", username),
        ("username", username),
        ("expiration", expiration.as_str()),
    ];
    let pool = engine
        .pools
        .get(db_name, &config)
        .await
        .map_err(|e| e.into_request_error())?;
    pool.execute(&render(&templates, plugin, &values))
        .await
        .map_err(|e| e.into_request_error())
}
