//! `cofre`: one binary with the `vault` command set. `cofre server` runs the server (the
//! `cofre_server` library); every other subcommand is a client built on the
//! `cofre_client` SDK. Vault's single-dash flags are rewritten before clap parses them
//! (see [`args`]); exit codes follow `vault`: 0 success, 1 local or usage error, 2 an
//! error from the server.

mod args;
mod commands;
mod context;
mod examples;
mod failure;
mod key_values;
mod output;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use commands::{
    audit, auth, generic, kv, lease, login, operator, path_help, policy, run as run_cmd, secrets,
    server, status, token, unwrap,
};
use context::{Context, GlobalArgs};
use failure::{CmdResult, Failure};

/// Cofre: a secrets vault compatible with Vault's and OpenBao's HTTP API and CLI.
#[derive(Parser, Debug)]
#[command(
    name = "cofre",
    version,
    about = "Cofre: a secrets vault that speaks Vault's HTTP API and CLI",
    long_about = "Cofre: a secrets vault that speaks Vault's HTTP API and CLI.\n\n\
        `cofre server` runs a server; every other command talks to one at COFRE_ADDR \
        (or VAULT_ADDR, default http://127.0.0.1:8200) with the token in COFRE_TOKEN \
        (or VAULT_TOKEN, or ~/.cofre-token after `cofre login`).\n\n\
        Flags may be written as in vault (-format=json) or with two dashes (--format json).",
    after_help = "Common commands:\n  \
        cofre server -dev                      start a development server\n  \
        cofre status                           show the seal status\n  \
        cofre kv put secret/app password=x     write a secret\n  \
        cofre kv get -field=password secret/app\n  \
        cofre policy write NAME FILE           upload an ACL policy\n  \
        cofre token create -policy=NAME        create a token\n  \
        cofre unwrap TOKEN                     read an answer wrapped with -wrap-ttl\n\n\
        Exit codes: 0 success, 1 usage or local error, 2 error from the server.",
    disable_help_subcommand = true
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start a Cofre server (-dev for a throwaway development server)
    Server(server::ServerArgs),
    /// Print the seal status (exit 2 when sealed)
    Status(status::StatusArgs),
    /// Initialise, unseal and seal the server; rotate and inspect the barrier key
    #[command(subcommand)]
    Operator(operator::OperatorCommand),
    /// Read and write key/value secrets (KV v1 and v2)
    #[command(subcommand)]
    Kv(kv::KvCommand),
    /// Write, read, list, delete, format and explain ACL policies
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Create, look up, renew and revoke tokens
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Enable, disable, list and tune auth methods
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// Look up, renew and revoke leases of dynamic secrets
    #[command(subcommand)]
    Lease(lease::LeaseCommand),
    /// Enable, disable, list, move and tune secrets engines
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Read data from any API path
    Read(generic::ReadArgs),
    /// Write data to any API path
    Write(generic::WriteArgs),
    /// List the keys at any API path
    List(generic::ListArgs),
    /// Delete data at any API path
    Delete(generic::DeleteArgs),
    /// Print the server's help for an API path
    #[command(name = "path-help", long_about = path_help::LONG_ABOUT)]
    PathHelp(path_help::PathHelpArgs),
    /// Print the answer a response-wrapping token holds (once)
    #[command(long_about = unwrap::LONG_ABOUT)]
    Unwrap(unwrap::UnwrapArgs),
    /// Log in (token, userpass, approle, kubernetes, jwt) and keep the token in ~/.cofre-token
    #[command(long_about = login::LONG_ABOUT)]
    Login(login::LoginArgs),
    /// Run a command with secrets in its environment; renew and revoke their leases
    #[command(long_about = run_cmd::LONG_ABOUT)]
    Run(run_cmd::RunArgs),
    /// Print local settings (the token in use)
    #[command(subcommand)]
    Print(login::PrintCommand),
    /// List, enable and disable audit devices; verify an audit file's hash chain
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Print the CLI's version
    Version,
    /// Print a shell completion script: bash, zsh or fish
    #[command(
        long_about = "Print a completion script for SHELL on stdout. Flags complete in \
        their double-dash form (--format), which cofre accepts like -format.\n\n\
        Examples:\n  cofre completion bash > /etc/bash_completion.d/cofre\n  \
        cofre completion zsh > \"${fpath[1]}/_cofre\"\n  \
        cofre completion fish > ~/.config/fish/completions/cofre.fish"
    )]
    Completion {
        /// The shell
        #[arg(value_parser = ["bash", "zsh", "fish"])]
        shell: String,
    },
}

/// The command line: Vault-style flags rewritten, then parsed by the command tree with
/// an example added to every command's help.
fn parse(argv: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Cli, clap::Error> {
    let mut command = examples::add(Cli::command());
    let matches = command.try_get_matches_from_mut(args::rewrite(argv))?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
}

fn main() -> ExitCode {
    let cli = match parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are successes; every parse error is a usage error.
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Some(message) = failure.message() {
                output::err(message);
            }
            ExitCode::from(failure.code())
        }
    }
}

fn run(cli: Cli) -> CmdResult {
    let Cli {
        mut global,
        command,
    } = cli;
    // `kv export -format=dotenv|github` shares the global -format flag but not its values.
    let command = match command {
        Command::Kv(kv::KvCommand::Export(mut args)) => {
            args.format = global.format.take();
            Command::Kv(kv::KvCommand::Export(args))
        }
        other => other,
    };
    match command {
        Command::Server(args) => {
            let runtime = runtime(true).map_err(|e| Failure::usage(format!("{e:#}")))?;
            runtime.block_on(server::run(args))
        }
        Command::Version => {
            output::out(&format!("Cofre v{}", env!("CARGO_PKG_VERSION")));
            Ok(())
        }
        Command::Completion { shell } => {
            let shell = match shell.as_str() {
                "zsh" => clap_complete::Shell::Zsh,
                "fish" => clap_complete::Shell::Fish,
                _ => clap_complete::Shell::Bash,
            };
            let mut command = examples::add(Cli::command());
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "cofre", &mut script);
            // A closed pipe (`| head`) is the reader's choice, not an error.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            Ok(())
        }
        Command::Policy(policy::PolicyCommand::Fmt(args)) => policy::fmt(args),
        Command::Policy(policy::PolicyCommand::Check(args)) => policy::check(args),
        // Local: opens the stores itself, no server involved.
        Command::Operator(operator::OperatorCommand::Migrate(args)) => {
            let runtime = runtime(true).map_err(|e| Failure::usage(format!("{e:#}")))?;
            runtime.block_on(commands::migrate::migrate(args))
        }
        Command::Audit(audit::AuditCommand::Verify(args)) => audit::verify(args),
        command => {
            let ctx = Context::new(&global)?;
            let runtime = runtime(false).map_err(|e| Failure::usage(format!("{e:#}")))?;
            runtime.block_on(dispatch(&ctx, command))
        }
    }
}

/// The tokio runtime: multi-threaded for the server, one thread for client commands.
fn runtime(multi_thread: bool) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    use anyhow::Context as _;
    builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn dispatch(ctx: &Context, command: Command) -> CmdResult {
    match command {
        Command::Status(args) => status::run(ctx, args).await,
        Command::Operator(command) => operator::run(ctx, command).await,
        Command::Kv(command) => kv::run(ctx, command).await,
        Command::Policy(command) => policy::run(ctx, command).await,
        Command::Token(command) => token::run(ctx, command).await,
        Command::Lease(command) => lease::run(ctx, command).await,
        Command::Auth(command) => auth::run(ctx, command).await,
        Command::Secrets(command) => secrets::run(ctx, command).await,
        Command::Read(args) => generic::read(ctx, args).await,
        Command::Write(args) => generic::write(ctx, args).await,
        Command::List(args) => generic::list(ctx, args).await,
        Command::Delete(args) => generic::delete(ctx, args).await,
        Command::PathHelp(args) => path_help::run(ctx, args).await,
        Command::Unwrap(args) => unwrap::run(ctx, args).await,
        Command::Login(args) => login::login(ctx, args).await,
        Command::Run(args) => run_cmd::run(ctx, args).await,
        Command::Print(command) => login::print(ctx, command),
        Command::Audit(command) => audit::run(ctx, command).await,
        Command::Server(_) | Command::Version | Command::Completion { .. } => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(line: &[&str]) -> Result<Cli, clap::Error> {
        super::parse(line.iter().map(std::ffi::OsString::from))
    }

    #[test]
    fn vault_style_lines_parse() {
        for line in [
            &["cofre", "kv", "get", "-field=password", "secret/x"][..],
            &["cofre", "kv", "put", "-cas=0", "secret/x", "a=b"],
            &[
                "cofre",
                "kv",
                "get",
                "-format=json",
                "-version=2",
                "secret/x",
            ],
            &["cofre", "kv", "delete", "-versions=1,2", "secret/x"],
            &[
                "cofre",
                "kv",
                "metadata",
                "put",
                "-max-versions=5",
                "-cas-required",
                "secret/x",
            ],
            &[
                "cofre",
                "token",
                "create",
                "-policy=a",
                "-policy=b",
                "-renewable=false",
                "-orphan",
            ],
            &["cofre", "token", "revoke", "-mode=orphan", "s.x"],
            &["cofre", "write", "-f", "sys/rotate"],
            &[
                "cofre",
                "secrets",
                "enable",
                "-path=team",
                "-version=2",
                "kv",
            ],
            &["cofre", "secrets", "list", "-detailed"],
            &[
                "cofre",
                "operator",
                "init",
                "-key-shares=1",
                "-key-threshold=1",
            ],
            &["cofre", "server", "-dev", "-dev-root-token-id=root"],
            &["cofre", "-address=http://h:1", "-tls-skip-verify", "status"],
            &["cofre", "policy", "write", "p", "-"],
            &["cofre", "token", "capabilities", "s.t", "secret/x"],
            &[
                "cofre",
                "run",
                "-secret=secret/x",
                "-upper=false",
                "--",
                "sh",
                "-c",
                "env",
            ],
            &["cofre", "kv", "export", "-format=github", "secret/x"],
            &["cofre", "read", "-wrap-ttl=60", "secret/data/x"],
            &["cofre", "token", "create", "-wrap-ttl=5m", "-policy=a"],
            &["cofre", "unwrap", "-field=data", "s.wrap"],
            &["cofre", "unwrap"],
            &[
                "cofre",
                "login",
                "-method=userpass",
                "-path=people",
                "username=bob",
            ],
        ] {
            if let Err(e) = parse(line) {
                panic!("{line:?} did not parse: {e}");
            }
        }
    }

    #[test]
    fn parse_errors_are_usage_errors() {
        let err = parse(&["cofre", "kv", "get"]).unwrap_err();
        assert!(err.use_stderr());
        let help = parse(&["cofre", "-help"]).unwrap_err();
        assert!(!help.use_stderr());
    }
}
