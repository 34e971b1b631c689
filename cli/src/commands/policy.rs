//! `cofre policy …`: write, read, list and delete ACL policies, format and check policy
//! files, and explain a token's access (`policy_explain`).

use clap::{Args, Subcommand};

use crate::commands::{policy_explain, read_input};
use crate::context::Context;
use crate::failure::{server_error, CmdResult, Failure};
use crate::output;

/// ACL policy commands.
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Upload a policy from a file, or from stdin with -
    #[command(
        long_about = "Create or replace the ACL policy NAME from an HCL or JSON file, \
        or from stdin when FILE is -. Names are lower-cased.\n\n\
        Examples:\n  cofre policy write app-reader policies/app-reader.hcl\n  \
        cat policy.hcl | cofre policy write app-reader -"
    )]
    Write(WriteArgs),
    /// Print a policy's text
    Read(NameArgs),
    /// List the names of all policies
    List,
    /// Delete a policy (tokens that carry it lose what it granted)
    Delete(NameArgs),
    /// Check a policy file and rewrite it in canonical HCL formatting, in place
    Fmt(FmtArgs),
    /// Check policy files without a server: parse each and report the first problem with
    /// its line (exit 1 if any file is wrong)
    Check(CheckArgs),
    /// Explain which rule of which policy allows or denies a token's request, and why
    #[command(long_about = policy_explain::LONG_ABOUT)]
    Explain(policy_explain::ExplainArgs),
}

#[derive(Args, Debug)]
pub struct WriteArgs {
    /// The policy's name
    name: String,
    /// The policy file (HCL or JSON), or - for stdin
    file: String,
}

#[derive(Args, Debug)]
pub struct NameArgs {
    /// The policy's name
    name: String,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The policy files (HCL or JSON)
    #[arg(required = true)]
    files: Vec<String>,
}

#[derive(Args, Debug)]
pub struct FmtArgs {
    /// The policy file to format in place
    file: String,
}

pub async fn run(ctx: &Context, command: PolicyCommand) -> CmdResult {
    match command {
        PolicyCommand::Write(args) => write(ctx, args).await,
        PolicyCommand::Read(args) => read(ctx, args).await,
        PolicyCommand::List => list(ctx).await,
        PolicyCommand::Delete(args) => delete(ctx, args).await,
        PolicyCommand::Fmt(args) => fmt(args),
        PolicyCommand::Check(args) => check(args),
        PolicyCommand::Explain(args) => policy_explain::run(ctx, args).await,
    }
}

fn normalize(name: &str) -> String {
    name.trim().to_lowercase()
}

async fn write(ctx: &Context, args: WriteArgs) -> CmdResult {
    let name = normalize(&args.name);
    let rules = read_input(&args.file, "policy")?;
    ctx.client
        .sys()
        .write_policy(&name, &rules)
        .await
        .map_err(|e| server_error("Error uploading policy", &e))?;
    if args.name != name {
        output::err(&format!(
            "Policy name was converted from \"{}\" to \"{name}\"",
            args.name
        ));
    }
    output::out(&format!("Success! Uploaded policy: {name}"));
    Ok(())
}

async fn read(ctx: &Context, args: NameArgs) -> CmdResult {
    let name = normalize(&args.name);
    let rules = ctx
        .client
        .sys()
        .read_policy(&name)
        .await
        .map_err(|e| server_error(&format!("Error reading policy named {name}"), &e))?
        .filter(|r| !r.is_empty())
        .ok_or_else(|| Failure::server(format!("No policy named: {name}")))?;
    if ctx.ui.is_table() {
        output::out(rules.trim());
        return Ok(());
    }
    ctx.ui.structured(&serde_json::json!({ "policy": rules }))
}

async fn list(ctx: &Context) -> CmdResult {
    let names = ctx
        .client
        .sys()
        .list_policies()
        .await
        .map_err(|e| server_error("Error listing policies", &e))?;
    if !ctx.ui.is_table() {
        return ctx.ui.structured(&names);
    }
    for name in names {
        output::out(&name);
    }
    Ok(())
}

async fn delete(ctx: &Context, args: NameArgs) -> CmdResult {
    let name = normalize(&args.name);
    ctx.client
        .sys()
        .delete_policy(&name)
        .await
        .map_err(|e| server_error(&format!("Error deleting {name}"), &e))?;
    output::out(&format!("Success! Deleted policy: {name}"));
    Ok(())
}

/// `policy fmt` runs locally, with the server's own policy parser.
/// `cofre policy check FILE...`: each file parsed as the server would, locally.
pub fn check(args: CheckArgs) -> CmdResult {
    let mut wrong = 0;
    for path in &args.files {
        let outcome = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read it: {e}"))
            .and_then(|text| {
                let name = std::path::Path::new(path)
                    .file_stem()
                    .map_or("policy".into(), |s| s.to_string_lossy().to_lowercase());
                cofre_server::policy::parse(&name, &text).map_err(|e| e.to_string())
            });
        match outcome {
            Ok(policy) => output::out(&format!("{path}: OK ({} path rules)", policy.rule_count())),
            Err(problem) => {
                wrong += 1;
                output::err(&format!("{path}: {problem}"));
            }
        }
    }
    match wrong {
        0 => Ok(()),
        n => Err(Failure::usage(format!(
            "{n} of {} policy files have problems",
            args.files.len()
        ))),
    }
}

pub fn fmt(args: FmtArgs) -> CmdResult {
    let path = args.file.trim();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("Error reading source file {path}: {e}")))?;
    let formatted =
        cofre_server::policy::format(&text).map_err(|e| Failure::usage(e.to_string()))?;
    std::fs::write(path, formatted)
        .map_err(|e| Failure::usage(format!("Error writing result to {path}: {e}")))?;
    output::out(&format!("Success! Formatted policy: {path}"));
    Ok(())
}
