//! The `userpass` auth method: users with an argon2id-hashed password ([`password`]) and
//! the common token fields. Paths (relative to the mount, e.g. `auth/userpass/`):
//! `users/<name>` (create/update/read/delete), LIST `users/`, `users/<name>/password`,
//! and `login/<name>` (unauthenticated).
//!
//! Usernames are case-insensitive (stored lower-cased, as Vault). A login for an unknown
//! user verifies the password against a decoy hash so its timing matches a known user's,
//! and every failure answers the same "invalid username or password". Repeated failures
//! lock the user name and the client address out for a while ([`throttle`]).

pub mod password;
pub mod throttle;

use crate::engines::help::{BackendHelp, PathHelp};
use std::time::Instant;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::OnceCell;
use zeroize::Zeroizing;

use super::token_fields::TokenFields;
use crate::barrier::StorageView;
use crate::core::{Operation, Request, RequestError, Response};
use crate::engines::{Engine, MountContext};
use password::PasswordHash;

/// Where users live below the mount's storage.
const USER_PREFIX: &str = "user/";

/// One mount of the userpass method.
#[derive(Default)]
pub struct Userpass {
    /// Made on the first login for an unknown user, then reused.
    decoy: OnceCell<PasswordHash>,
    throttle: throttle::Throttle,
}

impl Userpass {
    /// A mount with the login limits of its options.
    pub fn for_mount(entry: &crate::core::mounts::MountEntry) -> Result<Self, RequestError> {
        Ok(Self {
            decoy: OnceCell::new(),
            throttle: throttle::Throttle::new(throttle::Limits::from_mount(entry)?),
        })
    }
}

/// A stored user.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct User {
    password: PasswordHash,
    #[serde(default)]
    token: TokenFields,
}

/// What a request path names.
enum Target {
    List,
    User(String),
    Password(String),
    Login(String),
    Other,
}

fn target(path: &str) -> Target {
    let trimmed = path.trim_end_matches('/');
    let parts: Vec<&str> = trimmed.split('/').collect();
    match parts.as_slice() {
        ["users"] => Target::List,
        ["users", name] if !name.is_empty() => Target::User(name.to_lowercase()),
        ["users", name, "password"] if !name.is_empty() => Target::Password(name.to_lowercase()),
        ["login", name] if !name.is_empty() => Target::Login(name.to_lowercase()),
        _ => Target::Other,
    }
}

static HELP: BackendHelp = BackendHelp {
    description: "Username and password login: users are stored with an argon2id hash of their password and their token settings; a login returns a token with the user's policies.",
    paths: &[
        PathHelp {
            pattern: "users",
            synopsis: "List the users.",
            description: "LIST names the users of this mount.",
        },
        PathHelp {
            pattern: "users/<name>",
            synopsis: "Manage a user.",
            description: "POST writes password, token_policies, token_ttl and the other token_* settings; GET reads them (never the password); DELETE removes the user.",
        },
        PathHelp {
            pattern: "users/<name>/password",
            synopsis: "Change a user's password.",
            description: "POST {\"password\": \"...\"} replaces the user's password.",
        },
        PathHelp {
            pattern: "login/<name>",
            synopsis: "Log in with a username and password.",
            description: "POST {\"password\": \"...\"} returns a token with the user's policies. Needs no token.",
        },
    ],
};

#[async_trait]
impl Engine for Userpass {
    fn help(&self) -> &'static BackendHelp {
        &HELP
    }

    async fn handle(&self, ctx: &MountContext, req: &Request) -> Result<Response, RequestError> {
        let storage = &ctx.storage;
        let write = matches!(req.operation, Operation::Create | Operation::Update);
        match (target(&req.path), req.operation) {
            (Target::List, Operation::List) => Response::list(storage.list(USER_PREFIX).await?),
            (Target::User(name), Operation::Read) => read_user(storage, &name).await,
            (Target::User(name), Operation::Delete) => {
                storage.delete(&user_key(&name)).await?;
                Ok(Response::empty())
            }
            (Target::User(name), _) if write => write_user(storage, &name, req).await,
            (Target::Password(name), _) if write => set_password(storage, &name, req).await,
            (Target::Login(name), _) if write => self.login(storage, &name, req).await,
            (Target::Other, _) => Err(RequestError::unsupported_path()),
            _ => Err(RequestError::UnsupportedOperation),
        }
    }

    fn unauthenticated_paths(&self) -> &'static [&'static str] {
        &["login/*"]
    }

    async fn exists(
        &self,
        ctx: &MountContext,
        req: &Request,
    ) -> Result<Option<bool>, RequestError> {
        match target(&req.path) {
            Target::User(name) => Ok(Some(ctx.storage.get(&user_key(&name)).await?.is_some())),
            _ => Ok(None),
        }
    }
}

impl Userpass {
    async fn login(
        &self,
        storage: &StorageView,
        name: &str,
        req: &Request,
    ) -> Result<Response, RequestError> {
        let password = required_password(req, "missing password")?;
        let addr = req.remote_addr;
        self.throttle.check(name, addr, Instant::now())?;
        let user: Option<User> = storage.get_json(&user_key(name)).await?;
        let stored = match &user {
            Some(user) => user.password.clone(),
            None => self.decoy.get_or_try_init(password::decoy).await?.clone(),
        };
        let matches = password::verify(stored, password).await?;
        let Some(user) = user.filter(|_| matches) else {
            self.throttle.failed(name, addr, Instant::now());
            return Err(RequestError::invalid("invalid username or password"));
        };
        if !user.token.allows_address(addr) {
            return Err(RequestError::PermissionDenied);
        }
        self.throttle.succeeded(name, addr);
        let mut metadata = Map::new();
        metadata.insert("username".into(), Value::from(name));
        Ok(Response {
            login: Some(Box::new(user.token.grant(name, metadata))),
            ..Response::default()
        })
    }
}

fn user_key(name: &str) -> String {
    format!("{USER_PREFIX}{name}")
}

/// The request's `password`, copied into memory that is wiped on drop.
fn required_password(req: &Request, missing: &str) -> Result<Zeroizing<String>, RequestError> {
    req.str_field("password")?
        .filter(|p| !p.is_empty())
        .map(|p| Zeroizing::new(p.to_string()))
        .ok_or_else(|| RequestError::invalid(missing))
}

async fn read_user(storage: &StorageView, name: &str) -> Result<Response, RequestError> {
    let user: User = storage
        .get_json(&user_key(name))
        .await?
        .ok_or(RequestError::NotFound)?;
    Ok(Response::data(user.token.to_api()))
}

async fn write_user(
    storage: &StorageView,
    name: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    validate_name(name)?;
    let existing: Option<User> = storage.get_json(&user_key(name)).await?;
    let user = match existing {
        Some(mut user) => {
            user.token.update(&req.data)?;
            if let Some(pw) = req.str_field("password")?.filter(|p| !p.is_empty()) {
                user.password = password::hash(Zeroizing::new(pw.to_string())).await?;
            }
            user
        }
        None => {
            let token = TokenFields::from_request(&req.data)?;
            let pw = required_password(req, "missing password")?;
            User {
                password: password::hash(pw).await?,
                token,
            }
        }
    };
    storage.put_json(&user_key(name), &user).await?;
    Ok(Response::empty())
}

async fn set_password(
    storage: &StorageView,
    name: &str,
    req: &Request,
) -> Result<Response, RequestError> {
    let pw = required_password(req, "missing password")?;
    let mut user: User = storage
        .get_json(&user_key(name))
        .await?
        .ok_or_else(|| RequestError::invalid("username does not exist"))?;
    user.password = password::hash(pw).await?;
    storage.put_json(&user_key(name), &user).await?;
    Ok(Response::empty())
}

/// Vault's name rule: word characters, with `-`, `.` and `@` inside.
pub(crate) fn validate_name(name: &str) -> Result<(), RequestError> {
    let inner_ok = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@');
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    if name.chars().all(inner_ok) && edge_ok(name.chars().next()) && edge_ok(name.chars().last()) {
        return Ok(());
    }
    Err(RequestError::invalid(format!(
        "invalid name {name:?}: use letters, digits, '_', and '-', '.' or '@' inside"
    )))
}

#[cfg(test)]
mod tests;
