//! The `approle` auth method, for machines and CI pipelines: a role has a `role_id` (like
//! a user name) and issues secret IDs (like single- or few-use passwords); `login` trades
//! both for a token with the role's token fields.
//!
//! Paths (relative to the mount): `role/<name>` (read/write/delete, LIST `role/`),
//! `role/<name>/role-id`, `role/<name>/secret-id` (generate; LIST gives accessors),
//! `role/<name>/custom-secret-id`, `role/<name>/secret-id/lookup|destroy`,
//! `role/<name>/secret-id-accessor/lookup|destroy`, `tidy/secret-id` ([`tidy`]) and
//! `login` (unauthenticated).
//!
//! Storage below the mount's view: `salt` (a random per-mount HMAC key), `role/<name>`,
//! `role_id/<hmac>` → role name, `secret_id/<role>/<hmac>` → [`secret_id::SecretIdEntry`],
//! `accessor/<hmac>` → the secret ID it names. Secret IDs, role IDs and accessors are
//! keyed by HMAC-SHA256 under the salt, so storage never holds a secret ID in clear.

mod login;
mod role;
mod secret_id;
mod tidy;

use crate::engines::help::{BackendHelp, PathHelp};
use async_trait::async_trait;
use tokio::sync::{Mutex, MutexGuard, OnceCell};
use zeroize::Zeroizing;

use crate::barrier::StorageView;
use crate::core::{Operation, Request, RequestError, Response};
use crate::engines::{Engine, MountContext};

/// How many locks secret-ID updates are spread over (by a hash of the secret ID's HMAC).
const LOCK_STRIPES: usize = 64;

/// Held while a secret ID is read, checked and its use count written back, so two
/// concurrent logins cannot both spend its last use. Process-wide rather than per engine:
/// the router rebuilds engines on every mount change, and a login still running on the
/// old engine must exclude one on the new.
static LOCKS: std::sync::OnceLock<Vec<Mutex<()>>> = std::sync::OnceLock::new();

/// One mount of the approle method.
#[derive(Default)]
pub struct AppRole {
    salt: OnceCell<Zeroizing<Vec<u8>>>,
    /// Set while a `tidy/secret-id` runs.
    tidying: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

static HELP: BackendHelp = BackendHelp {
    description: "Login for machines and applications: a role has a role_id and issues secret_ids; presenting both returns a token with the role's policies.",
    paths: &[
        PathHelp {
            pattern: "login",
            synopsis: "Log in with a role_id and a secret_id.",
            description: "POST {\"role_id\": ..., \"secret_id\": ...} returns a token with the role's policies. Needs no token.",
        },
        crate::auth::records::LIST_ROLES_HELP,
        PathHelp {
            pattern: "role/<name>",
            synopsis: "Manage a role.",
            description: "POST writes bind_secret_id, secret_id_ttl, secret_id_num_uses, secret_id_bound_cidrs and the token_* settings; GET reads them; DELETE removes the role and its secret_ids.",
        },
        PathHelp {
            pattern: "role/<name>/role-id",
            synopsis: "Read or set the role's role_id.",
            description: "GET returns the role_id; POST {\"role_id\": ...} sets it.",
        },
        PathHelp {
            pattern: "role/<name>/secret-id",
            synopsis: "Issue or list secret_ids.",
            description: "POST issues a new secret_id (optionally with metadata and cidr_list); LIST names the accessors of the role's secret_ids.",
        },
        PathHelp {
            pattern: "role/<name>/custom-secret-id",
            synopsis: "Register a secret_id chosen by the caller.",
            description: "POST {\"secret_id\": ...} stores that value as a secret_id of the role.",
        },
        PathHelp {
            pattern: "role/<name>/secret-id/<action>",
            synopsis: "Look up or destroy a secret_id.",
            description: "POST to lookup or destroy with {\"secret_id\": ...} reads its properties or removes it.",
        },
        PathHelp {
            pattern: "role/<name>/secret-id-accessor/<action>",
            synopsis: "Look up or destroy a secret_id by its accessor.",
            description: "POST to lookup or destroy with {\"secret_id_accessor\": ...}.",
        },
        PathHelp {
            pattern: "tidy/secret-id",
            synopsis: "Remove expired secret_ids.",
            description: "POST starts a clean-up of expired secret_ids and their accessors.",
        },
    ],
};

#[async_trait]
impl Engine for AppRole {
    fn help(&self) -> &'static BackendHelp {
        &HELP
    }

    async fn handle(&self, ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
        let path = req.path.trim_end_matches('/');
        let parts: Vec<&str> = path.split('/').collect();
        let write = matches!(req.operation, Operation::Create | Operation::Update);
        let op = req.operation;
        match parts.as_slice() {
            ["login"] if write => login::login(self, ctx, req).await,
            ["tidy", "secret-id"] if write => tidy::start(self, &ctx.storage).await,
            ["role"] if op == Operation::List => role::ROLES.list(&ctx.storage).await,
            ["role", name] => role::handle(self, ctx, name, req).await,
            ["role", name, "role-id"] => role::role_id(self, ctx, name, req).await,
            ["role", name, "secret-id"] if op == Operation::List => {
                secret_id::list(ctx, name).await
            }
            ["role", name, "secret-id"] if write => {
                secret_id::generate(self, ctx, name, req, false).await
            }
            ["role", name, "custom-secret-id"] if write => {
                secret_id::generate(self, ctx, name, req, true).await
            }
            ["role", name, "secret-id", action] => {
                secret_id::by_secret_id(self, ctx, name, action, req).await
            }
            ["role", name, "secret-id-accessor", action] => {
                secret_id::by_accessor(self, ctx, name, action, req).await
            }
            ["login"] | ["role" | "role-id", ..] => Err(RequestError::UnsupportedOperation),
            _ => Err(RequestError::unsupported_path()),
        }
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

impl AppRole {
    /// HMAC-SHA256 of `value` under the mount's salt, made and stored on first use.
    async fn hmac(&self, storage: &StorageView, value: &str) -> Result<String, RequestError> {
        let salt = self.salt(storage).await?;
        Ok(crate::crypto::hmac_sha256_hex(&salt, value.as_bytes()))
    }

    /// The mount's salt, made and stored on first use.
    async fn salt(&self, storage: &StorageView) -> Result<Zeroizing<Vec<u8>>, RequestError> {
        let salt = self
            .salt
            .get_or_try_init(|| load_or_create_salt(storage))
            .await?;
        Ok(salt.clone())
    }

    /// The lock for the secret ID whose HMAC is `hash`.
    async fn lock(&self, hash: &str) -> MutexGuard<'static, ()> {
        lock_for(hash).await
    }
}

/// The process-wide lock for the secret ID whose HMAC is `hash`.
async fn lock_for(hash: &str) -> MutexGuard<'static, ()> {
    let stripe = hash.bytes().fold(0usize, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    let locks = LOCKS.get_or_init(|| (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect());
    locks[stripe % LOCK_STRIPES].lock().await
}

/// The salt at `salt`, or a new random one stored there. Reached once per engine (its
/// `OnceCell`), under a process-wide lock so an old and a rebuilt engine of one mount
/// cannot both create one.
async fn load_or_create_salt(storage: &StorageView) -> Result<Zeroizing<Vec<u8>>, RequestError> {
    const KEY: &str = "salt";
    static CREATING: Mutex<()> = Mutex::const_new(());
    let _guard = CREATING.lock().await;
    if let Some(hex) = storage.get_json::<String>(KEY).await? {
        return crate::crypto::unhex(&hex)
            .map(Zeroizing::new)
            .ok_or_else(|| RequestError::internal("the approle mount's salt is malformed"));
    }
    let salt = crate::crypto::random_key::<32>();
    storage
        .put_json(KEY, &crate::crypto::hex(salt.as_ref()))
        .await?;
    Ok(Zeroizing::new(salt.to_vec()))
}

#[cfg(test)]
mod tests;
