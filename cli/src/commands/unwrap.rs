//! `cofre unwrap [TOKEN]`: prints the answer a wrapping token holds (once: the token is
//! used up). Without TOKEN the current token is the wrapping token, as with `vault`.

use clap::Args;

use crate::context::Context;
use crate::failure::{server_error, CmdResult};

/// The long help of `cofre unwrap`.
pub const LONG_ABOUT: &str = "Unwrap a response-wrapped answer: print what the \
    wrapping token holds. A wrapping token works once; unwrapping it again, or after its \
    TTL, fails. Without TOKEN the current token (COFRE_TOKEN, VAULT_TOKEN or \
    ~/.cofre-token) is the wrapping token.\n\n\
    Examples:\n  cofre read -wrap-ttl=5m secret/data/app     # prints wrapping_token\n  \
    cofre unwrap s.AbCd…\n  VAULT_TOKEN=s.AbCd… cofre unwrap -field=data";

/// `cofre unwrap [TOKEN]`.
#[derive(Args, Debug)]
pub struct UnwrapArgs {
    /// The wrapping token (default: the current token)
    token: Option<String>,
}

pub async fn run(ctx: &Context, args: UnwrapArgs) -> CmdResult {
    let token = args.token.unwrap_or_default();
    let secret = ctx
        .client
        .sys()
        .unwrap_secret(&token)
        .await
        .map_err(|e| server_error("Error unwrapping", &e))?;
    ctx.ui.show(&secret)
}
