//! `cofre server`: runs the Cofre server (the `cofre_server` library) in this process
//! until SIGINT/SIGTERM.

use std::path::PathBuf;

use clap::Args;

use crate::failure::{CmdResult, Failure};

/// `cofre server` flags, as `vault server` names them.
#[derive(Args, Debug)]
#[command(
    long_about = "Start a Cofre server. With -config, it reads a Vault-style HCL \
    configuration (listener \"tcp\", storage \"sled\" or \"inmem\", TLS, TTLs). With -dev it \
    runs in memory, initialised and unsealed, and prints its unseal key and root token: \
    for development only, all data is lost when it stops.\n\n\
    Examples:\n  cofre server -config /etc/cofre/cofre.hcl\n  \
    cofre server -dev -dev-root-token-id=root -dev-listen-address=127.0.0.1:8200"
)]
pub struct ServerArgs {
    /// Run a development server: in memory, unsealed, with a printed root token
    #[arg(long)]
    dev: bool,
    /// Path to the HCL configuration file
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Dev mode: use this value as the root token instead of a random one
    #[arg(
        long = "dev-root-token-id",
        value_name = "TOKEN",
        env = "COFRE_DEV_ROOT_TOKEN_ID"
    )]
    dev_root_token_id: Option<String>,
    /// Dev mode: the address to listen on [default: 127.0.0.1:8200]
    #[arg(
        long = "dev-listen-address",
        value_name = "ADDR",
        env = "COFRE_DEV_LISTEN_ADDRESS"
    )]
    dev_listen_address: Option<String>,
}

pub async fn run(args: ServerArgs) -> CmdResult {
    if args.config.is_none() && !args.dev {
        return Err(Failure::usage(
            "No configuration files found. Please provide configurations with the \
             -config flag, or use -dev for a development server.",
        ));
    }
    let options = cofre_server::ServerOptions {
        dev: args.dev,
        config_path: args.config,
        dev_root_token_id: args.dev_root_token_id,
        dev_listen_address: args.dev_listen_address,
    };
    cofre_server::run_from_cli(options)
        .await
        .map_err(|e| Failure::usage(format!("Error running the server: {e}")))
}
