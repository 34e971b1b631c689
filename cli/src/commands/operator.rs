//! `cofre operator …`: initialise, unseal and seal the server, rotate the barrier key
//! and show its status.

use clap::{Args, Subcommand};
use cofre_client::sys::{InitRequest, InitResponse, KeyStatus};
use serde::Serialize;

use crate::commands::status;
use crate::context::Context;
use crate::failure::{server_error, CmdResult, Failure};
use crate::output::{self, table, wrap};

/// Operator tasks on the server's seal and keys.
#[derive(Subcommand, Debug)]
pub enum OperatorCommand {
    /// Initialise a new server: create the root key, split the unseal key into shares
    /// and print them with the initial root token
    #[command(
        long_about = "Initialise a new server. It generates the root key, splits the \
        unseal key into -key-shares shares of which -key-threshold unseal, and prints the \
        shares and the initial root token. They are shown only once: store them safely.\n\n\
        Example:\n  cofre operator init -key-shares=5 -key-threshold=3"
    )]
    Init(InitArgs),
    /// Submit one unseal key share (prompted for, hidden, when not given)
    #[command(
        long_about = "Submit one unseal key share. Repeat with different shares until \
        the threshold is reached and the server unseals. Without KEY the share is read \
        from the terminal without echo (or one line from stdin).\n\n\
        Examples:\n  cofre operator unseal\n  cofre operator unseal -reset"
    )]
    Unseal(UnsealArgs),
    /// Seal the server: it drops its keys and answers 503 until unsealed
    Seal,
    /// Add a new encryption key term to the barrier's keyring
    Rotate,
    /// Show the barrier key's term and install time
    KeyStatus,
    /// Copy a stopped server's store to another backend (e.g. sled to PostgreSQL)
    #[command(
        long_about = "Copy every key of a stopped server's store to another backend, \
        ciphertext as it is: the same unseal keys open the copy. Batches are checkpointed \
        in the destination, so an interrupted run resumes when run again. The destination \
        must be empty (or hold an interrupted migration).\n\n\
        Example:\n  cofre operator migrate -from sled:/var/lib/cofre \\\n      \
        -to 'postgresql:postgres://cofre@db:5432/cofre' -table cofre_store"
    )]
    Migrate(crate::commands::migrate::MigrateArgs),
    /// Save the encrypted store to a file, or restore it from one (sys/storage/snapshot)
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

/// `cofre operator snapshot …`.
#[derive(Subcommand, Debug)]
pub enum SnapshotCommand {
    /// Write every stored key and its ciphertext to FILE (needs sudo on sys/storage/snapshot)
    Save(SnapshotFile),
    /// Replace the store with FILE's contents; the server seals and is unsealed with the
    /// snapshot vault's keys
    Restore(SnapshotFile),
}

#[derive(Args, Debug)]
pub struct SnapshotFile {
    /// The snapshot file
    file: String,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Number of unseal key shares to create
    #[arg(long = "key-shares", short = 'n', default_value_t = 5)]
    key_shares: u32,
    /// Number of shares needed to unseal (at most -key-shares)
    #[arg(long = "key-threshold", short = 't', default_value_t = 3)]
    key_threshold: u32,
    /// Only report whether the server is initialised (exit 0 if so, 2 if not)
    #[arg(long)]
    status: bool,
}

#[derive(Args, Debug)]
pub struct UnsealArgs {
    /// Discard the shares submitted so far and start over
    #[arg(long)]
    reset: bool,
    /// The unseal key share (base64 or hex); prompted for when absent
    key: Option<String>,
}

pub async fn run(ctx: &Context, command: OperatorCommand) -> CmdResult {
    match command {
        OperatorCommand::Init(args) => init(ctx, args).await,
        OperatorCommand::Unseal(args) => unseal(ctx, args).await,
        OperatorCommand::Seal => seal(ctx).await,
        OperatorCommand::Rotate => rotate(ctx).await,
        OperatorCommand::KeyStatus => key_status(ctx).await,
        OperatorCommand::Migrate(args) => crate::commands::migrate::migrate(args).await,
        OperatorCommand::Snapshot(SnapshotCommand::Save(args)) => snapshot_save(ctx, args).await,
        OperatorCommand::Snapshot(SnapshotCommand::Restore(args)) => {
            snapshot_restore(ctx, args).await
        }
    }
}

async fn init(ctx: &Context, args: InitArgs) -> CmdResult {
    if args.status {
        return init_status(ctx).await;
    }
    let request = InitRequest::new(args.key_shares, args.key_threshold);
    let response = ctx
        .client
        .sys()
        .init(&request)
        .await
        .map_err(|e| server_error("Error initializing", &e))?;
    if !ctx.ui.is_table() {
        return ctx.ui.structured(&MachineInit::new(&request, &response));
    }
    for (i, key) in response.keys.iter().enumerate() {
        let shown = response.keys_base64.get(i).unwrap_or(key);
        output::out(&format!("Unseal Key {}: {shown}", i + 1));
    }
    output::out("");
    output::out(&format!("Initial Root Token: {}", response.root_token));
    output::out("");
    let threshold = request.secret_threshold;
    output::out(&wrap(
        &format!(
            "Vault initialized with {} key shares and a key threshold of {threshold}. Please \
             securely distribute the key shares printed above. When the Vault is re-sealed, \
             restarted, or stopped, you must supply at least {threshold} of these keys to \
             unseal it before it can start servicing requests.",
            request.secret_shares
        ),
        0,
    ));
    output::out("");
    output::out(&wrap(
        &format!(
            "Vault does not store the generated root key. Without at least {threshold} keys \
             to reconstruct the root key, Vault will remain permanently sealed!"
        ),
        0,
    ));
    Ok(())
}

async fn init_status(ctx: &Context) -> CmdResult {
    let initialized = ctx
        .client
        .sys()
        .init_status()
        .await
        .map_err(|e| Failure::usage(format!("Error checking init status: {e}")))?;
    if ctx.ui.is_table() {
        output::out(if initialized {
            "Vault is initialized"
        } else {
            "Vault is not initialized"
        });
    } else {
        ctx.ui
            .structured(&serde_json::json!({ "initialized": initialized }))?;
    }
    if initialized {
        Ok(())
    } else {
        Err(Failure::Exit(2))
    }
}

/// `operator init -format=json`, shaped as `vault` prints it.
#[derive(Serialize)]
struct MachineInit {
    unseal_keys_b64: Vec<String>,
    unseal_keys_hex: Vec<String>,
    unseal_shares: u32,
    unseal_threshold: u32,
    recovery_keys_b64: Vec<String>,
    recovery_keys_hex: Vec<String>,
    recovery_keys_shares: u32,
    recovery_keys_threshold: u32,
    root_token: String,
}

impl MachineInit {
    fn new(request: &InitRequest, response: &InitResponse) -> Self {
        Self {
            unseal_keys_b64: response.keys_base64.clone(),
            unseal_keys_hex: response.keys.clone(),
            unseal_shares: request.secret_shares,
            unseal_threshold: request.secret_threshold,
            recovery_keys_b64: Vec::new(),
            recovery_keys_hex: Vec::new(),
            recovery_keys_shares: 0,
            recovery_keys_threshold: 0,
            root_token: response.root_token.clone(),
        }
    }
}

async fn unseal(ctx: &Context, args: UnsealArgs) -> CmdResult {
    let sys = ctx.client.sys();
    let seal = if args.reset {
        sys.unseal_reset()
            .await
            .map_err(|e| server_error("Error resetting unseal process", &e))?
    } else {
        let key = match args.key {
            Some(key) => key.trim().to_string(),
            None => super::prompt_hidden("Unseal Key (will be hidden): ")?,
        };
        if key.is_empty() {
            return Err(Failure::usage("No unseal key given"));
        }
        sys.unseal(&key)
            .await
            .map_err(|e| server_error("Error unsealing", &e))?
    };
    let status = status::with_leader(&ctx.client, seal)
        .await
        .map_err(Failure::usage)?;
    status::print(ctx, &status)
}

async fn seal(ctx: &Context) -> CmdResult {
    ctx.client
        .sys()
        .seal()
        .await
        .map_err(|e| server_error("Error sealing", &e))?;
    output::out("Success! Vault is sealed.");
    Ok(())
}

async fn rotate(ctx: &Context) -> CmdResult {
    ctx.client
        .sys()
        .rotate()
        .await
        .map_err(|e| server_error("Error rotating key", &e))?;
    let status = read_key_status(ctx).await?;
    if !ctx.ui.is_table() {
        return ctx.ui.structured(&status);
    }
    output::out("Success! Rotated key");
    output::out("");
    output::out(&key_status_table(&status));
    Ok(())
}

async fn snapshot_save(ctx: &Context, args: SnapshotFile) -> CmdResult {
    use base64::Engine as _;
    let secret = ctx
        .client
        .read("sys/storage/snapshot")
        .await
        .map_err(|e| server_error("Error taking the snapshot", &e))?
        .ok_or_else(|| Failure::server("Error taking the snapshot: empty answer"))?;
    let encoded = secret
        .field("snapshot")
        .and_then(|v| v.as_str())
        .ok_or_else(|| Failure::server("Error taking the snapshot: no snapshot in the answer"))?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| Failure::server(format!("Error decoding the snapshot: {e}")))?;
    std::fs::write(&args.file, &blob)
        .map_err(|e| Failure::usage(format!("Error writing {}: {e}", args.file)))?;
    let entries = secret
        .field("entries")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    output::out(&format!(
        "Success! Saved {entries} entries ({} bytes) to {}",
        blob.len(),
        args.file
    ));
    Ok(())
}

async fn snapshot_restore(ctx: &Context, args: SnapshotFile) -> CmdResult {
    use base64::Engine as _;
    let blob = std::fs::read(&args.file)
        .map_err(|e| Failure::usage(format!("Error reading {}: {e}", args.file)))?;
    let body = serde_json::json!({
        "snapshot": base64::engine::general_purpose::STANDARD.encode(&blob)
    });
    ctx.client
        .write("sys/storage/snapshot", &body)
        .await
        .map_err(|e| server_error("Error restoring the snapshot", &e))?;
    output::out(&format!(
        "Success! Restored {}. The server is sealed: unseal it with the snapshot's keys.",
        args.file
    ));
    Ok(())
}

async fn key_status(ctx: &Context) -> CmdResult {
    let status = read_key_status(ctx).await?;
    if !ctx.ui.is_table() {
        return ctx.ui.structured(&status);
    }
    output::out(&key_status_table(&status));
    Ok(())
}

async fn read_key_status(ctx: &Context) -> Result<KeyStatus, Failure> {
    ctx.client
        .sys()
        .key_status()
        .await
        .map_err(|e| server_error("Error reading key status", &e))
}

fn key_status_table(status: &KeyStatus) -> String {
    table::columns(&[
        vec!["Key Term".into(), status.term.to_string()],
        vec!["Install Time".into(), rfc822(&status.install_time)],
        vec!["Encryption Count".into(), status.encryptions.to_string()],
    ])
}

/// An RFC 3339 UTC time as Go's RFC 822 layout (`02 Jan 06 15:04 UTC`); other input is
/// shown unchanged.
fn rfc822(time: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parse = || -> Option<String> {
        if !time.ends_with('Z') || time.len() < 16 {
            return None;
        }
        let year = time.get(2..4)?;
        let month: usize = time.get(5..7)?.parse().ok()?;
        let day = time.get(8..10)?;
        let clock = time.get(11..16)?;
        let month = MONTHS.get(month.checked_sub(1)?)?;
        Some(format!("{day} {month} {year} {clock} UTC"))
    };
    parse().unwrap_or_else(|| time.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_time_reads_like_vault() {
        assert_eq!(
            rfc822("2026-11-23T09:39:15.329386044Z"),
            "23 Nov 26 09:39 UTC"
        );
        assert_eq!(
            rfc822("2026-11-23T09:39:15+02:00"),
            "2026-11-23T09:39:15+02:00"
        );
        assert_eq!(rfc822("garbage"), "garbage");
    }

    #[test]
    fn key_status_is_a_headerless_table() {
        let text = key_status_table(&KeyStatus {
            term: 2,
            install_time: "2026-01-02T03:04:05Z".into(),
            encryptions: 7,
        });
        assert_eq!(
            text,
            "Key Term            2\nInstall Time        02 Jan 26 03:04 UTC\nEncryption Count    7"
        );
    }
}
