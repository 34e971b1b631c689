//! `cofre kv metadata get|put|patch|delete`: a KV v2 secret's settings and version history.

use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use crate::commands::kv_path::resolve;
use crate::context::Context;
use crate::failure::{server_error, write_failed, CmdResult, Failure};
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
    /// Change only the given settings of an existing secret (HTTP PATCH)
    #[command(
        long_about = "Change some settings of an existing KV v2 secret, keeping the \
        others; custom metadata keys are merged (-remove-custom-metadata drops one). \
        Fails if the secret has no metadata yet (use `kv metadata put`).\n\n\
        Examples:\n  cofre kv metadata patch -max-versions=5 secret/app\n  \
        cofre kv metadata patch -custom-metadata=owner=team-b -remove-custom-metadata=old secret/app"
    )]
    Patch(MetadataPatchArgs),
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
pub struct MetadataPatchArgs {
    #[command(flatten)]
    settings: MetadataPutArgs,
    /// Remove this custom metadata key (repeatable)
    #[arg(long = "remove-custom-metadata", value_name = "KEY")]
    remove_custom_metadata: Vec<String>,
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
        MetadataCommand::Patch(args) => patch(ctx, args).await,
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
    write_settings(ctx, &args, &[], false).await
}

async fn patch(ctx: &Context, args: MetadataPatchArgs) -> CmdResult {
    write_settings(ctx, &args.settings, &args.remove_custom_metadata, true).await
}

/// `put` writes the settings (creating the metadata); `patch` merges them into
/// existing metadata.
async fn write_settings(
    ctx: &Context,
    args: &MetadataPutArgs,
    remove: &[String],
    patch: bool,
) -> CmdResult {
    let path = metadata_path(ctx, &args.path, args.mount.as_deref()).await?;
    let body = settings_body(args, remove)?;
    let sent = if patch {
        ctx.client.patch(&path, &body).await
    } else {
        ctx.client.write(&path, &body).await
    };
    let secret = sent.map_err(write_failed(&path))?;
    ctx.ui.write_result(&path, secret)
}

/// The request body for the settings given as flags; `remove` keys become `null`
/// custom metadata (a JSON merge patch removes them).
fn settings_body(args: &MetadataPutArgs, remove: &[String]) -> Result<Value, Failure> {
    let mut body = Map::new();
    if let Some(max) = args.max_versions {
        body.insert("max_versions".into(), Value::from(max));
    }
    if let Some(after) = &args.delete_version_after {
        body.insert("delete_version_after".into(), Value::String(after.clone()));
    }
    if let Some(required) = args.cas_required {
        body.insert("cas_required".into(), Value::Bool(required));
    }
    let mut custom = Map::new();
    for pair in &args.custom_metadata {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            Failure::usage(format!(
                "invalid -custom-metadata {pair:?}: expected key=value"
            ))
        })?;
        custom.insert(key.to_string(), Value::String(value.to_string()));
    }
    for key in remove {
        custom.insert(key.clone(), Value::Null);
    }
    if !custom.is_empty() {
        body.insert("custom_metadata".into(), Value::Object(custom));
    }
    Ok(Value::Object(body))
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
    fn removed_custom_metadata_becomes_null() {
        let args = MetadataPutArgs {
            mount: None,
            max_versions: Some(3),
            cas_required: None,
            delete_version_after: None,
            custom_metadata: vec!["owner=a".into()],
            path: "secret/x".into(),
        };
        let body = settings_body(&args, &["old".into()]).unwrap();
        assert_eq!(
            body,
            json!({"max_versions": 3, "custom_metadata": {"owner": "a", "old": null}})
        );
        let bad = MetadataPutArgs {
            custom_metadata: vec!["novalue".into()],
            ..args
        };
        assert!(settings_body(&bad, &[]).is_err());
    }

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
