//! `cofre path-help PATH`: the server's help for an API path (`GET /v1/<path>?help=1`),
//! as `vault path-help` prints it.

use clap::Args;

use crate::context::Context;
use crate::failure::{server_error, CmdResult};
use crate::output;

pub const LONG_ABOUT: &str = "Print the server's help for an API path: what the path \
is for and the operations it answers. Help on a mount (secret/) lists the path \
patterns of its engine; help on any path matching a pattern (secret/data/app) \
describes that pattern. Any valid token may ask, whatever its policies. With \
-format=json or yaml the path's OpenAPI document is printed instead, as vault does \
(Cofre's lists paths and synopses only).\n\n\
Examples:\n  cofre path-help secret/\n  cofre path-help secret/data/app\n  \
cofre path-help sys/mounts";

#[derive(Args, Debug)]
pub struct PathHelpArgs {
    /// The API path (secret/, secret/data/app, sys/mounts, auth/token/create)
    path: String,
}

pub async fn run(ctx: &Context, args: PathHelpArgs) -> CmdResult {
    let path = args.path.trim().trim_start_matches('/');
    let help = ctx
        .client
        .help(path)
        .await
        .map_err(|e| server_error("Error retrieving help", &e))?;
    if !ctx.ui.is_table() {
        return ctx.ui.structured(&help.openapi);
    }
    output::out(help.help.trim_end());
    Ok(())
}
