//! `cofre kv …`: the key/value engine, versions 1 and 2, detected per mount like the
//! `vault` CLI. Paths include the mount (`secret/app`), or name it with `-mount`.

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use crate::commands::kv_export::{self, ExportArgs};
use crate::commands::kv_metadata::{self, MetadataCommand};
use crate::commands::kv_path::{resolve, KvTarget};
use crate::context::Context;
use crate::failure::{server_error, write_failed, CmdResult, Failure};
use crate::key_values;
use crate::output::{self, map_header, path_header};

/// Commands of the KV engine.
#[derive(Subcommand, Debug)]
pub enum KvCommand {
    /// Read a secret (the latest version, or -version=N on KV v2)
    #[command(
        long_about = "Read a secret. On KV v2 the output shows the version's metadata \
        and data; -version reads an older version. -field prints one value raw.\n\n\
        Examples:\n  cofre kv get secret/app\n  cofre kv get -field=password secret/app\n  \
        cofre kv get -mount=secret -version=1 app"
    )]
    Get(GetArgs),
    /// Write a secret from key=value pairs (a new version on KV v2)
    #[command(
        long_about = "Write a secret, replacing all of its data (KV v2 keeps the \
        previous versions). Values may be given as k=v, k=@file (the file's contents), \
        k=- (stdin); a lone - reads a JSON object from stdin.\n\n\
        Examples:\n  cofre kv put secret/app username=app password=s3cret\n  \
        cofre kv put -cas=0 secret/app password=@password.txt\n  \
        echo '{\"a\": 1}' | cofre kv put secret/app -"
    )]
    Put(PutArgs),
    /// Update some keys of a KV v2 secret, keeping the others
    #[command(
        long_about = "Merge key=value pairs into the latest version of a KV v2 secret, \
        writing a new version. Uses HTTP PATCH, falling back to read-then-write when the \
        server or policy does not allow PATCH (-method=rw forces it).\n\n\
        Example:\n  cofre kv patch secret/app password=rotated"
    )]
    Patch(PatchArgs),
    /// Delete a secret (KV v2: soft-delete the latest or -versions, recoverable)
    Delete(DeleteArgs),
    /// Restore soft-deleted versions of a KV v2 secret
    Undelete(VersionsArgs),
    /// Permanently remove versions of a KV v2 secret's data
    Destroy(VersionsArgs),
    /// List the keys under a path (folders end in /)
    List(ListArgs),
    /// Write an earlier version's data as the newest version (KV v2)
    #[command(
        long_about = "Restore an earlier version of a KV v2 secret: its data is written \
        as a new version (check-and-set against the current version, so a concurrent \
        write makes the rollback fail rather than be lost). Deleted and destroyed \
        versions cannot be rolled back to.\n\n\
        Examples:\n  cofre kv rollback -version=2 secret/app\n  \
        cofre kv rollback -mount=secret -version=2 app"
    )]
    Rollback(RollbackArgs),
    /// Print a secret as dotenv lines, JSON, or GitHub Actions variables
    #[command(
        long_about = "Print a secret's keys and values for another tool. -format=dotenv \
        (default) prints NAME=\"value\" lines (names upper-cased, -upper=false keeps the \
        case; -env-prefix adds a prefix; quotes, backslashes, $ and newlines escaped); \
        -format=json prints the data as a JSON object; -format=github, inside a GitHub \
        Actions step, prints ::add-mask:: for every value and appends the variables to \
        the file named by $GITHUB_ENV (multi-line values as NAME<<DELIMITER heredocs).\n\n\
        Examples:\n  cofre kv export secret/app > .env\n  \
        cofre kv export -format=json secret/app\n  \
        cofre kv export -format=github -env-prefix=APP_ secret/ci"
    )]
    Export(ExportArgs),
    /// Read and change KV v2 metadata (version history, max versions, CAS, custom data)
    #[command(subcommand)]
    Metadata(MetadataCommand),
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// The mount, when PATH is relative to it
    #[arg(long)]
    mount: Option<String>,
    /// The version to read (KV v2; default: the latest)
    #[arg(long)]
    version: Option<u64>,
    /// The secret's path (mount included unless -mount is given)
    path: String,
}

#[derive(Args, Debug)]
pub struct PutArgs {
    /// The mount, when PATH is relative to it
    #[arg(long)]
    mount: Option<String>,
    /// Check-and-set: write only if the current version is CAS (0 = only if new; KV v2)
    #[arg(long, allow_negative_numbers = true)]
    cas: Option<i64>,
    /// The secret's path
    path: String,
    /// Data as key=value, key=@file, key=- or - (JSON object on stdin)
    #[arg(value_name = "K=V")]
    data: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PatchArgs {
    /// The mount, when PATH is relative to it
    #[arg(long)]
    mount: Option<String>,
    /// Check-and-set: patch only if the current version is CAS
    #[arg(long, allow_negative_numbers = true)]
    cas: Option<i64>,
    /// How to patch: "patch" (HTTP PATCH only) or "rw" (read, merge, write)
    #[arg(long, value_parser = ["patch", "rw"])]
    method: Option<String>,
    /// Remove this key (repeatable)
    #[arg(long = "remove-data", value_name = "KEY")]
    remove_data: Vec<String>,
    /// The secret's path
    path: String,
    /// Data to merge, as for `kv put`
    #[arg(value_name = "K=V")]
    data: Vec<String>,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// The mount, when PATH is relative to it
    #[arg(long)]
    mount: Option<String>,
    /// Versions to delete, comma-separated or repeated (KV v2; default: the latest)
    #[arg(long, value_delimiter = ',')]
    versions: Vec<u64>,
    /// The secret's path
    path: String,
}

#[derive(Args, Debug)]
pub struct VersionsArgs {
    /// The mount, when PATH is relative to it
    #[arg(long)]
    mount: Option<String>,
    /// Versions, comma-separated or repeated (required)
    #[arg(long, value_delimiter = ',')]
    versions: Vec<u64>,
    /// The secret's path
    path: String,
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// The mount, when PATH is relative to it
    #[arg(long)]
    mount: Option<String>,
    /// The version to restore (required)
    #[arg(long)]
    version: Option<u64>,
    /// The secret's path
    path: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// The mount, when PATH is relative to it (PATH may then be omitted)
    #[arg(long)]
    mount: Option<String>,
    /// The folder to list
    path: Option<String>,
}

pub async fn run(ctx: &Context, command: KvCommand) -> CmdResult {
    match command {
        KvCommand::Get(args) => get(ctx, args).await,
        KvCommand::Put(args) => put(ctx, args).await,
        KvCommand::Patch(args) => patch(ctx, args).await,
        KvCommand::Delete(args) => delete(ctx, args).await,
        KvCommand::Undelete(args) => versions_op(ctx, args, "undelete").await,
        KvCommand::Destroy(args) => versions_op(ctx, args, "destroy").await,
        KvCommand::List(args) => list(ctx, args).await,
        KvCommand::Rollback(args) => rollback(ctx, args).await,
        KvCommand::Metadata(command) => kv_metadata::run(ctx, command).await,
        KvCommand::Export(args) => kv_export::run(ctx, args).await,
    }
}

async fn get(ctx: &Context, args: GetArgs) -> CmdResult {
    let target = resolve(&ctx.client, &args.path, args.mount.as_deref(), true).await?;
    let path = target.api_path("data");
    let version = args
        .version
        .filter(|v| *v > 0 && target.v2)
        .map(|v| v.to_string());
    let query: Vec<(&str, &str)> = version.iter().map(|v| ("version", v.as_str())).collect();
    let secret = ctx
        .client
        .read_with_query(&path, &query)
        .await
        .map_err(|e| server_error(&format!("Error reading {path}"), &e))?
        .ok_or_else(|| Failure::server(format!("No value found at {path}")))?;

    if let Some(field) = &ctx.ui.field {
        if !target.v2 || secret.wrap_info.is_some() {
            return ctx.ui.secret_field(&secret, field);
        }
        let data = secret
            .field("data")
            .filter(|d| !d.is_null())
            .ok_or_else(|| Failure::server(format!("No data found at {path}")))?;
        // A literal "data" field means the secret's own "data" key if it has one.
        if field == "data" && data.get("data").is_none() {
            return ctx.ui.secret_field(&secret, field);
        }
        return ctx.ui.map_field(data, field);
    }
    if !ctx.ui.is_table() || secret.wrap_info.is_some() {
        return ctx.ui.secret(&secret);
    }
    output::print_warnings(&secret);
    if target.v2 {
        path_header("Secret Path", &path);
    }
    if let Some(metadata) = secret.field("metadata").filter(|m| !m.is_null()) {
        output::out(&map_header("Metadata", metadata));
        ctx.ui.data(metadata)?;
        output::out("");
    }
    let data = match (&secret.data, target.v2) {
        (Some(data), false) => Some(data),
        (Some(_), true) => secret.field("data").filter(|d| !d.is_null()),
        (None, _) => None,
    };
    if let Some(data) = data {
        output::out(&map_header("Data", data));
        ctx.ui.data(data)?;
    }
    Ok(())
}

async fn put(ctx: &Context, args: PutArgs) -> CmdResult {
    if args.data.is_empty() {
        return Err(Failure::usage("Must supply data"));
    }
    let data = parse_data(&args.data)?;
    let target = resolve(&ctx.client, &args.path, args.mount.as_deref(), false).await?;
    let path = target.api_path("data");
    let body = if target.v2 {
        let mut options = Map::new();
        if let Some(cas) = args.cas.filter(|c| *c >= 0) {
            options.insert("cas".into(), json!(cas));
        }
        json!({ "data": data, "options": options })
    } else {
        Value::Object(data)
    };
    let secret = ctx
        .client
        .write(&path, &body)
        .await
        .map_err(write_failed(&path))?;
    print_write_result(ctx, &target, &path, secret)
}

async fn patch(ctx: &Context, args: PatchArgs) -> CmdResult {
    if args.data.is_empty() && args.remove_data.is_empty() {
        return Err(Failure::usage("Must supply data"));
    }
    let mut data = parse_data(&args.data)?;
    for key in &args.remove_data {
        data.insert(key.clone(), Value::Null);
    }
    let target = resolve(&ctx.client, &args.path, args.mount.as_deref(), false).await?;
    if !target.v2 {
        return Err(Failure::server(
            "K/V engine mount must be version 2 for patch support",
        ));
    }
    let path = target.api_path("data");
    let secret = match args.method.as_deref() {
        Some("rw") => read_then_write(ctx, &path, data).await?,
        method => {
            let mut options = Map::new();
            if let Some(cas) = args.cas.filter(|c| *c > 0) {
                options.insert("cas".into(), json!(cas));
            }
            let body = json!({ "data": data, "options": options });
            match ctx.client.patch(&path, &body).await {
                Ok(secret) => secret,
                Err(e) if method.is_none() && matches!(e.status(), Some(403 | 405)) => {
                    if e.status() == Some(403) {
                        output::err(&format!(
                            "Data was written to {path} but we recommend that you add the \
                             \"patch\" capability to your ACL policy in order to use HTTP \
                             PATCH in the future."
                        ));
                    }
                    read_then_write(ctx, &path, data).await?
                }
                Err(e) => return Err(write_failed(&path)(e)),
            }
        }
    };
    print_write_result(ctx, &target, &path, secret)
}

/// `kv patch -method=rw`: read the latest version, merge, write it back with CAS.
async fn read_then_write(
    ctx: &Context,
    path: &str,
    changes: Map<String, Value>,
) -> Result<Option<cofre_client::Secret>, Failure> {
    let current = ctx
        .client
        .read(path)
        .await
        .map_err(|e| server_error(&format!("Error doing pre-read at {path}"), &e))?
        .ok_or_else(|| Failure::server(format!("No value found at {path}")))?;
    let version = current
        .field("metadata")
        .and_then(|m| m.get("version"))
        .cloned()
        .ok_or_else(|| {
            Failure::server(format!(
                "No metadata found at {path}; patch only works on existing data"
            ))
        })?;
    let Some(Value::Object(mut data)) = current.field("data").cloned() else {
        return Err(Failure::server(format!(
            "No data found at {path}; patch only works on existing data"
        )));
    };
    data.extend(changes);
    let body = json!({ "data": data, "options": { "cas": version } });
    ctx.client
        .write(path, &body)
        .await
        .map_err(write_failed(path))
}

/// After `put`/`patch`: the new version's metadata, or a success line.
fn print_write_result(
    ctx: &Context,
    target: &KvTarget,
    path: &str,
    secret: Option<cofre_client::Secret>,
) -> CmdResult {
    let Some(secret) = secret else {
        ctx.ui.written(path);
        return Ok(());
    };
    if let Some(field) = &ctx.ui.field {
        return ctx.ui.secret_field(&secret, field);
    }
    if !ctx.ui.is_table() || secret.wrap_info.is_some() {
        return ctx.ui.secret(&secret);
    }
    let metadata = secret.data.clone().unwrap_or(Value::Null);
    if target.v2 {
        path_header("Secret Path", path);
    }
    output::out(&map_header("Metadata", &metadata));
    ctx.ui.data(&metadata)
}

async fn delete(ctx: &Context, args: DeleteArgs) -> CmdResult {
    let target = resolve(&ctx.client, &args.path, args.mount.as_deref(), false).await?;
    let data_path = target.api_path("data");
    let result = if target.v2 && !args.versions.is_empty() {
        let body = json!({ "versions": args.versions });
        ctx.client.write(&target.api_path("delete"), &body).await
    } else {
        ctx.client.delete(&data_path).await
    };
    let secret = result.map_err(|e| server_error(&format!("Error deleting {data_path}"), &e))?;
    match secret {
        None => {
            if ctx.ui.is_table() {
                output::out(&format!(
                    "Success! Data deleted (if it existed) at: {data_path}"
                ));
            }
            Ok(())
        }
        Some(secret) => ctx.ui.show(&secret),
    }
}

/// `kv undelete` and `kv destroy`: an operation on versions of a KV v2 secret.
async fn versions_op(ctx: &Context, args: VersionsArgs, operation: &str) -> CmdResult {
    if args.versions.is_empty() {
        return Err(Failure::usage(format!(
            "No versions provided, use the \"-versions\" flag to specify the version to {operation}."
        )));
    }
    let target = resolve(&ctx.client, &args.path, args.mount.as_deref(), false).await?;
    if !target.v2 {
        let name = if operation == "undelete" {
            "Undelete"
        } else {
            "Destroy"
        };
        return Err(Failure::usage(format!(
            "{name} not supported on KV Version 1"
        )));
    }
    let path = target.api_path(operation);
    let body = json!({ "versions": args.versions });
    let secret = ctx
        .client
        .write(&path, &body)
        .await
        .map_err(write_failed(&path))?;
    ctx.ui.write_result(&path, secret)
}

async fn rollback(ctx: &Context, args: RollbackArgs) -> CmdResult {
    let version = match args.version {
        None => return Err(Failure::usage("Version flag must be specified")),
        Some(0) => return Err(Failure::usage("Invalid value 0 for the version flag")),
        Some(version) => version,
    };
    let target = resolve(&ctx.client, &args.path, args.mount.as_deref(), false).await?;
    if !target.v2 {
        return Err(Failure::server(
            "K/V engine mount must be version 2 for rollback support",
        ));
    }
    let data_path = target.api_path("data");
    let not_found = || Failure::server(format!("No value found at {data_path}"));
    let metadata_path = target.api_path("metadata");
    let metadata = ctx
        .client
        .read(&metadata_path)
        .await
        .map_err(|e| server_error(&format!("Error reading {metadata_path}"), &e))?
        .ok_or_else(not_found)?;
    let current = metadata
        .field("current_version")
        .and_then(Value::as_u64)
        .ok_or_else(not_found)?;
    let chosen = metadata
        .field("versions")
        .and_then(|v| v.get(version.to_string()))
        .ok_or_else(not_found)?;
    if chosen
        .get("deletion_time")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty())
    {
        return Err(Failure::server(
            "Cannot roll back to a version that has been deleted",
        ));
    }
    if chosen.get("destroyed").and_then(Value::as_bool) == Some(true) {
        return Err(Failure::server(
            "Cannot roll back to a version that has been destroyed",
        ));
    }
    let version = version.to_string();
    let old = ctx
        .client
        .read_with_query(&data_path, &[("version", version.as_str())])
        .await
        .map_err(|e| server_error(&format!("Error reading {data_path}"), &e))?
        .and_then(|secret| secret.field("data").cloned())
        .filter(|data| !data.is_null())
        .ok_or_else(not_found)?;
    let body = json!({ "data": old, "options": { "cas": current } });
    let secret = ctx
        .client
        .write(&data_path, &body)
        .await
        .map_err(write_failed(&data_path))?;
    print_write_result(ctx, &target, &data_path, secret)
}

async fn list(ctx: &Context, args: ListArgs) -> CmdResult {
    let arg = match (&args.path, &args.mount) {
        (Some(path), _) => path.clone(),
        (None, Some(_)) => String::new(),
        (None, None) => return Err(Failure::usage("Not enough arguments (expected 1, got 0)")),
    };
    let target = resolve(&ctx.client, &arg, args.mount.as_deref(), false).await?;
    let path = target.api_path("metadata");
    let secret = ctx
        .client
        .list(&path)
        .await
        .map_err(|e| server_error(&format!("Error listing {path}"), &e))?;
    print_list(ctx, &path, secret)
}

/// Prints a LIST result; nothing there exits 2 (`{}` in JSON/YAML, as `vault`).
pub fn print_list(ctx: &Context, path: &str, secret: Option<cofre_client::Secret>) -> CmdResult {
    let has_keys = secret
        .as_ref()
        .and_then(|s| s.field("keys"))
        .is_some_and(Value::is_array);
    match secret {
        Some(secret) if has_keys => ctx.ui.list(&secret),
        _ if !ctx.ui.is_table() => {
            ctx.ui.structured(&json!({}))?;
            Err(Failure::Exit(2))
        }
        None => Err(Failure::server(format!("No value found at {path}"))),
        Some(_) => Err(Failure::server(format!("No entries found at {path}"))),
    }
}

/// Parses key=value arguments, reading stdin for `-`.
pub fn parse_data(args: &[String]) -> Result<Map<String, Value>, Failure> {
    key_values::parse(args, &mut std::io::stdin())
        .map_err(|e| Failure::usage(format!("Failed to parse K=V data: {e}")))
}
