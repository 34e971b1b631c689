//! `cofre lease …`: look up, renew and revoke the leases of dynamic secrets, as
//! `vault lease` does.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::context::Context;
use crate::failure::{server_error, CmdResult, Failure};
use crate::output;

/// Lease commands.
#[derive(Subcommand, Debug)]
pub enum LeaseCommand {
    /// Show a lease's issue and expiry times and remaining TTL
    Lookup(IdArgs),
    /// Extend a lease (capped at its max TTL)
    #[command(
        long_about = "Extend a lease by -increment from now (default: its original TTL). \
        The server caps the result at the lease's max TTL and warns when it does.\n\n\
        Example:\n  cofre lease renew -increment=1h database/creds/readonly/AbC123"
    )]
    Renew(RenewArgs),
    /// Revoke a lease, or every lease under a prefix
    #[command(
        long_about = "Revoke a lease now (the database user is dropped), or with -prefix \
        every lease under a path (needs sudo). -force removes leases without revoking \
        their secrets, for a backend that is gone for good.\n\n\
        Examples:\n  cofre lease revoke database/creds/readonly/AbC123\n  \
        cofre lease revoke -prefix database/creds/readonly"
    )]
    Revoke(RevokeArgs),
}

#[derive(Args, Debug)]
pub struct IdArgs {
    /// The lease id
    id: String,
}

#[derive(Args, Debug)]
pub struct RenewArgs {
    /// Requested extension from now, e.g. 1h
    #[arg(long, short = 'i', value_name = "DURATION")]
    increment: Option<String>,
    /// The lease id
    id: String,
}

#[derive(Args, Debug)]
pub struct RevokeArgs {
    /// Treat the argument as a prefix and revoke every lease under it
    #[arg(long)]
    prefix: bool,
    /// With -prefix: remove the leases without revoking their secrets in the backend
    #[arg(long)]
    force: bool,
    /// Wait for the revocation to finish (the default; -sync=false queues it)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    sync: bool,
    /// The lease id or prefix
    id: String,
}

pub async fn run(ctx: &Context, command: LeaseCommand) -> CmdResult {
    match command {
        LeaseCommand::Lookup(args) => lookup(ctx, args).await,
        LeaseCommand::Renew(args) => renew(ctx, args).await,
        LeaseCommand::Revoke(args) => revoke(ctx, args).await,
    }
}

async fn lookup(ctx: &Context, args: IdArgs) -> CmdResult {
    let id = args.id.trim();
    let secret = ctx
        .client
        .write("sys/leases/lookup", &json!({ "lease_id": id }))
        .await
        .map_err(|e| server_error(&format!("error looking up lease id {id}"), &e))?
        .ok_or_else(|| Failure::server(format!("error looking up lease id {id}: no data")))?;
    ctx.ui.show(&secret)
}

async fn renew(ctx: &Context, args: RenewArgs) -> CmdResult {
    let id = args.id.trim();
    let secret = ctx
        .client
        .leases()
        .renew(id, args.increment.as_deref())
        .await
        .map_err(|e| server_error(&format!("Error renewing {id}"), &e))?;
    ctx.ui.show(&secret)
}

async fn revoke(ctx: &Context, args: RevokeArgs) -> CmdResult {
    let id = args.id.trim();
    if args.force && !args.prefix {
        return Err(Failure::usage(
            "Specifying -force requires also specifying -prefix",
        ));
    }
    let leases = ctx.client.leases();
    if args.force {
        output::err(
            "Warning! Force-removing leases can cause Cofre to become out of sync with \
             secret engines!",
        );
        let secret = leases.revoke_prefix(id, true).await.map_err(|e| {
            server_error(&format!("Error force revoking leases with prefix {id}"), &e)
        })?;
        if let Some(secret) = &secret {
            output::print_warnings(secret);
        }
        output::out(&format!(
            "Success! Force revoked any leases with prefix: {id}"
        ));
        return Ok(());
    }
    let path = if args.prefix {
        format!("sys/leases/revoke-prefix/{}", id.trim_matches('/'))
    } else {
        "sys/leases/revoke".to_string()
    };
    let mut body = json!({ "sync": args.sync });
    if !args.prefix {
        body["lease_id"] = json!(id);
    }
    let request = ctx.client.write(&path, &body);
    let result = if args.prefix && args.sync {
        with_progress(ctx, id, request).await
    } else {
        request.await
    };
    result.map_err(|e| server_error(&format!("Error revoking {id}"), &e))?;
    match (args.sync, args.prefix) {
        (false, _) => output::out("All revocation operations queued successfully!"),
        (true, true) => output::out(&format!("Success! Revoked any leases with prefix: {id}")),
        (true, false) => output::out(&format!("Success! Revoked lease: {id}")),
    }
    Ok(())
}

/// Runs a prefix revocation while reporting, on stderr, how many of the leases under the
/// prefix are gone: redrawn in place on a terminal, a line every few seconds otherwise
/// (CI logs). The counts come from `sys/leases/count`; without access to it the
/// revocation runs silently.
async fn with_progress<T>(
    ctx: &Context,
    prefix: &str,
    request: impl Future<Output = Result<T, cofre_client::Error>>,
) -> Result<T, cofre_client::Error> {
    let leases = ctx.client.leases();
    let total = match leases.count().await {
        Ok(counts) => counts.under(prefix),
        Err(_) => return request.await,
    };
    if total == 0 {
        return request.await;
    }
    let terminal = std::io::stderr().is_terminal();
    output::err(&format!("Revoking {total} leases with prefix {prefix}..."));
    let every = if terminal {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(5)
    };
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tokio::pin!(request);
    loop {
        tokio::select! {
            result = &mut request => {
                if terminal {
                    eprintln!();
                }
                return result;
            }
            _ = tick.tick() => {
                if let Ok(counts) = leases.count().await {
                    let done = total.saturating_sub(counts.under(prefix));
                    let line = format!("revoked {done} of {total} leases");
                    if terminal {
                        eprint!("\r{line}");
                        let _ = std::io::stderr().flush();
                    } else {
                        output::err(&line);
                    }
                }
            }
        }
    }
}
