//! `cofre secrets …`: enable, disable, list, move and tune secrets engine mounts.

use std::collections::BTreeMap;

use clap::{Args, Subcommand};
use cofre_client::sys::{MountConfigInput, MountInfo, MountRequest};

use crate::commands::{ensure_trailing_slash, sanitize_path};
use crate::context::Context;
use crate::failure::{server_error, CmdResult, Failure};
use crate::output::{self, table};

/// Secrets engine commands.
#[derive(Subcommand, Debug)]
pub enum SecretsCommand {
    /// Enable a secrets engine (kv, cubbyhole, …) at a path
    #[command(
        long_about = "Enable a secrets engine of TYPE at -path (default: the type's \
        name).\n\n\
        Examples:\n  cofre secrets enable -path=team -version=2 kv\n  \
        cofre secrets enable -path=legacy -description=\"old apps\" kv"
    )]
    Enable(EnableArgs),
    /// Disable the engine at a path, deleting all of its data
    Disable(PathArgs),
    /// List the enabled secrets engines
    List(ListArgs),
    /// Move an engine to a new path (its data moves with it)
    Move(MoveArgs),
    /// Change an engine's settings (TTLs, description, options)
    Tune(TuneArgs),
}

#[derive(Args, Debug)]
pub struct EnableArgs {
    /// Where to mount the engine (default: its type)
    #[arg(long)]
    path: Option<String>,
    /// A human-friendly description
    #[arg(long)]
    description: Option<String>,
    /// KV version (1 or 2); sets the "version" option
    #[arg(long)]
    version: Option<u32>,
    /// Engine option as key=value (repeatable)
    #[arg(long = "options", value_name = "K=V")]
    options: Vec<String>,
    /// Default lease TTL for the engine's secrets (e.g. 1h)
    #[arg(long = "default-lease-ttl", value_name = "DURATION")]
    default_lease_ttl: Option<String>,
    /// Maximum lease TTL for the engine's secrets
    #[arg(long = "max-lease-ttl", value_name = "DURATION")]
    max_lease_ttl: Option<String>,
    /// The engine type: kv, cubbyhole, …
    #[arg(value_name = "TYPE")]
    engine_type: String,
}

#[derive(Args, Debug)]
pub struct PathArgs {
    /// The mount's path
    path: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Show every setting of each mount (TTLs, options, UUID, …)
    #[arg(long)]
    detailed: bool,
}

#[derive(Args, Debug)]
pub struct MoveArgs {
    /// The mount's current path
    source: String,
    /// Its new path
    destination: String,
}

#[derive(Args, Debug)]
pub struct TuneArgs {
    /// New default lease TTL ("system" for the server's default)
    #[arg(long = "default-lease-ttl", value_name = "DURATION")]
    default_lease_ttl: Option<String>,
    /// New maximum lease TTL
    #[arg(long = "max-lease-ttl", value_name = "DURATION")]
    max_lease_ttl: Option<String>,
    /// New description
    #[arg(long)]
    description: Option<String>,
    /// KV version to upgrade to (sets the "version" option)
    #[arg(long)]
    version: Option<u32>,
    /// Engine option as key=value (repeatable)
    #[arg(long = "options", value_name = "K=V")]
    options: Vec<String>,
    /// The mount's path
    path: String,
}

pub async fn run(ctx: &Context, command: SecretsCommand) -> CmdResult {
    match command {
        SecretsCommand::Enable(args) => enable(ctx, args).await,
        SecretsCommand::Disable(args) => disable(ctx, args).await,
        SecretsCommand::List(args) => list(ctx, args).await,
        SecretsCommand::Move(args) => move_mount(ctx, args).await,
        SecretsCommand::Tune(args) => tune(ctx, args).await,
    }
}

/// `-options k=v` flags, plus `-version` as the `version` option.
fn options(
    pairs: &[String],
    version: Option<u32>,
) -> Result<Option<BTreeMap<String, String>>, Failure> {
    let mut options = BTreeMap::new();
    for pair in pairs {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            Failure::usage(format!("invalid -options {pair:?}: expected key=value"))
        })?;
        options.insert(key.to_string(), value.to_string());
    }
    if let Some(version) = version.filter(|v| *v > 0) {
        options.insert("version".into(), version.to_string());
    }
    Ok((!options.is_empty()).then_some(options))
}

async fn enable(ctx: &Context, args: EnableArgs) -> CmdResult {
    let engine_type = args.engine_type.trim().to_string();
    let path = ensure_trailing_slash(args.path.as_deref().unwrap_or(&engine_type));
    let request = MountRequest {
        mount_type: engine_type.clone(),
        description: args.description.unwrap_or_default(),
        config: MountConfigInput {
            default_lease_ttl: args.default_lease_ttl,
            max_lease_ttl: args.max_lease_ttl,
            ..MountConfigInput::default()
        },
        options: options(&args.options, args.version)?,
        ..MountRequest::default()
    };
    ctx.client
        .sys()
        .enable_mount(&path, &request)
        .await
        .map_err(|e| server_error("Error enabling", &e))?;
    output::out(&format!(
        "Success! Enabled the {engine_type} secrets engine at: {path}"
    ));
    Ok(())
}

async fn disable(ctx: &Context, args: PathArgs) -> CmdResult {
    let path = ensure_trailing_slash(&sanitize_path(&args.path));
    ctx.client
        .sys()
        .disable_mount(&path)
        .await
        .map_err(|e| server_error(&format!("Error disabling secrets engine at {path}"), &e))?;
    output::out(&format!(
        "Success! Disabled the secrets engine (if it existed) at: {path}"
    ));
    Ok(())
}

async fn list(ctx: &Context, args: ListArgs) -> CmdResult {
    let mounts = ctx
        .client
        .sys()
        .mounts()
        .await
        .map_err(|e| server_error("Error listing secrets engines", &e))?;
    if !ctx.ui.is_table() {
        return ctx.ui.structured(&mounts);
    }
    let text = if args.detailed {
        detailed_table(&mounts)
    } else {
        simple_table(&mounts)
    };
    output::out(&text);
    Ok(())
}

pub(crate) fn simple_table(mounts: &BTreeMap<String, MountInfo>) -> String {
    let rows = mounts
        .iter()
        .map(|(path, m)| {
            vec![
                path.clone(),
                m.mount_type.clone(),
                m.accessor.clone(),
                m.description.clone(),
            ]
        })
        .collect();
    table::table(&["Path", "Type", "Accessor", "Description"], rows)
}

fn detailed_table(mounts: &BTreeMap<String, MountInfo>) -> String {
    let ttl = |mount_type: &str, seconds: i64| match (mount_type, seconds) {
        ("system" | "cubbyhole", _) => String::new(),
        (_, 0) => "system".to_string(),
        (_, n) => n.to_string(),
    };
    let rows = mounts
        .iter()
        .map(|(path, m)| {
            let options: BTreeMap<String, String> = m.options.clone().unwrap_or_default();
            let options = options
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(" ");
            vec![
                path.clone(),
                m.mount_type.clone(),
                m.accessor.clone(),
                ttl(&m.mount_type, m.config.default_lease_ttl),
                ttl(&m.mount_type, m.config.max_lease_ttl),
                m.config.force_no_cache.to_string(),
                if m.local { "local" } else { "replicated" }.to_string(),
                m.seal_wrap.to_string(),
                m.external_entropy_access.to_string(),
                format!("map[{options}]"),
                m.description.clone(),
                m.uuid.clone(),
                m.plugin_version.clone(),
                m.running_plugin_version.clone(),
                m.running_sha256.clone(),
                m.deprecation_status.clone(),
            ]
        })
        .collect();
    table::table(
        &[
            "Path",
            "Plugin",
            "Accessor",
            "Default TTL",
            "Max TTL",
            "Force No Cache",
            "Replication",
            "Seal Wrap",
            "External Entropy Access",
            "Options",
            "Description",
            "UUID",
            "Version",
            "Running Version",
            "Running SHA256",
            "Deprecation Status",
        ],
        rows,
    )
}

async fn move_mount(ctx: &Context, args: MoveArgs) -> CmdResult {
    let source = ensure_trailing_slash(&args.source);
    let destination = ensure_trailing_slash(&args.destination);
    let failed = |e: cofre_client::Error| {
        server_error(
            &format!("Error moving secrets engine {source} to {destination}"),
            &e,
        )
    };
    let sys = ctx.client.sys();
    let migration = sys.remount(&source, &destination).await.map_err(failed)?;
    let Some(id) = migration else {
        output::out(&format!(
            "Success! Finished moving secrets engine {source} to {destination}"
        ));
        return Ok(());
    };
    let what = format!("secrets engine {source} to {destination}, with migration ID {id}");
    output::out(&format!("Started moving {what}"));
    loop {
        // A server that moves mounts synchronously keeps no migration record: done.
        let state = match sys.remount_status(&id).await {
            Ok(state) => state,
            Err(e) if e.status() == Some(404) => None,
            Err(e) => return Err(failed(e)),
        };
        match state.as_deref() {
            Some("success") | None => {
                output::out(&format!("Success! Finished moving {what}"));
                return Ok(());
            }
            Some("failure") => {
                return Err(Failure::server(format!(
                    "Failure! Error encountered moving {what}"
                )))
            }
            Some(_) => {
                output::out(&format!(
                    "Waiting for terminal status in migration of {what}"
                ));
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

async fn tune(ctx: &Context, args: TuneArgs) -> CmdResult {
    let path = ensure_trailing_slash(&sanitize_path(&args.path));
    let config = MountConfigInput {
        default_lease_ttl: args.default_lease_ttl,
        max_lease_ttl: args.max_lease_ttl,
        description: args.description,
        options: options(&args.options, args.version)?,
        ..MountConfigInput::default()
    };
    ctx.client
        .sys()
        .tune_mount(&path, &config)
        .await
        .map_err(|e| server_error(&format!("Error tuning secrets engine {path}"), &e))?;
    output::out(&format!("Success! Tuned the secrets engine at: {path}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_becomes_an_option() {
        let opts = options(&["a=b".into()], Some(2)).unwrap().unwrap();
        assert_eq!(opts["version"], "2");
        assert_eq!(opts["a"], "b");
        assert_eq!(options(&[], None).unwrap(), None);
        assert!(options(&["novalue".into()], None).is_err());
    }

    #[test]
    fn simple_list_matches_vault_layout() {
        let mut mounts = BTreeMap::new();
        mounts.insert(
            "secret/".to_string(),
            MountInfo {
                mount_type: "kv".into(),
                accessor: "kv_1".into(),
                description: "key/value secret storage".into(),
                ..MountInfo::default()
            },
        );
        mounts.insert(
            "kv1/".to_string(),
            MountInfo {
                mount_type: "kv".into(),
                accessor: "kv_2".into(),
                ..MountInfo::default()
            },
        );
        assert_eq!(
            simple_table(&mounts),
            "Path       Type    Accessor    Description\n\
             ----       ----    --------    -----------\n\
             kv1/       kv      kv_2        n/a\n\
             secret/    kv      kv_1        key/value secret storage"
        );
    }
}
