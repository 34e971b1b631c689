//! `roles/<name>`: dynamic roles, i.e. the SQL that creates, renews, revokes and rolls back
//! a generated user, and the TTLs of its lease. A write merges into the stored role.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{config, reject_unknown_fields, statement_list};
use crate::core::{Request, RequestError, Response};
use crate::engines::MountContext;

const ROLE_PREFIX: &str = "role/";

const FIELDS: &[&str] = &[
    "db_name",
    "creation_statements",
    "revocation_statements",
    "rollback_statements",
    "renew_statements",
    "default_ttl",
    "max_ttl",
    "credential_type",
];

/// A stored dynamic role.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Role {
    pub db_name: String,
    pub creation_statements: Vec<String>,
    pub revocation_statements: Vec<String>,
    pub rollback_statements: Vec<String>,
    pub renew_statements: Vec<String>,
    /// Seconds; 0 = the mount's default lease TTL.
    pub default_ttl: u64,
    /// Seconds; 0 = the mount's max lease TTL.
    pub max_ttl: u64,
}

pub async fn load(ctx: &MountContext, name: &str) -> Result<Option<Role>, RequestError> {
    Ok(ctx.storage.get_json(&key(name)).await?)
}

pub fn key(name: &str) -> String {
    format!("{ROLE_PREFIX}{name}")
}

pub async fn list(ctx: &MountContext) -> Result<Response, RequestError> {
    Response::list(ctx.storage.list(ROLE_PREFIX).await?)
}

pub async fn read(ctx: &MountContext, name: &str) -> Result<Response, RequestError> {
    let role = load(ctx, name).await?.ok_or(RequestError::NotFound)?;
    Ok(Response::json(json!({
        "db_name": role.db_name,
        "creation_statements": role.creation_statements,
        "revocation_statements": role.revocation_statements,
        "rollback_statements": role.rollback_statements,
        "renew_statements": role.renew_statements,
        "default_ttl": role.default_ttl,
        "max_ttl": role.max_ttl,
        "credential_type": "password",
        "credential_config": {},
    })))
}

pub async fn write(
    ctx: &MountContext,
    name: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    reject_unknown_fields(req, FIELDS)?;
    let mut role = load(ctx, name).await?.unwrap_or_default();
    if let Some(db_name) = req.str_field("db_name")? {
        role.db_name = db_name.to_string();
    }
    if role.db_name.is_empty() {
        return Err(RequestError::invalid("empty database name attribute"));
    }
    if config::load(ctx, &role.db_name).await?.is_none() {
        return Err(RequestError::invalid(format!(
            "database config {:?} does not exist",
            role.db_name
        )));
    }
    let lists = [
        ("creation_statements", &mut role.creation_statements),
        ("revocation_statements", &mut role.revocation_statements),
        ("rollback_statements", &mut role.rollback_statements),
        ("renew_statements", &mut role.renew_statements),
    ];
    for (field, target) in lists {
        if let Some(statements) = statement_list(req, field)? {
            *target = statements;
        }
    }
    if role.creation_statements.is_empty() {
        return Err(RequestError::invalid("creation_statements are required"));
    }
    if let Some(ttl) = req.duration_field("default_ttl")? {
        role.default_ttl = ttl;
    }
    if let Some(ttl) = req.duration_field("max_ttl")? {
        role.max_ttl = ttl;
    }
    if role.max_ttl > 0 && role.default_ttl > role.max_ttl {
        return Err(RequestError::invalid("ttl cannot be greater than max_ttl"));
    }
    if let Some(kind) = req.str_field("credential_type")? {
        if !kind.is_empty() && kind != "password" {
            return Err(RequestError::invalid(format!(
                "credential_type {kind:?} is not supported: only \"password\""
            )));
        }
    }
    ctx.storage.put_json(&key(name), &role).await?;
    Ok(Response::empty())
}

pub async fn delete(ctx: &MountContext, name: &str) -> Result<Response, RequestError> {
    ctx.storage.delete(&key(name)).await?;
    Ok(Response::empty())
}
