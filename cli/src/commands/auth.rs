//! `cofre auth …`: enable, disable, list and tune auth methods (`sys/auth`), as
//! `vault auth` does.

use std::collections::BTreeMap;

use clap::{Args, Subcommand};
use cofre_client::sys::MountInfo;
use serde_json::{json, Map, Value};

use crate::commands::secrets::simple_table;
use crate::commands::{ensure_trailing_slash, sanitize_path};
use crate::context::Context;
use crate::failure::{server_error, CmdResult, Failure};
use crate::output;

/// Auth method commands.
#[derive(Subcommand, Debug)]
pub enum AuthCommand {
    /// Enable an auth method (userpass, approle, kubernetes, jwt) at a path
    #[command(
        long_about = "Enable an auth method of TYPE at auth/<-path> (default: the type's \
        name).\n\n\
        Examples:\n  cofre auth enable userpass\n  cofre auth enable -path=ci jwt"
    )]
    Enable(EnableArgs),
    /// Disable the auth method at a path (its users, roles and tokens' logins go)
    Disable(PathArgs),
    /// List the enabled auth methods
    List,
    /// Change an auth method's settings (TTLs, description)
    Tune(TuneArgs),
}

#[derive(Args, Debug)]
pub struct EnableArgs {
    /// Where to mount it under auth/ (default: its type)
    #[arg(long)]
    path: Option<String>,
    /// A human-friendly description
    #[arg(long)]
    description: Option<String>,
    /// Default TTL of the tokens it issues (e.g. 1h)
    #[arg(long = "default-lease-ttl", value_name = "DURATION")]
    default_lease_ttl: Option<String>,
    /// Maximum TTL of the tokens it issues
    #[arg(long = "max-lease-ttl", value_name = "DURATION")]
    max_lease_ttl: Option<String>,
    /// The method: userpass, approle, kubernetes, jwt
    #[arg(value_name = "TYPE")]
    method: String,
}

#[derive(Args, Debug)]
pub struct PathArgs {
    /// The method's path under auth/
    path: String,
}

#[derive(Args, Debug)]
pub struct TuneArgs {
    /// Default TTL of the tokens it issues
    #[arg(long = "default-lease-ttl", value_name = "DURATION")]
    default_lease_ttl: Option<String>,
    /// Maximum TTL of the tokens it issues
    #[arg(long = "max-lease-ttl", value_name = "DURATION")]
    max_lease_ttl: Option<String>,
    /// A new description
    #[arg(long)]
    description: Option<String>,
    /// The method's path under auth/
    path: String,
}

pub async fn run(ctx: &Context, command: AuthCommand) -> CmdResult {
    match command {
        AuthCommand::Enable(args) => enable(ctx, args).await,
        AuthCommand::Disable(args) => disable(ctx, args).await,
        AuthCommand::List => list(ctx).await,
        AuthCommand::Tune(args) => tune(ctx, args).await,
    }
}

/// `auth/userpass/` or `userpass` → `userpass/`.
fn method_path(path: &str) -> String {
    let path = sanitize_path(path);
    ensure_trailing_slash(path.strip_prefix("auth/").unwrap_or(&path))
}

fn ttl_config(default_ttl: Option<String>, max_ttl: Option<String>) -> Map<String, Value> {
    let mut config = Map::new();
    if let Some(ttl) = default_ttl {
        config.insert("default_lease_ttl".into(), json!(ttl));
    }
    if let Some(ttl) = max_ttl {
        config.insert("max_lease_ttl".into(), json!(ttl));
    }
    config
}

async fn enable(ctx: &Context, args: EnableArgs) -> CmdResult {
    let method = args.method.trim().to_string();
    let path = method_path(args.path.as_deref().unwrap_or(&method));
    let body = json!({
        "type": method,
        "description": args.description.unwrap_or_default(),
        "config": ttl_config(args.default_lease_ttl, args.max_lease_ttl),
    });
    ctx.client
        .write(&format!("sys/auth/{path}"), &body)
        .await
        .map_err(|e| server_error("Error enabling", &e))?;
    output::out(&format!("Success! Enabled {method} auth method at: {path}"));
    Ok(())
}

async fn disable(ctx: &Context, args: PathArgs) -> CmdResult {
    let path = method_path(&args.path);
    ctx.client
        .delete(&format!("sys/auth/{path}"))
        .await
        .map_err(|e| server_error(&format!("Error disabling auth method at {path}"), &e))?;
    output::out(&format!(
        "Success! Disabled the auth method (if it existed) at: {path}"
    ));
    Ok(())
}

async fn list(ctx: &Context) -> CmdResult {
    let secret = ctx
        .client
        .read("sys/auth")
        .await
        .map_err(|e| server_error("Error listing enabled authentications", &e))?
        .ok_or_else(|| Failure::server("Error listing enabled authentications: no data"))?;
    let data = secret.data.clone().unwrap_or(Value::Null);
    let methods: BTreeMap<String, MountInfo> = serde_json::from_value(data.clone())
        .map_err(|e| Failure::server(format!("Error reading the auth method list: {e}")))?;
    if !ctx.ui.is_table() {
        return ctx.ui.structured(&data);
    }
    output::out(&simple_table(&methods));
    Ok(())
}

async fn tune(ctx: &Context, args: TuneArgs) -> CmdResult {
    let path = method_path(&args.path);
    let mut body = ttl_config(args.default_lease_ttl, args.max_lease_ttl);
    if let Some(description) = args.description {
        body.insert("description".into(), json!(description));
    }
    ctx.client
        .write(&format!("sys/auth/{path}tune"), &Value::Object(body))
        .await
        .map_err(|e| server_error(&format!("Error tuning auth method {path}"), &e))?;
    output::out(&format!("Success! Tuned the auth method at: {path}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_auth() {
        assert_eq!(method_path("auth/userpass"), "userpass/");
        assert_eq!(method_path(" /ci/ "), "ci/");
        assert_eq!(method_path("approle/"), "approle/");
    }
}
