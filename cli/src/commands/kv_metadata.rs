//! `cofre kv metadata get|put|delete`: a KV v2 secret's settings and version history.

use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use crate::commands::kv_path::resolve;
use crate::context::Context;
use crate::failure::{server_error, CmdResult, Failure};
use crate::output::{self, map_header, path_header};

/// Metadata commands.
#[derive(Subcommand, Debug)]
pub enum MetadataCommand {
    /// Show a secret's settings and every version's timestamps
    Get(MetadataPathArgs),
    /// Change a secret's settings (max versions, CAS, expiry, custom metadata)
    #[command(
        long_about = "Change a KV v2 secret's settings; creates the metadata if the \
        secret does not exist yet. Only the flags given are changed.\n\n\
        Example:\n  cofre kv metadata put -max-versions=5 -custom-metadata=owner=team-a secret/app"
    )]
    Put(MetadataPutArgs),
    /// Delete a secret entirely: its metadata and all versions
    Delete(MetadataPathArgs),
}

#[derive(Args, Debug)]
pub struct MetadataPathArgs {
    /// The mount, when PATH is relative to it
    #[arg(long)]
    mount: Option<String>,
    /// The secret's path
    path: String,
}

#[derive(Args, Debug)]
pub struct MetadataPutArgs {
    /// The mount, when PATH is relative to it
    #[arg(long)]
    mount: Option<String>,
    /// Number of versions to keep (0 = the mount's setting)
    #[arg(long = "max-versions")]
    max_versions: Option<u64>,
    /// Require check-and-set on every write
    #[arg(
        long = "cas-required",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_name = "BOOL",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    cas_required: Option<bool>,
    /// Soft-delete versions this long after they are written (e.g. 720h; 0s = never)
    #[arg(long = "delete-version-after", value_name = "DURATION")]
    delete_version_after: Option<String>,
    /// Custom metadata as key=value (repeatable)
    #[arg(long = "custom-metadata", value_name = "K=V")]
    custom_metadata: Vec<String>,
    /// The secret's path
    path: String,
}

pub async fn run(ctx: &Context, command: MetadataCommand) -> CmdResult {
    match command {
        MetadataCommand::Get(args) => get(ctx, args).await,
        MetadataCommand::Put(args) => put(ctx, args).await,
        MetadataCommand::Delete(args) => delete(ctx, args).await,
    }
}

/// The metadata path of a KV v2 secret (fails on KV v1).
async fn metadata_path(ctx: &Context, path: &str, mount: Option<&str>) -> Result<String, Failure> {
    let target = resolve(&ctx.client, path, mount, false).await?;
    if !target.v2 {
        return Err(Failure::usage("Metadata not supported on KV Version 1"));
    }
    Ok(target.api_path("metadata"))
}

async fn get(ctx: &Context, args: MetadataPathArgs) -> CmdResult {
    let path = metadata_path(ctx, &args.path, args.mount.as_deref()).await?;
    let mut secret = ctx
        .client
        .read(&path)
        .await
        .map_err(|e| server_error(&format!("Error reading {path}"), &e))?
        .ok_or_else(|| Failure::server(format!("No value found at {path}")))?;
    if let Some(field) = &ctx.ui.field {
        return ctx.ui.secret_field(&secret, field);
    }
    if !ctx.ui.is_table() || secret.wrap_info.is_some() {
        return ctx.ui.secret(&secret);
    }
    let versions = match secret.data.as_mut().and_then(Value::as_object_mut) {
        Some(data) => data.remove("versions"),
        None => None,
    };
    let Some(Value::Object(versions)) = versions else {
        ctx.ui.secret(&secret)?;
        return Err(Failure::server(format!("No value found at {path}")));
    };
    path_header("Metadata Path", &path);
    let metadata = secret.data.clone().unwrap_or(Value::Null);
    output::out(&map_header("Metadata", &metadata));
    ctx.ui.secret(&secret)?;
    for (number, version) in sorted_versions(versions)? {
        output::out("");
        output::out(&map_header(&format!("Version {number}"), &version));
        ctx.ui.data(&version)?;
    }
    Ok(())
}

/// Versions in numeric order (`2` before `10`).
fn sorted_versions(versions: Map<String, Value>) -> Result<Vec<(u64, Value)>, Failure> {
    let mut sorted = versions
        .into_iter()
        .map(|(key, value)| {
            key.parse::<u64>()
                .map(|n| (n, value))
                .map_err(|_| Failure::server(format!("Error parsing version {key}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    sorted.sort_by_key(|(n, _)| *n);
    Ok(sorted)
}

async fn put(ctx: &Context, args: MetadataPutArgs) -> CmdResult {
    let path = metadata_path(ctx, &args.path, args.mount.as_deref()).await?;
    let mut body = Map::new();
    if let Some(max) = args.max_versions {
        body.insert("max_versions".into(), Value::from(max));
    }
    if let Some(after) = args.delete_version_after {
        body.insert("delete_version_after".into(), Value::String(after));
    }
    if let Some(required) = args.cas_required {
        body.insert("cas_required".into(), Value::Bool(required));
    }
    if !args.custom_metadata.is_empty() {
        let mut custom = Map::new();
        for pair in &args.custom_metadata {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                Failure::usage(format!(
                    "invalid -custom-metadata {pair:?}: expected key=value"
                ))
            })?;
            custom.insert(key.to_string(), Value::String(value.to_string()));
        }
        body.insert("custom_metadata".into(), Value::Object(custom));
    }
    let secret = ctx
        .client
        .write(&path, &Value::Object(body))
        .await
        .map_err(|e| server_error(&format!("Error writing data to {path}"), &e))?;
    ctx.ui.write_result(&path, secret)
}

async fn delete(ctx: &Context, args: MetadataPathArgs) -> CmdResult {
    let path = metadata_path(ctx, &args.path, args.mount.as_deref()).await?;
    ctx.client
        .delete(&path)
        .await
        .map_err(|e| server_error(&format!("Error deleting {path}"), &e))?;
    output::out(&format!("Success! Data deleted (if it existed) at: {path}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_sort_numerically() {
        let versions = json!({"10": {}, "2": {}, "1": {}});
        let Value::Object(map) = versions else {
            unreachable!()
        };
        let order: Vec<u64> = sorted_versions(map)
            .unwrap()
            .into_iter()
            .map(|v| v.0)
            .collect();
        assert_eq!(order, vec![1, 2, 10]);
    }
}
