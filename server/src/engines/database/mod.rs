//! The `database` secrets engine (Vault's API): dynamic users with leases and static users
//! with rotated passwords, on PostgreSQL and MySQL/MariaDB through sqlx.
//!
//! Layout: [`config`] (`config/`, `reset/`, `rotate-root/`), [`roles`] (`roles/`),
//! [`creds`] (`creds/` and lease renewal), [`revoke`] (lease revocation and the default
//! drop-everything SQL), [`static_roles`] (`static-roles/`, `static-creds/`,
//! `rotate-role/`, rotation on `tick`), [`connection`] (pools, statement execution, error
//! scrubbing), [`plugin`] (what differs per database kind), [`template`] (username
//! templates), [`statements`] (splitting and filling SQL), [`password`] (generation, SCRAM).
//!
//! Storage below the mount: `config/<name>`, `role/<name>`, `static-role/<name>`, as JSON
//! under the barrier. Keys hold only names; passwords live only in values.
//!
//! Decisions:
//! - Built-in plugins only: `postgresql-database-plugin` and `mysql-database-plugin`
//!   (plus Vault's aurora/rds/legacy MySQL names, which keep 16-character user names).
//! - Unknown fields on config and role writes are a 400 naming the field (Vault ignores
//!   them); `password_policy` and `plugin_version` are accepted only empty.
//! - A statement the database rejects is a 400 with the driver's message; a database we
//!   cannot reach is a 500. Messages never hold the connection URL or a password.
//! - Generated user names must fit the database and hold no quote, backslash, `;` or
//!   space, so `{{name}}` inside operator SQL cannot break out of its quotes.
//! - SQL lists (`creation_statements`, …) are a JSON list or one string; they are split on
//!   `;` outside quotes (and PostgreSQL dollar quotes), never on commas.

pub mod config;
pub mod connection;
pub mod creds;
pub mod password;
pub mod plugin;
pub mod revoke;
pub mod roles;
pub mod statements;
pub mod static_roles;
pub mod template;

#[cfg(test)]
mod live_tests;

use crate::engines::help::{BackendHelp, PathHelp};
use async_trait::async_trait;
use serde_json::Value;

use crate::core::{Operation, Request, RequestError, Response};
use crate::engines::{Engine, LeasedSecret, MountContext};
use connection::Pools;

/// The engine for one `database` mount: its pools (the rest lives in storage).
#[derive(Default)]
pub struct Database {
    pools: Pools,
    /// Serialises password rotations (root and static) with the tick that settles
    /// interrupted ones, so neither overwrites the other's result.
    rotation: tokio::sync::Mutex<()>,
}

static HELP: BackendHelp = BackendHelp {
    description: "Dynamic and static database credentials for PostgreSQL and MySQL/MariaDB: connections are configured once, roles say which SQL creates a user, and each read of creds/<role> issues a user with a lease.",
    paths: &[
        PathHelp {
            pattern: "config",
            synopsis: "List the configured connections.",
            description: "LIST names the connections of this mount.",
        },
        PathHelp {
            pattern: "config/<name>",
            synopsis: "Configure a database connection.",
            description: "POST writes plugin_name, connection_url, username, password, allowed_roles and related settings; GET reads them without the password; DELETE removes the connection.",
        },
        PathHelp {
            pattern: "reset/<name>",
            synopsis: "Close and reopen a connection's pool.",
            description: "POST drops the connection's pooled sessions so the next request reconnects with the current settings.",
        },
        PathHelp {
            pattern: "rotate-root/<name>",
            synopsis: "Rotate the connection's own password.",
            description: "POST sets a new random password for the configured user; afterwards only Cofre knows it.",
        },
        PathHelp {
            pattern: "roles",
            synopsis: "List the dynamic roles.",
            description: "LIST names the dynamic roles of this mount.",
        },
        PathHelp {
            pattern: "roles/<name>",
            synopsis: "Manage a dynamic role.",
            description: "POST writes db_name, creation_statements, revocation_statements, default_ttl and max_ttl; GET reads them; DELETE removes the role.",
        },
        PathHelp {
            pattern: "creds/<name>",
            synopsis: "Issue credentials for a dynamic role.",
            description: "GET creates a database user with the role's statements and returns its username and password with a lease; revoking the lease drops the user.",
        },
        PathHelp {
            pattern: "static-roles",
            synopsis: "List the static roles.",
            description: "LIST names the static roles of this mount.",
        },
        PathHelp {
            pattern: "static-roles/<name>",
            synopsis: "Manage a static role.",
            description: "POST writes db_name, username and rotation_period for an existing database user whose password Cofre rotates; GET reads; DELETE removes the role (the user stays).",
        },
        PathHelp {
            pattern: "static-creds/<name>",
            synopsis: "Read a static role's current password.",
            description: "GET returns the username, the current password and when it rotates next.",
        },
        PathHelp {
            pattern: "rotate-role/<name>",
            synopsis: "Rotate a static role's password now.",
            description: "POST sets a new password for the static role's user at once.",
        },
    ],
};

#[async_trait]
impl Engine for Database {
    fn help(&self) -> &'static BackendHelp {
        &HELP
    }

    async fn handle(&self, ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
        use Operation::{Create, Delete, List, Read, Update};
        let (area, name) = split_path(&req.path);
        let write = matches!(req.operation, Create | Update);
        match (area, req.operation) {
            ("config", List) => config::list(ctx).await,
            ("roles", List) => roles::list(ctx).await,
            ("static-roles", List) => static_roles::list(ctx).await,
            _ if name.is_empty() || name.contains('/') => Err(RequestError::unsupported_path()),
            ("config", Read) => config::read(ctx, name).await,
            ("config", _) if write => config::write(self, ctx, name, req).await,
            ("config", Delete) => config::delete(self, ctx, name).await,
            ("reset", _) if write => config::reset(self, ctx, name).await,
            ("rotate-root", _) if write => config::rotate_root(self, ctx, name).await,
            ("roles", Read) => roles::read(ctx, name).await,
            ("roles", _) if write => roles::write(ctx, name, req).await,
            ("roles", Delete) => roles::delete(ctx, name).await,
            ("creds", Read) => creds::issue(self, ctx, name).await,
            ("static-roles", Read) => static_roles::read(ctx, name).await,
            ("static-roles", _) if write => static_roles::write(self, ctx, name, req).await,
            ("static-roles", Delete) => static_roles::delete(ctx, name).await,
            ("static-creds", Read) => static_roles::creds(ctx, name).await,
            ("rotate-role", _) if write => static_roles::rotate_now(self, ctx, name).await,
            ("config" | "reset" | "rotate-root" | "roles" | "creds", _)
            | ("static-roles" | "static-creds" | "rotate-role", _) => {
                Err(RequestError::UnsupportedOperation)
            }
            _ => Err(RequestError::unsupported_path()),
        }
    }

    async fn exists(
        &self,
        ctx: &MountContext,
        req: &Request,
    ) -> Result<Option<bool>, RequestError> {
        let (area, name) = split_path(&req.path);
        if name.is_empty() || name.contains('/') {
            return Ok(None);
        }
        let found = match area {
            "config" => config::load(ctx, name).await?.is_some(),
            "roles" => roles::load(ctx, name).await?.is_some(),
            "static-roles" => static_roles::exists(ctx, name).await?,
            _ => return Ok(None),
        };
        Ok(Some(found))
    }

    async fn revoke(
        &self,
        ctx: &MountContext,
        lease: &LeasedSecret<'_>,
    ) -> Result<(), RequestError> {
        revoke::revoke(self, ctx, lease).await
    }

    async fn renew(
        &self,
        ctx: &MountContext,
        lease: &LeasedSecret<'_>,
    ) -> Result<(), RequestError> {
        creds::renew(self, ctx, lease).await
    }

    async fn tick(&self, ctx: &MountContext) -> Result<(), RequestError> {
        config::resolve_interrupted_rotations(self, ctx).await?;
        static_roles::rotate_due(self, ctx).await
    }
}

/// `roles/app` → ("roles", "app"); `roles/` and `roles` → ("roles", "").
fn split_path(path: &str) -> (&str, &str) {
    path.split_once('/').unwrap_or((path, ""))
}

/// A 400 naming the first field the endpoint does not know.
fn reject_unknown_fields(req: &Request, known: &[&str]) -> Result<(), RequestError> {
    match req.data.keys().find(|k| !known.contains(&k.as_str())) {
        Some(field) => Err(RequestError::invalid(format!("unknown field {field:?}"))),
        None => Ok(()),
    }
}

/// A list of SQL statements: a JSON list of strings or one string (kept whole: SQL has
/// commas, so no comma splitting here).
fn statement_list(req: &Request, name: &str) -> Result<Option<Vec<String>>, RequestError> {
    let wrong = || {
        RequestError::invalid(format!(
            "field {name:?} must be a string or a list of strings"
        ))
    };
    match req.data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(Vec::new())),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(wrong))
            .filter(|s| s.as_ref().map_or(true, |s| !s.trim().is_empty()))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn req(body: Value) -> Request {
        crate::engines::kv::testutil::request(Operation::Update, "roles/x", body)
    }

    #[test]
    fn paths_split_into_area_and_name() {
        assert_eq!(split_path("roles/app"), ("roles", "app"));
        assert_eq!(split_path("roles/"), ("roles", ""));
        assert_eq!(split_path("config"), ("config", ""));
        assert_eq!(split_path("creds/a/b"), ("creds", "a/b"));
    }

    #[test]
    fn statement_lists_keep_commas() {
        let one = req(json!({"s": "GRANT SELECT, INSERT ON t TO \"{{name}}\""}));
        assert_eq!(
            statement_list(&one, "s").ok().flatten(),
            Some(vec!["GRANT SELECT, INSERT ON t TO \"{{name}}\"".to_string()])
        );
        let many = req(json!({"s": ["a", " ", "b"]}));
        assert_eq!(
            statement_list(&many, "s").ok().flatten(),
            Some(vec!["a".into(), "b".into()])
        );
        assert!(statement_list(&req(json!({"s": 3})), "s").is_err());
        assert!(statement_list(&req(json!({"s": [1]})), "s").is_err());
        assert_eq!(statement_list(&req(json!({})), "s").ok(), Some(None));
    }

    #[test]
    fn unknown_fields_are_named() {
        let r = req(json!({"db_name": "x", "bogus": 1}));
        let err = reject_unknown_fields(&r, &["db_name"])
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("unknown field \"bogus\""));
    }
}
