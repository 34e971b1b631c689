//! The `kubernetes` auth method: pods log in with their service-account JWT. Paths
//! (relative to the mount): `config` (read/write), `role/<name>` (read/write/delete, LIST
//! `role/`) and `login` (`role`, `jwt`; unauthenticated).
//!
//! A login is checked in one of two ways ([`login`]):
//! - **TokenReview** (the default): the JWT is sent to `{kubernetes_host}/apis/
//!   authentication.k8s.io/v1/tokenreviews` ([`review`]), which also catches revoked
//!   tokens and deleted pods. The reviewer token is `token_reviewer_jwt`; else, unless
//!   `disable_local_ca_jwt`, the pod's own token, read at every login so a rotated token is
//!   picked up; else the client's JWT itself (Vault's behaviour, which needs every client
//!   to be allowed to create TokenReviews).
//! - **Local keys**: with `pem_keys` configured, the signature (RS256/ES256/…) and claims
//!   (exp, nbf, iss unless `disable_iss_validation`, aud when the role has `audience`) are
//!   checked here, with no call to Kubernetes.
//!
//! The pod's service-account directory is `/var/run/secrets/kubernetes.io/serviceaccount`
//! (`token`, `ca.crt`); the environment variable `COFRE_K8S_SA_DIR` overrides it (tests).
//!
//! Differences from Vault: `bound_service_account_namespace_selector` is stored and read
//! back but not evaluated (that needs a namespace lookup per login); a namespace matched
//! only by the selector is refused, so the role fails closed. There is no entity store:
//! the alias name (`alias_name_source`) is put in the token metadata as `alias_name`.

mod config;
mod login;
pub(crate) mod review;
mod role;

use crate::engines::help::{BackendHelp, PathHelp};
use std::path::PathBuf;

use async_trait::async_trait;

use crate::auth::records::{dispatch, Layout};
use crate::core::{Request, RequestError, Response};
use crate::engines::{Engine, MountContext};

/// The environment variable that moves the pod's service-account directory.
pub const SA_DIR_ENV: &str = "COFRE_K8S_SA_DIR";
const DEFAULT_SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

const LAYOUT: Layout<config::Config, role::Role> = Layout {
    roles: role::ROLES,
    config_api: config::to_api,
    role_api: role::to_api,
};

/// One mount of the kubernetes method.
#[derive(Default)]
pub struct Kubernetes {
    /// The HTTP client for TokenReviews, reused while the CA it trusts is unchanged.
    clients: review::ClientCache,
    /// Overrides [`SA_DIR_ENV`] (unit tests).
    sa_dir: Option<PathBuf>,
}

impl Kubernetes {
    /// The pod's service-account directory.
    fn sa_dir(&self) -> PathBuf {
        self.sa_dir
            .clone()
            .or_else(|| std::env::var_os(SA_DIR_ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SA_DIR))
    }
}

static HELP: BackendHelp = BackendHelp {
    description: "Login for Kubernetes service accounts: the account's JWT is verified with the TokenReview API (or locally with the configured keys) and matched against a role's bound service accounts and namespaces.",
    paths: &[
        PathHelp {
            pattern: "config",
            synopsis: "Configure access to the Kubernetes API.",
            description: "POST writes kubernetes_host, kubernetes_ca_cert, token_reviewer_jwt and pem_keys; GET reads them.",
        },
        crate::auth::records::LIST_ROLES_HELP,
        PathHelp {
            pattern: "role/<name>",
            synopsis: "Manage a role.",
            description: "POST writes bound_service_account_names, bound_service_account_namespaces, audience and the token_* settings; GET reads them; DELETE removes the role.",
        },
        PathHelp {
            pattern: "login",
            synopsis: "Log in with a service account token.",
            description: "POST {\"role\": ..., \"jwt\": ...} returns a Cofre token with the role's policies. Needs no token.",
        },
    ],
};

#[async_trait]
impl Engine for Kubernetes {
    fn help(&self) -> &'static BackendHelp {
        &HELP
    }

    async fn handle(&self, ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
        dispatch(
            &LAYOUT,
            ctx,
            req,
            || login::login(self, ctx, req),
            || config::write(ctx, req),
            |name| role::write(ctx, name, req),
        )
        .await
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
