//! `cofre audit …`: list, enable and disable audit devices over the API, hash an input as a
//! device would, and `verify` an audit file's hash chain locally (no server needed).

use std::collections::BTreeMap;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::commands::{ensure_trailing_slash, sanitize_path};
use crate::context::Context;
use crate::failure::{server_error, CmdResult, Failure};
use crate::output::{self, table};

/// Audit device commands.
#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// List the enabled audit devices
    List(ListArgs),
    /// Enable an audit device of TYPE with K=V options
    #[command(
        long_about = "Enable an audit device of TYPE at -path (default: the type's \
        name), with options as K=V.\n\nThe server allows this only in -dev mode or with \
        unsafe_allow_api_audit_creation = true; otherwise declare the device in its \
        configuration file.\n\nExample:\n  cofre audit enable file file_path=/var/log/cofre/audit.log"
    )]
    Enable(EnableArgs),
    /// Disable the audit device at a path
    Disable(PathArgs),
    /// Print the hash the device at PATH writes for INPUT (to find a token in the log)
    Hash(HashArgs),
    /// Check an audit file's hash chain; exit 2 naming the first broken line
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Show each device's options too
    #[arg(long)]
    detailed: bool,
}

#[derive(Args, Debug)]
pub struct EnableArgs {
    /// Where to enable the device (default: its type)
    #[arg(long)]
    path: Option<String>,
    /// A human-friendly description
    #[arg(long)]
    description: Option<String>,
    /// Do not replicate the device (accepted for compatibility)
    #[arg(long)]
    local: bool,
    /// The device type: file
    #[arg(value_name = "TYPE")]
    device_type: String,
    /// Device options as K=V (file_path=…, log_raw=true, …)
    #[arg(value_name = "K=V")]
    options: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PathArgs {
    /// The device's path
    path: String,
}

#[derive(Args, Debug)]
pub struct HashArgs {
    /// The device's path
    path: String,
    /// The text to hash (a token, an accessor, a value)
    input: String,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The audit file to check
    file: String,
}

pub async fn run(ctx: &Context, command: AuditCommand) -> CmdResult {
    match command {
        AuditCommand::List(args) => list(ctx, args).await,
        AuditCommand::Enable(args) => enable(ctx, args).await,
        AuditCommand::Disable(args) => disable(ctx, args).await,
        AuditCommand::Hash(args) => hash(ctx, args).await,
        AuditCommand::Verify(args) => verify(args),
    }
}

async fn list(ctx: &Context, args: ListArgs) -> CmdResult {
    let secret = ctx
        .client
        .read("sys/audit")
        .await
        .map_err(|e| server_error("Error listing audits", &e))?;
    let data = secret.and_then(|s| s.data).unwrap_or_else(|| json!({}));
    if !ctx.ui.is_table() {
        return ctx.ui.structured(&data);
    }
    let devices = data.as_object().cloned().unwrap_or_default();
    if devices.is_empty() {
        output::out("No audit devices are enabled.");
        return Ok(());
    }
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let rows = devices
        .iter()
        .map(|(path, device)| {
            let mut row = vec![
                path.clone(),
                text(device, "type"),
                text(device, "description"),
            ];
            if args.detailed {
                let options: BTreeMap<String, Value> = device
                    .get("options")
                    .and_then(|o| serde_json::from_value(o.clone()).ok())
                    .unwrap_or_default();
                let options: Vec<String> = options
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or_default()))
                    .collect();
                row.push(format!("map[{}]", options.join(" ")));
            }
            row
        })
        .collect();
    let header: &[&str] = if args.detailed {
        &["Path", "Type", "Description", "Options"]
    } else {
        &["Path", "Type", "Description"]
    };
    output::out(&table::table(header, rows));
    Ok(())
}

async fn enable(ctx: &Context, args: EnableArgs) -> CmdResult {
    let device_type = args.device_type.trim().to_string();
    let path = ensure_trailing_slash(&sanitize_path(args.path.as_deref().unwrap_or(&device_type)));
    let mut options = BTreeMap::new();
    for pair in &args.options {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            Failure::usage(format!("invalid option {pair:?}: expected key=value"))
        })?;
        options.insert(key.trim().to_string(), value.to_string());
    }
    let body = json!({
        "type": device_type,
        "description": args.description.unwrap_or_default(),
        "options": options,
        "local": args.local,
    });
    ctx.client
        .write(&format!("sys/audit/{path}"), &body)
        .await
        .map_err(|e| server_error("Error enabling audit device", &e))?;
    output::out(&format!(
        "Success! Enabled the {device_type} audit device at: {path}"
    ));
    Ok(())
}

async fn disable(ctx: &Context, args: PathArgs) -> CmdResult {
    let path = ensure_trailing_slash(&sanitize_path(&args.path));
    ctx.client
        .delete(&format!("sys/audit/{path}"))
        .await
        .map_err(|e| server_error("Error disabling audit device", &e))?;
    output::out(&format!(
        "Success! Disabled audit device (if it was enabled) at: {path}"
    ));
    Ok(())
}

async fn hash(ctx: &Context, args: HashArgs) -> CmdResult {
    let path = sanitize_path(&args.path);
    let secret = ctx
        .client
        .write(
            &format!("sys/audit-hash/{path}"),
            &json!({ "input": args.input }),
        )
        .await
        .map_err(|e| server_error("Error hashing", &e))?;
    let hash = secret
        .and_then(|s| s.data)
        .and_then(|d| d.get("hash").and_then(Value::as_str).map(str::to_owned))
        .ok_or_else(|| Failure::server("Error hashing: the server returned no hash"))?;
    output::out(&hash);
    Ok(())
}

/// `cofre audit verify FILE`: local, so it runs without a server or token.
pub fn verify(args: VerifyArgs) -> CmdResult {
    use cofre_server::audit::chain::{self, VerifyError};
    let file = std::fs::File::open(&args.file)
        .map_err(|e| Failure::usage(format!("Error opening {}: {e}", args.file)))?;
    match chain::verify(std::io::BufReader::new(file)) {
        Ok(count) => {
            output::out(&format!("ok: {count} lines"));
            Ok(())
        }
        Err(VerifyError::Io(e)) => Err(Failure::usage(format!("Error reading {}: {e}", args.file))),
        Err(broken @ VerifyError::Broken { .. }) => Err(Failure::server(format!(
            "{}: the hash chain is broken at {broken}",
            args.file
        ))),
    }
}
