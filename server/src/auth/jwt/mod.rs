//! The `jwt` auth method, for CI systems that mint OIDC tokens (GitHub Actions, GitLab CI):
//! a job presents its JWT and gets a token if the signature and the role's bindings hold.
//! Paths (relative to the mount): `config` (read/write), `role/<name>` (read/write/delete,
//! LIST `role/`) and `login` (`role` or the config's `default_role`, `jwt`;
//! unauthenticated).
//!
//! Keys come from exactly one source ([`config`]): static PEM keys
//! (`jwt_validation_pubkeys`), a JWKS URL, or an OIDC discovery URL whose
//! `/.well-known/openid-configuration` names the JWKS. Fetched key sets are cached
//! ([`keys`]): refreshed hourly, re-fetched once when a token names an unknown `kid` (key
//! rotation), with a short negative cache so made-up key IDs cannot make us hammer the
//! JWKS host.
//!
//! Differences from Vault: only `role_type = "jwt"` exists (the browser OIDC flow is not
//! supported: `oidc` roles are refused with a 400), and it is the default; tokens must
//! carry `exp`; there is no entity store, so groups are not mapped; unknown parameters
//! are refused with a 400 naming them.

mod config;
mod keys;
mod login;
mod role;

use crate::engines::help::{BackendHelp, PathHelp};
use async_trait::async_trait;

use crate::auth::kubernetes::review::ClientCache;
use crate::auth::records::{dispatch, Layout};
use crate::core::{Request, RequestError, Response};
use crate::engines::{Engine, MountContext};

const LAYOUT: Layout<config::Config, role::Role> = Layout {
    roles: role::ROLES,
    config_api: config::to_api,
    role_api: role::to_api,
};

/// One mount of the jwt method.
#[derive(Default)]
pub struct JwtAuth {
    keys: keys::KeyCache,
    clients: ClientCache,
}

static HELP: BackendHelp = BackendHelp {
    description: "Login with a JSON Web Token (OIDC ID tokens, CI job tokens such as GitHub Actions'): the token's signature is checked against the configured keys (static, JWKS or OIDC discovery) and its claims against a role.",
    paths: &[
        PathHelp {
            pattern: "config",
            synopsis: "Configure how tokens are verified.",
            description: "POST writes oidc_discovery_url, jwks_url or jwt_validation_pubkeys, bound_issuer and default_role; GET reads them.",
        },
        crate::auth::records::LIST_ROLES_HELP,
        PathHelp {
            pattern: "role/<name>",
            synopsis: "Manage a role.",
            description: "POST writes role_type, user_claim, bound_audiences, bound_subject, bound_claims, claim_mappings and the token_* settings; GET reads them; DELETE removes the role.",
        },
        PathHelp {
            pattern: "login",
            synopsis: "Log in with a JWT.",
            description: "POST {\"role\": ..., \"jwt\": ...} verifies the token and returns a Cofre token with the role's policies. Needs no token.",
        },
    ],
};

#[async_trait]
impl Engine for JwtAuth {
    fn help(&self) -> &'static BackendHelp {
        &HELP
    }

    async fn handle(&self, ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
        let write_config = || async {
            let response = config::write(ctx, req).await?;
            self.keys.clear().await;
            Ok(response)
        };
        let login = || login::login(self, ctx, req);
        let write_role = |name| role::write(ctx, name, req);
        dispatch(&LAYOUT, ctx, req, login, write_config, write_role).await
    }

    fn unauthenticated_paths(&self) -> &'static [&'static str] {
        &["login"]
    }

    async fn exists(
        &self,
        ctx: &MountContext,
        req: &Request,
    ) -> Result<Option<bool>, RequestError> {
        role::ROLES.exists_at(&ctx.storage, &req.path).await
    }
}

#[cfg(test)]
mod tests;
