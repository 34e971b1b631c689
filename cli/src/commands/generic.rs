//! `cofre read|write|list|delete`: raw access to any API path, as with `vault`.

use clap::Args;
use serde_json::Value;

use crate::commands::kv::{parse_data, print_list};
use crate::commands::sanitize_path;
use crate::context::Context;
use crate::failure::{server_error, write_failed, CmdResult, Failure};
use crate::key_values;
use crate::output;

/// `cofre read PATH [K=V...]`.
#[derive(Args, Debug)]
#[command(
    long_about = "Read data from any API path (GET /v1/PATH). Extra key=value \
    arguments become query parameters.\n\n\
    Examples:\n  cofre read sys/mounts\n  cofre read -field=policy sys/policies/acl/default\n  \
    cofre read secret/data/app version=1"
)]
pub struct ReadArgs {
    /// The API path (without /v1/)
    path: String,
    /// Query parameters as key=value
    #[arg(value_name = "K=V")]
    query: Vec<String>,
}

/// `cofre write PATH [K=V...]`.
#[derive(Args, Debug)]
#[command(
    long_about = "Write data to any API path (PUT /v1/PATH with a JSON body). Values \
    may be given as k=v, k=@file, k=- (stdin); a lone - reads a JSON object from stdin. \
    Use -force to send an empty body.\n\n\
    Examples:\n  cofre write kv/app password=s3cret\n  cofre write -f sys/rotate\n  \
    cofre write auth/token/create policies=app-reader ttl=1h"
)]
pub struct WriteArgs {
    /// Send the request even without data (an empty JSON object)
    #[arg(
        long,
        short = 'f',
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_name = "BOOL",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    force: Option<bool>,
    /// The API path (without /v1/)
    path: String,
    /// Data as key=value, key=@file, key=- or -
    #[arg(value_name = "K=V")]
    data: Vec<String>,
}

/// `cofre list PATH`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// The API path to list (LIST /v1/PATH)
    path: String,
}

/// `cofre delete PATH`.
#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// The API path to delete (DELETE /v1/PATH)
    path: String,
}

pub async fn read(ctx: &Context, args: ReadArgs) -> CmdResult {
    let path = sanitize_path(&args.path);
    let query = key_values::parse_strings(&args.query, &mut std::io::stdin())
        .map_err(|e| Failure::usage(format!("Failed to parse K=V data: {e}")))?;
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let secret = ctx
        .client
        .read_with_query(&path, &query)
        .await
        .map_err(|e| server_error(&format!("Error reading {path}"), &e))?
        .ok_or_else(|| Failure::server(format!("No value found at {path}")))?;
    ctx.ui.show(&secret)
}

pub async fn write(ctx: &Context, args: WriteArgs) -> CmdResult {
    if args.data.is_empty() && !args.force.unwrap_or(false) {
        return Err(Failure::usage("Must supply data or use -force"));
    }
    let path = sanitize_path(&args.path);
    let data = parse_data(&args.data)?;
    let secret = ctx
        .client
        .write(&path, &Value::Object(data))
        .await
        .map_err(write_failed(&path))?;
    let Some(secret) = secret else {
        ctx.ui.written(&path);
        return Ok(());
    };
    ctx.ui.show(&secret)
}

pub async fn list(ctx: &Context, args: ListArgs) -> CmdResult {
    let path = sanitize_path(&args.path);
    let secret = ctx
        .client
        .list(&path)
        .await
        .map_err(|e| server_error(&format!("Error listing {path}"), &e))?;
    print_list(ctx, &path, secret)
}

pub async fn delete(ctx: &Context, args: DeleteArgs) -> CmdResult {
    let path = sanitize_path(&args.path);
    let secret = ctx
        .client
        .delete(&path)
        .await
        .map_err(|e| server_error(&format!("Error deleting {path}"), &e))?;
    match secret {
        None => {
            if ctx.ui.is_table() {
                output::out(&format!("Success! Data deleted (if it existed) at: {path}"));
            }
            Ok(())
        }
        Some(secret) => ctx.ui.show(&secret),
    }
}
