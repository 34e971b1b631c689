//! Static roles: an existing database user whose password the engine rotates every
//! `rotation_period` (`static-roles/<name>`, `static-creds/<name>`, `rotate-role/<name>`
//! and the engine's `tick`). No lease is involved. Writing a role rotates at once, which
//! also proves the user exists: a failed rotation stores nothing.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::creds::render;
use super::{config, password, reject_unknown_fields, statement_list, Database};
use crate::core::{now_unix, Request, RequestError, Response};
use crate::engines::MountContext;

const STATIC_PREFIX: &str = "static-role/";
/// Vault's minimum rotation period.
const MIN_ROTATION_PERIOD: u64 = 5;

const FIELDS: &[&str] = &[
    "db_name",
    "username",
    "rotation_period",
    "rotation_statements",
    "credential_type",
];

/// A stored static role with its current password.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct StaticRole {
    pub db_name: String,
    pub username: String,
    /// Seconds between rotations.
    pub rotation_period: u64,
    pub rotation_statements: Vec<String>,
    pub password: String,
    /// Unix seconds of the last successful rotation.
    pub last_rotation: u64,
    /// Set (durably) before a rotation's `ALTER`, cleared after: still set means the
    /// rotation was interrupted and the database may hold either password, so the next
    /// tick rotates again at once.
    #[serde(default)]
    pub rotating: bool,
}

fn key(name: &str) -> String {
    format!("{STATIC_PREFIX}{name}")
}

async fn load(ctx: &MountContext, name: &str) -> Result<Option<StaticRole>, RequestError> {
    Ok(ctx.storage.get_json(&key(name)).await?)
}

pub async fn exists(ctx: &MountContext, name: &str) -> Result<bool, RequestError> {
    Ok(ctx.storage.get(&key(name)).await?.is_some())
}

pub async fn list(ctx: &MountContext) -> Result<Response, RequestError> {
    Response::list(ctx.storage.list(STATIC_PREFIX).await?)
}

pub async fn read(ctx: &MountContext, name: &str) -> Result<Response, RequestError> {
    let role = load(ctx, name).await?.ok_or(RequestError::NotFound)?;
    Ok(Response::json(json!({
        "db_name": role.db_name,
        "username": role.username,
        "rotation_period": role.rotation_period,
        "rotation_statements": role.rotation_statements,
        "last_vault_rotation": crate::duration::rfc3339_unix(role.last_rotation),
        "credential_type": "password",
    })))
}

pub async fn creds(ctx: &MountContext, name: &str) -> Result<Response, RequestError> {
    let role = load(ctx, name).await?.ok_or(RequestError::NotFound)?;
    let next = role.last_rotation + role.rotation_period;
    Ok(Response::json(json!({
        "username": role.username,
        "password": role.password,
        "last_vault_rotation": crate::duration::rfc3339_unix(role.last_rotation),
        "rotation_period": role.rotation_period,
        "ttl": next.saturating_sub(now_unix()),
    })))
}

pub async fn write(
    engine: &Database,
    ctx: &MountContext,
    name: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    reject_unknown_fields(req, FIELDS)?;
    let mut role = load(ctx, name).await?.unwrap_or_default();
    let is_new = role.username.is_empty();
    if let Some(db_name) = req.str_field("db_name")? {
        role.db_name = db_name.to_string();
    }
    match req.str_field("username")? {
        Some(user) if !is_new && user != role.username => {
            return Err(RequestError::invalid(
                "cannot change the username of a static role",
            ))
        }
        Some(user) if user.contains(['\'', '"', '`', '\\']) => {
            return Err(RequestError::invalid(
                "username cannot contain quotes or backslashes",
            ))
        }
        Some(user) => role.username = user.to_string(),
        None if is_new => return Err(RequestError::invalid("username is a required field")),
        None => {}
    }
    if let Some(period) = req.duration_field("rotation_period")? {
        role.rotation_period = period;
    }
    if role.rotation_period < MIN_ROTATION_PERIOD {
        return Err(RequestError::invalid(format!(
            "rotation_period must be {MIN_ROTATION_PERIOD} seconds or more"
        )));
    }
    if let Some(statements) = statement_list(req, "rotation_statements")? {
        role.rotation_statements = statements;
    }
    if let Some(kind) = req.str_field("credential_type")? {
        if !kind.is_empty() && kind != "password" {
            return Err(RequestError::invalid(
                "only credential_type \"password\" is supported",
            ));
        }
    }
    let config = config::load(ctx, &role.db_name)
        .await?
        .ok_or_else(|| RequestError::invalid(format!("database {:?} not found", role.db_name)))?;
    if !config.allows(name) {
        return Err(RequestError::invalid(format!(
            "{name:?} is not an allowed role"
        )));
    }
    if role.username == config.username {
        return Err(RequestError::invalid(
            "the connection's own user cannot be a static role: use rotate-root",
        ));
    }
    if is_new {
        // As Vault: a new role whose first rotation fails is not created (the user may not
        // exist, or the connection lacks the privilege), so nothing retries it forever.
        if let Err(err) = rotate(engine, ctx, name, role).await {
            ctx.storage.delete(&key(name)).await?;
            return Err(err);
        }
    } else {
        ctx.storage.put_json(&key(name), &role).await?;
    }
    Ok(Response::empty())
}

pub async fn delete(ctx: &MountContext, name: &str) -> Result<Response, RequestError> {
    ctx.storage.delete(&key(name)).await?;
    Ok(Response::empty())
}

/// `rotate-role/<name>`.
pub async fn rotate_now(
    engine: &Database,
    ctx: &MountContext,
    name: &str,
) -> Result<Response, RequestError> {
    let role = load(ctx, name).await?.ok_or(RequestError::NotFound)?;
    rotate(engine, ctx, name, role).await?;
    Ok(Response::empty())
}

/// Sets a new password in the database, then stores it with the rotation time.
async fn rotate(
    engine: &Database,
    ctx: &MountContext,
    name: &str,
    mut role: StaticRole,
) -> Result<(), RequestError> {
    let _turn = engine.rotation.lock().await;
    let config = config::load(ctx, &role.db_name)
        .await?
        .ok_or_else(|| RequestError::invalid(format!("database {:?} not found", role.db_name)))?;
    let plugin = config.plugin();
    let new_password = password::generate();
    let sql_password = config.password_for_sql(&new_password);
    let templates = match role.rotation_statements.is_empty() {
        true => vec![plugin.default_rotation_statement().to_string()],
        false => role.rotation_statements.clone(),
    };
    let values = [
        ("name", role.username.as_str()),
        ("username", role.username.as_str()),
        ("password", sql_password.as_str()),
    ];
    let pool = engine
        .pools
        .get(&role.db_name, &config)
        .await
        .map_err(|e| e.into_request_error())?;
    role.rotating = true;
    ctx.storage.put_json(&key(name), &role).await?;
    let executed = pool.execute(&render(&templates, plugin, &values)).await;
    role.rotating = false;
    if let Err(e) = executed {
        ctx.storage.put_json(&key(name), &role).await?;
        return Err(e.into_request_error());
    }
    role.password = new_password.to_string();
    role.last_rotation = now_unix();
    ctx.storage.put_json(&key(name), &role).await?;
    Ok(())
}

/// Rotates every static role whose period has elapsed or whose last rotation was cut
/// short; one failure does not stop the rest.
pub async fn rotate_due(engine: &Database, ctx: &MountContext) -> Result<(), RequestError> {
    let now = now_unix();
    for name in ctx.storage.list(STATIC_PREFIX).await? {
        let Some(role) = load(ctx, &name).await? else {
            continue;
        };
        if !role.rotating && role.last_rotation + role.rotation_period > now {
            continue;
        }
        if let Err(err) = rotate(engine, ctx, &name, role).await {
            tracing::warn!(role = %name, error = %err, "static role rotation failed");
        }
    }
    Ok(())
}
