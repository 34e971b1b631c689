//! `config/<name>`: database connections (write, read, list, delete), plus `reset/<name>`
//! and `rotate-root/<name>`. A write merges into the stored config (as Vault does),
//! verifies it by connecting when `verify_connection` is on, and only then stores it.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::plugin::{Kind, Plugin};
use super::template::{Metadata, Template};
use super::{password, reject_unknown_fields, statement_list, statements, Database};
use crate::core::{Request, RequestError, Response};
use crate::engines::MountContext;

const CONFIG_PREFIX: &str = "config/";

const FIELDS: &[&str] = &[
    "plugin_name",
    "plugin_version",
    "connection_url",
    "username",
    "password",
    "allowed_roles",
    "max_open_connections",
    "max_idle_connections",
    "max_connection_lifetime",
    "verify_connection",
    "password_authentication",
    "username_template",
    "root_rotation_statements",
    "password_policy",
    "disable_escaping",
];

/// A stored connection. `password` is the connection user's and never leaves the engine.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct ConnectionConfig {
    pub plugin_name: String,
    pub connection_url: String,
    pub username: String,
    pub password: String,
    pub allowed_roles: Vec<String>,
    pub max_open_connections: u32,
    pub max_idle_connections: u32,
    /// Seconds; 0 = connections live forever.
    pub max_connection_lifetime: u64,
    pub verify_connection: bool,
    /// PostgreSQL: `password` or `scram-sha-256`.
    pub password_authentication: String,
    pub username_template: String,
    pub root_rotation_statements: Vec<String>,
    pub disable_escaping: bool,
    /// Renewed on every change so [`super::connection::Pools`] drops stale pools.
    pub generation: String,
    /// A root rotation's new password, stored before its `ALTER` and cleared after; still
    /// set means the rotation was cut short, and [`resolve_interrupted_rotations`] finds
    /// out which password the database holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_password: Option<String>,
}

impl std::fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("plugin_name", &self.plugin_name)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl ConnectionConfig {
    /// The plugin (validated when the config was written).
    pub fn plugin(&self) -> Plugin {
        Plugin::from_name(&self.plugin_name).unwrap_or(Plugin::POSTGRES)
    }

    /// The username template in force: the configured one or the plugin's default.
    pub fn username_template(&self) -> Result<Template, RequestError> {
        let source = match self.username_template.as_str() {
            "" => self.plugin().default_username_template(),
            custom => custom,
        };
        Template::parse(source)
            .map_err(|e| RequestError::invalid(format!("invalid username_template: {e}")))
    }

    /// Whether `role` may use this connection (`*` allows every role; empty allows none).
    pub fn allows(&self, role: &str) -> bool {
        self.allowed_roles.iter().any(|r| r == "*" || r == role)
    }

    /// What `{{password}}` becomes in SQL: the password, or its SCRAM verifier.
    pub fn password_for_sql(&self, password: &str) -> String {
        if self.plugin().kind == Kind::Postgres && self.password_authentication == "scram-sha-256" {
            password::scram_sha256_verifier(password)
        } else {
            password.to_string()
        }
    }
}

pub async fn load(
    ctx: &MountContext,
    name: &str,
) -> Result<Option<ConnectionConfig>, RequestError> {
    Ok(ctx.storage.get_json(&key(name)).await?)
}

fn key(name: &str) -> String {
    format!("{CONFIG_PREFIX}{name}")
}

pub async fn list(ctx: &MountContext) -> Result<Response, RequestError> {
    Response::list(ctx.storage.list(CONFIG_PREFIX).await?)
}

pub async fn read(ctx: &MountContext, name: &str) -> Result<Response, RequestError> {
    let config = load(ctx, name).await?.ok_or(RequestError::NotFound)?;
    Ok(Response::json(json!({
        "plugin_name": config.plugin_name,
        "plugin_version": "",
        "allowed_roles": config.allowed_roles,
        "connection_details": {
            "connection_url": config.connection_url,
            "username": config.username,
            "max_open_connections": config.max_open_connections,
            "max_idle_connections": config.max_idle_connections,
            "max_connection_lifetime": format!("{}s", config.max_connection_lifetime),
            "password_authentication": config.password_authentication,
            "username_template": config.username_template,
            "disable_escaping": config.disable_escaping,
        },
        "root_credentials_rotate_statements": config.root_rotation_statements,
        "password_policy": "",
        "verify_connection": config.verify_connection,
    })))
}

pub async fn write(
    engine: &Database,
    ctx: &MountContext,
    name: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    reject_unknown_fields(req, FIELDS)?;
    let existing = load(ctx, name).await?;
    let mut config = merge(existing, req)?;
    if config.verify_connection {
        super::connection::verify(&config)
            .await
            .map_err(|e| RequestError::invalid(e.to_string()))?;
    }
    config.generation = crate::crypto::uuid_v4();
    engine.pools.drop_pool(name).await;
    ctx.storage.put_json(&key(name), &config).await?;
    Ok(Response::empty())
}

/// The stored config with the request's fields applied, validated.
fn merge(
    existing: Option<ConnectionConfig>,
    req: &Request,
) -> Result<ConnectionConfig, RequestError> {
    let mut c = existing.unwrap_or_else(|| ConnectionConfig {
        max_open_connections: 4,
        verify_connection: true,
        password_authentication: "password".into(),
        ..ConnectionConfig::default()
    });
    if let Some(plugin) = req.str_field("plugin_name")? {
        c.plugin_name = plugin.to_string();
    }
    let plugin = Plugin::from_name(&c.plugin_name).map_err(RequestError::invalid)?;
    if let Some(version) = req.str_field("plugin_version")? {
        if !version.is_empty() {
            return Err(RequestError::invalid(
                "plugin_version is not supported: plugins are built in",
            ));
        }
    }
    let text = |field: &str, target: &mut String| -> Result<(), RequestError> {
        if let Some(value) = req.str_field(field)? {
            *target = value.to_string();
        }
        Ok(())
    };
    text("connection_url", &mut c.connection_url)?;
    text("username", &mut c.username)?;
    text("password", &mut c.password)?;
    text("password_authentication", &mut c.password_authentication)?;
    text("username_template", &mut c.username_template)?;
    if let Some(roles) = req.string_list("allowed_roles")? {
        c.allowed_roles = roles;
    }
    if let Some(statements) = statement_list(req, "root_rotation_statements")? {
        c.root_rotation_statements = statements;
    }
    if let Some(n) = req.uint_field("max_open_connections")? {
        c.max_open_connections = u32::try_from(n).unwrap_or(u32::MAX).max(1);
    }
    if let Some(n) = req.uint_field("max_idle_connections")? {
        c.max_idle_connections = u32::try_from(n).unwrap_or(u32::MAX);
    }
    if let Some(seconds) = req.duration_field("max_connection_lifetime")? {
        c.max_connection_lifetime = seconds;
    }
    c.verify_connection = req.bool_field("verify_connection")?.unwrap_or(true);
    if let Some(escaping) = req.bool_field("disable_escaping")? {
        c.disable_escaping = escaping;
    }
    if let Some(policy) = req.str_field("password_policy")? {
        if !policy.is_empty() {
            return Err(RequestError::invalid(
                "password_policy is not supported: generated passwords use the default policy",
            ));
        }
    }
    validate(&c, plugin)?;
    Ok(c)
}

fn validate(c: &ConnectionConfig, plugin: Plugin) -> Result<(), RequestError> {
    if c.connection_url.is_empty() {
        return Err(RequestError::invalid("connection_url cannot be empty"));
    }
    if !matches!(
        c.password_authentication.as_str(),
        "password" | "scram-sha-256"
    ) {
        return Err(RequestError::invalid(
            "password_authentication must be \"password\" or \"scram-sha-256\"",
        ));
    }
    if c.password_authentication == "scram-sha-256" && !plugin.is_postgres() {
        return Err(RequestError::invalid(
            "password_authentication scram-sha-256 is only for PostgreSQL",
        ));
    }
    // Render once with empty metadata, as Vault does, so a typo fails now.
    let sample = Metadata::default();
    c.username_template()?
        .render(&sample)
        .map_err(|e| RequestError::invalid(format!("invalid username_template: {e}")))?;
    super::plugin::driver_url(plugin.kind, &c.connection_url, "u", "p", c.disable_escaping)
        .map_err(RequestError::invalid)?;
    Ok(())
}

pub async fn delete(
    engine: &Database,
    ctx: &MountContext,
    name: &str,
) -> Result<Response, RequestError> {
    ctx.storage.delete(&key(name)).await?;
    engine.pools.drop_pool(name).await;
    Ok(Response::empty())
}

/// `reset/<name>`: close the pool and open a fresh one (connecting now, so a broken
/// database shows up in the answer).
pub async fn reset(
    engine: &Database,
    ctx: &MountContext,
    name: &str,
) -> Result<Response, RequestError> {
    let mut config = load(ctx, name).await?.ok_or(RequestError::NotFound)?;
    engine.pools.drop_pool(name).await;
    config.generation = crate::crypto::uuid_v4();
    ctx.storage.put_json(&key(name), &config).await?;
    super::connection::verify(&config)
        .await
        .map_err(|e| e.into_request_error())?;
    Ok(Response::empty())
}

/// `rotate-root/<name>`: a new password for the connection user, set in the database,
/// then stored; afterwards only this engine knows it.
pub async fn rotate_root(
    engine: &Database,
    ctx: &MountContext,
    name: &str,
) -> Result<Response, RequestError> {
    let _turn = engine.rotation.lock().await;
    let mut config = load(ctx, name).await?.ok_or(RequestError::NotFound)?;
    if config.username.is_empty() {
        return Err(RequestError::invalid(
            "the config has no username: nothing to rotate",
        ));
    }
    let pool = engine
        .pools
        .get(name, &config)
        .await
        .map_err(|e| e.into_request_error())?;
    let new_password = password::generate();
    let sql_password = config.password_for_sql(&new_password);
    let kind = config.plugin().kind;
    let templates = match config.root_rotation_statements.is_empty() {
        true => vec![config.plugin().default_rotation_statement().to_string()],
        false => config.root_rotation_statements.clone(),
    };
    let values = [
        ("name", config.username.as_str()),
        ("username", config.username.as_str()),
        ("password", sql_password.as_str()),
    ];
    let sql: Vec<String> = statements::split_all(&templates, kind == Kind::Postgres)
        .iter()
        .map(|s| statements::fill(s, &values))
        .collect();
    config.pending_password = Some(new_password.to_string());
    ctx.storage.put_json(&key(name), &config).await?;
    let executed = pool.execute(&sql).await;
    config.pending_password = None;
    if let Err(e) = executed {
        ctx.storage.put_json(&key(name), &config).await?;
        return Err(e.into_request_error());
    }
    config.password = new_password.to_string();
    config.generation = crate::crypto::uuid_v4();
    engine.pools.drop_pool(name).await;
    if let Err(err) = ctx.storage.put_json(&key(name), &config).await {
        tracing::error!(connection = name, "root password rotated but not stored");
        return Err(err.into());
    }
    tracing::info!(connection = name, "root credentials rotated");
    Ok(Response::empty())
}

/// Settles root rotations cut short by a crash (see `pending_password`): the password
/// the database accepts is kept, the other dropped.
pub async fn resolve_interrupted_rotations(
    engine: &Database,
    ctx: &MountContext,
) -> Result<(), RequestError> {
    let _turn = engine.rotation.lock().await;
    for name in ctx.storage.list(CONFIG_PREFIX).await? {
        let Some(mut config) = load(ctx, &name).await? else {
            continue;
        };
        let Some(pending) = config.pending_password.take() else {
            continue;
        };
        let mut candidate = config.clone();
        candidate.password = pending;
        if super::connection::verify(&candidate).await.is_ok() {
            config.password = candidate.password;
            tracing::warn!(connection = %name, "an interrupted root rotation had completed; keeping the new password");
        } else if super::connection::verify(&config).await.is_err() {
            // Neither works (the database may be down): decide on a later tick.
            continue;
        }
        config.generation = crate::crypto::uuid_v4();
        engine.pools.drop_pool(&name).await;
        ctx.storage.put_json(&key(&name), &config).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scram_authentication_sends_a_verifier_never_the_password() {
        let mut config = ConnectionConfig {
            plugin_name: "postgresql-database-plugin".into(),
            password_authentication: "scram-sha-256".into(),
            ..ConnectionConfig::default()
        };
        let sent = config.password_for_sql("s3cret-Pw");
        assert!(sent.starts_with("SCRAM-SHA-256$4096:"), "{sent}");
        assert!(!sent.contains("s3cret-Pw"));
        assert!(password::scram_matches(&sent, "s3cret-Pw"));

        config.password_authentication = "password".into();
        assert_eq!(config.password_for_sql("s3cret-Pw"), "s3cret-Pw");
        config.plugin_name = "mysql-database-plugin".into();
        config.password_authentication = "scram-sha-256".into();
        assert_eq!(
            config.password_for_sql("s3cret-Pw"),
            "s3cret-Pw",
            "MySQL has no SCRAM"
        );
    }
}
